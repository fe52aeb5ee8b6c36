// crosschain_bench: anchor lag and relay cost on three real chains (scripts/bench-crosschain).
//
// Starts a 4-validator provincial chain, a 1-node State Grid main chain and a 1-node alliance
// chain (meterchaind, each with its own genesis), registers each chain on the one above,
// starts a relay per level (meterrelay, default batching), and offers a steady load to the
// provincial chain. Measured:
//   - anchor lag per provincial height: from the block being seen committed on the provincial
//     chain to the main-chain block accepting its anchor being seen committed (and the same
//     to the alliance chain, through the main-chain block that carries it); p50/p95/p99/max;
//   - CPU of the relays and of the provincial validators over the loaded interval (run once
//     with --no-relays for the validators' baseline);
//   - verify-proof of a two-hop proof of one load transaction (median and max of 50 runs).
// Prints a table and one JSON line. Not a test: no pass/fail.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "contracts/builtin.h"
#include "crosschain/anchor_tx.h"
#include "crosschain/proof.h"
#include "node/base/process.h"
#include "node/chain/proto_adapter.h"
#include "node/client/client.h"
#include "node/config/cluster_init.h"
#include "node/config/config.h"
#include "node/crypto/signer.h"
#include "node/tools/meterctl_flags.h"

namespace fs = std::filesystem;
using namespace meterchain;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

[[noreturn]] void Die(const std::string& m) {
    std::fprintf(stderr, "crosschain_bench: %s\n", m.c_str());
    std::exit(1);
}

uint64_t WallMs() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
}

// CPU seconds (user + system) of a live process.
double CpuSeconds(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), {});
    const size_t close = text.rfind(')');
    if (close == std::string::npos) return 0;
    std::istringstream fields(text.substr(close + 2));
    std::string f;
    unsigned long long utime = 0, stime = 0;
    for (int i = 0; i < 13 && fields >> f; ++i) {
        if (i == 11) utime = std::stoull(f);
        if (i == 12) stime = std::stoull(f);
    }
    return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

struct Chain {
    std::string id;
    config::ClusterSummary summary;
    std::vector<pid_t> pids;
};

Chain StartChain(const fs::path& dir, int nodes, const std::string& id, const std::string& genesis,
                 std::vector<std::string> names, uint32_t port, const fs::path& bin_dir) {
    config::ClusterOptions o;
    o.nodes = nodes;
    o.out_dir = dir.string();
    o.base_port = port;
    o.chain_id = id;
    o.genesis_file = genesis;
    o.names = std::move(names);
    auto s = config::InitCluster(o);
    if (!s.ok()) Die("init " + id + ": " + s.status().message());
    Chain c{id, std::move(*s), {}};
    for (const auto& n : c.summary.nodes) {
        auto pid = base::SpawnProcess((bin_dir / "node/daemon/meterchaind").string(),
                                      {"meterchaind", "--config", n.config_file, "--log-level",
                                       "warn"},
                                      n.dir + "/meterchaind.log");
        if (!pid.ok()) Die(pid.status().message());
        c.pids.push_back(*pid);
    }
    for (const auto& n : c.summary.nodes) {
        if (!client::Client(n.client_address).WaitUntilUp(Clock::now() + 30s)) {
            Die(id + " node " + n.identity.name + " did not come up");
        }
    }
    return c;
}

void Register(const Chain& upper, const Chain& lower) {
    const auto& un = upper.summary.nodes[0];
    auto key = config::LoadSm2KeyFile(un.dir + "/sm2.key");
    if (!key.ok()) Die(key.status().message());
    crypto::Sm2Signer signer(std::move(*key));
    v1::ProposeArgs propose;
    auto* reg = propose.add_actions()->mutable_register_chain();
    reg->set_chain_id(lower.id);
    for (const auto& n : lower.summary.nodes) {
        auto* v = reg->add_validators();
        v->set_name(n.identity.name);
        v->set_public_key(n.public_key_hex);
    }
    client::Client lower_client(lower.summary.nodes[0].client_address);
    auto genesis = lower_client.GetBlock(0);
    if (!genesis.ok()) Die(genesis.status().message());
    reg->set_start_prev_hash(ToString(genesis->Hash()));
    client::Client c(un.client_address);
    auto nonce = c.LastNonce(signer.PublicKey());
    if (!nonce.ok()) Die(nonce.status().message());
    auto tx = contracts::SignContractCall(upper.id, *nonce + 1, WallMs(), "governance", "Propose",
                                          propose, signer);
    auto h = c.Submit(tx);
    if (!h.ok()) Die(h.status().message());
    auto st = c.WaitForCommit(*h, 10000);
    if (!st.ok() || st->state() != v1::TxStatus::COMMITTED) Die("registration not committed");
}

