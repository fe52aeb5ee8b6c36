// Bootstraps a local cluster: the library behind `meterctl init-cluster`.
//
// Layout written under ClusterOptions::out_dir (private keys are mode 0600):
//   ca.pem, ca.key            cluster TLS CA (ECDSA P-256)
//   genesis.json              shared genesis (see genesis_keys.h), "{}" without an input;
//                             with an input, also a fresh chain validation key K wrapped with
//                             SM2 for every node (validationKeys, by node name) and its key
//                             check value (docs/CONTRACTS.md); K itself is written nowhere
//   node<i>/sm2.key           the node's SM2 signing key (PKCS#8 PEM)
//   node<i>/tls.pem, tls.key  the node's TLS certificate and key, signed by the CA
//   node<i>/node.json         its NodeConfig; paths relative to node<i>/, data_dir "data"
// Thread-safety: safe to call concurrently with different out_dirs.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "node/base/status.h"

namespace meterchain::config {

inline constexpr int kMaxClusterNodes = 100;
inline constexpr uint32_t kDefaultBasePort = 7700;
inline constexpr const char* kDefaultChainId = "tianjin-meter-1";

struct ClusterOptions {
    int nodes = 4;                         // 1..kMaxClusterNodes
    std::string out_dir;                   // must not exist or be empty
    // One host for all nodes: node i uses peer port base+2i and client port base+2i+1.
    // One host per node (`hosts`): every node uses peer port base and client port base+1.
    uint32_t base_port = kDefaultBasePort;
    std::string chain_id = kDefaultChainId;
    std::string genesis_file;  // optional input genesis JSON whose organisations get keys
    std::string host = "127.0.0.1";  // listen and advertised host of every node
    // When not empty: node i's own host (containers, pods, network namespaces), one per node
    // and all different. It is the node's advertised peer address, the host its peer port
    // binds to and a subjectAltName of its TLS certificate; `host` is then unused.
    std::vector<std::string> hosts;
    // When not empty: the host the client API (and the gateway) binds to instead of the node's
    // own host, e.g. "0.0.0.0" where clients arrive on another network than peers.
    std::string client_listen_host;
    // When not 0: the HTTP gateway is on, at <client listen host>:gateway_port (one host for
    // all nodes: gateway_port+i), with no credentials (health, readiness and metrics answer;
    // the verification query needs credentials added to the config).
    uint32_t gateway_port = 0;
    uint64_t genesis_time_ms = 0;    // 0: the current wall-clock time
    // mempool.verify_threads of every node; 0 leaves it unset (each machine: its core count).
    // Nodes that share one machine do better with their share of its cores.
    uint32_t verify_threads = 0;
    // consensus.max_batch_delay_ms of every node; 0 keeps the default.
    uint32_t max_batch_delay_ms = 0;
    // Node names instead of the four Tianjin organisations (an upper chain: State Grid main
    // chain, alliance chain): node i is names[i], its own organisation, role `role`. Empty:
    // the standard identities. When set, there must be one name per node.
    std::vector<std::string> names;
    std::string role = "main-chain";
};

// Who node i is. i < 4: the four Tianjin organisations (utility, regulator, third-party,
// institute); then name "validator<i>" with role "institute".
struct ClusterIdentity {
    std::string name;
    std::string role;
    std::string organisation;
};
ClusterIdentity ClusterNodeIdentity(int index);

struct ClusterNode {
    int index = 0;
    ClusterIdentity identity;
    std::string public_key_hex;  // raw SM2 public key, 130 hex characters
    std::string dir;             // out_dir/node<i>
    std::string config_file;     // out_dir/node<i>/node.json
    std::string peer_address;    // host:port
    std::string client_address;  // host:port
    std::string client_listen;   // host:port the client API binds to
    std::string gateway_listen;  // host:port of the HTTP gateway; empty when it is off
};

struct ClusterSummary {
    std::vector<ClusterNode> nodes;
    std::string ca_file;
    std::string genesis_file;
    uint64_t genesis_time_ms = 0;
    size_t genesis_keys_filled = 0;  // organisations in the input genesis given a key
    // Validators given a wrapped copy of the chain validation key (0 without an input genesis).
    size_t validation_keys_wrapped = 0;
};

// Writes the layout above and calls `on_node` after each node's files are complete.
// Errors: kInvalidArgument for bad options (node count, ports beyond 65535, empty chain id,
// bad host, `hosts` not one distinct host per node, a gateway port equal to a node port) or an
// input genesis that is not valid JSON; kAlreadyExists when out_dir exists and is not empty; kNotFound/kIoError for files. On failure a freshly created out_dir is removed;
// an existing empty one is left with whatever had been written.
// The genesis fill-in map (FillGenesisKeys) holds each node's organisation name and node name,
// and the role of the first node having each role.
Result<ClusterSummary> InitCluster(const ClusterOptions& options,
                                   const std::function<void(const ClusterNode&)>& on_node = {});

}  // namespace meterchain::config
