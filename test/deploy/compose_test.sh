#!/usr/bin/env bash
# The docker-compose cluster of deploy/ really runs: image from this build's binaries
# (scripts/compose-up.sh --binaries host), four validators in containers, sample data submitted
# from the host through the published gRPC ports and committed on every node, one validator
# stopped (the others go on) and started again (it catches up), and the peer port unreachable
# from a container outside the internal network.
#
#   test/deploy/compose_test.sh SOURCE_DIR BUILD_DIR
#
# Exit 77 (CTest: skipped) with the reason when no Docker engine can run here. Starts dockerd
# when none is running and it can (root), and stops it again at the end. Removes every
# container, network, volume and image it made, also on failure; keeps the base image
# (meterchain-base:bookworm), which takes a minute or two to make the first time.
set -euo pipefail

root="${1:?usage: compose_test.sh SOURCE_DIR BUILD_DIR}"
build_dir="${2:?usage: compose_test.sh SOURCE_DIR BUILD_DIR}"
meterctl="$build_dir/node/tools/meterctl"
project="mctest$$"
image="meterchain-test:$project"
validators=(utility regulator third-party institute)
started=$SECONDS

say() { printf '[compose-test %3ds] %s\n' "$((SECONDS - started))" "$*"; }
skip() { echo "SKIPPED: $*"; exit 77; }
fail() { echo "FAILED: $*" >&2; exit 1; }

# ---- can a Docker engine run here? ----
command -v docker-compose >/dev/null || skip "docker-compose is not installed (Debian package docker-compose)"
if docker buildx version >/dev/null 2>&1 || [ ! -x /usr/bin/docker ]; then docker=docker; else docker=/usr/bin/docker; fi
command -v "$docker" >/dev/null || skip "no docker CLI (Debian package docker.io)"
export MC_DOCKER="$docker"
# The test's own client config, so that no user's docker login or helper is read.
export DOCKER_CONFIG
DOCKER_CONFIG="$(mktemp -d /tmp/mc-compose-test.XXXXXX)"
work="$DOCKER_CONFIG"
dockerd_pid=""

cleanup() {
  local rc=$?
  set +e
  if [ -n "${compose_ready:-}" ]; then
    if ((rc != 0)); then
      docker-compose -p "$project" -f "$root/deploy/docker-compose.yml" logs --no-color \
        --tail 15 2>&1 | tail -n 80
    fi
    say "removing the containers, networks and volumes of project $project"
    docker-compose -p "$project" -f "$root/deploy/docker-compose.yml" down --volumes \
      --remove-orphans >/dev/null 2>&1
    "$docker" rm -f "$project-probe" >/dev/null 2>&1
    "$docker" rmi "$image" >/dev/null 2>&1
    left="$("$docker" ps -aq --filter "label=com.docker.compose.project=$project")
$("$docker" volume ls -q --filter "label=com.docker.compose.project=$project")
$("$docker" network ls -q --filter "label=com.docker.compose.project=$project")"
    [ -z "$(echo "$left" | tr -d '[:space:]')" ] || { echo "left behind: $left" >&2; rc=1; }
  fi
  if [ -n "$dockerd_pid" ]; then
    say "stopping the dockerd this test started (pid $dockerd_pid)"
    kill -TERM "$dockerd_pid" 2>/dev/null
    local deadline=$((SECONDS + 30))
    while kill -0 "$dockerd_pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
    kill -0 "$dockerd_pid" 2>/dev/null && kill -KILL "$dockerd_pid"
  fi
  rm -rf "$work"
  say "done, exit $rc"
  exit "$rc"
}
trap cleanup EXIT
# A signal (CTest's timeout, ^C) ends the script through the same cleanup.
trap 'exit 143' TERM INT HUP

if ! "$docker" info >/dev/null 2>&1; then
  command -v dockerd >/dev/null || skip "no Docker engine is running and dockerd is not installed (Debian package docker.io)"
  [ "$(id -u)" -eq 0 ] || skip "no Docker engine is running and starting dockerd needs root"
  say "starting dockerd (log: $work/dockerd.log)"
  dockerd >"$work/dockerd.log" 2>&1 &
  dockerd_pid=$!
  deadline=$((SECONDS + 60))
  until "$docker" info >/dev/null 2>&1; do
    if ! kill -0 "$dockerd_pid" 2>/dev/null; then
      dockerd_pid=""
      tail -n 5 "$work/dockerd.log"
      skip "dockerd exited at start (its last lines above)"
    fi
    ((SECONDS < deadline)) || { tail -n 5 "$work/dockerd.log"; skip "dockerd did not answer within 60 s"; }
    sleep 0.2
  done
fi
if ! "$docker" image inspect meterchain-base:bookworm >/dev/null 2>&1; then
  command -v debootstrap >/dev/null || skip "the base image is missing and debootstrap is not installed"
  [ "$(id -u)" -eq 0 ] || skip "the base image is missing and debootstrap needs root"
fi

# ---- build and start: every host port picked by Docker (empty MC_PORT_*) ----
export MC_PORT_UTILITY= MC_PORT_REGULATOR= MC_PORT_THIRD_PARTY= MC_PORT_INSTITUTE=
export MC_GATEWAY_PORT_UTILITY= MC_GATEWAY_PORT_REGULATOR= MC_GATEWAY_PORT_THIRD_PARTY=
export MC_GATEWAY_PORT_INSTITUTE= MC_BIND=127.0.0.1 MC_IMAGE="$image"
export MC_BUILD_LOG="$work/build.log"
compose=(docker-compose -p "$project" -f "$root/deploy/docker-compose.yml")
compose_ready=1
t0=$SECONDS
"$root/scripts/compose-up.sh" up --binaries host --build-dir "$build_dir" --project "$project" \
  --image "$image" --timeout 180 || { cat "$MC_BUILD_LOG" >&2 || true; fail "the cluster did not come up"; }
