// resync_bench: how fast a validator with an empty data dir catches up with an idle cluster.
// Three of four real meterchaind processes build a chain of small blocks (one transaction
// each: consensus.max_block_txs = 1), then go idle; the fourth starts with nothing and fetches
// the whole chain, each block checked (certificate, links, execution). Measured from the moment
// its client API answers to the moment it streams the tip. Repeated --runs times (data dir
// wiped in between). Run through scripts/bench-resync; figures in docs/PERFORMANCE.md.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "node/client/client.h"
#include "node/crypto/signer.h"
#include "test/e2e/cluster_harness.h"

using namespace meterchain;
using namespace meterchain::e2e;
using namespace std::chrono_literals;

int main(int argc, char** argv) {
    uint64_t blocks = 2000;
    int runs = 1;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if ((a == "--blocks" || a == "--runs") && i + 1 < argc) {
            const uint64_t v = std::stoull(argv[++i]);
            if (a == "--blocks") blocks = v; else runs = static_cast<int>(v);
        } else if (a == "--help" || a == "-h") {
            std::printf("usage: resync_bench [--blocks N] [--runs R]\n"
                        "Builds a chain of N one-transaction blocks on 3 of 4 validators, then\n"
                        "times a validator with an empty data dir catching up with the idle\n"
                        "cluster, R times. Defaults: 2000 blocks, 1 run.\n");
            return 0;
        } else {
            std::fprintf(stderr, "resync_bench: unknown argument '%s' (see --help)\n", a.c_str());
            return 2;
        }
    }
    if (blocks == 0 || runs <= 0) {
        std::fprintf(stderr, "resync_bench: --blocks and --runs must be positive\n");
        return 2;
    }
    try {
        TestCluster cluster(4, [](int, v1::NodeConfig& cfg) {
            cfg.mutable_consensus()->set_max_block_txs(1);
        });
        for (int i = 0; i < 3; ++i) cluster.Start(i);
        if (!cluster.WaitAllUp(In(60s))) {
            std::fprintf(stderr, "resync_bench: cluster did not come up\n");
            return 1;
        }
        // The chain: `blocks` transactions from 8 senders, sent in chunks to the three nodes.
        std::vector<crypto::Sm2Signer> senders;
        for (int s = 0; s < 8; ++s) senders.emplace_back(crypto::Sm2PrivateKey::Generate());
        std::vector<uint64_t> nonces(senders.size(), 0);
        const auto build_start = Clock::now();
        for (uint64_t done = 0; done < blocks;) {
            std::vector<chain::Transaction> chunk;
            for (; chunk.size() < 200 && done + chunk.size() < blocks;) {
                const size_t s = (done + chunk.size()) % senders.size();
                chunk.push_back(client::MakeStatePut(senders[s], cluster.chain_id(), ++nonces[s],
                                                     "resync/" + std::to_string(done + chunk.size()),
                                                     AsBytes("v")));
            }
            std::vector<const chain::Transaction*> ptrs;
            for (const auto& tx : chunk) ptrs.push_back(&tx);
            auto results = cluster.client(static_cast<int>(done / 200 % 3)).SubmitMany(ptrs);
            for (const auto& r : results) {
                if (!r.ok()) {
                    std::fprintf(stderr, "resync_bench: submit: %s\n", r.status().ToString().c_str());
                    return 1;
                }
            }
            done += chunk.size();
            // Wait for the chunk to commit before the next (keeps the mempool small).
            const uint64_t height = cluster.client(0).GetStatus()->height();
            cluster.client(0).WaitForHeight(height + 1, In(30s));
            auto last = cluster.client(0).WaitForCommit(chunk.back().Hash(), 60000);
            if (!last.ok()) {
                std::fprintf(stderr, "resync_bench: %s\n", last.status().ToString().c_str());
                return 1;
            }
            std::printf("[resync] chain: %llu transactions committed\n",
                        static_cast<unsigned long long>(done));
            std::fflush(stdout);
        }
        auto status = cluster.client(0).GetStatus();
        if (!status.ok()) return 1;
        const uint64_t tip = status->height();
        std::printf("[resync] chain of %llu blocks built in %.1f s; the cluster is idle now\n",
                    static_cast<unsigned long long>(tip),
                    std::chrono::duration<double>(Clock::now() - build_start).count());
        if (!cluster.WaitHeight(tip, In(60s), {0, 1, 2})) return 1;

        std::vector<double> rates;
        for (int run = 0; run < runs; ++run) {
            std::error_code ec;
            std::filesystem::remove_all(cluster.summary().nodes[3].dir + "/data", ec);
            cluster.Start(3);
            if (!cluster.WaitUp(3, In(60s))) {
                std::fprintf(stderr, "resync_bench: node 3 did not come up\n");
                return 1;
            }
            const auto t0 = Clock::now();
            if (!cluster.client(3).WaitForHeight(tip, In(600s))) {
                std::fprintf(stderr, "resync_bench: node 3 did not reach %llu\n",
                             static_cast<unsigned long long>(tip));
                return 1;
            }
            const double s = std::chrono::duration<double>(Clock::now() - t0).count();
            rates.push_back(static_cast<double>(tip) / s);
            std::printf("[resync] run %d: %llu blocks in %.2f s = %.0f blocks/s\n", run + 1,
                        static_cast<unsigned long long>(tip), s, rates.back());
            std::fflush(stdout);
            cluster.Kill(3);
        }
        std::sort(rates.begin(), rates.end());
        std::printf("| figure | value |\n|---|---|\n");
        std::printf("| chain | %llu blocks of 1 transaction, cluster idle |\n",
                    static_cast<unsigned long long>(tip));
        std::printf("| resync from an empty data dir | median %.0f blocks/s (min %.0f, max %.0f, "
                    "%d runs) |\n",
                    rates[rates.size() / 2], rates.front(), rates.back(), runs);
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "resync_bench: %s\n", e.what());
        return 1;
    }
}
