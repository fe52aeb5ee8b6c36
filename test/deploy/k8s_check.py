"""Offline check of the Kubernetes manifests in deploy/k8s (no cluster, no network).

Every object must parse and carry the fields the API server requires for its kind, and the
objects must fit together: each StatefulSet's serviceName is a headless Service, selectors
match the pod labels, probes and Services name ports the container has, mounts name declared
volumes, the NetworkPolicies admit exactly the peer, gateway and gRPC ports, and the Secrets
that deploy/k8s/make-secrets.sh generates (run here on a fresh init-cluster in a temporary
directory) hold node configs whose peer addresses are the StatefulSets' stable pod names.

    /usr/bin/python3 test/deploy/k8s_check.py SOURCE_DIR METERCTL

Exit 0 when all holds, 1 with every problem listed, 77 (skipped) without Debian's python3-yaml.
"""
import base64
import json
import os
import re
import subprocess
import sys
import tempfile

try:
    import yaml
except ImportError:
    print("SKIPPED: no PyYAML for this python3 (Debian package python3-yaml, run with /usr/bin/python3)")
    sys.exit(77)

NAMESPACE = "meterchain"
VALIDATORS = ["utility", "regulator", "third-party", "institute"]
PORTS = {"peer": 7700, "grpc": 7701, "gateway": 8443}
API_VERSIONS = {
    "Namespace": "v1", "Service": "v1", "Secret": "v1", "ConfigMap": "v1",
    "StatefulSet": "apps/v1", "NetworkPolicy": "networking.k8s.io/v1",
}
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")

problems = []


def problem(where, text):
    problems.append(f"{where}: {text}")


def get(obj, path, where, kind=None):
    """The value at a dotted path; a problem (and None) when it is missing or of the wrong type."""
    cur = obj
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            problem(where, f"missing {path}")
            return None
        cur = cur[part]
    if kind is not None and not isinstance(cur, kind):
        problem(where, f"{path} must be a {kind.__name__}, is {type(cur).__name__}")
        return None
    return cur


def label_selector_matches(selector, labels):
    return all(labels.get(k) == v for k, v in (selector or {}).get("matchLabels", {}).items())


def check_common(doc, where):
    kind = doc.get("kind")
    if kind not in API_VERSIONS:
        problem(where, f"unexpected kind {kind!r}")
        return None
    if doc.get("apiVersion") != API_VERSIONS[kind]:
        problem(where, f"{kind} needs apiVersion {API_VERSIONS[kind]}, has {doc.get('apiVersion')!r}")
    name = get(doc, "metadata.name", where, str)
    if name is not None:
        pattern = DNS_LABEL if kind in ("Service", "Namespace") else DNS_SUBDOMAIN
        if not pattern.match(name) or len(name) > (63 if pattern is DNS_LABEL else 253):
            problem(where, f"name {name!r} is not a valid DNS {('label' if pattern is DNS_LABEL else 'subdomain')}")
    if kind != "Namespace" and doc.get("metadata", {}).get("namespace") != NAMESPACE:
        problem(where, f"namespace must be {NAMESPACE}")
    for key, value in (doc.get("metadata", {}).get("labels") or {}).items():
        if not isinstance(value, str):
            problem(where, f"label {key} must be a string (quote it)")
    return kind


def check_ports(ports, where, need_name=False):
    names = set()
    for p in ports or []:
        port = p.get("port", p.get("containerPort"))
        if not isinstance(port, int) or not 1 <= port <= 65535:
            problem(where, f"port {p} is not 1..65535")
        name = p.get("name")
        if need_name and not name:
            problem(where, f"port {p} needs a name")
        if name:
            if len(name) > 15 or not DNS_LABEL.match(name):
                problem(where, f"port name {name!r} is not an IANA service name")
            if name in names:
                problem(where, f"port name {name!r} twice")
            names.add(name)


def check_service(doc, where):
    spec = get(doc, "spec", where, dict) or {}
    ports = get(doc, "spec.ports", where, list)
    if not ports:
        problem(where, "a Service needs ports")
    check_ports(ports, where, need_name=len(ports or []) > 1)
    get(doc, "spec.selector", where, dict)
    for p in ports or []:
        target = p.get("targetPort")
        if isinstance(target, str) and target not in PORTS:
            problem(where, f"targetPort {target!r} is no container port name")
        if isinstance(target, str) and target in PORTS and p.get("port") != PORTS[target]:
            problem(where, f"port {p.get('port')} for {target} should be {PORTS[target]}")
    return spec


def check_container(c, where, volumes):
    for field in ("name", "image"):
        if not isinstance(c.get(field), str) or not c.get(field):
            problem(where, f"container needs {field}")
    check_ports(c.get("ports"), where, need_name=True)
    port_names = {p.get("name") for p in c.get("ports") or []}
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        if probe not in c:
            continue
        http = c[probe].get("httpGet")
        if not http or not http.get("path") or http.get("port") is None:
            problem(where, f"{probe} needs httpGet.path and httpGet.port")
        elif isinstance(http["port"], str) and http["port"] not in port_names:
            problem(where, f"{probe} uses port {http['port']!r}, which {c.get('name')} does not name")
    for m in c.get("volumeMounts") or []:
        if m.get("name") not in volumes:
            problem(where, f"mount of undeclared volume {m.get('name')!r}")
        if not str(m.get("mountPath", "")).startswith("/"):
            problem(where, f"mountPath {m.get('mountPath')!r} must be absolute")


