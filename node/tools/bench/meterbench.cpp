// meterbench: throughput, latency and resource use of a local meterchain cluster, against the
// machine's own limits. Run through scripts/bench.
//
//   meterbench --nodes N [--rate R | --find-peak] [--duration S] [--senders K] [--out FILE]
//
// 1. Machine limits through the project's own code: single-core SM2 verifications/s (and per
//    core with every core verifying at once), SM3 MB/s, synced LevelDB batch writes/s.
// 2. An N-validator cluster on 127.0.0.1 (real meterchaind processes, mutual TLS, LevelDB).
// 3. Pre-signed ~1 KB transactions (a verification-result record), submitted over gRPC by an
//    open-loop load generator at a fixed offered rate (latency is measured from each
//    transaction's scheduled send time, so a slow server cannot hide queueing), commits
//    observed on a StreamCommits subscription (transaction hashes only).
// 4. Committed tx/s, commit latency p50/p95/p99, blocks/s, bytes on disk per tx, peak RSS per
//    node, CPU per committed tx, and throughput as a fraction of the signature bound
//    (cores x verifies/s / signatures verified per committed tx across the cluster).
//
// With --find-peak the offered rate steps up by 20% until the cluster saturates, up to two runs
// then halve the gap around the peak, and latency is measured at half the peak. Before every
// run the cluster is left to settle (WaitQuiet); the SM2 probes are taken right before and after.
// --soak S then runs S seconds at half the peak (or at --soak-rate R) sampling every node's RSS.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <variant>
#include <vector>

#include "node/base/process.h"
#include "node/chain/proto_adapter.h"
#include "node/client/client.h"
#include "node/config/cluster_init.h"
#include "node/config/files.h"
#include "node/crypto/signer.h"
#include "node/crypto/sm.h"
#include "node/mempool/hash_key.h"
#include "node/storage/kv_store.h"
#include "node/tools/meterctl_flags.h"

using namespace meterchain;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// ---- machine limits ----

std::string RecordJson(uint64_t n);

// Verifies real benchmark transactions (64 senders, distinct ~1 KB bodies) the way a node
// does: chain::VerifyTransaction through a Sm2Verifier whose key cache is warm. A loop over
// one key and one message would run from hot caches and overstate what a node can do.
// The transactions are signed and one verifier per core warmed once; every measurement reuses
// them (a node's key cache is warm under load, too).
class Sm2Probe {
public:
    explicit Sm2Probe(unsigned cores) {
        constexpr int kKeys = 64, kTxs = 256;
        std::vector<std::unique_ptr<crypto::Sm2Signer>> keys;
        for (int i = 0; i < kKeys; ++i) {
            keys.push_back(
                std::make_unique<crypto::Sm2Signer>(crypto::Sm2PrivateKey::Generate()));
        }
        for (int i = 0; i < kTxs; ++i) {
            m_txs.push_back(client::MakeStatePut(*keys[i % kKeys], "probe",
                                                 static_cast<uint64_t>(i + 1),
                                                 "probe/" + std::to_string(i),
                                                 AsBytes(RecordJson(static_cast<uint64_t>(i)))));
        }
        for (unsigned t = 0; t < cores; ++t) {
            m_verifiers.push_back(std::make_unique<crypto::Sm2Verifier>());
            for (const auto& tx : m_txs) (void)chain::VerifyTransaction(tx, *m_verifiers.back());
        }
    }

    struct Reading {
        double one_core = 0;   // OneCore()
        double all_cores = 0;  // AllCores()
    };

    Reading Read() const { return {OneCore(), AllCores()}; }

    // Verifications per second of one thread, the rest of the machine idle.
    double OneCore() const { return PerCore(1); }

    // Verifications per second per core with every core verifying at once, each through its
    // own verifier (as each node has its own). `cores x OneCore()` assumes the cores add up;
    // on a shared virtual machine they need not (turbo shared with other tenants, two vCPUs
    // that are not equally fast), and this is what all of them together deliver.
    double AllCores() const { return PerCore(static_cast<unsigned>(m_verifiers.size())); }

private:
    double PerCore(unsigned threads) const {
        std::vector<uint64_t> counts(threads, 0);
        std::vector<std::thread> pool;
        const auto start = Clock::now();
        for (unsigned t = 0; t < threads; ++t) {
            pool.emplace_back([this, t, start, &counts] {
                const crypto::Sm2Verifier& verifier = *m_verifiers[t];
                uint64_t n = 0;
                while (Seconds(Clock::now() - start) < kSeconds) {
                    for (const auto& tx : m_txs) n += chain::VerifyTransaction(tx, verifier).ok();
                }
                counts[t] = n;
            });
        }
        for (auto& th : pool) th.join();
        uint64_t total = 0;
        for (uint64_t c : counts) total += c;
        return static_cast<double>(total) / Seconds(Clock::now() - start) / threads;
    }

    static constexpr double kSeconds = 1.5;
    std::vector<chain::Transaction> m_txs;
    std::vector<std::unique_ptr<crypto::Sm2Verifier>> m_verifiers;  // one per core, warm
};

double MeasureSm3MBPerSec() {
    const Bytes data(1 << 20, 0xa5);
    int n = 0;
    const auto start = Clock::now();
    while (Seconds(Clock::now() - start) < 1.0) {
        (void)crypto::Sm3(data);
        ++n;
    }
    return n / Seconds(Clock::now() - start);
}

double MeasureLevelDbSyncedWritesPerSec(const fs::path& dir) {
    auto kv = storage::OpenLevelDb((dir / "leveldb-probe").string());
    if (!kv.ok()) return 0;
    const Bytes value(1024, 0x11);
    int n = 0;
    const auto start = Clock::now();
    while (Seconds(Clock::now() - start) < 1.0) {
        storage::KvBatch batch;
        batch.Put("k" + std::to_string(n), value);
        if (!(*kv)->Write(batch, true).ok()) break;
        ++n;
    }
    return n / Seconds(Clock::now() - start);
}

// ---- processes ----

struct NodeProc {
    pid_t pid = -1;
    std::string config;
    std::string client_address;
    std::string data_dir;
};

// The pid of a meterchaind started with `config`, or -1 when it could not be started.
pid_t Spawn(const std::string& binary, const std::string& config, const std::string& log,
            const std::string& level) {
    auto pid = base::SpawnProcess(binary, {"meterchaind", "--config", config, "--log-level", level},
                                  log);
    return pid.ok() ? *pid : -1;
}