say "cluster up in $((SECONDS - t0)) s (base image, image build, start, all healthy)"

declare -A grpc http
for v in "${validators[@]}"; do
  grpc[$v]="$("${compose[@]}" port "$v" 7701)"
  http[$v]="$("${compose[@]}" port "$v" 8443)"
  [[ "${grpc[$v]}" == 127.0.0.1:* ]] || fail "$v: client port not published on 127.0.0.1 (${grpc[$v]})"
done

# The transaction's status on a node, as "state height".
tx_on() { "$meterctl" get-tx --node "${grpc[$1]}" --hash "$2" --json 2>/dev/null |
  sed -n 's/.*"state": "\([a-z]*\)", "height": \([0-9]*\).*/\1 \2/p'; }
# Waits until node $1 has every hash of $2.. committed at the height the first node reported.
wait_committed() {
  local v="$1" deadline=$((SECONDS + ${WAIT_S:-60})) h want got
  shift
  for h in "$@"; do
    want="${height_of[$h]}"
    until got="$(tx_on "$v" "$h")"; [ "$got" = "committed $want" ]; do
      ((SECONDS < deadline)) || fail "$v: tx $h is '${got:-not found}', expected 'committed $want'"
      sleep 0.2
    done
  done
}
declare -A height_of
# Submits sample meter records (test/data) as signed key/value transactions from the host.
client_key="$work/client.key"
"$meterctl" keygen --out "$client_key" >/dev/null 2>&1
submit() {
  local node="$1" first="$2" count="$3" line bar out hash
  hashes=()
  while IFS= read -r line; do
    bar="$(sed -n 's/.*"barCode": *"\([0-9]*\)".*/\1/p' <<<"$line")"
    out="$("$meterctl" put --node "${grpc[$node]}" --key-file "$client_key" \
      --key "meter/$bar" --value "$line")" || fail "put through $node: $out"
    read -r _ hash _ height _ <<<"$out"  # tx HASH committed height=H index=I
    height_of[$hash]="${height#height=}"
    hashes+=("$hash")
  done < <(sed -n "${first},$((first + count - 1))p" "$root/test/data/meters.jsonl")
}

say "submitting 5 sample meter records through utility's gRPC port ${grpc[utility]}"
submit utility 1 5
for v in "${validators[@]}"; do wait_committed "$v" "${hashes[@]}"; done
say "all 5 committed on all four nodes at the same heights"

# The gateway answers health and metrics on its published port.
for v in "${validators[@]}"; do
  body="$(curl -fsS "http://${http[$v]}/healthz")" || fail "$v: /healthz"
  [[ "$body" == *'"status":"alive"'* ]] || fail "$v: /healthz answered $body"
done
metrics="$(curl -fsS "http://${http[utility]}/metrics")" || fail "utility: /metrics"
grep -q '^meterchain_height ' <<<"$metrics" || fail "utility: /metrics has no meterchain_height"
say "gateway /healthz on all four, /metrics on utility"

say "stopping institute"
t1=$SECONDS
"${compose[@]}" stop institute >/dev/null 2>&1
submit regulator 6 5
for v in utility regulator third-party; do wait_committed "$v" "${hashes[@]}"; done
tip="${height_of[${hashes[4]}]}"
say "with institute stopped, 5 more records committed on the other three (height $tip)"
"$meterctl" status --node "${grpc[institute]}" >/dev/null 2>&1 && fail "institute still answers"

"${compose[@]}" start institute >/dev/null 2>&1
# A host port Docker picked is picked again at each start.
grpc[institute]="$("${compose[@]}" port institute 7701)"
WAIT_S=120 wait_committed institute "${hashes[@]}"
say "institute restarted and caught up in $((SECONDS - t1)) s (stop, 5 commits, start, sync)"
block_hash() { "$meterctl" get-block --node "${grpc[$1]}" --height "$tip" --json |
  sed -n 's/.*"hash": "\([0-9a-f]*\)".*/\1/p'; }
want="$(block_hash utility)"
for v in "${validators[@]}"; do
  [ "$(block_hash "$v")" = "$want" ] || fail "$v: block $tip differs"
done
say "block $tip is identical on all four nodes"

# ---- isolation: the peer port only on the internal network ----
ip_on() { "$docker" inspect -f "{{(index .NetworkSettings.Networks \"${project}_$2\").IPAddress}}" \
  "$("${compose[@]}" ps -q "$1")"; }
peer_ip="$(ip_on utility peers)"
client_ip="$(ip_on utility clients)"
# Exit 0 when a TCP connection to $2:$3 opens from a fresh container on network $1.
probe() {
  "$docker" run --rm --name "$project-probe" --network "${project}_$1" --entrypoint bash "$image" \
    -c "timeout 3 bash -c 'exec 3<>/dev/tcp/$2/$3'" >/dev/null 2>&1
}
probe peers "$peer_ip" 7700 || fail "control: a container on the peer network cannot reach $peer_ip:7700"
probe clients "$client_ip" 7701 || fail "control: a container on the client network cannot reach $client_ip:7701"
probe clients "$peer_ip" 7700 && fail "a container outside the peer network reached the peer port $peer_ip:7700"
probe clients "$client_ip" 7700 && fail "the peer port answers on the client network ($client_ip:7700)"
say "peer port 7700: reachable on the internal network, not from the client network"

say "PASSED in $((SECONDS - started)) s"
