// meterctl init-cluster: keys, certificates, configurations and genesis for a local cluster.
#include <cstdio>

#include "node/config/cluster_init.h"
#include "node/config/config.h"
#include "node/tools/meterctl_commands.h"
#include "node/tools/meterctl_format.h"

namespace meterchain::tools {

int RunInitCluster(const Flags& flags) {
    config::ClusterOptions options;
    auto usage = [](const Status& s) {
        std::fprintf(stderr, "meterctl init-cluster: %s\n", s.message().c_str());
        return kExitUsage;
    };
    const auto nodes = flags.Number("nodes", 0, 1, config::kMaxClusterNodes);
    if (!nodes.ok()) return usage(nodes.status());
    if (!flags.Has("nodes")) return usage(InvalidArgument("--nodes is required"));
    const auto out = flags.Required("out");
    if (!out.ok()) return usage(out.status());
    const auto base_port = flags.Number("base-port", config::kDefaultBasePort, 1, 65535);
    if (!base_port.ok()) return usage(base_port.status());

    options.nodes = static_cast<int>(*nodes);
    options.out_dir = *out;
    options.base_port = static_cast<uint32_t>(*base_port);
    if (auto id = flags.Get("chain-id")) options.chain_id = *id;
    if (auto genesis = flags.Get("genesis")) options.genesis_file = *genesis;
    if (auto host = flags.Get("host")) options.host = *host;
    if (auto names = flags.Get("names")) {
        std::string item;
        for (char c : *names + ",") {
            if (c != ',') {
                item += c;
            } else if (!item.empty()) {
                options.names.push_back(item);
                item.clear();
            }
        }
    }
    if (auto hosts = flags.Get("hosts")) {
        if (flags.Has("host")) return usage(InvalidArgument("--host and --hosts exclude each other"));
        for (size_t start = 0;;) {
            const size_t comma = hosts->find(',', start);
            options.hosts.push_back(hosts->substr(start, comma - start));
            if (comma == std::string::npos) break;
            start = comma + 1;
        }
    }
    if (auto host = flags.Get("client-listen-host")) options.client_listen_host = *host;
    const auto gateway_port = flags.Number("gateway-port", 0, 1, 65535);
    if (!gateway_port.ok()) return usage(gateway_port.status());
    options.gateway_port = static_cast<uint32_t>(*gateway_port);

    const auto summary = config::InitCluster(options, [](const config::ClusterNode& n) {
        std::printf("node%d  %-12s %-44s peer %s  client %s\n", n.index,
                    n.identity.name.c_str(), n.identity.organisation.c_str(),
                    n.peer_address.c_str(), n.client_listen.c_str());
        std::fflush(stdout);
    });
    if (!summary.ok()) {
        std::fprintf(stderr, "meterctl init-cluster: %s\n", summary.status().message().c_str());
        return kExitFailure;
    }
    std::printf("initialised %zu nodes of chain %s in %s\n", summary->nodes.size(),
                options.chain_id.c_str(), options.out_dir.c_str());
    std::printf("  TLS CA      %s\n", summary->ca_file.c_str());
    std::printf("  genesis     %s (time %s", summary->genesis_file.c_str(),
                LocalIsoTime(summary->genesis_time_ms).c_str());
    if (!options.genesis_file.empty()) {
        std::printf(", %zu organisation keys filled from %s; chain validation key wrapped for "
                    "%zu validators",
                    summary->genesis_keys_filled, options.genesis_file.c_str(),
                    summary->validation_keys_wrapped);
    }
    std::printf(")\n  start with  meterchaind --config %s/node<i>/node.json\n",
                options.out_dir.c_str());
    const std::string warning = config::FaultToleranceWarning(summary->nodes.size());
    if (!warning.empty()) std::printf("warning: %s\n", warning.c_str());
    return kExitOk;
}

}  // namespace meterchain::tools