// utime + stime in seconds and VmHWM in KiB of a live process.
std::pair<double, long> ProcUsage(pid_t pid) {
    double cpu = 0;
    {
        std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
        std::string line;
        std::getline(in, line);
        const auto close_paren = line.rfind(')');
        std::istringstream rest(line.substr(close_paren + 2));
        std::vector<std::string> f;
        for (std::string tok; rest >> tok;) f.push_back(tok);
        // Fields after the command: state(0) ... utime is field 14 overall -> index 11 here.
        if (f.size() > 12) {
            cpu = (std::stod(f[11]) + std::stod(f[12])) / static_cast<double>(sysconf(_SC_CLK_TCK));
        }
    }
    long hwm = 0;
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(status, line);) {
        if (line.rfind("VmHWM:", 0) == 0) hwm = std::stol(line.substr(6));
    }
    return {cpu, hwm};
}

long RssKb(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(status, line);) {
        if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    }
    return 0;
}

uint64_t DirBytes(const fs::path& dir) {
    uint64_t total = 0;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(dir, ec); it != fs::recursive_directory_iterator();
         it.increment(ec)) {
        if (ec) break;
        if (it->is_regular_file(ec)) total += it->file_size(ec);
    }
    return total;
}

// ---- load ----

std::string RecordJson(uint64_t n) {
    // A verification result in the Appendix B shape, about 1 KB.
    char bar[32];
    std::snprintf(bar, sizeof bar, "12300010081%011llu", static_cast<unsigned long long>(n));
    std::string s = std::string("{\"barCode\":\"") + bar +
                    "\",\"veriTaskNo\":\"1201202402110001\",\"veriDate\":\"2024-02-11 10:14:15\","
                    "\"wireModel\":\"01\",\"wireModeName\":\"single-phase\",\"faultResult\":\"--\","
                    "\"instId\":\"TJ-IM\",\"inspectionKind\":\"full\",\"VOLT_CONC_CODE\":\"pass\","
                    "\"BASIC_ERROR_CONC_CODE\":\"pass\",\"INTUIT_CONC_CODE\":\"pass\","
                    "\"CONST_CONC_CODE\":\"pass\",\"DAYERR_CONC_CODE\":\"pass\","
                    "\"DEVIATION_MET_CONC\":\"pass\",\"CREEPING_CONC_CODE\":\"pass\","
                    "\"STARTING_CONC_CODE\":\"pass\",\"CLOCK_VALUE_CONC_CODE\":\"-\","
                    "\"veriResult\":\"pass\",\"tableNames\":[";
    const char* items[] = {"VOLT", "BASIC_ERROR", "INTUIT", "CONST", "DAYERR", "DEVIATION",
                           "CREEPING", "STARTING", "CLOCK_VALUE"};
    for (size_t i = 0; i < 9; ++i) {
        s += std::string(i ? "," : "") + "{\"tableField\":\"" + items[i] +
             "_CONC_CODE\",\"tableCode\":\"" + items[i] + "_Meter_CONC\",\"tableName\":\"" +
             items[i] + " test\"}";
    }
    s += "]}";
    return s;
}

struct RunResult {
    double offered = 0;
    double duration_s = 0;
    uint64_t submitted = 0;
    uint64_t refused = 0;
    uint64_t committed = 0;
    double tps = 0;
    double p50_ms = 0, p95_ms = 0, p99_ms = 0;
    double blocks_per_s = 0;
    double txs_per_block = 0;
    double cpu_ms_per_tx = 0;
    double verifies_per_tx = 0;  // SM2 verifications counted by the nodes, per committed tx
    // The nodes' own accounting (thread CPU clock around each verification): the share of
    // their CPU that went to SM2 verification, and the verifications per CPU-second they got
    // under load. Both are measured in the same moment as the rest of the nodes' work, so
    // unlike the probe they do not drift with the machine's speed.
    double verify_cpu_share = 0;
    double verifies_per_cpu_s = 0;
    // Frames all nodes wrote to their peer streams, per committed tx (gossip and consensus).
    double peer_frames_per_tx = 0;
    // Views the cluster moved through during the run (0: one primary throughout).
    uint64_t view_changes = 0;
    // Single-core SM2 verifications/s probed right before and right after this run (the
    // cluster idle), averaged: this machine's speed drifts by tens of percent within minutes
    // (other tenants), so each run is judged against the speed of its own moment.
    double sm2_per_core = 0;
    // The same probe with every core verifying at once (Sm2Probe::AllCores), per core.
    double sm2_per_core_all = 0;
};

class Bench {
public:
    Bench(std::vector<NodeProc> nodes, std::string chain_id)
        : m_nodes(std::move(nodes)), m_chain_id(std::move(chain_id)) {}

    // Open-loop load at `rate` tx/s for `duration_s`; waits for the stragglers.
    // `stream`: each load worker keeps a SubmitStream open to its node (a fresh one every
    // 1024 sends); otherwise it makes a SubmitTransaction(s) call per send.
    // `on_load_start` is called once the transactions are signed, as the offered load begins.
    RunResult Run(double rate, double duration_s, int senders, uint64_t seed, size_t batch,
                  bool stream, const std::function<void()>& on_load_start = {}) {
        Load load = SignLoad(static_cast<size_t>(rate * duration_s), senders, seed);
        const size_t total = load.txs.size();
        Observed seen(total);
        CommitWatcher watcher(m_nodes[0].client_address, load, seen);

        const auto cpu_before = TotalCpu();
        const StatusTotals totals_before = SumStatus();
        std::fprintf(stderr, "[bench] offering %.0f tx/s for %.0f s to %zu nodes ...\n", rate,
                     duration_s, m_nodes.size());
        if (on_load_start) on_load_start();
        Offered offered;
        const auto t0 = Clock::now() + std::chrono::milliseconds(200);
        for (size_t i = 0; i < total; ++i) {
            load.scheduled[i] = t0 + std::chrono::nanoseconds(
                                         static_cast<int64_t>(1e9 * static_cast<double>(i) / rate));
        }
        OfferLoad(load, senders, batch, stream, offered);
        // Stragglers: wait for the commits (condition with a deadline).
        const auto deadline = Clock::now() + std::chrono::seconds(30);
        {
            std::unique_lock lock(seen.progress_mutex);
            seen.progress.wait_until(lock, deadline, [&] {
                return seen.committed_count.load() + offered.refused.load() >= total;
            });
        }
        watcher.Stop();
        const double cpu_s = TotalCpu() - cpu_before;
        const StatusTotals totals_after = SumStatus();

        RunResult r = Summarize(load, seen, t0);
        r.offered = rate;
        r.submitted = offered.submitted.load();
        r.refused = offered.refused.load();
        r.cpu_ms_per_tx = r.committed ? 1000.0 * cpu_s / r.committed : 0;
        const double verifies =
            static_cast<double>(totals_after.verifications - totals_before.verifications);
        const double verify_cpu_s = 1e-9 * static_cast<double>(totals_after.verify_cpu_ns -
                                                                totals_before.verify_cpu_ns);
        r.verifies_per_tx = r.committed ? verifies / r.committed : 0;
        r.verify_cpu_share = cpu_s > 0 ? verify_cpu_s / cpu_s : 0;
        r.verifies_per_cpu_s = verify_cpu_s > 0 ? verifies / verify_cpu_s : 0;
        r.peer_frames_per_tx =
            r.committed ? static_cast<double>(totals_after.frames - totals_before.frames) /
                              static_cast<double>(r.committed)
                        : 0;
        r.view_changes = totals_after.view - totals_before.view;
        return r;
    }

