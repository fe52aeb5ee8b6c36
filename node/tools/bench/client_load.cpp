// client-load: a load test of one node's client API (run by scripts/client-load.sh).
//
// Measures the commit latency of valid transactions submitted at a steady rate, first on an
// idle node, then while the same node also serves many idle WaitForCommit calls, block
// streams and concurrent state scans (and, with --big-submits, oversized submissions), and
// samples that node's RSS and thread count throughout. Prints one table and one JSON line.
//
//   client-load --node ADDR --pid PID [--waiters 10000] [--streams 500] [--scans 50]
//               [--rate 40] [--duration 20] [--big-submits 0]
//
// Latency is from the submission to the moment the node's StreamCommits delivers the block
// that holds the transaction. Figures depend on the machine: report them with its load.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "node/chain/proto_adapter.h"
#include "node/client/client.h"
#include "node/tools/meterctl_flags.h"

using namespace meterchain;
using Clock = std::chrono::steady_clock;

namespace {

struct ProcSample {
    long rss_kb = 0;
    int threads = 0;
};

ProcSample Sample(int pid) {
    ProcSample s;
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("VmRSS:", 0) == 0) s.rss_kb = std::stol(line.substr(6));
        if (line.rfind("Threads:", 0) == 0) s.threads = std::stoi(line.substr(8));
    }
    return s;
}

double Percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
    return v[i];
}

