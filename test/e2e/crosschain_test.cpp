// End-to-end cross-chain anchoring on real processes: a 4-validator provincial chain, a 1-node
// State Grid main chain and a 1-node alliance chain (meterchaind with their own genesis), two
// relays anchoring the provincial chain on the main chain and one anchoring the main chain on
// the alliance chain. The relay, a provincial node and the main-chain node are killed with
// SIGKILL and restarted under load; in the end every anchored height is covered exactly once.
#include <signal.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "crosschain/anchor_tx.h"
#include "node/base/process.h"
#include "node/chain/proto_adapter.h"
#include "node/crypto/signer.h"
#include "test/e2e/cluster_harness.h"

using namespace meterchain;
using namespace meterchain::e2e;
using namespace std::chrono_literals;

namespace {

// Submits state puts at a steady pace to the provincial nodes until stopped; a node that is
// down answers with an error and the next one is tried.
class Load {
public:
    Load(TestCluster& cluster, int per_second)
        : m_cluster(cluster), m_pace(1000ms / per_second) {
        m_thread = std::thread([this] { Run(); });
    }
    ~Load() { Stop(); }
    void Stop() {
        m_running.store(false);
        if (m_thread.joinable()) m_thread.join();
    }
    uint64_t accepted() const { return m_accepted.load(); }
    Hash256 first() const {
        std::lock_guard lock(m_mutex);
        return m_first;
    }

private:
    void Run() {
        crypto::Sm2Signer signer{crypto::Sm2PrivateKey::Generate()};
        uint64_t nonce = 0;
        auto next = Clock::now();
        for (uint64_t k = 0; m_running.load(); ++k) {
            auto tx = client::MakeStatePut(signer, m_cluster.chain_id(), nonce + 1,
                                           "load/" + std::to_string(k), AsBytes("v"));
            for (int t = 0; t < m_cluster.size(); ++t) {
                const int i = static_cast<int>((k + static_cast<uint64_t>(t)) %
                                               static_cast<uint64_t>(m_cluster.size()));
                if (!m_cluster.Running(i)) continue;
                auto h = m_cluster.client(i).Submit(tx);
                if (h.ok()) {
                    if (nonce == 0) {
                        std::lock_guard lock(m_mutex);
                        m_first = *h;
                    }
                    ++nonce;
                    ++m_accepted;
                    break;
                }
            }
            next += m_pace;
            std::this_thread::sleep_until(next);  // the offered load's pace, not a wait
        }
    }