    // The transactions of one run, signed before the load starts, and when each is due.
    struct Load {
        std::vector<chain::Transaction> txs;
        std::vector<Hash256> hashes;
        std::unordered_map<Hash256, size_t, mempool::Hash256Hasher> index;  // hash -> position
        std::vector<Clock::time_point> scheduled;
    };

    // What the commit observer saw of a run's transactions.
    struct Observed {
        explicit Observed(size_t total) : committed_at(total), committed(total, 0) {}
        std::vector<Clock::time_point> committed_at;
        std::vector<char> committed;
        std::atomic<uint64_t> committed_count{0};
        std::atomic<uint64_t> blocks{0}, block_txs{0};
        std::mutex progress_mutex;
        std::condition_variable progress;  // notified per observed block
    };

    // Counted by the load workers.
    struct Offered {
        std::atomic<uint64_t> submitted{0}, refused{0};
    };

    // `total` state puts of ~1 KB from `senders` identities, signed on every core.
    Load SignLoad(size_t total, int senders, uint64_t seed) const {
        std::vector<std::unique_ptr<crypto::Sm2Signer>> keys;
        for (int i = 0; i < senders; ++i) {
            keys.push_back(std::make_unique<crypto::Sm2Signer>(crypto::Sm2PrivateKey::Generate()));
        }
        std::fprintf(stderr, "[bench] signing %zu transactions (%d senders) ...\n", total, senders);
        Load load;
        load.txs.resize(total);
        load.hashes.resize(total);
        load.scheduled.resize(total);
        std::vector<std::thread> signers;
        const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
        for (unsigned t = 0; t < threads; ++t) {
            signers.emplace_back([&, t] {
                for (size_t i = t; i < total; i += threads) {
                    const size_t sender = i % static_cast<size_t>(senders);
                    const uint64_t nonce = i / static_cast<size_t>(senders) + 1;
                    load.txs[i] = client::MakeStatePut(
                        *keys[sender], m_chain_id, nonce,
                        "bench/" + std::to_string(seed) + "/" + std::to_string(i),
                        AsBytes(RecordJson(seed * 1000000 + i)));
                    load.hashes[i] = load.txs[i].Hash();
                }
            });
        }
        for (auto& t : signers) t.join();
        for (size_t i = 0; i < total; ++i) load.index.emplace(load.hashes[i], i);
        return load;
    }

    // Commit observer: a StreamCommits subscription on one node from its current tip
    // (transaction hashes only: the observer does not compete with the nodes for CPU by
    // parsing and hashing every transaction again). Runs from construction until Stop.
    class CommitWatcher {
    public:
        CommitWatcher(const std::string& address, const Load& load, Observed& seen)
            : m_observer(address) {
            const uint64_t from = m_observer.GetStatus()->height() + 1;
            v1::StreamBlocksRequest sreq;
            sreq.set_from_height(from);
            m_reader = m_observer.stub().StreamCommits(&m_context, sreq);
            m_thread = std::thread([this, &load, &seen] { Watch(load, seen); });
        }
        ~CommitWatcher() { Stop(); }
        void Stop() {
            if (!m_thread.joinable()) return;
            m_stop.store(true);
            m_context.TryCancel();
            m_thread.join();
        }

    private:
        void Watch(const Load& load, Observed& seen) {
            v1::BlockSummary pb;
            while (m_reader->Read(&pb)) {
                const auto now = Clock::now();
                seen.blocks.fetch_add(1);
                seen.block_txs.fetch_add(static_cast<uint64_t>(pb.tx_hashes_size()));
                for (const auto& bytes : pb.tx_hashes()) {
                    const auto h = HashFromBytes(AsBytes(bytes));
                    if (!h) continue;
                    auto it = load.index.find(*h);
                    if (it != load.index.end() && !seen.committed[it->second]) {
                        seen.committed_at[it->second] = now;
                        seen.committed[it->second] = 1;
                        seen.committed_count.fetch_add(1);
                    }
                }
                {
                    std::lock_guard lock(seen.progress_mutex);
                }
                seen.progress.notify_all();
                if (m_stop.load()) break;
            }
            seen.progress.notify_all();
        }

        client::Client m_observer;
        grpc::ClientContext m_context;
        std::unique_ptr<grpc::ClientReader<v1::BlockSummary>> m_reader;
        std::atomic<bool> m_stop{false};
        std::thread m_thread;
    };

    // Sends every transaction at its scheduled time. Streams: one worker (and stream) per
    // node, at least 4, since a stream's requests are handled one after another. Calls: 16
    // workers, since each waits for its answer before the next send.
    void OfferLoad(const Load& load, int senders, size_t batch, bool stream,
                   Offered& offered) const {
        const int workers = stream ? std::max(4, static_cast<int>(m_nodes.size())) : 16;
        std::vector<std::thread> pool;
        std::vector<std::unique_ptr<client::Client>> clients;
        for (int w = 0; w < workers; ++w) {
            clients.push_back(std::make_unique<client::Client>(
                m_nodes[static_cast<size_t>(w) % m_nodes.size()].client_address));
        }
        for (int w = 0; w < workers; ++w) {
            pool.emplace_back([&, w] {
                // A sender's transactions stay on one worker, so its nonces arrive in order.
                std::vector<size_t> mine;
                for (size_t i = 0; i < load.txs.size(); ++i) {
                    if ((i % static_cast<size_t>(senders)) % static_cast<size_t>(workers) ==
                        static_cast<size_t>(w)) {
                        mine.push_back(i);
                    }
                }
                OfferShare(load, mine, *clients[static_cast<size_t>(w)], batch, stream, offered);
            });
        }
        for (auto& t : pool) t.join();
    }