// Samples a process's RSS and threads every 100 ms, keeping the maxima.
class Sampler {
public:
    explicit Sampler(int pid) : m_pid(pid), m_thread([this] { Run(); }) {}
    ~Sampler() {
        m_stop = true;
        m_thread.join();
    }
    ProcSample peak() const {
        std::lock_guard lock(m_mutex);
        return m_peak;
    }
    void Reset() {
        std::lock_guard lock(m_mutex);
        m_peak = {};
    }

private:
    void Run() {
        while (!m_stop) {
            const ProcSample s = Sample(m_pid);
            {
                std::lock_guard lock(m_mutex);
                m_peak.rss_kb = std::max(m_peak.rss_kb, s.rss_kb);
                m_peak.threads = std::max(m_peak.threads, s.threads);
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }
    int m_pid;
    mutable std::mutex m_mutex;
    ProcSample m_peak;
    std::atomic<bool> m_stop{false};
    std::thread m_thread;
};

// Submits `rate` valid transactions per second for `seconds` and returns each one's commit
// latency in ms, seen on a StreamCommits of the same node.
std::vector<double> MeasureCommits(const client::Client& node, const std::string& chain_id,
                                   double rate, int seconds, uint64_t& nonce,
                                   const crypto::Sm2Signer& signer) {
    std::mutex mutex;
    std::map<Hash256, Clock::time_point> submitted;
    std::vector<double> latencies;
    auto status = node.GetStatus();
    if (!status.ok()) return {};
    grpc::ClientContext ctx;
    v1::StreamBlocksRequest from;
    from.set_from_height(status->height() + 1);
    auto stream = node.stub().StreamCommits(&ctx, from);
    std::atomic<size_t> expected{0};
    std::thread follower([&] {
        v1::BlockSummary summary;
        while (stream->Read(&summary)) {
            const auto now = Clock::now();
            std::lock_guard lock(mutex);
            for (const auto& bytes : summary.tx_hashes()) {
                auto h = HashFromBytes(AsBytes(bytes));
                if (!h) continue;
                auto it = submitted.find(*h);
                if (it == submitted.end()) continue;
                latencies.push_back(
                    std::chrono::duration<double, std::milli>(now - it->second).count());
                submitted.erase(it);
            }
            if (latencies.size() >= expected.load() && expected.load() > 0) break;
        }
    });
    const auto start = Clock::now();
    const auto interval = std::chrono::duration<double>(1.0 / rate);
    const int total = static_cast<int>(rate * seconds);
    int refused = 0;
    for (int i = 0; i < total; ++i) {
        std::this_thread::sleep_until(start + std::chrono::duration_cast<Clock::duration>(
                                                  interval * i));
        ++nonce;
        auto tx = client::MakeStatePut(signer, chain_id, nonce, "load/" + std::to_string(nonce),
                                       AsBytes("reading"));
        {
            std::lock_guard lock(mutex);
            submitted[tx.Hash()] = Clock::now();
        }
        if (!node.Submit(tx).ok()) {
            ++refused;
            --nonce;
            std::lock_guard lock(mutex);
            submitted.erase(tx.Hash());
        }
    }
    expected = static_cast<size_t>(total - refused);
    const auto deadline = Clock::now() + std::chrono::seconds(30);
    for (;;) {
        {
            std::lock_guard lock(mutex);
            if (latencies.size() >= expected.load() || Clock::now() > deadline) break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ctx.TryCancel();
    follower.join();
    (void)stream->Finish();
    if (refused > 0) std::fprintf(stderr, "[client-load] %d submissions refused\n", refused);
    std::lock_guard lock(mutex);
    return latencies;
}

// The background load: idle waiters (re-armed when they time out), streams reading every
// block, and threads running state scans back to back.
class Background {
public:
    Background(const client::Client& node, int waiters, int streams, int scans)
        : m_node(node) {
        std::mt19937_64 rng(42);
        for (int i = 0; i < waiters; ++i) {
            auto w = std::make_unique<Call>();
            w->kind = Call::kWait;
            std::string hash(32, '\0');
            for (auto& c : hash) c = static_cast<char>(rng());
            w->query.set_tx_hash(hash);
            w->query.set_timeout_ms(60000);
            StartWait(*w);
            m_calls.push_back(std::move(w));
        }
        auto status = node.GetStatus();
        v1::StreamBlocksRequest from;
        from.set_from_height(status.ok() ? status->height() + 1 : 1);
        for (int i = 0; i < streams; ++i) {
            auto s = std::make_unique<Call>();
            s->kind = Call::kStream;
            s->stream = node.stub().AsyncStreamBlocks(&s->context, from, &m_cq, s.get());
            m_calls.push_back(std::move(s));
        }
        m_poller = std::thread([this] { Poll(); });
        for (int i = 0; i < scans; ++i) {
            m_scanners.emplace_back([this] {
                while (!m_stop) {
                    auto r = m_node.Query("state", "scan", {});
                    if (r.ok()) {
                        m_scans_ok.fetch_add(1);
                    } else if (r.status().code() == StatusCode::kResourceExhausted) {
                        m_scans_refused.fetch_add(1);
                    } else {
                        m_scans_failed.fetch_add(1);
                    }
                }
            });
        }
    }
    ~Background() {
        m_stop = true;
        for (auto& t : m_scanners) t.join();
        for (auto& c : m_calls) c->context.TryCancel();
        m_poller.join();
        m_cq.Shutdown();
        void* tag = nullptr;
        bool ok = false;
        while (m_cq.Next(&tag, &ok)) {
        }
    }
    uint64_t scans_ok() const { return m_scans_ok; }
    uint64_t scans_refused() const { return m_scans_refused; }
    uint64_t scans_failed() const { return m_scans_failed; }
    uint64_t waits_refused() const { return m_waits_refused; }
    uint64_t blocks_streamed() const { return m_blocks; }

private:
    struct Call {
        enum Kind { kWait, kStream } kind = kWait;
        grpc::ClientContext context;
        v1::TxQuery query;
        v1::TxStatus status;
        grpc::Status result;
        std::unique_ptr<grpc::ClientAsyncResponseReader<v1::TxStatus>> wait;
        std::unique_ptr<grpc::ClientAsyncReader<v1::Block>> stream;
        v1::Block block;
    };
    void StartWait(Call& w) {
        w.wait = m_node.stub().AsyncWaitForCommit(&w.context, w.query, &m_cq);
        w.wait->Finish(&w.status, &w.result, &w);
    }
    void Poll() {
        void* tag = nullptr;
        bool ok = false;
        while (!m_stop) {
            if (m_cq.AsyncNext(&tag, &ok, std::chrono::system_clock::now() +
                                               std::chrono::milliseconds(200)) !=
                grpc::CompletionQueue::GOT_EVENT) {
                continue;
            }
            auto* call = static_cast<Call*>(tag);
            if (call->kind == Call::kWait) {
                if (m_stop) continue;
                if (call->result.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
                    m_waits_refused.fetch_add(1);
                    continue;
                }
                // Timed out (PENDING/UNKNOWN): wait again, as a patient client would. A call
                // object cannot be reused: a fresh context each time.
                call->context.~ClientContext();
                new (&call->context) grpc::ClientContext();
                StartWait(*call);
            } else if (ok) {
                if (call->block.has_header()) m_blocks.fetch_add(1);
                call->stream->Read(&call->block, call);
            }
        }
    }

    const client::Client& m_node;
    grpc::CompletionQueue m_cq;
    std::vector<std::unique_ptr<Call>> m_calls;
    std::vector<std::thread> m_scanners;
    std::thread m_poller;
    std::atomic<bool> m_stop{false};
    std::atomic<uint64_t> m_scans_ok{0}, m_scans_refused{0}, m_scans_failed{0};
    std::atomic<uint64_t> m_waits_refused{0}, m_blocks{0};
};

// `count` concurrent submissions of a `mb` MB transaction: the node must refuse them without
// holding them all in memory.
int BigSubmits(const client::Client& node, int count, int mb) {
    std::vector<std::thread> threads;
    std::atomic<int> refused{0};
    for (int i = 0; i < count; ++i) {
        threads.emplace_back([&, i] {
            chain::Transaction tx(Bytes(static_cast<size_t>(mb) << 20, static_cast<uint8_t>(i)),
                                  Bytes(64, 1));
            if (!node.Submit(tx).ok()) refused.fetch_add(1);
        });
    }
    for (auto& t : threads) t.join();
    return refused;
}

}  // namespace

int main(int argc, char** argv) {
    const std::vector<tools::FlagSpec> specs = {
        {"node", "ADDR", "client address of the node under test; default 127.0.0.1:7701"},
        {"pid", "PID", "process id of that node (its RSS and threads are sampled)"},
        {"waiters", "N", "idle WaitForCommit calls; default 10000"},
        {"streams", "N", "StreamBlocks calls; default 500"},
        {"scans", "N", "threads running state scans back to back; default 50"},
        {"rate", "TX/S", "valid transactions per second in each phase; default 40"},
        {"duration", "S", "seconds of each phase; default 20"},
        {"big-submits", "N", "then N concurrent 100 MB submissions; default 0"},
        {"help", "", "this text"}};
    auto flags = tools::Flags::Parse(std::vector<std::string>(argv + 1, argv + argc), specs);
    if (!flags.ok() || flags->Has("help")) {
        if (!flags.ok()) std::fprintf(stderr, "client-load: %s\n", flags.status().message().c_str());
        std::fprintf(stderr, "usage: client-load --node ADDR --pid PID [flags]\n");
        for (const auto& s : specs) {
            std::fprintf(stderr, "  --%-12s %-6s %s\n", s.name.c_str(), s.value_name.c_str(),
                         s.help.c_str());
        }
        return flags.ok() ? 0 : 2;
    }
    const std::string address = flags->Get("node").value_or("127.0.0.1:7701");
    uint64_t values[8] = {};
    const struct {
        const char* name;
        uint64_t fallback, min, max;
    } numbers[] = {{"pid", 0, 1, 1u << 30},        {"waiters", 10000, 0, 1000000},
                   {"streams", 500, 0, 100000},    {"scans", 50, 0, 10000},
                   {"rate", 40, 1, 100000},        {"duration", 20, 1, 3600},
                   {"big-submits", 0, 0, 100}};
    for (size_t i = 0; i < std::size(numbers); ++i) {
        auto v = flags->Number(numbers[i].name, numbers[i].fallback, numbers[i].min,
                               numbers[i].max);
        if (!v.ok()) {
            std::fprintf(stderr, "client-load: %s\n", v.status().message().c_str());
            return 2;
        }
        values[i] = *v;
    }
    const int pid = static_cast<int>(values[0]);
    const int waiters = static_cast<int>(values[1]);
    const int streams = static_cast<int>(values[2]);
    const int scans = static_cast<int>(values[3]);
    const double rate = static_cast<double>(values[4]);
    const int duration = static_cast<int>(values[5]);
    const int big = static_cast<int>(values[6]);
    if (pid == 0) {
        std::fprintf(stderr, "client-load: --pid of the node's process is required\n");
        return 2;
    }
    client::Client node(address);
    if (!node.WaitUntilUp(Clock::now() + std::chrono::seconds(20))) {
        std::fprintf(stderr, "client-load: node %s does not answer\n", address.c_str());
        return 1;
    }
    auto status = node.GetStatus();
    if (!status.ok()) return 1;
    crypto::Sm2Signer signer(crypto::Sm2PrivateKey::Generate());
    uint64_t nonce = 0;
    Sampler sampler(pid);

    std::fprintf(stderr, "[client-load] unloaded: %.0f tx/s for %d s\n", rate, duration);
    const ProcSample idle = Sample(pid);
    auto unloaded = MeasureCommits(node, status->chain_id(), rate, duration, nonce, signer);
    const ProcSample unloaded_peak = sampler.peak();

    std::fprintf(stderr, "[client-load] loading: %d waiters, %d streams, %d scans\n", waiters,
                 streams, scans);
    sampler.Reset();
    std::vector<double> loaded;
    uint64_t parked_waiters = 0, parked_streams = 0;
    uint64_t scans_ok = 0, scans_refused = 0, scans_failed = 0, waits_refused = 0, blocks = 0;
    {
        Background background(node, waiters, streams, scans);
        // Until the node has them all parked (or 30 s).
        const auto until = Clock::now() + std::chrono::seconds(30);
        while (Clock::now() < until) {
            auto st = node.GetStatus();
            if (st.ok()) {
                parked_waiters = st->client_waiters();
                parked_streams = st->client_streams();
                if (parked_waiters + background.waits_refused() >=
                        static_cast<uint64_t>(waiters) &&
                    parked_streams >= static_cast<uint64_t>(streams)) {
                    break;
                }
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
        std::fprintf(stderr, "[client-load] parked: %llu waiters, %llu streams; measuring\n",
                     static_cast<unsigned long long>(parked_waiters),
                     static_cast<unsigned long long>(parked_streams));
        loaded = MeasureCommits(node, status->chain_id(), rate, duration, nonce, signer);
        scans_ok = background.scans_ok();
        scans_refused = background.scans_refused();
        scans_failed = background.scans_failed();
        waits_refused = background.waits_refused();
        blocks = background.blocks_streamed();
    }
    const ProcSample loaded_peak = sampler.peak();
    int big_refused = 0;
    ProcSample big_peak;
    if (big > 0) {
        sampler.Reset();
        big_refused = BigSubmits(node, big, 100);
        big_peak = sampler.peak();
    }

    const double p50_idle = Percentile(unloaded, 0.5), p99_idle = Percentile(unloaded, 0.99);
    const double p50_load = Percentile(loaded, 0.5), p99_load = Percentile(loaded, 0.99);
    std::printf("client-load on %s (pid %d): %.0f tx/s for %d s per phase\n", address.c_str(),
                pid, rate, duration);
    std::printf("  idle node:            RSS %ld MB, %d threads\n", idle.rss_kb / 1024,
                idle.threads);
    std::printf("  unloaded:             %zu commits, p50 %.1f ms, p99 %.1f ms; peak RSS %ld MB, "
                "%d threads\n",
                unloaded.size(), p50_idle, p99_idle, unloaded_peak.rss_kb / 1024,
                unloaded_peak.threads);
    std::printf("  loaded:               %zu commits, p50 %.1f ms, p99 %.1f ms (%.2fx); peak RSS "
                "%ld MB, %d threads\n",
                loaded.size(), p50_load, p99_load, p99_idle > 0 ? p99_load / p99_idle : 0.0,
                loaded_peak.rss_kb / 1024, loaded_peak.threads);
    std::printf("  background:           %llu waiters and %llu streams parked (%llu waits "
                "refused), %llu blocks streamed, scans %llu ok / %llu refused "
                "(RESOURCE_EXHAUSTED) / %llu failed\n",
                static_cast<unsigned long long>(parked_waiters),
                static_cast<unsigned long long>(parked_streams),
                static_cast<unsigned long long>(waits_refused),
                static_cast<unsigned long long>(blocks),
                static_cast<unsigned long long>(scans_ok),
                static_cast<unsigned long long>(scans_refused),
                static_cast<unsigned long long>(scans_failed));
    if (big > 0) {
        std::printf("  big submissions:      %d x 100 MB, %d refused; peak RSS %ld MB\n", big,
                    big_refused, big_peak.rss_kb / 1024);
    }
    std::printf("{\"unloaded_p99_ms\":%.1f,\"loaded_p99_ms\":%.1f,\"ratio\":%.2f,"
                "\"loaded_peak_rss_mb\":%ld,\"loaded_peak_threads\":%d,\"waiters\":%llu,"
                "\"streams\":%llu,\"scans_ok\":%llu,\"scans_refused\":%llu,"
                "\"big_peak_rss_mb\":%ld}\n",
                p99_idle, p99_load, p99_idle > 0 ? p99_load / p99_idle : 0.0,
                loaded_peak.rss_kb / 1024, loaded_peak.threads,
                static_cast<unsigned long long>(parked_waiters),
                static_cast<unsigned long long>(parked_streams),
                static_cast<unsigned long long>(scans_ok),
                static_cast<unsigned long long>(scans_refused), big_peak.rss_kb / 1024);
    return 0;
}