    TestCluster& m_cluster;
    std::chrono::milliseconds m_pace;
    std::atomic<bool> m_running{true};
    std::atomic<uint64_t> m_accepted{0};
    mutable std::mutex m_mutex;
    Hash256 m_first{};  // guarded by m_mutex
    std::thread m_thread;
};

// One meterrelay process; killed (SIGKILL) and reaped by the destructor.
class RelayProcess {
public:
    RelayProcess(const std::string& dir, const std::string& name,
                 const std::vector<std::string>& source, const std::vector<std::string>& upper)
        : m_config(dir + "/" + name + ".json"), m_log(dir + "/" + name + ".log") {
        std::string out;
        const std::string key = dir + "/" + name + ".key";
        REQUIRE(RunCommand(MeterctlPath() + " keygen --out " + key, &out) == 0);
        auto list = [](const std::vector<std::string>& v) {
            std::string s;
            for (const auto& a : v) s += (s.empty() ? "\"" : ", \"") + a + "\"";
            return s;
        };
        std::ofstream(m_config) << "{\"sourceNodes\": [" << list(source) << "], \"upperNodes\": ["
                                << list(upper) << "], \"keyFile\": \"" << key
                                << "\", \"batchBlocks\": 8, \"batchMs\": 500, \"name\": \""
                                << name << "\", \"commitTimeoutMs\": 3000}\n";
    }
    ~RelayProcess() { Kill(); }
    void Start() {
        if (m_pid > 0) return;
        auto pid = base::SpawnProcess(MC_METERRELAY_PATH, {"meterrelay", "--config", m_config},
                                      m_log);
        REQUIRE(pid.ok());
        m_pid = *pid;
    }
    void Kill() {
        if (m_pid <= 0) return;
        kill(m_pid, SIGKILL);
        int status = 0;
        waitpid(m_pid, &status, 0);
        m_pid = -1;
    }
    std::string Log() const {
        std::ifstream in(m_log);
        return std::string(std::istreambuf_iterator<char>(in), {});
    }

private:
    std::string m_config;
    std::string m_log;
    pid_t m_pid = -1;
};

uint64_t LastAnchored(client::Client& upper, const std::string& chain_id) {
    auto s = crosschain::QueryAnchorStatus(upper, chain_id);
    if (!s.ok() || !s->has_value()) return 0;
    return (*s)->last_height();
}

uint64_t Height(client::Client& c) {
    auto s = c.GetStatus();
    return s.ok() ? s->height() : 0;
}

// The upper chain's state changes only when it commits a block: each check that fails waits
// for the next block (or the deadline) before it looks again.
template <typename Done>
bool WaitOnUpperBlocks(client::Client& upper, Clock::time_point deadline, Done done) {
    for (;;) {
        const uint64_t tip = Height(upper);
        if (done()) return true;
        if (Clock::now() >= deadline || !upper.WaitForHeight(tip + 1, deadline)) return done();
    }
}

// Until `chain_id` is anchored on `upper` at least to `height`.
bool WaitAnchored(client::Client& upper, const std::string& chain_id, uint64_t height,
                  Clock::time_point deadline) {
    return WaitOnUpperBlocks(upper, deadline,
                             [&] { return LastAnchored(upper, chain_id) >= height; });
}

// An anchor a relay submitted just before it was killed may still commit: the checks wait
// until the upper chain's mempool is empty.
bool WaitMempoolEmpty(client::Client& upper, Clock::time_point deadline) {
    return WaitOnUpperBlocks(upper, deadline, [&] {
        auto st = upper.GetStatus();
        return st.ok() && st->mempool_size() == 0;
    });
}

// Every accepted anchor of `lower` on `upper`: contiguous from 1 to the last anchored height,
// each range's last header equal to the lower chain's block, and the anchor transactions found
// in the upper chain's blocks that committed are exactly these ranges (none accepted twice).
void CheckCoverage(client::Client& upper, client::Client& lower, const std::string& lower_id) {
    const uint64_t last = LastAnchored(upper, lower_id);
    REQUIRE(last > 0);
    std::vector<v1::AnchorRecord> records;
    for (uint64_t from = 0;;) {
        auto page = crosschain::QueryAnchors(upper, lower_id, from, 1000);
        REQUIRE(page.ok());
        if (page->empty()) break;
        records.insert(records.end(), page->begin(), page->end());
        from = page->back().to_height() + 1;
    }
    uint64_t next = 1;
    for (const auto& r : records) {
        INFO("anchor " << r.from_height() << ".." << r.to_height());
        REQUIRE(r.from_height() == next);
        REQUIRE(r.to_height() >= r.from_height());
        auto block = lower.GetBlock(r.to_height());
        REQUIRE(block.ok());
        CHECK(ToString(block->header.Encode()) == r.last_header());
        next = r.to_height() + 1;
    }
    REQUIRE(next == last + 1);

    // The upper chain's own blocks: committed anchor transactions of lower_id.
    std::map<uint64_t, uint64_t> committed;  // from -> to
    const uint64_t top = Height(upper);
    for (uint64_t h = 1; h <= top; ++h) {
        auto block = upper.GetBlock(h);
        REQUIRE(block.ok());
        for (const auto& tx : block->transactions) {
            auto args = crosschain::ParseAnchorTx(tx);
            if (!args.ok() || args->source_chain_id() != lower_id) continue;
            auto st = upper.GetTransaction(tx.Hash());
            REQUIRE(st.ok());
            if (st->state() != v1::TxStatus::COMMITTED) continue;
            INFO("committed anchor " << args->from_height() << ".." << args->to_height());
            REQUIRE(committed.emplace(args->from_height(), args->to_height()).second);
        }
    }
    REQUIRE(committed.size() == records.size());
    for (const auto& r : records) CHECK(committed.at(r.from_height()) == r.to_height());
}

}  // namespace