    // One worker's share of the load (`mine`: positions in load order) through client `c`.
    static void OfferShare(const Load& load, const std::vector<size_t>& mine, client::Client& c,
                           size_t batch, bool stream, Offered& offered) {
        // A node answers at most SUBMIT_STREAM_MAX_REQUESTS requests per SubmitStream call,
        // so the worker closes its stream after that many and opens another.
        std::unique_ptr<grpc::ClientContext> stream_context;
        std::unique_ptr<grpc::ClientReaderWriter<v1::SubmitBatchRequest, v1::SubmitBatchResponse>>
            submit_stream;
        std::thread answers;
        int on_stream = 0;
        auto open_stream = [&] {
            stream_context = std::make_unique<grpc::ClientContext>();
            submit_stream = c.stub().SubmitStream(stream_context.get());
            on_stream = 0;
            answers = std::thread([&] {
                v1::SubmitBatchResponse resp;
                while (submit_stream->Read(&resp)) {
                    for (const auto& r : resp.results()) {
                        if (r.code() != 0) offered.refused.fetch_add(1);
                    }
                }
            });
        };
        auto close_stream = [&] {
            submit_stream->WritesDone();
            answers.join();
            grpc::Status st = submit_stream->Finish();
            if (!st.ok()) {
                std::fprintf(stderr, "[bench] submit stream ended: %s\n",
                             st.error_message().c_str());
            }
        };
        if (stream) open_stream();
        size_t pos = 0;
        while (pos < mine.size()) {
            std::this_thread::sleep_until(load.scheduled[mine[pos]]);  // offered schedule
            // Everything already due goes in one call (up to the batch size).
            const auto now = Clock::now();
            std::vector<const chain::Transaction*> due;
            size_t end = pos;
            while (end < mine.size() && due.size() < batch &&
                   (end == pos || load.scheduled[mine[end]] <= now)) {
                due.push_back(&load.txs[mine[end]]);
                ++end;
            }
            if (stream) {
                if (on_stream == v1::SUBMIT_STREAM_MAX_REQUESTS) {
                    close_stream();
                    open_stream();
                }
                v1::SubmitBatchRequest req;
                for (const auto* tx : due) *req.add_transactions() = chain::ToProto(*tx);
                if (!submit_stream->Write(req)) offered.refused.fetch_add(due.size());
                ++on_stream;
            } else if (due.size() == 1) {
                if (!c.Submit(*due[0]).ok()) offered.refused.fetch_add(1);
            } else {
                for (const auto& r : c.SubmitMany(due)) {
                    if (!r.ok()) offered.refused.fetch_add(1);
                }
            }
            offered.submitted.fetch_add(due.size());
            pos = end;
        }
        if (stream) close_stream();
    }

    // Throughput, latency and block figures of what committed (from t0, the load's start).
    static RunResult Summarize(const Load& load, const Observed& seen, Clock::time_point t0) {
        RunResult r;
        r.committed = seen.committed_count.load();
        Clock::time_point last = t0;
        std::vector<double> lat;
        for (size_t i = 0; i < load.txs.size(); ++i) {
            if (!seen.committed[i]) continue;
            last = std::max(last, seen.committed_at[i]);
            lat.push_back(1000.0 * Seconds(seen.committed_at[i] - load.scheduled[i]));
        }
        r.duration_s = Seconds(last - t0);
        r.tps = r.duration_s > 0 ? static_cast<double>(r.committed) / r.duration_s : 0;
        std::sort(lat.begin(), lat.end());
        auto pct = [&](double p) {
            return lat.empty() ? 0.0 : lat[std::min(lat.size() - 1, static_cast<size_t>(p * lat.size()))];
        };
        r.p50_ms = pct(0.50);
        r.p95_ms = pct(0.95);
        r.p99_ms = pct(0.99);
        const uint64_t blocks = seen.blocks.load();
        r.blocks_per_s = r.duration_s > 0 ? static_cast<double>(blocks) / r.duration_s : 0;
        r.txs_per_block = blocks ? static_cast<double>(seen.block_txs.load()) / blocks : 0;
        return r;
    }

    // Counters summed over the nodes' GetStatus.
    struct StatusTotals {
        uint64_t verifications = 0;
        uint64_t verify_cpu_ns = 0;  // their thread CPU time
        uint64_t frames = 0;  // peer frames sent
        uint64_t view = 0;    // the highest view any node is in
    };
    StatusTotals SumStatus() const {
        StatusTotals total;
        for (const auto& n : m_nodes) {
            client::Client c(n.client_address);
            auto s = c.GetStatus();
            if (!s.ok()) continue;
            total.verifications += s->signature_verifications();
            total.verify_cpu_ns += s->signature_verify_cpu_ns();
            total.frames += s->peer_frames_sent();
            total.view = std::max<uint64_t>(total.view, s->view());
        }
        return total;
    }

    double TotalCpu() const {
        double cpu = 0;
        for (const auto& n : m_nodes) cpu += ProcUsage(n.pid).first;
        return cpu;
    }

    // Waits (at most 30 s) until the nodes together use less than 15% of a core over a
    // second. A run can leave work behind (LevelDB compactions after an overloaded run, late
    // gossip batches); it would count against the next run and slow the SM2 probe, which is
    // meant to see an idle cluster.
    void WaitQuiet() const {
        const auto deadline = Clock::now() + std::chrono::seconds(30);
        double cpu_before = TotalCpu();
        auto since = Clock::now();
        bool told = false;
        while (Clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::seconds(1));
            const double cpu_now = TotalCpu();
            const auto now = Clock::now();
            const double cores = (cpu_now - cpu_before) / Seconds(now - since);
            if (cores < 0.15) return;
            if (!told) {
                std::fprintf(stderr, "[bench] waiting for the cluster to settle (%.2f cores busy)\n",
                             cores);
                told = true;
            }
            cpu_before = cpu_now;
            since = now;
        }
        std::fprintf(stderr, "[bench] the cluster is still busy after 30 s; measuring anyway\n");
    }

private:
    std::vector<NodeProc> m_nodes;
    std::string m_chain_id;
};