def check_statefulset(doc, where, services, secrets, configmaps):
    name = doc["metadata"]["name"]
    service = get(doc, "spec.serviceName", where, str)
    svc = services.get(service)
    if svc is None:
        problem(where, f"serviceName {service!r} is no Service here")
    elif svc["spec"].get("clusterIP") != "None":
        problem(where, f"serviceName {service!r} must be a headless Service (clusterIP: None)")
    selector = get(doc, "spec.selector", where, dict)
    labels = get(doc, "spec.template.metadata.labels", where, dict) or {}
    if selector is not None and (not selector.get("matchLabels") or not label_selector_matches(selector, labels)):
        problem(where, "spec.selector.matchLabels must be non-empty and match the pod labels")
    if svc is not None and not all(labels.get(k) == v for k, v in svc["spec"].get("selector", {}).items()):
        problem(where, f"Service {service} does not select this StatefulSet's pods")
    if doc["spec"].get("replicas") != 1:
        problem(where, "a validator is one identity: replicas must be 1")
    pod = get(doc, "spec.template.spec", where, dict) or {}
    claims = {c.get("metadata", {}).get("name") for c in doc["spec"].get("volumeClaimTemplates") or []}
    for c in doc["spec"].get("volumeClaimTemplates") or []:
        cw = f"{where} claim {c.get('metadata', {}).get('name')}"
        if not get(c, "spec.accessModes", cw, list):
            problem(cw, "needs accessModes")
        get(c, "spec.resources.requests.storage", cw, str)
    if "data" not in claims:
        problem(where, "needs a volumeClaimTemplate 'data' (the chain data survives the pod)")
    volumes = set(claims)
    for v in pod.get("volumes") or []:
        volumes.add(v.get("name"))
        if "secret" in v and v["secret"].get("secretName") not in secrets:
            problem(where, f"volume {v['name']} needs Secret {v['secret'].get('secretName')!r}, which make-secrets.sh does not make")
        if "configMap" in v and v["configMap"].get("name") not in configmaps:
            problem(where, f"volume {v['name']} needs ConfigMap {v['configMap'].get('name')!r}, which make-secrets.sh does not make")
    sc = pod.get("securityContext") or {}
    if not sc.get("runAsNonRoot") or sc.get("runAsUser") in (None, 0):
        problem(where, "the pod must run as a non-root user")
    containers = get(doc, "spec.template.spec.containers", where, list) or []
    if not containers:
        problem(where, "needs a container")
    for c in list(pod.get("initContainers") or []) + containers:
        check_container(c, f"{where} container {c.get('name')}", volumes)
    main = containers[0] if containers else {}
    for probe in ("livenessProbe", "readinessProbe"):
        if probe not in main:
            problem(where, f"the node container needs a {probe}")
    ports = {p.get("name"): p.get("containerPort") for p in main.get("ports") or []}
    if ports != PORTS:
        problem(where, f"container ports {ports} should be {PORTS}")
    secret = next((v["secret"]["secretName"] for v in pod.get("volumes") or [] if "secret" in v), None)
    return name, service, labels, secret


def check_network_policies(policies, pods):
    """The ports each kind of client may reach, from the policies as written."""
    admitted = {}  # port -> list of sources ("validators", "clients", "any")
    for doc, where in policies:
        spec = get(doc, "spec", where, dict) or {}
        if "podSelector" not in spec:
            problem(where, "spec.podSelector is required ({} selects all pods)")
        types = spec.get("policyTypes") or []
        if not set(types) <= {"Ingress", "Egress"} or not types:
            problem(where, f"policyTypes {types} must name Ingress and/or Egress")
        selected = [p for p in pods if label_selector_matches(spec.get("podSelector"), p)]
        for rule in spec.get("ingress") or []:
            sources = rule.get("from")
            if sources is None:
                source = "any"
            elif all("podSelector" in s and "namespaceSelector" not in s for s in sources):
                sel = sources[0]["podSelector"]
                source = "validators" if any(label_selector_matches(sel, p) for p in pods) else "clients"
            else:
                source = "other"
            for port in rule.get("ports") or []:
                if port.get("protocol", "TCP") not in ("TCP", "UDP", "SCTP"):
                    problem(where, f"bad protocol {port.get('protocol')}")
                if selected:
                    admitted.setdefault(port.get("port"), set()).add(source)
    want = {PORTS["peer"]: {"validators"}, PORTS["gateway"]: {"any"}, PORTS["grpc"]: {"clients"}}
    if admitted != want:
        problem("NetworkPolicies", f"validators admit {admitted}, expected {want}")
    if not any(d["spec"].get("podSelector") == {} and "Ingress" in d["spec"].get("policyTypes", [])
               and not d["spec"].get("ingress") for d, _ in policies):
        problem("NetworkPolicies", "no default-deny ingress policy for the namespace")


