// chaos_run: a 4-node cluster of real meterchaind processes under steady load while a random
// node (the primary half the time) is killed with SIGKILL or stopped with SIGTERM every 5-10 s
// and restarted; then the safety and liveness figures. Run through scripts/chaos.sh (not in
// CI: it takes minutes). See docs/RELIABILITY.md.
//
// The load generator keeps every transaction it signed and sends the same bytes again (same
// hash) when a node fails: first to another node at once, and later, when a sender's
// committed nonce stays behind what it submitted, everything above the committed nonce. At the
// end it checks and prints:
//   - every submitted transaction committed exactly once (by hash, on node 0's chain);
//   - all nodes identical at every height (block hashes);
//   - the longest stall (largest gap between consecutive block timestamps under load);
//   - every node signing again after each restart: the time from its restart to the first
//     block whose certificate in its own store carries its signature (it voted; a block it
//     only fetched carries the others' certificate).
// Exit code 0 when every check passed, 1 otherwise, 2 for a bad command line.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "node/client/client.h"
#include "node/crypto/signer.h"
#include "test/e2e/cluster_harness.h"

using namespace meterchain;
using namespace meterchain::e2e;
using namespace std::chrono_literals;

namespace {

// Set by SIGINT/SIGTERM: the faults stop early, the checks still run and the cluster's
// processes are cleaned up.
std::atomic<bool> g_interrupted{false};
void OnSignal(int) { g_interrupted.store(true); }

uint64_t NowMs() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
}

struct Options {
    double minutes = 10;
    double rate = 50;  // transactions per second offered
    uint64_t seed = 0;
};

struct Sender {
    std::unique_ptr<crypto::Sm2Signer> signer;
    Bytes address;  // the sender id LastNonce takes (its public key)
    std::vector<chain::Transaction> txs;  // txs[k] has nonce k + 1
    uint64_t committed = 0;               // last committed nonce seen
    uint64_t committed_changed_ms = 0;
};

struct Event {
    uint64_t at_ms = 0;
    int node = 0;
    bool primary = false;
    bool sigkill = false;
    double stop_ms = 0;  // SIGTERM: how long the graceful stop took
    bool clean_exit = true;
    uint64_t restart_ms = 0;
};

class Chaos {
public:
    explicit Chaos(const Options& o) : m_opt(o), m_rng(o.seed ? o.seed : std::random_device{}()) {}
    int Run();

private:
    void Load();
    bool SubmitAnywhere(const chain::Transaction& tx, int first);
    void ResendStalled();
    int Primary();
    void Say(const std::string& line) {
        std::lock_guard lock(m_print);
        std::printf("[chaos] %s\n", line.c_str());
        std::fflush(stdout);
    }

    Options m_opt;
    std::mt19937_64 m_rng;
    std::unique_ptr<TestCluster> m_cluster;
    std::mutex m_print;
    std::mutex m_mutex;  // guards m_down and the senders
    std::vector<bool> m_down;
    std::vector<Sender> m_senders;
    std::atomic<bool> m_load_running{true};
    std::atomic<uint64_t> m_submit_failures{0};
    std::atomic<uint64_t> m_resent{0};
};

int Chaos::Primary() {
    for (int i = 0; i < m_cluster->size(); ++i) {
        {
            std::lock_guard lock(m_mutex);
            if (m_down[i]) continue;
        }
        auto st = m_cluster->client(i).GetStatus(1000);
        if (st.ok() && !st->in_view_change()) return static_cast<int>(st->primary());
    }
    return -1;
}

bool Chaos::SubmitAnywhere(const chain::Transaction& tx, int first) {
    const int n = m_cluster->size();
    for (int k = 0; k < n; ++k) {
        const int node = (first + k) % n;
        {
            std::lock_guard lock(m_mutex);
            if (m_down[node]) continue;
        }
        auto r = m_cluster->client(node).Submit(tx);
        if (r.ok() || r.status().code() == StatusCode::kAlreadyExists) return true;
        // A replayed nonce means it committed already (resent after all).
        if (r.status().message().find("nonce") != std::string::npos) return true;
        ++m_submit_failures;
    }
    return false;
}