void PrintRun(const RunResult& r) {
    std::fprintf(stderr,
                 "[bench]   offered %6.0f  committed %6.0f tx/s  p50 %6.1f ms  p95 %6.1f ms  p99 "
                 "%6.1f ms  blocks/s %5.1f  tx/block %6.1f  verifies/tx %5.2f  refused %llu  (SM2 %.0f/s, "
                 "%.0f/s per core on all cores)"
                 "  verify CPU %.0f%% at %.0f/s  peer frames/tx %.2f  view changes %llu\n",
                 r.offered, r.tps, r.p50_ms, r.p95_ms, r.p99_ms, r.blocks_per_s, r.txs_per_block,
                 r.verifies_per_tx, static_cast<unsigned long long>(r.refused), r.sm2_per_core,
                 r.sm2_per_core_all, 100 * r.verify_cpu_share, r.verifies_per_cpu_s, r.peer_frames_per_tx,
                 static_cast<unsigned long long>(r.view_changes));
}

std::string RunJson(const RunResult& r) {
    char buf[1024];
    std::snprintf(buf, sizeof buf,
                  "{\"offered_tps\":%.1f,\"committed_tps\":%.1f,\"submitted\":%llu,\"refused\":%llu,"
                  "\"committed\":%llu,\"p50_ms\":%.2f,\"p95_ms\":%.2f,\"p99_ms\":%.2f,"
                  "\"blocks_per_s\":%.2f,\"txs_per_block\":%.1f,\"cpu_ms_per_tx\":%.3f,"
                  "\"verifies_per_tx\":%.3f,\"sm2_verifies_per_s\":%.0f,"
                  "\"sm2_verifies_per_s_per_core_all_cores\":%.0f,"
                  "\"verify_cpu_share\":%.3f,\"verifies_per_cpu_s\":%.0f,"
                  "\"peer_frames_per_tx\":%.3f,\"view_changes\":%llu}",
                  r.offered, r.tps, static_cast<unsigned long long>(r.submitted),
                  static_cast<unsigned long long>(r.refused),
                  static_cast<unsigned long long>(r.committed), r.p50_ms, r.p95_ms, r.p99_ms,
                  r.blocks_per_s, r.txs_per_block, r.cpu_ms_per_tx, r.verifies_per_tx,
                  r.sm2_per_core, r.sm2_per_core_all, r.verify_cpu_share, r.verifies_per_cpu_s,
                  r.peer_frames_per_tx,
                  static_cast<unsigned long long>(r.view_changes));
    return buf;
}

// ---- the program's steps ----

// What the command line asks for, every value checked before any work starts.
struct Settings {
    int nodes = 4;
    double duration = 10;
    int senders = 64;
    size_t batch = 64;
    double fixed_rate = 500;
    bool find_peak = false;
    bool soak = false;
    double soak_s = 600;
    bool soak_fixed = false;  // --soak-rate given
    double soak_fixed_rate = 100;
    unsigned cores = 1;
    uint32_t verify_threads = 1;
    uint32_t batch_delay_ms = 0;
    bool stream = true;
    std::string daemon;
    std::string genesis;
    std::string log_level;
    std::optional<std::string> out;
    bool keep = false;
};

// The settings, or the exit code when the command line is wrong (the message printed).
std::variant<Settings, int> ParseSettings(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    auto flags = tools::Flags::Parse(
        args, {{"nodes", "N", "validators (default 4)"},
               {"rate", "R", "offered tx/s (default 500)"},
               {"find-peak", "", "step the rate up until the cluster saturates"},
               {"duration", "S", "seconds per run (default 10)"},
               {"senders", "K", "signing identities (default 64)"},
               {"batch", "B", "at most B due transactions per send (default 64)"},
               {"verify-threads", "T", "mempool.verify_threads per node (default cores / N, at least 1)"},
               {"submit", "MODE", "stream (one SubmitStream per node, default) or call"},
               {"soak", "S", "then run S seconds at half the peak (or --soak-rate) sampling RSS"},
               {"soak-rate", "R", "offer R tx/s in the soak instead of half the peak"},
               {"out", "FILE", "JSON result file"},
               {"log-level", "LEVEL", "daemon log level (default warn)"},
               {"batch-delay-ms", "MS", "consensus.max_batch_delay_ms of every node (default: the node's)"},
               {"keep", "", "keep the cluster directory (configs, logs, data) for inspection"},
               {"meterchaind", "PATH", "daemon binary (default: next to this build)"},
               {"genesis", "FILE", "genesis JSON (default deploy/genesis.json)"}});
    if (!flags.ok()) {
        std::fprintf(stderr, "meterbench: %s\n", flags.status().message().c_str());
        return 2;
    }
    // Every numeric flag is read here, before any work: a bad value ends the program with its
    // message instead of aborting minutes into a run.
    Status bad;
    auto number = [&](const std::string& name, uint64_t fallback, uint64_t min, uint64_t max) {
        auto v = flags->Number(name, fallback, min, max);
        if (!v.ok()) {
            if (bad.ok()) bad = v.status();
            return fallback;
        }
        return *v;
    };
    Settings st;
    st.nodes = static_cast<int>(number("nodes", 4, 1, 16));
    st.duration = static_cast<double>(number("duration", 10, 1, 3600));
    st.senders = static_cast<int>(number("senders", 64, 1, 10000));
    st.batch = static_cast<size_t>(number("batch", 64, 1, 1000));
    st.fixed_rate = static_cast<double>(number("rate", 500, 1, 1000000));
    st.soak_s = static_cast<double>(number("soak", 600, 10, 36000));
    st.soak_fixed_rate = static_cast<double>(number("soak-rate", 100, 1, 1000000));
    st.cores = std::max(1u, std::thread::hardware_concurrency());
    st.verify_threads = static_cast<uint32_t>(number(
        "verify-threads", std::max<uint64_t>(1, st.cores / static_cast<unsigned>(st.nodes)), 1, 64));
    st.batch_delay_ms = static_cast<uint32_t>(number("batch-delay-ms", 0, 0, 10000));
    if (!bad.ok()) {
        std::fprintf(stderr, "meterbench: %s\n", bad.message().c_str());
        return 2;
    }
    const std::string submit_mode = flags->Get("submit").value_or("stream");
    if (submit_mode != "stream" && submit_mode != "call") {
        std::fprintf(stderr, "meterbench: --submit must be stream or call\n");
        return 2;
    }
    st.stream = submit_mode == "stream";
    st.find_peak = flags->Has("find-peak");
    st.soak = flags->Has("soak");
    st.soak_fixed = flags->Has("soak-rate");
    const fs::path self_dir = fs::canonical("/proc/self/exe").parent_path();
    st.daemon = flags->Get("meterchaind").value_or((self_dir.parent_path().parent_path() / "daemon" /
                                                    "meterchaind").string());
    st.genesis = flags->Get("genesis").value_or(MC_SOURCE_DIR "/deploy/genesis.json");
    st.log_level = flags->Get("log-level").value_or("warn");
    st.out = flags->Get("out");
    st.keep = flags->Has("keep");
    return st;
}