TEST_CASE("crosschain: three chains and three relays survive SIGKILL of a relay a provincial "
          "node and the main-chain node with every height anchored exactly once",
          "[e2e][crosschain]") {
    TestCluster province(ClusterSpec{4, "tianjin-e2e", "", {}});
    TestCluster main_chain(
        ClusterSpec{1, "stategrid-e2e", SourceDir() + "/deploy/genesis-main.json", {"stategrid"}});
    TestCluster alliance(
        ClusterSpec{1, "alliance-e2e", SourceDir() + "/deploy/genesis-alliance.json", {"alliance"}});
    province.StartAll();
    main_chain.StartAll();
    alliance.StartAll();
    REQUIRE(province.WaitAllUp(In(30s)));
    REQUIRE(main_chain.WaitAllUp(In(30s)));
    REQUIRE(alliance.WaitAllUp(In(30s)));

    // Registration through each upper chain's governance (one organisation: executes at once).
    auto register_on = [](TestCluster& upper, TestCluster& lower) {
        std::string out;
        const std::string cmd = MeterctlPath() + " anchor-register --node " +
                                upper.summary().nodes[0].client_address + " --key-file " +
                                upper.summary().nodes[0].dir + "/sm2.key --lower-config " +
                                lower.ConfigPath(0);
        INFO(out);
        REQUIRE(RunCommand(cmd, &out) == 0);
        REQUIRE(out.find("registered") != std::string::npos);
    };
    register_on(main_chain, province);
    register_on(alliance, main_chain);

    std::vector<std::string> province_nodes;
    for (const auto& n : province.summary().nodes) province_nodes.push_back(n.client_address);
    const std::string main_node = main_chain.summary().nodes[0].client_address;
    const std::string alliance_node = alliance.summary().nodes[0].client_address;
    RelayProcess relay_a(province.dir(), "relay-a", province_nodes, {main_node});
    RelayProcess relay_b(province.dir(), "relay-b",
                         {province_nodes[2], province_nodes[3], province_nodes[0]}, {main_node});
    RelayProcess relay_m(main_chain.dir(), "relay-m", {main_node}, {alliance_node});
    relay_a.Start();
    relay_b.Start();
    relay_m.Start();

    Load load(province, 40);
    client::Client& main_client = main_chain.client(0);
    client::Client& alliance_client = alliance.client(0);
    const std::string pid = province.chain_id();
    const std::string mid = main_chain.chain_id();
    auto anchored_past = [&](client::Client& upper, const std::string& id, uint64_t above) {
        return WaitAnchored(upper, id, above + 1, In(60s));
    };
    REQUIRE(anchored_past(main_client, pid, 5));
    REQUIRE(anchored_past(alliance_client, mid, 1));

    // The relay: killed while another keeps going, then back.
    relay_a.Kill();
    REQUIRE(anchored_past(main_client, pid, LastAnchored(main_client, pid)));
    relay_a.Start();
    relay_b.Kill();
    REQUIRE(anchored_past(main_client, pid, LastAnchored(main_client, pid)));
    relay_b.Start();

    // A provincial node (one the relays read from).
    province.Kill(0);
    REQUIRE(anchored_past(main_client, pid, LastAnchored(main_client, pid)));
    province.Start(0);
    REQUIRE(province.WaitUp(0, In(30s)));

    // The main-chain node: both the provincial relays and the alliance relay lose it.
    const uint64_t main_before = LastAnchored(main_client, pid);
    main_chain.Kill(0);
    REQUIRE(province.WaitHeight(Height(province.client(1)) + 5, In(30s), {1, 2, 3}));
    main_chain.Start(0);
    REQUIRE(main_chain.WaitUp(0, In(30s)));
    REQUIRE(anchored_past(main_client, pid, main_before));
    REQUIRE(anchored_past(alliance_client, mid, LastAnchored(alliance_client, mid)));

    // Quiet down, then everything committed below must get anchored on both levels.
    load.Stop();
    REQUIRE(load.accepted() > 0);
    const uint64_t province_tip = Height(province.client(1));
    REQUIRE(WaitAnchored(main_client, pid, province_tip, In(60s)));
    const uint64_t main_tip = Height(main_client);
    REQUIRE(WaitAnchored(alliance_client, mid, main_tip, In(60s)));

    std::printf("crosschain e2e: %llu load txs, province tip %llu anchored on main to %llu, "
                "main tip %llu anchored on alliance to %llu\n",
                static_cast<unsigned long long>(load.accepted()),
                static_cast<unsigned long long>(province_tip),
                static_cast<unsigned long long>(LastAnchored(main_client, pid)),
                static_cast<unsigned long long>(main_tip),
                static_cast<unsigned long long>(LastAnchored(alliance_client, mid)));
    // The checks read a chain that no longer moves.
    relay_a.Kill();
    relay_b.Kill();
    relay_m.Kill();
    REQUIRE(WaitMempoolEmpty(main_client, In(30s)));
    REQUIRE(WaitMempoolEmpty(alliance_client, In(30s)));
    CheckCoverage(main_client, province.client(1), pid);
    CheckCoverage(alliance_client, main_client, mid);

    // A proof of the first load transaction through both levels verifies offline.
    const std::string dir = province.dir();
    std::string out;
    REQUIRE(RunCommand(MeterctlPath() + " trust --configs " + province.ConfigPath(0) + "," +
                           main_chain.ConfigPath(0) + "," + alliance.ConfigPath(0) + " --out " +
                           dir + "/trust.json",
                       &out) == 0);
    out.clear();
    const int proved = RunCommand(MeterctlPath() + " prove --tx " + ToHex(load.first()) +
                                      " --node " + province_nodes[1] + " --upper " + main_node +
                                      "," + alliance_node + " --out " + dir + "/proof.bin",
                                  &out);
    INFO(out);
    REQUIRE(proved == 0);
    out.clear();
    const int verified = RunCommand(
        MeterctlPath() + " verify-proof " + dir + "/proof.bin --trust " + dir + "/trust.json", &out);
    INFO(out);
    REQUIRE(verified == 0);
    CHECK(out.find("proof VALID") != std::string::npos);

    // The auditor's replay of the main chain checks every accepted anchor again (OPS-3).
    out.clear();
    const int replayed = RunCommand(MeterctlPath() + " replay --data-dir " +
                                        main_chain.summary().nodes[0].dir + "/data",
                                    &out);
    INFO(out);
    REQUIRE(replayed == 0);
    CHECK(out.find("accepted anchors checked again") != std::string::npos);

    // The relays logged their anchors with the lag.
    CHECK(relay_m.Log().find("lag_ms=") != std::string::npos);
    CHECK((relay_a.Log() + relay_b.Log()).find("msg=\"anchored\"") != std::string::npos);
}