pid_t StartRelay(const fs::path& dir, const std::string& name, const Chain& lower,
                 const Chain& upper, const fs::path& bin_dir) {
    const std::string key = (dir / (name + ".key")).string();
    if (Status st = config::WriteSm2KeyFile(key, crypto::Sm2PrivateKey::Generate()); !st.ok()) {
        Die(st.message());
    }
    std::string sources;
    for (const auto& n : lower.summary.nodes) {
        sources += (sources.empty() ? "\"" : ", \"") + n.client_address + "\"";
    }
    const std::string config = (dir / (name + ".json")).string();
    std::ofstream(config) << "{\"sourceNodes\": [" << sources << "], \"upperNodes\": [\""
                          << upper.summary.nodes[0].client_address << "\"], \"keyFile\": \""
                          << key << "\", \"name\": \"" << name << "\", \"logLevel\": \"warn\"}\n";
    auto pid = base::SpawnProcess((bin_dir / "crosschain/meterrelay").string(),
                                  {"meterrelay", "--config", config},
                                  (dir / (name + ".log")).string());
    if (!pid.ok()) Die(pid.status().message());
    return *pid;
}

// Follows a chain's commits and notes when each height was seen (steady clock).
class CommitWatch {
public:
    explicit CommitWatch(const std::string& address, bool blocks)
        : m_client(address), m_blocks(blocks) {
        m_thread = std::thread([this] { Run(); });
    }
    ~CommitWatch() {
        m_ctx.TryCancel();
        m_thread.join();
    }
    std::map<uint64_t, Clock::time_point> seen() {
        std::lock_guard lock(m_mutex);
        return m_seen;
    }
    // Anchors (source chain, from, to) per upper height.
    std::map<uint64_t, std::vector<v1::AnchorArgs>> anchors() {
        std::lock_guard lock(m_mutex);
        return m_anchors;
    }

private:
    void Run() {
        v1::StreamBlocksRequest req;
        req.set_from_height(1);
        auto reader = m_client.stub().StreamBlocks(&m_ctx, req);
        v1::Block b;
        while (reader->Read(&b)) {
            const auto now = Clock::now();
            std::vector<v1::AnchorArgs> found;
            if (m_blocks) {
                for (const auto& tx : b.transactions()) {
                    auto args = crosschain::ParseAnchorTx(chain::FromProto(tx));
                    if (!args.ok()) continue;
                    auto st = m_client.GetTransaction(chain::FromProto(tx).Hash());
                    if (st.ok() && st->state() == v1::TxStatus::COMMITTED) {
                        args->clear_headers();
                        found.push_back(std::move(*args));
                    }
                }
            }
            std::lock_guard lock(m_mutex);
            m_seen[b.header().height()] = now;
            if (!found.empty()) m_anchors[b.header().height()] = std::move(found);
        }
        (void)reader->Finish();
    }

    client::Client m_client;
    bool m_blocks;
    grpc::ClientContext m_ctx;
    std::mutex m_mutex;
    std::map<uint64_t, Clock::time_point> m_seen;                 // guarded by m_mutex
    std::map<uint64_t, std::vector<v1::AnchorArgs>> m_anchors;    // guarded by m_mutex
    std::thread m_thread;
};