// This machine's limits, measured before the cluster starts.
struct MachineLimits {
    double verifies = 0;      // SM2 verifications/s on one core
    double verifies_all = 0;  // per core, with every core verifying at once
    double sm3 = 0;           // MB/s
    double ldb = 0;           // synced LevelDB writes/s
};

MachineLimits MeasureMachine(const Settings& st, const Sm2Probe& probe, const fs::path& work) {
    MachineLimits m;
    const auto reading = probe.Read();
    m.verifies = reading.one_core;
    m.verifies_all = reading.all_cores;
    m.sm3 = MeasureSm3MBPerSec();
    m.ldb = MeasureLevelDbSyncedWritesPerSec(work);
    std::fprintf(stderr,
                 "[bench] cores %u, SM2 verify %.0f/s on one core (%.0f/s per core with all %u "
                 "at once), SM3 %.0f MB/s, LevelDB synced writes %.0f/s\n",
                 st.cores, m.verifies, m.verifies_all, st.cores, m.sm3, m.ldb);
    return m;
}

void StopNodes(const std::vector<NodeProc>& nodes) {
    for (const auto& p : nodes) {
        if (p.pid <= 0) continue;
        kill(p.pid, SIGTERM);
        int st = 0;
        waitpid(p.pid, &st, 0);
    }
}

// Writes the cluster's files under `work` and starts its daemons; returns once every one
// answers. On failure every daemon started is killed and reaped.
Result<std::vector<NodeProc>> StartCluster(const Settings& st, const fs::path& work,
                                           std::string& chain_id) {
    config::ClusterOptions co;
    co.nodes = st.nodes;
    co.out_dir = (work / "cluster").string();
    co.base_port = 12000 + static_cast<uint32_t>(getpid() % 1000) * 16;
    co.chain_id = "bench";
    co.genesis_file = st.genesis;
    // The validators share this machine: each gets its share of the cores for its pools.
    co.verify_threads = st.verify_threads;
    co.max_batch_delay_ms = st.batch_delay_ms;  // 0: the default
    chain_id = co.chain_id;
    auto summary = config::InitCluster(co);
    if (!summary.ok()) return summary.status();
    std::vector<NodeProc> nodes;
    auto fail = [&](const std::string& why) {
        for (const auto& q : nodes) {
            if (q.pid <= 0) continue;
            kill(q.pid, SIGKILL);
            waitpid(q.pid, nullptr, 0);
        }
        return IoError(why);
    };
    for (const auto& cn : summary->nodes) {
        NodeProc p;
        p.config = cn.config_file;
        p.client_address = cn.client_address;
        p.data_dir = cn.dir + "/data";
        p.pid = Spawn(st.daemon, p.config, cn.dir + "/meterchaind.log", st.log_level);
        if (p.pid <= 0) return fail("cannot start " + st.daemon);
        nodes.push_back(p);
    }
    for (const auto& p : nodes) {
        client::Client c(p.client_address);
        if (!c.WaitUntilUp(Clock::now() + std::chrono::seconds(30))) {
            return fail("node " + p.client_address + " did not come up");
        }
    }
    std::fprintf(stderr, "[bench] %d validators up\n", st.nodes);
    return nodes;
}

// One run at a rate, judged against the SM2 speed probed right before and after it.
using RunFn = std::function<RunResult(double rate, double seconds,
                                      const std::function<void()>& on_load_start)>;

// Steps the offered rate up until the cluster saturates; every run lands in `runs`, the one
// with the highest committed throughput is returned.
RunResult FindPeak(const RunFn& run, double duration, std::vector<RunResult>& runs) {
    RunResult best;
    // Steps of 20%: past saturation an open-loop run measures an overloaded cluster
    // (queues, big late blocks), so the highest rate that still keeps up matters.
    auto saturated = [](const RunResult& r) {
        return r.tps < 0.9 * r.offered || r.p99_ms > 2000;
    };
    auto step = [&](double rate) {  // one run of the search, recorded
        RunResult r = run(rate, duration, {});
        PrintRun(r);
        runs.push_back(r);
        if (r.tps > best.tps) best = r;
        return r;
    };
    double rate = 250;
    // A cluster already saturated at the first step (many validators, a slow phase of
    // the machine) is first stepped down until it keeps up: an overloaded run's
    // throughput is below what the cluster sustains, and would pass for the peak.
    while (saturated(step(rate)) && rate > 20) {
        rate = std::max(20.0, std::round(rate / 1.5 / 10) * 10);
    }
    const bool stepped_down = runs.size() > 1;
    for (rate = std::round(rate * 1.2 / 10) * 10; rate <= 5000 && !saturated(runs.back());
         rate = std::round(rate * 1.2 / 10) * 10) {
        if (stepped_down && rate >= runs.front().offered) break;  // known to saturate
        step(rate);
    }
    // The 20% grid alone can read the peak up to a sixth low: halve the gap twice between
    // the highest rate that kept up and the lowest above it that did not.
    double kept_up = 0, too_much = 0;
    for (const auto& r : runs) {
        if (!saturated(r)) kept_up = std::max(kept_up, r.offered);
    }
    for (const auto& r : runs) {
        if (saturated(r) && r.offered > kept_up && (too_much == 0 || r.offered < too_much)) {
            too_much = r.offered;
        }
    }
    for (int i = 0; i < 2 && kept_up > 0 && too_much > 1.05 * kept_up; ++i) {
        const double mid = std::round((kept_up + too_much) / 2 / 5) * 5;
        if (saturated(step(mid))) {
            too_much = mid;
        } else {
            kept_up = mid;
        }
    }
    return best;
}

// The memory-stability run: its JSON object and how many transactions it committed.
struct SoakResult {
    std::string json = "null";
    uint64_t committed = 0;
};

