// End-to-end recovery on real meterchaind processes: a validator back after a long absence
// votes again, an empty data dir catches up a long chain of an idle cluster, and a stopping
// primary hands its view over.
#include <grpcpp/grpcpp.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "node/chain/proto_adapter.h"
#include "node/crypto/signer.h"
#include "test/e2e/cluster_harness.h"

using namespace meterchain;
using namespace meterchain::e2e;
using namespace std::chrono_literals;

namespace {

// Submits transactions at a steady pace to the listed nodes until stopped (a node that is
// down answers with an error; the load moves on to the next one).
class Load {
public:
    Load(TestCluster& cluster, std::vector<int> nodes, int per_second)
        : m_cluster(cluster), m_nodes(std::move(nodes)), m_pace(1000ms / per_second) {
        m_thread = std::thread([this] { Run(); });
    }
    ~Load() { Stop(); }
    void Stop() {
        m_running.store(false);
        if (m_thread.joinable()) m_thread.join();
    }
    uint64_t accepted() const { return m_accepted.load(); }

private:
    void Run() {
        crypto::Sm2Signer signer{crypto::Sm2PrivateKey::Generate()};
        uint64_t nonce = 0;
        auto next = Clock::now();
        for (uint64_t k = 0; m_running.load(); ++k) {
            auto tx = client::MakeStatePut(signer, m_cluster.chain_id(), nonce + 1,
                                           "load/" + std::to_string(k), AsBytes("v"));
            for (size_t t = 0; t < m_nodes.size(); ++t) {
                if (m_cluster.client(m_nodes[(k + t) % m_nodes.size()]).Submit(tx).ok()) {
                    ++nonce;
                    ++m_accepted;
                    break;
                }
            }
            next += m_pace;
            std::this_thread::sleep_until(next);  // the offered load's pace
        }
    }

    TestCluster& m_cluster;
    std::vector<int> m_nodes;
    std::chrono::milliseconds m_pace;
    std::atomic<bool> m_running{true};
    std::atomic<uint64_t> m_accepted{0};
    std::thread m_thread;
};

// Waits until node `i` streams a block from `from_height` on whose certificate (in its own
// store) carries its own signature: it voted for that block rather than fetching it.
bool WaitSigns(TestCluster& cluster, int i, uint64_t from_height, Clock::time_point deadline) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
    v1::StreamBlocksRequest req;
    req.set_from_height(from_height);
    auto reader = cluster.client(i).stub().StreamBlocks(&ctx, req);
    v1::Block pb;
    bool signs = false;
    while (!signs && reader->Read(&pb)) {
        auto block = chain::FromProto(pb);
        if (!block.ok()) break;
        for (const auto& sig : block->certificate.signatures) {
            signs |= sig.validator == static_cast<uint32_t>(i);
        }
    }
    ctx.TryCancel();
    (void)reader->Finish();
    return signs;
}

}  // namespace

TEST_CASE("a backup back after a long absence under load signs commit certificates again",
          "[e2e]") {
    TestCluster cluster(4);
    cluster.StartAll();
    REQUIRE(cluster.WaitAllUp(In(30s)));
    auto status = cluster.client(0).GetStatus();
    REQUIRE(status.ok());
    const int backup = static_cast<int>((status->primary() + 2) % 4);
    std::vector<int> others;
    for (int i = 0; i < 4; ++i) {
        if (i != backup) others.push_back(i);
    }
    Load load(cluster, others, 50);
    REQUIRE(cluster.WaitHeight(3, In(30s), others));
    cluster.Kill(backup);
    // While it is away the others change view: the primary hands over on SIGTERM and comes
    // back as a backup. The absent one will come back in the old view, under load: the blocks
    // it fetches keep resetting its view-change timer, so only the later view's votes can
    // tell it where the others are.
    const int primary = static_cast<int>(status->primary());
    REQUIRE(cluster.Terminate(primary));
    cluster.Start(primary);
    REQUIRE(cluster.WaitUp(primary, In(30s)));
    // Long enough for hundreds of blocks under load; the cluster goes on without it.
    const uint64_t before = cluster.client(others[0]).GetStatus()->height();
    REQUIRE(cluster.WaitHeight(before + 500, In(90s), others));
    cluster.Start(backup);
    REQUIRE(cluster.WaitUp(backup, In(30s)));
    const uint64_t tip = cluster.client(others[0]).GetStatus()->height();
    const bool signs = WaitSigns(cluster, backup, tip, In(30s));
    auto st = cluster.client(backup).GetStatus();
    INFO("restarted node: height " << (st.ok() ? st->height() : 0) << " view "
                                   << (st.ok() ? st->view() : 0) << " in view change "
                                   << (st.ok() && st->in_view_change()) << "\n"
                                   << cluster.Problems());
    CHECK(cluster.ReadLog(backup).find("sender mismatch") == std::string::npos);
    REQUIRE(signs);
    REQUIRE(st.ok());
    CHECK(st->view() > status->view());
    load.Stop();
    REQUIRE(load.accepted() > 0);
}