def load_documents(path):
    with open(path, encoding="utf-8") as f:
        try:
            return [d for d in yaml.safe_load_all(f) if d is not None]
        except yaml.YAMLError as e:
            problem(path, f"does not parse: {e}")
            return []


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    source, meterctl = sys.argv[1], sys.argv[2]
    k8s = os.path.join(source, "deploy", "k8s")
    docs = []
    for name in sorted(os.listdir(k8s)):
        if name.endswith((".yaml", ".yml")):
            path = os.path.join(k8s, name)
            for i, d in enumerate(load_documents(path)):
                docs.append((d, f"{name}#{i}"))
    committed_kinds = [d.get("kind") for d, _ in docs]
    if "Secret" in committed_kinds:
        problem("deploy/k8s", "a Secret is committed: keys must be generated (make-secrets.sh)")

    with tempfile.TemporaryDirectory(prefix="mc-k8s-check.") as tmp:
        run = subprocess.run([os.path.join(k8s, "make-secrets.sh"), "--out", tmp, "--meterctl", meterctl],
                             capture_output=True, text=True)
        if run.returncode != 0:
            problem("make-secrets.sh", f"exit {run.returncode}: {run.stderr.strip()}")
            generated = []
        else:
            secrets_file = os.path.join(tmp, "secrets.yaml")
            if os.stat(secrets_file).st_mode & 0o077:
                problem("make-secrets.sh", "secrets.yaml is readable by others")
            generated = [(d, f"secrets.yaml#{i}") for i, d in enumerate(load_documents(secrets_file))]
        docs += generated

        for d, where in docs:
            check_common(d, where)
        services = {d["metadata"]["name"]: d for d, w in docs if d.get("kind") == "Service"}
        for d, where in docs:
            if d.get("kind") == "Service":
                check_service(d, where)
        secrets, configmaps = {}, {}
        for d, where in docs:
            kind = d.get("kind")
            if kind in ("Secret", "ConfigMap"):
                decoded = {}
                for field in ("data", "binaryData"):
                    for key, value in (d.get(field) or {}).items():
                        try:
                            decoded[key] = base64.b64decode(value, validate=True).decode()
                        except Exception:
                            problem(where, f"{field}.{key} is not base64")
                (secrets if kind == "Secret" else configmaps)[d["metadata"]["name"]] = decoded
        if set(configmaps.get("meterchain-cluster", {})) != {"ca.pem", "genesis.json"}:
            problem("secrets.yaml", "ConfigMap meterchain-cluster needs ca.pem and genesis.json")

        pods = []
        seen = []
        for d, where in docs:
            if d.get("kind") != "StatefulSet":
                continue
            name, service, labels, secret = check_statefulset(d, where, services, secrets, configmaps)
            pods.append(labels)
            seen.append(name)
            config_text = secrets.get(secret, {}).get("node.json")
            if config_text is None:
                problem(where, f"Secret {secret} has no node.json")
                continue
            if set(secrets[secret]) != {"node.json", "sm2.key", "tls.pem", "tls.key"}:
                problem(where, f"Secret {secret} holds {sorted(secrets[secret])}")
            config = json.loads(config_text)
            host = f"{name}-0.{service}.{NAMESPACE}.svc.cluster.local"
            if config.get("name") != name:
                problem(where, f"Secret {secret} holds the config of {config.get('name')!r}")
            if config.get("peer_listen") != f"{host}:{PORTS['peer']}":
                problem(where, f"peer_listen {config.get('peer_listen')!r}, expected {host}:{PORTS['peer']}")
            if config.get("client_listen") != f"0.0.0.0:{PORTS['grpc']}":
                problem(where, f"client_listen {config.get('client_listen')!r}")
            if config.get("gateway", {}).get("listen") != f"0.0.0.0:{PORTS['gateway']}":
                problem(where, f"gateway.listen {config.get('gateway', {}).get('listen')!r}")
            addresses = [v.get("address") for v in config.get("validators", [])]
            expected = [f"{v}-0.{v}.{NAMESPACE}.svc.cluster.local:{PORTS['peer']}" for v in VALIDATORS]
            if addresses != expected:
                problem(where, f"validator addresses {addresses}, expected {expected}")
        if sorted(seen) != sorted(VALIDATORS):
            problem("deploy/k8s", f"StatefulSets {seen}, expected one per organisation {VALIDATORS}")
        check_network_policies([(d, w) for d, w in docs if d.get("kind") == "NetworkPolicy"], pods)

    counts = {}
    for d, _ in docs:
        counts[d.get("kind")] = counts.get(d.get("kind"), 0) + 1
    if problems:
        for p in problems:
            print("PROBLEM", p)
        print(f"{len(problems)} problems in {len(docs)} objects")
        return 1
    print("checked " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) + ": all well-formed and consistent")
    return 0


if __name__ == "__main__":
    sys.exit(main())