SoakResult Soak(const RunFn& run, double rate, double seconds,
                const std::vector<NodeProc>& nodes) {
    // RSS of every node every 10 s from the moment the soak's load starts (signing its
    // transactions first takes a minute or more, with the nodes idle) until the run
    // returns, its last few stragglers committed. A condition variable paces the sampler.
    std::vector<std::vector<long>> samples;  // [sample][node]
    std::mutex sample_mutex;
    std::condition_variable sample_cv;
    bool load_started = false, soak_done = false;
    std::thread sampler([&] {
        std::unique_lock lock(sample_mutex);
        sample_cv.wait(lock, [&] { return load_started || soak_done; });
        while (!soak_done) {
            std::vector<long> row;
            for (auto& p : nodes) row.push_back(RssKb(p.pid));
            samples.push_back(std::move(row));
            std::fprintf(stderr, "[bench] soak: RSS sample %zu taken\n", samples.size());
            sample_cv.wait_for(lock, std::chrono::seconds(10), [&] { return soak_done; });
        }
    });
    auto start_sampling = [&] {
        std::lock_guard lock(sample_mutex);
        load_started = true;
        sample_cv.notify_all();
    };
    RunResult s = run(rate, seconds, start_sampling);
    {
        std::lock_guard lock(sample_mutex);
        soak_done = true;
    }
    sample_cv.notify_all();
    sampler.join();
    std::vector<long> after_load;  // once the stragglers are in and the load has stopped
    for (auto& p : nodes) after_load.push_back(RssKb(p.pid));
    if (samples.empty()) samples.push_back(after_load);
    // Growth is judged from the sample one minute into the load (caches and the memtable
    // fill first) to the last sample under load, and to the highest one after that minute.
    const size_t warm = std::min<size_t>(6, samples.size() - 1);
    std::vector<long> peak = samples[warm];
    for (size_t k = warm; k < samples.size(); ++k) {
        for (size_t i = 0; i < nodes.size(); ++i) peak[i] = std::max(peak[i], samples[k][i]);
    }
    auto row = [](const std::vector<long>& rss) {
        std::string out = "[";
        for (size_t i = 0; i < rss.size(); ++i) out += (i ? "," : "") + std::to_string(rss[i]);
        return out + "]";
    };
    std::ostringstream js;
    js << "{\"seconds\":" << seconds << ",\"run\":" << RunJson(s)
       << ",\"rss_kb_load_start\":" << row(samples.front())
       << ",\"rss_kb_after_60s\":" << row(samples[warm])
       << ",\"rss_kb_load_end\":" << row(samples.back())
       << ",\"rss_kb_max_after_60s\":" << row(peak)
       << ",\"rss_kb_after_load\":" << row(after_load) << ",\"rss_kb_samples\":[";
    for (size_t k = 0; k < samples.size(); ++k) js << (k ? "," : "") << row(samples[k]);
    js << "]}";
    PrintRun(s);
    auto pct = [](long from, long to) { return from ? 100.0 * (to - from) / from : 0.0; };
    for (size_t i = 0; i < nodes.size(); ++i) {
        const long base = samples[warm][i];
        std::fprintf(stderr,
                     "[bench] soak node %zu RSS: load start %.1f MiB, 60 s in %.1f MiB, end of "
                     "load %.1f MiB (%+.1f%%), highest after 60 s %.1f MiB (%+.1f%%), after "
                     "the load %.1f MiB\n",
                     i, samples.front()[i] / 1024.0, base / 1024.0,
                     samples.back()[i] / 1024.0, pct(base, samples.back()[i]),
                     peak[i] / 1024.0, pct(base, peak[i]), after_load[i] / 1024.0);
    }
    return {js.str(), s.committed};
}

// Everything the report is made of.
struct Report {
    MachineLimits machine;
    std::vector<RunResult> runs;
    RunResult best;
    RunResult half;
    bool have_half = false;
    SoakResult soak;
    std::vector<long> hwm;  // per node, KiB
    double disk_per_tx = 0;
};