TEST_CASE("a validator with an empty data dir catches up hundreds of blocks of an idle cluster",
          "[e2e]") {
    TestCluster cluster(4, [](int, v1::NodeConfig& cfg) {
        cfg.mutable_consensus()->set_max_block_txs(1);  // one block per transaction
    });
    for (int i = 0; i < 3; ++i) cluster.Start(i);
    REQUIRE(cluster.WaitAllUp(In(30s)));
    crypto::Sm2Signer signer{crypto::Sm2PrivateKey::Generate()};
    std::vector<chain::Transaction> txs;
    for (uint64_t nonce = 1; nonce <= 400; ++nonce) {
        txs.push_back(client::MakeStatePut(signer, cluster.chain_id(), nonce,
                                           "idle/" + std::to_string(nonce), AsBytes("v")));
    }
    std::vector<const chain::Transaction*> ptrs;
    for (const auto& tx : txs) ptrs.push_back(&tx);
    for (const auto& r : cluster.client(0).SubmitMany(ptrs)) REQUIRE(r.ok());
    auto last = cluster.client(0).WaitForCommit(txs.back().Hash(), 60000);
    REQUIRE(last.ok());
    REQUIRE(last->state() == v1::TxStatus::COMMITTED);
    const uint64_t tip = cluster.client(0).GetStatus()->height();
    REQUIRE(tip >= 300);
    REQUIRE(cluster.WaitHeight(tip, In(30s), {0, 1, 2}));

    cluster.Start(3);  // the cluster is idle: nothing but its own requests tells it the tip
    REQUIRE(cluster.WaitUp(3, In(30s)));
    const bool synced = cluster.WaitHeight(tip, In(20s), {3});
    INFO(cluster.Problems());
    REQUIRE(synced);
    auto mine = cluster.client(3).GetBlock(tip);
    auto theirs = cluster.client(0).GetBlock(tip);
    REQUIRE(mine.ok());
    REQUIRE(theirs.ok());
    CHECK(mine->Hash() == theirs->Hash());
    CHECK(mine->header.state_root == theirs->header.state_root);
}

TEST_CASE("a primary stopped with SIGTERM hands its view over and stops promptly", "[e2e]") {
    TestCluster cluster(4);
    cluster.StartAll();
    REQUIRE(cluster.WaitAllUp(In(30s)));
    crypto::Sm2Signer signer{crypto::Sm2PrivateKey::Generate()};
    auto first = client::MakeStatePut(signer, cluster.chain_id(), 1, "term/1", AsBytes("v"));
    REQUIRE(cluster.client(1).Submit(first).ok());
    REQUIRE(cluster.client(1).WaitForCommit(first.Hash(), 30000).ok());
    auto before = cluster.client(1).GetStatus();
    REQUIRE(before.ok());
    const int primary = static_cast<int>(before->primary());
    const int other = (primary + 2) % 4;

    REQUIRE(cluster.Terminate(primary));  // exit code 0
    const std::string log = cluster.ReadLog(primary);
    INFO(log);
    CHECK(log.find("handed over") != std::string::npos);
    // The next view is installed without waiting out a view-change timeout: a transaction
    // submitted now commits in the new view.
    auto second = client::MakeStatePut(signer, cluster.chain_id(), 2, "term/2", AsBytes("v"));
    REQUIRE(cluster.client(other).Submit(second).ok());
    auto committed = cluster.client(other).WaitForCommit(second.Hash(), 30000);
    REQUIRE(committed.ok());
    REQUIRE(committed->state() == v1::TxStatus::COMMITTED);
    auto after = cluster.client(other).GetStatus();
    REQUIRE(after.ok());
    CHECK(after->view() == before->view() + 1);
    CHECK(static_cast<int>(after->primary()) != primary);
}
