// Real nodes in one process: four node::Node objects (executor, mempool, consensus core,
// storage on the in-memory KV store) joined by net::InProcessNetwork and driven by the test
// (no consensus threads, no timers: the test runs each node's pending work, delivers frames
// and ticks). Covers what only real-process tests covered before: the node's handling of the
// core's output, persist -> apply -> send, on the daemon's own code.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <unistd.h>
#include <vector>

#include "node/client/client.h"
#include "node/config/cluster_init.h"
#include "node/config/config.h"
#include "node/crypto/signer.h"
#include "node/daemon/node.h"
#include "node/net/in_process.h"
#include "node/net/messenger.h"
#include "node/net/wire.h"
#include "node/storage/kv_store.h"

using namespace meterchain;

namespace {

namespace fs = std::filesystem;

class TempDir {
public:
    TempDir() {
        static std::atomic<int> counter{0};
        m_path = fs::temp_directory_path() / ("meterchain-inproc-" + std::to_string(getpid()) +
                                              "-" + std::to_string(counter++));
        fs::remove_all(m_path);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(m_path, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    std::string path() const { return m_path.string(); }

private:
    fs::path m_path;
};

// What a node had done when it sent a consensus message, checked at the moment of sending
// (the node's Drain calls Send on the thread driving it, so its store is quiet meanwhile).
struct OrderChecks {
    int votes_checked = 0;        // PRE-PREPAREs and votes: their slot record was persisted
    int checkpoints_checked = 0;  // checkpoints: the block they name was applied
    std::vector<std::string> failures;
};

// The node's transport, seen through the rules of consensus/pbft.h: every message that
// depends on a durable record goes out after that record is stored, and a checkpoint after
// the block it names is committed to storage.
class CheckingTransport final : public net::Transport {
public:
    CheckingTransport(std::unique_ptr<net::Transport> inner, uint32_t self, OrderChecks& checks)
        : m_inner(std::move(inner)), m_self(self), m_checks(checks) {}
    void SetNode(const node::Node* node) { m_node = node; }

    Status Start(FrameHandler on_frame) override { return m_inner->Start(std::move(on_frame)); }
    void Stop() override { m_inner->Stop(); }
    void Send(uint32_t to, net::Lane lane, net::Frame frame) override {
        if (lane == net::Lane::kConsensus && frame->has_message()) Check(*frame);
        m_inner->Send(to, lane, std::move(frame));
    }
    std::vector<bool> Connected() const override { return m_inner->Connected(); }
    net::TransportCounters& counters() override { return m_inner->counters(); }
    const net::TransportCounters& counters() const override { return m_inner->counters(); }

private:
    void Check(const v1::PeerFrame& frame) {
        auto message = net::FromProto(frame.message());
        if (!message.ok() || m_node == nullptr) return;
        const auto& store = m_node->store();
        const std::string who = "node " + std::to_string(m_self);
        auto slot_stored = [&](uint64_t height) {
            char key[48];
            std::snprintf(key, sizeof key, "c/slot/%020llu", static_cast<unsigned long long>(height));
            auto record = store.GetMeta(key);
            // A committed height's record may already be deleted: then the block is stored.
            return (record.ok() && record->has_value()) || store.Tip().height >= height;
        };
        if (const auto* pp = std::get_if<consensus::PrePrepare>(&*message)) {
            ++m_checks.votes_checked;
            if (!slot_stored(pp->height)) {
                m_checks.failures.push_back(who + " sent a PRE-PREPARE for height " +
                                            std::to_string(pp->height) + " before persisting it");
            }
        } else if (const auto* vote = std::get_if<consensus::Vote>(&*message)) {
            ++m_checks.votes_checked;
            if (!slot_stored(vote->height)) {
                m_checks.failures.push_back(who + " sent a vote for height " +
                                            std::to_string(vote->height) + " before persisting it");
            }
        } else if (const auto* cp = std::get_if<consensus::Checkpoint>(&*message)) {
            ++m_checks.checkpoints_checked;
            auto block = store.GetBlock(cp->height);
            if (!block.ok() || block->Hash() != cp->block_hash) {
                m_checks.failures.push_back(who + " sent a checkpoint for height " +
                                            std::to_string(cp->height) +
                                            " before committing that block");
            }
        }
    }

    std::unique_ptr<net::Transport> m_inner;
    const uint32_t m_self;
    OrderChecks& m_checks;
    const node::Node* m_node = nullptr;
};

class InProcessCluster {
public:
    explicit InProcessCluster(int n) : m_network(static_cast<size_t>(n)) {
        config::ClusterOptions opt;
        opt.nodes = n;
        opt.out_dir = m_dir.path();
        opt.genesis_file = MC_SOURCE_DIR "/deploy/genesis.json";  // organisations and rules
        opt.verify_threads = 1;
        opt.max_batch_delay_ms = 1;
        auto summary = config::InitCluster(opt);
        REQUIRE(summary.ok());
        for (int i = 0; i < n; ++i) {
            auto cfg = config::LoadNodeConfig(summary->nodes[static_cast<size_t>(i)].config_file);
            REQUIRE(cfg.ok());
            // Checkpoints every two heights, so that a short run sends some.
            cfg->mutable_consensus()->set_checkpoint_interval(2);
            auto transport = std::make_unique<CheckingTransport>(
                m_network.Endpoint(static_cast<uint32_t>(i)), static_cast<uint32_t>(i), checks);
            CheckingTransport* checking = transport.get();
            node::NodeEnvironment env;
            env.kv = storage::NewMemKv();
            env.transport = std::move(transport);
            env.client_api = false;
            env.consensus_thread = false;
            auto node = node::Node::Create(*cfg, std::move(env));
            INFO("node " << i << ": " << (node.ok() ? std::string() : node.status().ToString()));
            REQUIRE(node.ok());
            checking->SetNode(node->get());
            m_nodes.push_back(std::move(*node));
            chain_id = cfg->chain_id();
        }
        for (auto& node : m_nodes) REQUIRE(node->Start().ok());
    }
    ~InProcessCluster() {
        for (auto& node : m_nodes) node->Stop();
    }

    node::Node& at(size_t i) { return *m_nodes.at(i); }
    size_t size() const { return m_nodes.size(); }

    // Runs every node's pending work and delivers every frame until nothing is left.
    void Settle() {
        for (int round = 0; round < 10000; ++round) {
            size_t work = 0;
            for (auto& node : m_nodes) work += node->RunPending();
            work += m_network.DeliverAll();
            if (work == 0) return;
        }
        FAIL("the in-process cluster never settled");
    }
    // One tick on every node, then Settle.
    void Tick() {
        for (auto& node : m_nodes) node->Tick();
        Settle();
    }

    OrderChecks checks;
    std::string chain_id;

private:
    TempDir m_dir;
    net::InProcessNetwork m_network;
    std::vector<std::unique_ptr<node::Node>> m_nodes;
};

bool Committed(const node::Node& node, const std::vector<Hash256>& hashes) {
    for (const auto& h : hashes) {
        if (!node.store().FindTransaction(h).ok()) return false;
    }
    return true;
}

}  // namespace

TEST_CASE("four nodes in one process commit the same blocks, persisting before they send",
          "[node]") {
    InProcessCluster cluster(4);
    crypto::Sm2Signer sender(crypto::Sm2PrivateKey::Generate());

    std::vector<Hash256> hashes;
    for (int round = 0; round < 3; ++round) {
        std::vector<chain::Transaction> txs;
        for (int i = 0; i < 5; ++i) {
            const uint64_t nonce = hashes.size() + txs.size() + 1;
            txs.push_back(client::MakeStatePut(sender, cluster.chain_id, nonce,
                                               "k" + std::to_string(nonce), AsBytes("v")));
        }
        // To the primary of view 0, which proposes them.
        for (auto& result : cluster.at(0).SubmitMany(std::move(txs))) {
            REQUIRE(result.ok());
            hashes.push_back(*result);
        }
        cluster.Settle();
        // Ticks, not time, move the nodes; a partial batch waits for its 1 ms delay.
        for (int tick = 0; tick < 2000 && !Committed(cluster.at(3), hashes); ++tick) {
            cluster.Tick();
        }
    }
    for (size_t i = 0; i < cluster.size(); ++i) {
        INFO("node " << i);
        REQUIRE(Committed(cluster.at(i), hashes));
    }
    // Everyone holds the same chain and state.
    const auto tip = cluster.at(0).store().Tip();
    for (size_t i = 1; i < cluster.size(); ++i) {
        // A node that has not yet seen the last commit certificate is one block behind at most
        // while the others are idle: settle it with a few more ticks.
        for (int tick = 0; tick < 50 && cluster.at(i).store().Tip().height < tip.height; ++tick) {
            cluster.Tick();
        }
        const auto other = cluster.at(i).store().Tip();
        CHECK(other.height == tip.height);
        CHECK(other.block_hash == tip.block_hash);
        CHECK(other.state_root == tip.state_root);
    }
    CHECK(cluster.at(0).Snapshot().view == 0);
    CHECK(cluster.checks.votes_checked > 0);
    CHECK(cluster.checks.checkpoints_checked > 0);
    for (const auto& f : cluster.checks.failures) FAIL_CHECK(f);
}

TEST_CASE("the in-process network refuses what the real transport refuses", "[node][net]") {
    net::InProcessNetwork network(3);
    auto t0 = network.Endpoint(0);
    auto t1 = network.Endpoint(1);
    std::vector<std::pair<uint32_t, uint64_t>> received;  // sender, from_height
    net::Messenger m0(*t0, [](uint32_t, consensus::Message) {},
                      [](uint32_t, std::vector<chain::Transaction>) {});
    net::Messenger m1(
        *t1,
        [&](uint32_t from, consensus::Message m) {
            if (const auto* r = std::get_if<consensus::BlockRequest>(&m)) {
                received.emplace_back(from, r->from_height);
            }
        },
        [](uint32_t, std::vector<chain::Transaction>) {});
    REQUIRE(m0.Start().ok());
    REQUIRE(m1.Start().ok());
    auto request = [](uint32_t from, uint64_t height) {
        consensus::BlockRequest r;
        r.from = from;
        r.from_height = height;
        r.to_height = height;
        return r;
    };

    // A message naming another sender than the link it came over is dropped and counted.
    m0.Send(1, request(2, 7));
    CHECK(network.DeliverAll() == 1);
    CHECK(received.empty());
    CHECK(t1->counters().bad_frames.load() == 1);

    m0.Send(1, request(0, 8));
    m0.Send(1, request(0, 9));
    CHECK(network.DeliverAll() == 2);
    CHECK(received == std::vector<std::pair<uint32_t, uint64_t>>{{0, 8}, {0, 9}});

    // A cut node neither sends nor receives; its frames count as dropped.
    network.SetIsolated(1, true);
    m0.Send(1, request(0, 10));
    CHECK(network.DeliverAll() == 0);
    CHECK(network.dropped() == 1);
    CHECK(t0->Connected() == std::vector<bool>{true, false, false});
    network.SetIsolated(1, false);
    m0.Send(1, request(0, 11));
    CHECK(network.DeliverAll() == 1);
    CHECK(received.back() == std::pair<uint32_t, uint64_t>{0, 11});
}