// Prints the table on stdout and returns the JSON result.
std::string PrintReport(const Settings& st, const Report& rep) {
    const int n = st.nodes;
    const unsigned cores = st.cores;
    const RunResult& best = rep.best;
    const MachineLimits& m = rep.machine;
    // Signatures verified per committed tx across the cluster: each node checks each
    // transaction once, plus per block what it needs for a quorum (the core drops the rest
    // unchecked). The PRE-PREPARE stands for the primary's prepare, so a backup checks it,
    // q - 2 other backups' prepares and q - 1 commits, and the primary q - 1 prepares and
    // q - 1 commits: 2 (q - 1) each, 16 per block with four validators, 56 with seven.
    const int f = (n - 1) / 3;
    const int quorum = (n + f + 2) / 2;  // ceil((n + f + 1) / 2), as chain::ValidatorSet
    const double per_block = 2.0 * n * (quorum - 1);
    const double sigs_per_tx = n + (best.txs_per_block > 0 ? per_block / best.txs_per_block : 0);
    // Judged against the SM2 speed probed around the peak run itself (RunResult::sm2_per_core).
    // The same bound also from what the cores deliver verifying all at once (Sm2Probe::AllCores).
    const double peak_verifies = best.sm2_per_core > 0 ? best.sm2_per_core : m.verifies;
    const double peak_verifies_all =
        best.sm2_per_core_all > 0 ? best.sm2_per_core_all : m.verifies_all;
    auto bound_at = [&](double per_core) { return cores * per_core / sigs_per_tx; };
    const double bound = bound_at(peak_verifies);
    const double bound_all = bound_at(peak_verifies_all);
    const double fraction = bound > 0 ? best.tps / bound : 0;
    const double fraction_all = bound_all > 0 ? best.tps / bound_all : 0;

    std::printf("\nmeterbench: %d validators, %u cores, ~1 KB transactions, open loop, submit by %s "
                "(at most %zu due per send)\n",
                n, cores, st.stream ? "stream" : "call", st.batch);
    std::printf("| metric | value |\n|---|---|\n");
    std::printf("| peak committed throughput | %.0f tx/s (offered %.0f) |\n", best.tps, best.offered);
    std::printf("| signature bound (%u x %.0f verifies/s around the peak run / %.2f sigs per tx) "
                "| %.0f tx/s |\n",
                cores, peak_verifies, sigs_per_tx, bound);
    std::printf("| fraction of the signature bound | %.0f%% |\n", 100 * fraction);
    std::printf("| the same with the cores probed all at once (%.0f verifies/s per core; bound %.0f "
                "tx/s) | %.0f%% |\n",
                peak_verifies_all, bound_all, 100 * fraction_all);
    std::printf("| SM2 verifications counted by the nodes per committed tx (peak) | %.2f |\n",
                best.verifies_per_tx);
    std::printf("| nodes' CPU spent in SM2 verification (peak; their own accounting) | %.0f%% "
                "(%.0f verifies per CPU-second) |\n",
                100 * best.verify_cpu_share, best.verifies_per_cpu_s);
    std::printf("| peer frames sent per committed tx, all nodes (peak) | %.2f |\n",
                best.peer_frames_per_tx);
    if (rep.have_half) {
        std::printf("| latency at half peak (%.0f tx/s) p50 / p95 / p99 | %.1f / %.1f / %.1f ms |\n",
                    rep.half.tps, rep.half.p50_ms, rep.half.p95_ms, rep.half.p99_ms);
    }
    std::printf("| latency at peak p50 / p95 / p99 | %.1f / %.1f / %.1f ms |\n", best.p50_ms,
                best.p95_ms, best.p99_ms);
    std::printf("| blocks/s, tx per block (peak) | %.1f, %.1f |\n", best.blocks_per_s,
                best.txs_per_block);
    std::printf("| bytes on disk per tx (node 0) | %.0f |\n", rep.disk_per_tx);
    std::printf("| CPU per committed tx (all nodes) | %.2f ms |\n", best.cpu_ms_per_tx);
    long max_hwm = 0;
    for (long h : rep.hwm) max_hwm = std::max(max_hwm, h);
    std::printf("| peak RSS per node (max) | %.1f MiB |\n", max_hwm / 1024.0);
    std::printf("| machine: SM2 verify on one core (per core, all at once), SM3, LevelDB synced "
                "writes | %.0f/s (%.0f/s), %.0f MB/s, %.0f/s |\n",
                m.verifies, m.verifies_all, m.sm3, m.ldb);

    std::ostringstream json;
    json << "{\"nodes\":" << n << ",\"cores\":" << cores << ",\"sm2_verifies_per_s\":" << m.verifies
         << ",\"sm3_mb_per_s\":" << m.sm3 << ",\"leveldb_synced_writes_per_s\":" << m.ldb
         << ",\"sigs_per_tx\":" << sigs_per_tx << ",\"signature_bound_tps\":" << bound
         << ",\"fraction_of_bound\":" << fraction
         << ",\"sm2_verifies_per_s_per_core_all_cores\":" << m.verifies_all
         << ",\"signature_bound_all_cores_tps\":" << bound_all
         << ",\"fraction_of_all_cores_bound\":" << fraction_all << ",\"peak\":" << RunJson(best)
         << ",\"half_peak\":" << (rep.have_half ? RunJson(rep.half) : "null") << ",\"runs\":[";
    for (size_t i = 0; i < rep.runs.size(); ++i) json << (i ? "," : "") << RunJson(rep.runs[i]);
    json << "],\"disk_bytes_per_tx\":" << rep.disk_per_tx << ",\"peak_rss_kb\":[";
    for (size_t i = 0; i < rep.hwm.size(); ++i) json << (i ? "," : "") << rep.hwm[i];
    json << "],\"soak\":" << rep.soak.json << "}\n";
    return json.str();
}

}  // namespace

int main(int argc, char** argv) {
    auto parsed = ParseSettings(argc, argv);
    if (const int* code = std::get_if<int>(&parsed)) return *code;
    const Settings& st = std::get<Settings>(parsed);

    const fs::path work = fs::temp_directory_path() / ("meterbench-" + std::to_string(getpid()));
    fs::create_directories(work);
    std::fprintf(stderr, "[bench] measuring machine limits ...\n");
    const Sm2Probe probe(st.cores);
    Report rep;
    rep.machine = MeasureMachine(st, probe, work);

    std::string chain_id;
    auto started = StartCluster(st, work, chain_id);
    if (!started.ok()) {
        std::fprintf(stderr, "meterbench: %s\n", started.status().ToString().c_str());
        return 1;
    }
    const std::vector<NodeProc> nodes = std::move(*started);
    Bench bench(nodes, chain_id);
    uint64_t seed = 1;
    const RunFn run = [&](double rate, double seconds,
                          const std::function<void()>& on_load_start) {
        bench.WaitQuiet();
        const Sm2Probe::Reading before = probe.Read();
        RunResult r =
            bench.Run(rate, seconds, st.senders, seed++, st.batch, st.stream, on_load_start);
        const Sm2Probe::Reading after = probe.Read();
        r.sm2_per_core = (before.one_core + after.one_core) / 2;
        r.sm2_per_core_all = (before.all_cores + after.all_cores) / 2;
        return r;
    };

    if (st.find_peak) {
        rep.best = FindPeak(run, st.duration, rep.runs);
    } else {
        rep.best = run(st.fixed_rate, st.duration, {});
        PrintRun(rep.best);
        rep.runs.push_back(rep.best);
    }
    if (st.find_peak && rep.best.tps > 0) {
        rep.half = run(std::floor(rep.best.tps / 2), st.duration, {});
        rep.have_half = true;
        std::fprintf(stderr, "[bench] at half the peak:\n");
        PrintRun(rep.half);
    }
    // Memory stability at half peak (optional, long); a fixed rate compares builds across
    // phases of the machine.
    if (st.soak && rep.best.tps > 0) {
        const double soak_rate = st.soak_fixed ? st.soak_fixed_rate : std::floor(rep.best.tps / 2);
        rep.soak = Soak(run, soak_rate, st.soak_s, nodes);
    }

    for (auto& p : nodes) rep.hwm.push_back(ProcUsage(p.pid).second);
    uint64_t total_committed = rep.soak.committed;  // counted in the bytes on disk per tx
    for (const auto& r : rep.runs) total_committed += r.committed;
    if (rep.have_half) total_committed += rep.half.committed;
    rep.disk_per_tx = total_committed
                          ? static_cast<double>(DirBytes(nodes[0].data_dir)) / total_committed
                          : 0;
    StopNodes(nodes);

    const std::string json = PrintReport(st, rep);
    if (st.out) {
        std::ofstream(*st.out) << json;
        std::fprintf(stderr, "[bench] wrote %s\n", st.out->c_str());
    }
    std::error_code ec;
    if (st.keep) {
        std::fprintf(stderr, "[bench] cluster kept in %s\n", work.c_str());
    } else {
        fs::remove_all(work, ec);
    }
    return 0;
}
