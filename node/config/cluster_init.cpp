#include "node/config/cluster_init.h"

#include <google/protobuf/util/json_util.h>

#include <arpa/inet.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <set>
#include <system_error>

#include "contracts/validation_key.h"
#include "node/base/bytes.h"
#include "node/config/config.h"
#include "node/config/files.h"
#include "node/config/genesis_keys.h"
#include "node/config/tls_gen.h"
#include "node/crypto/sm.h"
#include "proto/metrology.pb.h"

namespace meterchain::config {
namespace {

namespace fs = std::filesystem;

struct Organisation {
    const char* name;
    const char* role;
    const char* organisation;
};

constexpr Organisation kOrganisations[] = {
    {"utility", "utility", "State Grid Tianjin Electric Power"},
    {"regulator", "regulator", "Tianjin Market Regulation Administration"},
    {"third-party", "third-party", "Third-party Testing Lab"},
    {"institute", "institute", "Tianjin Institute of Metrology"},
};

bool IsIpLiteral(const std::string& host) {
    unsigned char buf[sizeof(in6_addr)];
    return inet_pton(AF_INET, host.c_str(), buf) == 1 ||
           inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

std::string HostPort(const std::string& host, uint32_t port) {
    const bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Status CheckOptions(const ClusterOptions& o) {
    if (o.nodes < 1 || o.nodes > kMaxClusterNodes) {
        return InvalidArgument("--nodes must be from 1 to " + std::to_string(kMaxClusterNodes) +
                               ", got " + std::to_string(o.nodes));
    }
    const uint32_t ports = o.hosts.empty() ? 2u * static_cast<uint32_t>(o.nodes) : 2u;
    if (o.base_port < 1 || o.base_port + ports - 1 > 65535) {
        return InvalidArgument("--base-port " + std::to_string(o.base_port) + " leaves no room for " +
                               std::to_string(ports) + " ports below 65536");
    }
    if (o.chain_id.empty()) return InvalidArgument("the chain id must not be empty");
    if (!o.names.empty()) {
        if (o.names.size() != static_cast<size_t>(o.nodes)) {
            return InvalidArgument("--names must give one name per node");
        }
        for (const auto& n : o.names) {
            if (n.empty() || n.find_first_of("/ \t,") != std::string::npos) {
                return InvalidArgument("node name \"" + n + "\" must be a simple name");
            }
        }
    }
    if (o.out_dir.empty()) return InvalidArgument("the output directory must be given");
    auto check_host = [](const std::string& host) {
        if (IsIpLiteral(host) || IsValidHostName(host)) return Status::Ok();
        return InvalidArgument("\"" + host + "\" is neither an IP address nor a host name");
    };
    MC_RETURN_IF_ERROR(check_host(o.host));
    if (!o.hosts.empty()) {
        if (o.hosts.size() != static_cast<size_t>(o.nodes)) {
            return InvalidArgument("--hosts names " + std::to_string(o.hosts.size()) +
                                   " hosts for " + std::to_string(o.nodes) + " nodes");
        }
        std::set<std::string> seen;
        for (const std::string& h : o.hosts) {
            MC_RETURN_IF_ERROR(check_host(h));
            if (!seen.insert(h).second) return InvalidArgument("--hosts names " + h + " twice");
        }
    }
    if (!o.client_listen_host.empty()) MC_RETURN_IF_ERROR(check_host(o.client_listen_host));
    if (o.gateway_port != 0) {
        // Nodes sharing one host get gateway ports of their own, like their other ports.
        const uint32_t gateways = o.hosts.empty() ? static_cast<uint32_t>(o.nodes) : 1u;
        if (o.gateway_port + gateways - 1 > 65535) {
            return InvalidArgument("--gateway-port " + std::to_string(o.gateway_port) +
                                   " leaves no room for " + std::to_string(gateways) +
                                   " ports below 65536");
        }
        if (o.gateway_port < o.base_port + ports && o.base_port < o.gateway_port + gateways) {
            return InvalidArgument("--gateway-port " + std::to_string(o.gateway_port) +
                                   " overlaps the nodes' peer and client ports");
        }
    }
    return Status::Ok();
}

// Creates out_dir, which must not exist or be empty. `created` tells whether it was made here.
Status PrepareOutDir(const fs::path& dir, bool* created) {
    std::error_code ec;
    *created = false;
    if (fs::exists(dir, ec)) {
        if (!fs::is_directory(dir, ec)) {
            return Status(StatusCode::kAlreadyExists, dir.string() + " exists and is not a directory");
        }
        if (!fs::is_empty(dir, ec)) {
            return Status(StatusCode::kAlreadyExists,
                          dir.string() + " is not empty; refusing to overwrite a cluster");
        }
        return Status::Ok();
    }
    if (!fs::create_directories(dir, ec) || ec) {
        return IoError("cannot create " + dir.string() + ": " + ec.message());
    }
    *created = true;
    return Status::Ok();
}

Result<std::string> ToJson(const google::protobuf::Message& message) {
    google::protobuf::util::JsonPrintOptions options;
    options.add_whitespace = true;
    options.preserve_proto_field_names = true;  // the names config.proto documents
    std::string json;
    const auto status = google::protobuf::util::MessageToJsonString(message, &json, options);
    if (!status.ok()) {
        const auto m = status.message();
        return Internal("cannot encode the node configuration: " + std::string(m.data(), m.size()));
    }
    return json;
}

v1::NodeConfig NodeConfigFor(const ClusterOptions& o, const ClusterNode& self,
                             const std::vector<ClusterNode>& all, uint64_t genesis_time_ms) {
    v1::NodeConfig c;
    c.set_chain_id(o.chain_id);
    c.set_name(self.identity.name);
    c.set_key_file("sm2.key");
    c.set_data_dir("data");
    c.set_peer_listen(self.peer_address);
    c.set_client_listen(self.client_listen);
    if (o.gateway_port != 0) c.mutable_gateway()->set_listen(self.gateway_listen);
    c.mutable_tls()->set_ca_file("../ca.pem");
    c.mutable_tls()->set_cert_file("tls.pem");
    c.mutable_tls()->set_key_file("tls.key");
    for (const ClusterNode& n : all) {
        v1::ValidatorConfig& v = *c.add_validators();
        v.set_name(n.identity.name);
        v.set_organisation(n.identity.organisation);
        v.set_role(n.identity.role);
        v.set_public_key(n.public_key_hex);
        v.set_address(n.peer_address);
    }
    c.set_genesis_file("../genesis.json");
    c.set_genesis_time_ms(genesis_time_ms);
    // Written out so that operators see the knobs; verify_threads stays unset so that each
    // machine uses its own core count.
    ApplyDefaults(c);
    c.mutable_mempool()->clear_verify_threads();
    if (o.verify_threads > 0) c.mutable_mempool()->set_verify_threads(o.verify_threads);
    if (o.max_batch_delay_ms > 0) c.mutable_consensus()->set_max_batch_delay_ms(o.max_batch_delay_ms);
    return c;
}

// Generates the chain validation key K and adds it to `genesis`, SM2-wrapped for every node
// under the node's name (the organisation name for the four Tianjin organisations), with its key
// check value. K lives only in memory here and is wiped when this returns.
Result<std::string> AddValidationKey(const std::string& genesis,
                                     const std::vector<ClusterNode>& nodes, size_t* wrapped) {
    const auto k = contracts::ValidationKey::Generate();
    v1::ContractsGenesis members;
    for (const ClusterNode& n : nodes) {
        auto raw = FromHex(n.public_key_hex);
        if (!raw) return Internal("node " + n.identity.name + " has a malformed public key");
        auto w = k.WrapFor(n.identity.name, *raw);
        if (!w.ok()) return w.status();
        *members.add_validation_keys() = std::move(*w);
    }
    members.set_validation_key_check(ToString(k.KeyCheck()));
    std::string json;
    const auto status = google::protobuf::util::MessageToJsonString(members, &json);
    if (!status.ok()) return Internal("cannot encode the validation keys");
    auto out = SetTopLevelMembers(genesis, json);
    if (out.ok()) *wrapped = nodes.size();
    return out;
}

Result<ClusterSummary> WriteCluster(const ClusterOptions& o, const fs::path& out,
                                    const std::function<void(const ClusterNode&)>& on_node) {
    ClusterSummary summary;
    summary.genesis_time_ms =
        o.genesis_time_ms != 0
            ? o.genesis_time_ms
            : static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
    // Read the input genesis first, so that a bad path fails before anything is generated.
    std::string genesis = "{}\n";
    if (!o.genesis_file.empty()) {
        auto text = ReadFileToString(o.genesis_file);
        if (!text.ok()) return Status(text.status().code(), "genesis " + text.status().message());
        genesis = std::move(*text);
    }

    auto ca = GenerateTlsCa("meterchain cluster CA");
    if (!ca.ok()) return ca.status();
    summary.ca_file = (out / "ca.pem").string();
    MC_RETURN_IF_ERROR(WritePublicFile(summary.ca_file, ca->cert_pem));
    MC_RETURN_IF_ERROR(WritePrivateFile((out / "ca.key").string(), ca->key_pem));

    for (int i = 0; i < o.nodes; ++i) {
        ClusterNode node;
        node.index = i;
        node.identity = o.names.empty()
                            ? ClusterNodeIdentity(i)
                            : ClusterIdentity{o.names[static_cast<size_t>(i)], o.role,
                                              o.names[static_cast<size_t>(i)]};
        const fs::path dir = out / ("node" + std::to_string(i));
        node.dir = dir.string();
        node.config_file = (dir / "node.json").string();
        // Nodes sharing one host need ports of their own; nodes on hosts of their own do not.
        const bool own_host = !o.hosts.empty();
        const std::string host = own_host ? o.hosts[static_cast<size_t>(i)] : o.host;
        const uint32_t peer_port =
            own_host ? o.base_port : o.base_port + 2u * static_cast<uint32_t>(i);
        node.peer_address = HostPort(host, peer_port);
        node.client_address = HostPort(host, peer_port + 1);
        const std::string client_host =
            o.client_listen_host.empty() ? host : o.client_listen_host;
        node.client_listen = HostPort(client_host, peer_port + 1);
        if (o.gateway_port != 0) {
            node.gateway_listen = HostPort(
                client_host, own_host ? o.gateway_port : o.gateway_port + static_cast<uint32_t>(i));
        }
        std::vector<std::string> extra_hosts;
        if (host != "127.0.0.1" && host != "localhost") extra_hosts.push_back(host);
        std::error_code ec;
        if (!fs::create_directory(dir, ec) || ec) {
            return IoError("cannot create " + node.dir + ": " + ec.message());
        }
        const crypto::Sm2PrivateKey key = crypto::Sm2PrivateKey::Generate();
        node.public_key_hex = ToHex(key.PublicKey().Raw());
        MC_RETURN_IF_ERROR(WriteSm2KeyFile((dir / "sm2.key").string(), key));
        auto tls = GenerateTlsLeaf(*ca, node.identity.name, extra_hosts);
        if (!tls.ok()) return tls.status();
        MC_RETURN_IF_ERROR(WritePublicFile((dir / "tls.pem").string(), tls->cert_pem));
        MC_RETURN_IF_ERROR(WritePrivateFile((dir / "tls.key").string(), tls->key_pem));
        summary.nodes.push_back(std::move(node));
    }

    std::map<std::string, std::string> genesis_keys;
    for (const ClusterNode& n : summary.nodes) {
        genesis_keys.emplace(n.identity.organisation, n.public_key_hex);
        genesis_keys.emplace(n.identity.name, n.public_key_hex);
        genesis_keys.emplace(n.identity.role, n.public_key_hex);  // keeps the first of a role
    }
    // With fewer than four nodes, the standard organisations without a node still need an
    // identity in the genesis: each gets its own SM2 key in out/orgs/<name>.key (0600).
    for (int i = static_cast<int>(summary.nodes.size());
         i < 4 && !o.genesis_file.empty() && o.names.empty(); ++i) {
        const ClusterIdentity id = ClusterNodeIdentity(i);
        const fs::path orgs = out / "orgs";
        std::error_code ec;
        fs::create_directories(orgs, ec);
        if (ec) return IoError("cannot create " + orgs.string() + ": " + ec.message());
        const crypto::Sm2PrivateKey key = crypto::Sm2PrivateKey::Generate();
        MC_RETURN_IF_ERROR(WriteSm2KeyFile((orgs / (id.name + ".key")).string(), key));
        const std::string hex = ToHex(key.PublicKey().Raw());
        genesis_keys.emplace(id.organisation, hex);
        genesis_keys.emplace(id.name, hex);
        genesis_keys.emplace(id.role, hex);
    }
    if (!o.genesis_file.empty()) {
        auto filled = FillGenesisKeys(genesis, genesis_keys, &summary.genesis_keys_filled);
        if (!filled.ok()) {
            return InvalidArgument(o.genesis_file + ": " + filled.status().message());
        }
        auto keyed = AddValidationKey(*filled, summary.nodes, &summary.validation_keys_wrapped);
        if (!keyed.ok()) {
            return InvalidArgument(o.genesis_file + ": " + keyed.status().message());
        }
        genesis = std::move(*keyed);
    }
    summary.genesis_file = (out / "genesis.json").string();
    MC_RETURN_IF_ERROR(WritePublicFile(summary.genesis_file, genesis));

    for (const ClusterNode& node : summary.nodes) {
        const v1::NodeConfig config = NodeConfigFor(o, node, summary.nodes, summary.genesis_time_ms);
        MC_RETURN_IF_ERROR(ValidateNodeConfig(config, node.config_file));
        auto json = ToJson(config);
        if (!json.ok()) return json.status();
        MC_RETURN_IF_ERROR(WritePublicFile(node.config_file, *json));
        if (on_node) on_node(node);
    }
    return summary;
}

}  // namespace

ClusterIdentity ClusterNodeIdentity(int index) {
    if (index >= 0 && index < static_cast<int>(std::size(kOrganisations))) {
        const Organisation& o = kOrganisations[index];
        return {o.name, o.role, o.organisation};
    }
    return {"validator" + std::to_string(index), "institute",
            "Metrology Institute Validator " + std::to_string(index)};
}

Result<ClusterSummary> InitCluster(const ClusterOptions& options,
                                   const std::function<void(const ClusterNode&)>& on_node) {
    MC_RETURN_IF_ERROR(CheckOptions(options));
    const fs::path out(options.out_dir);
    bool created = false;
    MC_RETURN_IF_ERROR(PrepareOutDir(out, &created));
    auto summary = WriteCluster(options, out, on_node);
    if (!summary.ok() && created) {
        std::error_code ignored;  // best effort; the error being returned matters more
        fs::remove_all(out, ignored);
    }
    return summary;
}

}  // namespace meterchain::config