void Chaos::ResendStalled() {
    // A transaction admitted by a node that was then killed is gone with its mempool (unless
    // gossip carried it on): resend everything above the committed nonce of a sender whose
    // committed nonce has not moved for 3 s while it has more outstanding.
    const uint64_t now = NowMs();
    for (size_t s = 0; s < m_senders.size(); ++s) {
        Sender& sender = m_senders[s];
        uint64_t submitted = 0;
        {
            std::lock_guard lock(m_mutex);
            submitted = sender.txs.size();
        }
        std::optional<uint64_t> committed;
        for (int i = 0; i < m_cluster->size() && !committed; ++i) {
            {
                std::lock_guard lock(m_mutex);
                if (m_down[i]) continue;
            }
            auto nonce = m_cluster->client(i).LastNonce(sender.address);
            if (nonce.ok()) committed = *nonce;
        }
        if (!committed) continue;
        if (*committed != sender.committed) {
            sender.committed = *committed;
            sender.committed_changed_ms = now;
            continue;
        }
        if (submitted <= *committed || now - sender.committed_changed_ms < 3000) continue;
        for (uint64_t nonce = *committed + 1; nonce <= submitted; ++nonce) {
            chain::Transaction tx;
            {
                std::lock_guard lock(m_mutex);
                tx = sender.txs[nonce - 1];
            }
            SubmitAnywhere(tx, static_cast<int>(nonce % m_cluster->size()));
            ++m_resent;
        }
        sender.committed_changed_ms = now;
    }
}

void Chaos::Load() {
    const auto period = std::chrono::duration<double>(1.0 / m_opt.rate);
    auto next = Clock::now();
    uint64_t k = 0;
    auto last_check = Clock::now();
    while (m_load_running.load()) {
        Sender& sender = m_senders[k % m_senders.size()];
        chain::Transaction tx;
        {
            std::lock_guard lock(m_mutex);
            const uint64_t nonce = sender.txs.size() + 1;
            tx = client::MakeStatePut(*sender.signer, m_cluster->chain_id(), nonce,
                                      "chaos/" + std::to_string(k % m_senders.size()) + "/" +
                                          std::to_string(nonce),
                                      AsBytes("reading " + std::to_string(k)));
            sender.txs.push_back(tx);
        }
        SubmitAnywhere(tx, static_cast<int>(k % m_cluster->size()));
        ++k;
        if (Clock::now() - last_check > 1s) {
            ResendStalled();
            last_check = Clock::now();
        }
        next += std::chrono::duration_cast<Clock::duration>(period);
        std::this_thread::sleep_until(next);  // the load's pace, not a synchronisation
    }
}