struct Percentiles {
    double p50 = 0, p95 = 0, p99 = 0, max = 0;
    size_t n = 0;
};
Percentiles Of(std::vector<double> v) {
    Percentiles p;
    if (v.empty()) return p;
    std::sort(v.begin(), v.end());
    auto at = [&](double q) {
        return v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())))];
    };
    p.p50 = at(0.50);
    p.p95 = at(0.95);
    p.p99 = at(0.99);
    p.max = v.back();
    p.n = v.size();
    return p;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<tools::FlagSpec> specs = {
        {"rate", "R", "offered load on the provincial chain, tx/s (default 300)"},
        {"duration", "S", "seconds of load (default 20)"},
        {"base-port", "P", "first port (default 21700)"},
        {"no-relays", "", "no relays: the provincial validators' CPU baseline"},
        {"help", "", "this text"}};
    auto flags = tools::Flags::Parse(std::vector<std::string>(argv + 1, argv + argc), specs);
    if (!flags.ok() || flags->Has("help")) {
        std::fprintf(flags.ok() ? stdout : stderr, "usage: crosschain_bench [--rate R] "
                     "[--duration S] [--base-port P] [--no-relays]\n");
        return flags.ok() ? 0 : 2;
    }
    auto number = [&](const char* name, uint64_t fallback, uint64_t min, uint64_t max) {
        auto v = flags->Number(name, fallback, min, max);
        if (!v.ok()) Die(v.status().message());
        return *v;
    };
    const uint64_t rate = number("rate", 300, 1, 100000);
    const uint64_t duration = number("duration", 20, 1, 3600);
    const uint32_t port = static_cast<uint32_t>(number("base-port", 21700, 1024, 65000));
    const bool relays = !flags->Has("no-relays");

    const fs::path bin_dir = fs::canonical("/proc/self/exe").parent_path().parent_path().parent_path().parent_path();
    const fs::path dir = fs::temp_directory_path() / ("meterchain-xbench-" + std::to_string(getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    std::vector<pid_t> all;
    Chain province = StartChain(dir / "province", 4, "tianjin-meter-1",
                                MC_SOURCE_DIR "/deploy/genesis.json", {}, port, bin_dir);
    all.insert(all.end(), province.pids.begin(), province.pids.end());
    Chain main_chain = StartChain(dir / "main", 1, "stategrid-main-1",
                                  MC_SOURCE_DIR "/deploy/genesis-main.json", {"stategrid"},
                                  port + 20, bin_dir);
    all.insert(all.end(), main_chain.pids.begin(), main_chain.pids.end());
    Chain alliance = StartChain(dir / "alliance", 1, "metrology-alliance-1",
                                MC_SOURCE_DIR "/deploy/genesis-alliance.json", {"alliance"},
                                port + 30, bin_dir);
    all.insert(all.end(), alliance.pids.begin(), alliance.pids.end());
    Register(main_chain, province);
    Register(alliance, main_chain);
    std::vector<pid_t> relay_pids;
    if (relays) {
        relay_pids.push_back(StartRelay(dir, "relay-province", province, main_chain, bin_dir));
        relay_pids.push_back(StartRelay(dir, "relay-main", main_chain, alliance, bin_dir));
    }

    CommitWatch p_watch(province.summary.nodes[0].client_address, false);
    CommitWatch m_watch(main_chain.summary.nodes[0].client_address, true);
    CommitWatch a_watch(alliance.summary.nodes[0].client_address, true);

    // Load: state puts from a few senders, round-robin over the provincial nodes.
    std::atomic<bool> loading{true};
    std::atomic<uint64_t> accepted{0};
    Hash256 first_tx{};
    std::mutex first_mutex;
    std::vector<std::thread> loaders;
    const int threads = 4;
    for (int t = 0; t < threads; ++t) {
        loaders.emplace_back([&, t] {
            crypto::Sm2Signer signer{crypto::Sm2PrivateKey::Generate()};
            std::vector<std::unique_ptr<client::Client>> clients;
            for (const auto& n : province.summary.nodes) {
                clients.push_back(std::make_unique<client::Client>(n.client_address));
            }
            const auto pace = std::chrono::microseconds(1'000'000 * threads / rate);
            auto next = Clock::now();
            uint64_t nonce = 0;
            for (uint64_t k = 0; loading.load(); ++k) {
                auto tx = client::MakeStatePut(signer, province.id, nonce + 1,
                                               "b/" + std::to_string(t) + "/" + std::to_string(k),
                                               AsBytes("v"));
                auto h = clients[k % clients.size()]->Submit(tx);
                if (h.ok()) {
                    ++nonce;
                    ++accepted;
                    std::lock_guard lock(first_mutex);
                    if (first_tx == Hash256{}) first_tx = *h;
                }
                next += pace;
                std::this_thread::sleep_until(next);
            }
        });
    }
    std::vector<double> cpu_start;
    for (pid_t p : province.pids) cpu_start.push_back(CpuSeconds(p));
    for (pid_t p : relay_pids) cpu_start.push_back(CpuSeconds(p));
    const auto load_start = Clock::now();
    std::this_thread::sleep_for(std::chrono::seconds(duration));  // the measured interval
    const double wall = std::chrono::duration<double>(Clock::now() - load_start).count();
    std::vector<double> cpu;
    size_t k = 0;
    for (pid_t p : province.pids) cpu.push_back(CpuSeconds(p) - cpu_start[k++]);
    for (pid_t p : relay_pids) cpu.push_back(CpuSeconds(p) - cpu_start[k++]);
    loading = false;
    for (auto& t : loaders) t.join();

    double validators_cpu = 0;
    for (size_t i = 0; i < province.pids.size(); ++i) validators_cpu += cpu[i];
    double relays_cpu = 0;
    for (size_t i = province.pids.size(); i < cpu.size(); ++i) relays_cpu += cpu[i];

    std::vector<double> lag_main, lag_alliance;
    double proof_median = 0, proof_max = 0;
    size_t proof_bytes = 0;
    if (relays) {
        // Let the last anchors land, then compute each provincial height's lag.
        const uint64_t tip = province.summary.nodes.empty() ? 0 :
            client::Client(province.summary.nodes[0].client_address).GetStatus()->height();
        const auto settle = Clock::now() + 30s;
        client::Client main_client(main_chain.summary.nodes[0].client_address);
        client::Client alliance_client(alliance.summary.nodes[0].client_address);
        while (Clock::now() < settle) {
            auto m = crosschain::QueryAnchorStatus(main_client, province.id);
            const uint64_t main_tip = main_client.GetStatus()->height();
            auto a = crosschain::QueryAnchorStatus(alliance_client, main_chain.id);
            if (m.ok() && m->has_value() && (*m)->last_height() >= tip && a.ok() &&
                a->has_value() && (*a)->last_height() >= main_tip) {
                break;
            }
            std::this_thread::sleep_for(100ms);  // polling the upper chains' anchor status
        }
        const auto p_seen = p_watch.seen();
        const auto m_seen = m_watch.seen();
        const auto a_seen = a_watch.seen();
        std::map<uint64_t, uint64_t> main_of;      // provincial height -> main height
        for (const auto& [mh, list] : m_watch.anchors()) {
            for (const auto& a : list) {
                for (uint64_t h = a.from_height(); h <= a.to_height(); ++h) main_of[h] = mh;
            }
        }
        std::map<uint64_t, uint64_t> alliance_of;  // main height -> alliance height
        for (const auto& [ah, list] : a_watch.anchors()) {
            for (const auto& a : list) {
                for (uint64_t h = a.from_height(); h <= a.to_height(); ++h) alliance_of[h] = ah;
            }
        }
        for (const auto& [h, at] : p_seen) {
            if (at < load_start) continue;
            auto m = main_of.find(h);
            if (m == main_of.end() || !m_seen.count(m->second)) continue;
            lag_main.push_back(std::chrono::duration<double, std::milli>(m_seen.at(m->second) - at).count());
            auto a = alliance_of.find(m->second);
            if (a == alliance_of.end() || !a_seen.count(a->second)) continue;
            lag_alliance.push_back(std::chrono::duration<double, std::milli>(a_seen.at(a->second) - at).count());
        }

        // verify-proof of a two-hop proof.
        client::Client lower(province.summary.nodes[0].client_address);
        auto proof = crosschain::BuildProof(first_tx, lower, {&main_client, &alliance_client},
                                            Clock::now() + 30s);
        if (proof.ok()) {
            v1::TrustFile trust_file;
            for (const Chain* c : {&province, &main_chain, &alliance}) {
                auto* t = trust_file.add_chains();
                t->set_chain_id(c->id);
                for (const auto& n : c->summary.nodes) {
                    auto* v = t->add_validators();
                    v->set_name(n.identity.name);
                    v->set_public_key(n.public_key_hex);
                }
            }
            auto trust = crosschain::ParseTrust(trust_file);
            std::string bytes;
            proof->SerializeToString(&bytes);
            proof_bytes = bytes.size();
            std::vector<double> times;
            for (int i = 0; i < 50; ++i) {
                crypto::Sm2Verifier verifier;  // fresh: no parsed-key cache carried over
                const auto t0 = Clock::now();
                auto verdict = crosschain::VerifyProof(AsBytes(bytes), *trust, verifier);
                times.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
                if (!verdict.ok) Die("the benchmark's proof does not verify");
            }
            std::sort(times.begin(), times.end());
            proof_median = times[times.size() / 2];
            proof_max = times.back();
        } else {
            std::fprintf(stderr, "crosschain_bench: no proof: %s\n", proof.status().message().c_str());
        }
    }

    for (pid_t p : relay_pids) kill(p, SIGKILL);
    for (pid_t p : all) kill(p, SIGKILL);
    for (pid_t p : relay_pids) waitpid(p, nullptr, 0);
    for (pid_t p : all) waitpid(p, nullptr, 0);
    fs::remove_all(dir);

    const Percentiles m = Of(lag_main), a = Of(lag_alliance);
    std::printf("offered %llu tx/s for %.1f s, accepted %llu (%.0f tx/s)\n",
                static_cast<unsigned long long>(rate), wall,
                static_cast<unsigned long long>(accepted.load()),
                static_cast<double>(accepted.load()) / wall);
    std::printf("provincial validators CPU: %.1f%% of one core (4 processes together)\n",
                100.0 * validators_cpu / wall);
    if (relays) {
        std::printf("relays CPU: %.1f%% of one core (2 processes)\n", 100.0 * relays_cpu / wall);
        std::printf("anchor lag on the main chain:     p50 %.0f  p95 %.0f  p99 %.0f  max %.0f ms (%zu heights)\n",
                    m.p50, m.p95, m.p99, m.max, m.n);
        std::printf("anchor lag on the alliance chain: p50 %.0f  p95 %.0f  p99 %.0f  max %.0f ms (%zu heights)\n",
                    a.p50, a.p95, a.p99, a.max, a.n);
        std::printf("verify-proof (two hops, %zu bytes): median %.2f ms, max %.2f ms\n",
                    proof_bytes, proof_median, proof_max);
    }
    std::printf("{\"rate\":%llu,\"accepted_tps\":%.1f,\"validators_cpu_pct\":%.1f,\"relays\":%s,"
                "\"relays_cpu_pct\":%.1f,\"lag_main_ms\":{\"p50\":%.0f,\"p95\":%.0f,\"p99\":%.0f,"
                "\"max\":%.0f,\"n\":%zu},\"lag_alliance_ms\":{\"p50\":%.0f,\"p95\":%.0f,\"p99\":%.0f,"
                "\"max\":%.0f,\"n\":%zu},\"verify_proof_ms\":{\"median\":%.2f,\"max\":%.2f}}\n",
                static_cast<unsigned long long>(rate),
                static_cast<double>(accepted.load()) / wall, 100.0 * validators_cpu / wall,
                relays ? "true" : "false", 100.0 * relays_cpu / wall, m.p50, m.p95, m.p99, m.max,
                m.n, a.p50, a.p95, a.p99, a.max, a.n, proof_median, proof_max);
    return 0;
}