TEST_CASE("crosschain: a 4-validator main chain registers a province by governance quorum and "
          "keeps anchoring with one of its validators down",
          "[e2e][crosschain]") {
    TestCluster province(ClusterSpec{4, "tianjin-e2e4", "", {}});
    TestCluster main_chain(ClusterSpec{
        4, "stategrid4-e2e", SourceDir() + "/deploy/genesis-main-4.json",
        {"stategrid-hq", "stategrid-north", "stategrid-east", "stategrid-central"}});
    province.StartAll();
    main_chain.StartAll();
    REQUIRE(province.WaitAllUp(In(30s)));
    REQUIRE(main_chain.WaitAllUp(In(30s)));

    // Proposed by one organisation, executed once a majority (3 of 4) approved.
    std::string out;
    const std::string main_node = main_chain.summary().nodes[0].client_address;
    REQUIRE(RunCommand(MeterctlPath() + " anchor-register --node " + main_node + " --key-file " +
                           main_chain.summary().nodes[0].dir + "/sm2.key --lower-config " +
                           province.ConfigPath(0),
                       &out) == 0);
    INFO(out);
    const size_t at = out.find("--proposal ");
    REQUIRE(at != std::string::npos);
    const std::string proposal = out.substr(at + 11, 64);
    REQUIRE(!crosschain::QueryAnchorStatus(main_chain.client(0), province.chain_id())->has_value());
    for (int org : {1, 2}) {
        out.clear();
        REQUIRE(RunCommand(MeterctlPath() + " governance-approve --node " + main_node +
                               " --key-file " + main_chain.summary().nodes[org].dir +
                               "/sm2.key --proposal " + proposal,
                           &out) == 0);
    }
    CHECK(out.find("executed") != std::string::npos);
    REQUIRE(crosschain::QueryAnchorStatus(main_chain.client(0), province.chain_id())->has_value());

    std::vector<std::string> province_nodes, main_nodes;
    for (const auto& n : province.summary().nodes) province_nodes.push_back(n.client_address);
    for (const auto& n : main_chain.summary().nodes) main_nodes.push_back(n.client_address);
    RelayProcess relay(province.dir(), "relay", province_nodes,
                       {main_nodes[3], main_nodes[0], main_nodes[1]});
    relay.Start();
    Load load(province, 40);
    client::Client& main_client = main_chain.client(1);
    const std::string pid = province.chain_id();
    REQUIRE(WaitAnchored(main_client, pid, 10, In(60s)));
    // f = 1: the main chain goes on with three validators, the relay with another node.
    main_chain.Kill(3);
    REQUIRE(WaitAnchored(main_client, pid, LastAnchored(main_client, pid) + 8, In(60s)));
    load.Stop();
    const uint64_t tip = Height(province.client(1));
    REQUIRE(WaitAnchored(main_client, pid, tip, In(60s)));
    relay.Kill();
    REQUIRE(WaitMempoolEmpty(main_client, In(30s)));
    CheckCoverage(main_client, province.client(1), pid);

    // A one-hop proof, checked against the four main-chain validators.
    const std::string dir = province.dir();
    out.clear();
    REQUIRE(RunCommand(MeterctlPath() + " trust --configs " + province.ConfigPath(0) + "," +
                           main_chain.ConfigPath(0) + " --out " + dir + "/trust.json",
                       &out) == 0);
    out.clear();
    REQUIRE(RunCommand(MeterctlPath() + " prove --tx " + ToHex(load.first()) + " --node " +
                           province_nodes[1] + " --upper " + main_nodes[1] + " --out " + dir +
                           "/proof.bin",
                       &out) == 0);
    out.clear();
    const int verified = RunCommand(
        MeterctlPath() + " verify-proof " + dir + "/proof.bin --trust " + dir + "/trust.json", &out);
    INFO(out);
    REQUIRE(verified == 0);
    CHECK(out.find("of 4 validators signed") != std::string::npos);
}