int Chaos::Run() {
    m_cluster = std::make_unique<TestCluster>(4);
    const int n = m_cluster->size();
    m_down.assign(n, false);
    m_cluster->StartAll();
    if (!m_cluster->WaitAllUp(In(60s))) {
        Say("cluster did not come up");
        return 1;
    }
    Say("cluster of " + std::to_string(n) + " up in " + m_cluster->dir() + "; load " +
        std::to_string(static_cast<int>(m_opt.rate)) + " tx/s for " +
        std::to_string(m_opt.minutes) + " min");
    m_senders.resize(8);
    for (auto& s : m_senders) {
        s.signer = std::make_unique<crypto::Sm2Signer>(crypto::Sm2PrivateKey::Generate());
        s.address = s.signer->PublicKey();
    }
    const uint64_t load_start_ms = NowMs();
    std::thread load([this] { Load(); });

    std::vector<Event> events;
    const auto end = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                        std::chrono::duration<double>(m_opt.minutes * 60));
    std::uniform_int_distribution<int> interval_ms(5000, 10000);
    std::uniform_int_distribution<int> pick(0, n - 1);
    std::uniform_int_distribution<int> coin(0, 1);
    std::uniform_int_distribution<int> downtime_ms(1000, 4000);
    while (Clock::now() < end && !g_interrupted.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(interval_ms(m_rng)));  // chaos pace
        if (Clock::now() >= end || g_interrupted.load()) break;
        Event e;
        e.primary = coin(m_rng) == 1;
        e.node = e.primary ? Primary() : pick(m_rng);
        if (e.node < 0) e.node = pick(m_rng);
        e.sigkill = coin(m_rng) == 1;
        e.at_ms = NowMs();
        {
            std::lock_guard lock(m_mutex);
            m_down[e.node] = true;
        }
        if (e.sigkill) {
            m_cluster->Kill(e.node);
        } else {
            const auto t0 = Clock::now();
            e.clean_exit = m_cluster->Terminate(e.node);
            e.stop_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
        }
        Say("t=" + std::to_string((e.at_ms - load_start_ms) / 1000) + "s " +
            (e.sigkill ? "kill -9" : "SIGTERM") + " node" + std::to_string(e.node) +
            (e.primary ? " (primary)" : "") +
            (e.sigkill ? "" : " stopped in " + std::to_string(static_cast<int>(e.stop_ms)) +
                                  " ms" + (e.clean_exit ? "" : " NOT CLEANLY")));
        std::this_thread::sleep_for(std::chrono::milliseconds(downtime_ms(m_rng)));  // downtime
        m_cluster->Start(e.node);
        e.restart_ms = NowMs();
        const bool up = m_cluster->WaitUp(e.node, In(30s));
        {
            std::lock_guard lock(m_mutex);
            m_down[e.node] = !up;
        }
        if (!up) Say("node" + std::to_string(e.node) + " did not come back up");
        events.push_back(e);
    }
    // A last stretch of load with every node up, so that each can show it signs again.
    std::this_thread::sleep_for(15s);
    m_load_running.store(false);
    load.join();
    const uint64_t load_end_ms = NowMs();
    Say("chaos over: " + std::to_string(events.size()) + " faults; waiting for every "
        "transaction");

    // Every transaction committed (resend what is missing until it is, bounded).
    bool all_committed = false;
    const auto settle = In(120s);
    while (Clock::now() < settle) {
        ResendStalled();
        bool done = true;
        for (auto& s : m_senders) {
            auto nonce = m_cluster->client(0).LastNonce(s.address);
            if (!nonce.ok() || *nonce < s.txs.size()) done = false;
        }
        if (done) {
            all_committed = true;
            break;
        }
        std::this_thread::sleep_for(1s);  // settling pace of a report tool
    }
    auto status = m_cluster->client(0).GetStatus();
    const uint64_t tip = status.ok() ? status->height() : 0;
    const bool all_synced = m_cluster->WaitHeight(tip, In(60s));

    // Checks over the whole chain.
    size_t submitted = 0;
    std::map<Hash256, int> wanted;
    for (const auto& s : m_senders) {
        submitted += s.txs.size();
        for (const auto& tx : s.txs) wanted[tx.Hash()] = 0;
    }
    uint64_t mismatches = 0, duplicates = 0, strangers = 0, missing = 0;
    uint64_t longest_stall_ms = 0, stall_at_height = 0, prev_ts = 0;
    std::vector<std::vector<std::pair<uint64_t, bool>>> signed_by(n);  // (timestamp, signed)
    for (uint64_t h = 1; h <= tip; ++h) {
        auto ref = m_cluster->client(0).GetBlock(h);
        if (!ref.ok()) {
            ++mismatches;
            continue;
        }
        for (int i = 0; i < n; ++i) {
            auto b = i == 0 ? ref : m_cluster->client(i).GetBlock(h);
            if (!b.ok() || b->Hash() != ref->Hash()) {
                ++mismatches;
                continue;
            }
            bool has = false;
            for (const auto& sig : b->certificate.signatures) has |= sig.validator == uint32_t(i);
            signed_by[i].push_back({b->header.timestamp_ms, has});
        }
        for (const auto& tx : ref->transactions) {
            auto it = wanted.find(tx.Hash());
            if (it == wanted.end()) {
                ++strangers;
            } else if (++it->second > 1) {
                ++duplicates;
            }
        }
        const uint64_t ts = ref->header.timestamp_ms;
        if (prev_ts != 0 && ts >= load_start_ms && ts <= load_end_ms && ts - prev_ts > longest_stall_ms) {
            longest_stall_ms = ts - prev_ts;
            stall_at_height = h;
        }
        prev_ts = ts;
    }
    for (const auto& [hash, count] : wanted) missing += count == 0 ? 1 : 0;

    // Per restart: how long until the node's own store shows a certificate it signed.
    uint64_t worst_resign_ms = 0, never_resigned = 0;
    std::vector<uint64_t> resign;
    for (const auto& e : events) {
        std::optional<uint64_t> first;
        for (const auto& [ts, has] : signed_by[e.node]) {
            if (ts > e.restart_ms && has) {
                first = ts - e.restart_ms;
                break;
            }
        }
        if (!first) {
            ++never_resigned;
        } else {
            resign.push_back(*first);
            worst_resign_ms = std::max(worst_resign_ms, *first);
        }
    }
    std::sort(resign.begin(), resign.end());
    double max_stop = 0;
    uint64_t unclean = 0, terms = 0, primaries = 0;
    for (const auto& e : events) {
        if (!e.sigkill) {
            ++terms;
            max_stop = std::max(max_stop, e.stop_ms);
            unclean += e.clean_exit ? 0 : 1;
        }
        primaries += e.primary ? 1 : 0;
    }
    const bool ok = all_committed && all_synced && mismatches == 0 && duplicates == 0 &&
                    strangers == 0 && missing == 0 && never_resigned == 0 && unclean == 0;
    std::printf("| figure | value |\n|---|---|\n");
    std::printf("| duration | %.1f min of faults + 15 s all up |\n", m_opt.minutes);
    std::printf("| faults | %zu (%llu of the primary; %llu SIGTERM, %zu kill -9) |\n",
                events.size(), (unsigned long long)primaries, (unsigned long long)terms,
                events.size() - terms);
    std::printf("| transactions submitted | %zu (resent %llu, failed submissions %llu) |\n",
                submitted, (unsigned long long)m_resent.load(),
                (unsigned long long)m_submit_failures.load());
    std::printf("| committed exactly once | %s (missing %llu, duplicated %llu, unknown %llu) |\n",
                missing == 0 && duplicates == 0 && strangers == 0 ? "yes" : "NO",
                (unsigned long long)missing, (unsigned long long)duplicates,
                (unsigned long long)strangers);
    std::printf("| heights | %llu, identical on all %d nodes: %s (%llu mismatches) |\n",
                (unsigned long long)tip, n, mismatches == 0 && all_synced ? "yes" : "NO",
                (unsigned long long)mismatches);
    std::printf("| longest stall | %llu ms (before height %llu) |\n",
                (unsigned long long)longest_stall_ms, (unsigned long long)stall_at_height);
    std::printf("| graceful stop | max %.0f ms, %llu not clean |\n", max_stop,
                (unsigned long long)unclean);
    std::printf("| restart -> signs a certificate | median %llu ms, max %llu ms, never %llu |\n",
                resign.empty() ? 0ULL : (unsigned long long)resign[resign.size() / 2],
                (unsigned long long)worst_resign_ms, (unsigned long long)never_resigned);
    std::printf("| result | %s |\n", ok ? "PASS" : "FAIL");
    if (!ok) std::printf("%s", m_cluster->Problems(10).c_str());
    return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "chaos_run: %s needs a value\n", a.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--minutes") {
            o.minutes = std::stod(value());
        } else if (a == "--rate") {
            o.rate = std::stod(value());
        } else if (a == "--seed") {
            o.seed = std::stoull(value());
        } else if (a == "--help" || a == "-h") {
            std::printf(
                "usage: chaos_run [--minutes M] [--rate TX_PER_S] [--seed S]\n"
                "A 4-node cluster under steady load; every 5-10 s a random node (the primary\n"
                "half the time) gets kill -9 or SIGTERM and is restarted 1-4 s later. Then\n"
                "checks every transaction committed once, identical chains, the longest\n"
                "stall and that every restarted node signs certificates again.\n"
                "Defaults: 10 minutes, 50 tx/s.\n");
            return 0;
        } else {
            std::fprintf(stderr, "chaos_run: unknown argument '%s' (see --help)\n", a.c_str());
            return 2;
        }
    }
    if (o.minutes <= 0 || o.rate <= 0) {
        std::fprintf(stderr, "chaos_run: --minutes and --rate must be positive\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, OnSignal);
    signal(SIGTERM, OnSignal);
    try {
        return Chaos(o).Run();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "chaos_run: %s\n", e.what());
        return 1;
    }
}
