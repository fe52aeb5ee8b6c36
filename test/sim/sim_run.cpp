// meterchain-sim: runs the PBFT simulation for one seed (replay, with --trace) or a sweep.
//
//   sim_run --nodes 4 --seed 1234 --trace      replay one seed and print its event trace
//   sim_run --nodes 7 --seeds 1:100000         long sweep (not in CI); stops at a failure
//   sim_run --nodes 4 --seed 1 --no-faults     fault-free run, prints message counts per block
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "test/sim/simulator.h"

using namespace meterchain::sim;

namespace {
void Usage() {
    std::fprintf(stderr,
                 "usage: sim_run --nodes N (--seed S [--trace] | --seeds FROM:TO) [--no-faults]\n"
                 "               [--txs N]\n");
    std::exit(2);
}
}  // namespace

int main(int argc, char** argv) {
    SimConfig cfg;
    uint64_t from = 1, to = 1;
    bool sweep = false;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) Usage();
            return argv[++i];
        };
        if (a == "--nodes") {
            cfg.nodes = static_cast<uint32_t>(std::stoul(next()));
        } else if (a == "--seed") {
            from = to = std::stoull(next());
        } else if (a == "--seeds") {
            std::string r = next();
            auto colon = r.find(':');
            if (colon == std::string::npos) Usage();
            from = std::stoull(r.substr(0, colon));
            to = std::stoull(r.substr(colon + 1));
            sweep = true;
        } else if (a == "--trace") {
            cfg.trace = true;
        } else if (a == "--no-faults") {
            cfg.random_faults = false;
        } else if (a == "--txs") {
            cfg.transactions = static_cast<uint32_t>(std::stoul(next()));
        } else {
            Usage();
        }
    }
    if (cfg.nodes == 0 || from > to) Usage();
    const auto started = std::chrono::steady_clock::now();
    for (uint64_t seed = from; seed <= to; ++seed) {
        cfg.seed = seed;
        SimResult r = RunSimulation(cfg);
        if (!sweep || !r.ok) {
            for (const auto& line : r.trace) std::printf("%s\n", line.c_str());
            std::printf("%s\n%s\n", r.description.c_str(), r.ok ? "OK" : r.failure.c_str());
            std::printf("blocks=%llu height=%llu messages=%llu (%.1f per block) view_changes=%llu "
                        "equivocations=%llu fetched=%llu end=%llums\n",
                        (unsigned long long)r.stats.blocks,
                        (unsigned long long)r.stats.committed_height,
                        (unsigned long long)r.stats.messages,
                        r.stats.blocks ? double(r.stats.messages) / r.stats.blocks : 0.0,
                        (unsigned long long)r.stats.view_changes,
                        (unsigned long long)r.stats.equivocations,
                        (unsigned long long)r.stats.fetched, (unsigned long long)r.stats.end_ms);
            for (const auto& [type, count] : r.stats.by_type) {
                std::printf("  %-15s %8llu  %.1f per block\n", type.c_str(),
                            (unsigned long long)count,
                            r.stats.blocks ? double(count) / r.stats.blocks : 0.0);
            }
            if (!r.ok) {
                std::printf("replay: sim_run --nodes %u --seed %llu --trace\n", cfg.nodes,
                            (unsigned long long)seed);
                return 1;
            }
        }
        if (sweep && (seed - from + 1) % 1000 == 0) {
            const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                                              started).count();
            std::fprintf(stderr, "[sim] n=%u %llu/%llu seeds ok (%.0fs)\n", cfg.nodes,
                         (unsigned long long)(seed - from + 1),
                         (unsigned long long)(to - from + 1), secs);
        }
    }
    if (sweep) std::printf("all %llu seeds passed\n", (unsigned long long)(to - from + 1));
    return 0;
}
