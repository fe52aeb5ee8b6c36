// End-to-end tests on real meterchaind processes over real gRPC + mutual TLS and LevelDB.
#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <thread>

#include "node/chain/merkle.h"
#include "node/chain/proto_adapter.h"
#include "node/crypto/signer.h"
#include "node/net/peer_transport.h"
#include "node/config/config.h"
#include "node/config/files.h"
#include "test/e2e/cluster_harness.h"

using namespace meterchain;
using namespace meterchain::e2e;
using namespace std::chrono_literals;

namespace {

struct Sender {
    crypto::Sm2Signer signer{crypto::Sm2PrivateKey::Generate()};
    uint64_t nonce = 0;
};

// Submits `count` StatePut transactions from `senders` round-robin, to the running nodes
// round-robin; returns their hashes.
std::vector<Hash256> SubmitMany(TestCluster& cluster, std::vector<Sender>& senders, int count,
                                const std::vector<int>& nodes, const std::string& tag) {
    std::vector<Hash256> hashes;
    for (int k = 0; k < count; ++k) {
        Sender& s = senders[static_cast<size_t>(k) % senders.size()];
        auto tx = client::MakeStatePut(s.signer, cluster.chain_id(), ++s.nonce,
                                       tag + "/" + std::to_string(k),
                                       AsBytes("reading " + std::to_string(k)));
        const int node = nodes[static_cast<size_t>(k) % nodes.size()];
        auto hash = cluster.client(node).Submit(tx);
        INFO("submit " << k << " to node " << node << ": " << hash.status().ToString());
        REQUIRE(hash.ok());
        hashes.push_back(*hash);
    }
    return hashes;
}

void RequireAllCommitted(TestCluster& cluster, int node, const std::vector<Hash256>& hashes) {
    for (const auto& h : hashes) {
        auto st = cluster.client(node).WaitForCommit(h, 30000);
        REQUIRE(st.ok());
        INFO("tx " << ToHex(h).substr(0, 16) << " state " << st->state() << " " << st->reason()
                   << "\nwarnings:\n" << cluster.Problems());
        REQUIRE(st->state() == v1::TxStatus::COMMITTED);
    }
}

// Every listed node has the same blocks up to `height` (same hashes) and the same state root.
void RequireSameChain(TestCluster& cluster, const std::vector<int>& nodes, uint64_t height) {
    for (uint64_t h = 0; h <= height; ++h) {
        auto first = cluster.client(nodes[0]).GetBlock(h);
        REQUIRE(first.ok());
        for (size_t i = 1; i < nodes.size(); ++i) {
            auto other = cluster.client(nodes[i]).GetBlock(h);
            REQUIRE(other.ok());
            INFO("height " << h << " node " << nodes[i]);
            REQUIRE(other->Hash() == first->Hash());
        }
    }
}


}  // namespace

TEST_CASE("four processes commit 1000 transactions identically", "[e2e]") {
    TestCluster cluster(4);
    cluster.StartAll();
    REQUIRE(cluster.WaitAllUp(In(20s)));
    std::vector<Sender> senders(8);
    auto hashes = SubmitMany(cluster, senders, 1000, {0, 1, 2, 3}, "bulk");
    RequireAllCommitted(cluster, 0, hashes);
    const uint64_t tip = cluster.client(0).GetStatus()->height();
    REQUIRE(cluster.WaitHeight(tip, In(20s)));
    RequireSameChain(cluster, {0, 1, 2, 3}, tip);
    std::set<Hash256> roots;
    for (int i = 0; i < 4; ++i) {
        auto status = cluster.client(i).GetStatus();
        REQUIRE(status.ok());
        roots.insert(*HashFromBytes(AsBytes(status->state_root())));
    }
    REQUIRE(roots.size() == 1);
    // Every transaction is in exactly one block.
    std::map<Hash256, int> seen;
    for (uint64_t h = 1; h <= tip; ++h) {
        auto block = cluster.client(1).GetBlock(h);
        REQUIRE(block.ok());
        for (const auto& tx : block->transactions) ++seen[tx.Hash()];
    }
    for (const auto& h : hashes) REQUIRE(seen[h] == 1);
    for (int i = 0; i < 4; ++i) REQUIRE(cluster.Terminate(i));
}

TEST_CASE("a killed backup does not stop the cluster and catches up on restart", "[e2e]") {
    TestCluster cluster(4);
    cluster.StartAll();
    REQUIRE(cluster.WaitAllUp(In(20s)));
    std::vector<Sender> senders(2);
    RequireAllCommitted(cluster, 0, SubmitMany(cluster, senders, 50, {0, 1, 2, 3}, "a"));
    auto status = cluster.client(0).GetStatus();
    REQUIRE(status.ok());
    const int backup = static_cast<int>((status->primary() + 3) % 4);
    cluster.Kill(backup);
    std::vector<int> alive;
    for (int i = 0; i < 4; ++i) {
        if (i != backup) alive.push_back(i);
    }
    auto more = SubmitMany(cluster, senders, 100, alive, "b");
    RequireAllCommitted(cluster, alive[0], more);
    const uint64_t tip = cluster.client(alive[0]).GetStatus()->height();
    cluster.Start(backup);
    const bool up = cluster.WaitUp(backup, In(20s));
    INFO("restarted node log:\n" << cluster.ReadLog(backup));
    REQUIRE(up);
    REQUIRE(cluster.WaitHeight(tip, In(30s), {backup}));
    RequireSameChain(cluster, {alive[0], backup}, tip);
    // It takes part again: new transactions commit everywhere.
    auto last = SubmitMany(cluster, senders, 20, {backup}, "c");
    RequireAllCommitted(cluster, backup, last);
}

TEST_CASE("a killed primary is replaced by a view change without losing transactions", "[e2e]") {
    TestCluster cluster(4);
    cluster.StartAll();
    REQUIRE(cluster.WaitAllUp(In(20s)));
    std::vector<Sender> senders(4);
    auto first = SubmitMany(cluster, senders, 40, {0, 1, 2, 3}, "p");
    RequireAllCommitted(cluster, 1, first);
    const auto before = cluster.client(1).GetStatus();
    REQUIRE(before.ok());
    const int primary = static_cast<int>(before->primary());
    cluster.Kill(primary);
    std::vector<int> alive;
    for (int i = 0; i < 4; ++i) {
        if (i != primary) alive.push_back(i);
    }
    auto second = SubmitMany(cluster, senders, 100, alive, "q");
    RequireAllCommitted(cluster, alive[0], second);
    auto after = cluster.client(alive[0]).GetStatus();
    REQUIRE(after.ok());
    REQUIRE(after->view() > before->view());
    REQUIRE(static_cast<int>(after->primary()) != primary);
    const uint64_t tip = after->height();
    REQUIRE(cluster.WaitHeight(tip, In(20s), alive));
    RequireSameChain(cluster, alive, tip);
    std::map<Hash256, int> seen;
    for (uint64_t h = 1; h <= tip; ++h) {
        auto block = cluster.client(alive[1]).GetBlock(h);
        REQUIRE(block.ok());
        for (const auto& tx : block->transactions) ++seen[tx.Hash()];
    }
    for (const auto& h : first) REQUIRE(seen[h] == 1);
    for (const auto& h : second) REQUIRE(seen[h] == 1);
}

// One numbering for clients: a refused call's gRPC status, SubmitResult.code and the code of a
// transaction that failed in execution (TxStatus.code) are all gRPC status codes.
TEST_CASE("refusals and failed transactions carry gRPC status codes", "[e2e]") {
    TestCluster cluster(1);
    cluster.StartAll();
    REQUIRE(cluster.WaitAllUp(In(20s)));
    auto& node = cluster.client(0);
    Sender s;  // a key no organisation has registered

    // Executed and failed: contract calls need a registered organisation; an unknown contract
    // is not found. The nonce is used either way.
    auto denied = client::MakeContractCall(s.signer, cluster.chain_id(), ++s.nonce, "governance",
                                           "Propose", {});
    auto missing = client::MakeContractCall(s.signer, cluster.chain_id(), ++s.nonce,
                                            "no-such-contract", "Run", {});
    auto denied_hash = node.Submit(denied);
    auto missing_hash = node.Submit(missing);
    REQUIRE(denied_hash.ok());
    REQUIRE(missing_hash.ok());
    auto st = node.WaitForCommit(*denied_hash, 20000);
    REQUIRE(st.ok());
    REQUIRE(st->state() == v1::TxStatus::FAILED);
    CHECK(st->code() == static_cast<uint32_t>(grpc::StatusCode::PERMISSION_DENIED));
    CHECK_THAT(st->reason(), Catch::Contains("not a registered organisation"));
    st = node.WaitForCommit(*missing_hash, 20000);
    REQUIRE(st.ok());
    REQUIRE(st->state() == v1::TxStatus::FAILED);
    CHECK(st->code() == static_cast<uint32_t>(grpc::StatusCode::NOT_FOUND));

    // Refused at submission, in a batch: the same codes as a refused single call.
    auto forged = client::MakeStatePut(s.signer, cluster.chain_id(), s.nonce + 1, "k",
                                       AsBytes("v"));
    forged.signature[forged.signature.size() / 2] ^= 0x01;
    auto replayed = client::MakeStatePut(s.signer, cluster.chain_id(), 1, "k", AsBytes("v"));
    v1::SubmitBatchRequest req;
    *req.add_transactions() = chain::ToProto(forged);
    *req.add_transactions() = chain::ToProto(replayed);
    v1::SubmitBatchResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 10s);
    REQUIRE(node.stub().SubmitTransactions(&ctx, req, &resp).ok());
    REQUIRE(resp.results_size() == 2);
    CHECK(resp.results(0).code() == static_cast<uint32_t>(grpc::StatusCode::UNAUTHENTICATED));
    CHECK(resp.results(1).code() == static_cast<uint32_t>(grpc::StatusCode::INVALID_ARGUMENT));
    CHECK_THAT(resp.results(1).error(), Catch::Contains("nonce"));
    grpc::ClientContext single_ctx;
    single_ctx.set_deadline(std::chrono::system_clock::now() + 10s);
    v1::SubmitRequest single;
    *single.mutable_transaction() = chain::ToProto(forged);
    v1::SubmitResponse single_resp;
    const grpc::Status refused = node.stub().SubmitTransaction(&single_ctx, single, &single_resp);
    CHECK(refused.error_code() == grpc::StatusCode::UNAUTHENTICATED);
}

TEST_CASE("bad signatures and replayed nonces are refused with clear errors", "[e2e]") {
    TestCluster cluster(4);
    cluster.StartAll();
    REQUIRE(cluster.WaitAllUp(In(20s)));
    Sender s;
    auto tx = client::MakeStatePut(s.signer, cluster.chain_id(), 1, "k", AsBytes("v"));
    auto hash = cluster.client(0).Submit(tx);
    REQUIRE(hash.ok());
    const auto committed = cluster.client(0).WaitForCommit(*hash, 20000);
    REQUIRE(committed->state() == v1::TxStatus::COMMITTED);
    // PBFT commits with a quorum: every node asked below must have committed the block too.
    REQUIRE(cluster.WaitHeight(committed->height(), In(20s)));

    auto forged = client::MakeStatePut(s.signer, cluster.chain_id(), 2, "k", AsBytes("w"));
    forged.signature[forged.signature.size() / 2] ^= 0x01;
    auto r1 = cluster.client(1).Submit(forged);
    REQUIRE(r1.status().code() == StatusCode::kUnauthenticated);
    REQUIRE_THAT(r1.status().message(), Catch::Contains("signature"));

    auto again = cluster.client(2).Submit(tx);
    REQUIRE(again.status().code() == StatusCode::kAlreadyExists);

    auto replay = client::MakeStatePut(s.signer, cluster.chain_id(), 1, "k", AsBytes("x"));
    auto r2 = cluster.client(3).Submit(replay);
    REQUIRE(r2.status().code() == StatusCode::kInvalidArgument);
    REQUIRE_THAT(r2.status().message(), Catch::Contains("nonce"));

    auto other_chain = client::MakeStatePut(s.signer, "another-chain", 5, "k", AsBytes("x"));
    auto r3 = cluster.client(0).Submit(other_chain);
    REQUIRE(r3.status().code() == StatusCode::kInvalidArgument);
    REQUIRE_THAT(r3.status().message(), Catch::Contains("chain"));

    // The committed value is the first one.
    auto value = cluster.client(1).Query("state", "get", AsBytes("k"));
    INFO(value.status().ToString());
    REQUIRE(value.ok());
    REQUIRE(ToString(*value) == "v");
}

TEST_CASE("peers outside the cluster CA or with a foreign SM2 key are refused", "[e2e]") {
    TestCluster other(4);  // another cluster: another CA
    TestCluster cluster(4, [&](int i, v1::NodeConfig& cfg) {
        if (i == 3) {
            cfg.mutable_tls()->set_cert_file(other.summary().nodes[3].dir + "/tls.pem");
            cfg.mutable_tls()->set_key_file(other.summary().nodes[3].dir + "/tls.key");
        }
    });
    cluster.StartAll();
    REQUIRE(cluster.WaitAllUp(In(20s)));

    // A rogue process holding a valid cluster certificate for "institute" but another SM2 key.
    auto cfg = config::LoadNodeConfig(cluster.ConfigPath(3));
    REQUIRE(cfg.ok());
    auto set = config::BuildValidatorSet(*cfg);
    REQUIRE(set.ok());
    const std::string real_dir = cluster.summary().nodes[3].dir;
    net::TransportOptions to;
    to.chain_id = cfg->chain_id();
    to.self = 3;
    to.validators = *set;
    to.listen = "127.0.0.1:" + std::to_string(FindFreePortRange(1));
    to.ca_pem = *config::ReadFileToString(cluster.dir() + "/ca.pem");
    to.cert_pem = *config::ReadFileToString(other.summary().nodes[3].dir + "/tls.pem");
    to.key_pem = *config::ReadFileToString(other.summary().nodes[3].dir + "/tls.key");
    // Use the cluster's own certificate for node 3 (valid CA, right name) with a foreign key.
    // The daemon of node 3 above uses the other CA's certificate, so this is the only
    // "institute" that can pass TLS.
    (void)real_dir;
    crypto::Sm2Signer rogue_key(crypto::Sm2PrivateKey::Generate());
    crypto::Sm2Verifier verifier;
    {
        net::TransportOptions rogue = to;
        auto node3_cert = config::ReadFileToString(cluster.summary().nodes[3].dir + "/tls.pem");
        auto node3_key = config::ReadFileToString(cluster.summary().nodes[3].dir + "/tls.key");
        REQUIRE(node3_cert.ok());
        REQUIRE(node3_key.ok());
        rogue.cert_pem = *node3_cert;
        rogue.key_pem = *node3_key;
        net::PeerTransport transport(rogue, rogue_key, verifier);
        REQUIRE(transport.Start([](uint32_t, const v1::PeerFrame&) {}).ok());
        REQUIRE(cluster.WaitForLog(
            0, "hello signature does not match the SM2 key of 'institute'", In(20s)));
        transport.Stop();
    }

    // The three genuine nodes still form a quorum and commit; node 3 (foreign CA) never
    // connects and never gets a block.
    std::vector<Sender> senders(1);
    auto hashes = SubmitMany(cluster, senders, 10, {0, 1, 2}, "tls");
    RequireAllCommitted(cluster, 0, hashes);
    auto status = cluster.client(0).GetStatus();
    REQUIRE(status.ok());
    REQUIRE(status->peers(1).connected());
    REQUIRE(status->peers(2).connected());
    REQUIRE_FALSE(status->peers(3).connected());
    auto node3 = cluster.client(3).GetStatus();
    REQUIRE(node3.ok());
    REQUIRE(node3->height() == 0);
}

TEST_CASE("sample verification data passes the Validity contract on four processes", "[e2e]") {
    TestCluster cluster(4);
    cluster.StartAll();
    REQUIRE(cluster.WaitAllUp(In(20s)));
    std::string out;
    const int rc = RunCommand(MeterctlPath() + " demo --dir " + cluster.dir() + " --data " +
                                  SourceDir() + "/test/data --records 20",
                              &out);
    INFO(out);
    REQUIRE(rc == 0);
    REQUIRE_THAT(out, Catch::Contains("Validity(meter assets)"));
    REQUIRE_THAT(out, Catch::Contains("20/20 valid"));
    REQUIRE_THAT(out, Catch::Contains("19/20 valid"));
    REQUIRE_THAT(out, Catch::Contains("INVALID  VR-CONSISTENT"));
    const uint64_t tip = cluster.client(0).GetStatus()->height();
    REQUIRE(tip >= 2);
    REQUIRE(cluster.WaitHeight(tip, In(20s)));
    RequireSameChain(cluster, {0, 1, 2, 3}, tip);
}

TEST_CASE("a validator started late with an empty data dir syncs the whole chain", "[e2e]") {
    TestCluster cluster(4);
    for (int i = 0; i < 3; ++i) cluster.Start(i);
    REQUIRE(cluster.WaitAllUp(In(20s)));
    std::vector<Sender> senders(4);
    auto hashes = SubmitMany(cluster, senders, 200, {0, 1, 2}, "late");
    RequireAllCommitted(cluster, 0, hashes);
    const uint64_t tip = cluster.client(0).GetStatus()->height();
    REQUIRE(tip >= 2);

    cluster.Start(3);  // nothing in its data dir: it fetches every block and verifies it
    REQUIRE(cluster.WaitUp(3, In(20s)));
    const bool synced = cluster.WaitHeight(tip, In(60s), {3});
    INFO("warnings:\n" << cluster.Problems());
    INFO("late node log:\n" << cluster.ReadLog(3));
    auto late_status = cluster.client(3).GetStatus();
    INFO("late node: height " << (late_status.ok() ? late_status->height() : 0) << " view "
                              << (late_status.ok() ? late_status->view() : 0) << " in view change "
                              << (late_status.ok() && late_status->in_view_change()) << ", tip "
                              << tip);
    REQUIRE(synced);
    RequireSameChain(cluster, {0, 3}, tip);
    auto block = cluster.client(3).GetBlock(tip);
    REQUIRE(block.ok());
    auto reference = cluster.client(0).GetBlock(tip);
    REQUIRE(reference.ok());
    REQUIRE(block->header.state_root == reference->header.state_root);
    // And it takes part from then on.
    auto more = SubmitMany(cluster, senders, 20, {3}, "late2");
    RequireAllCommitted(cluster, 3, more);
}

TEST_CASE("StreamCommits and StreamBlocks deliver each committed block as it commits", "[e2e]") {
    TestCluster cluster(4);
    cluster.StartAll();
    REQUIRE(cluster.WaitAllUp(In(20s)));
    // Subscribed before anything is submitted: the blocks arrive while the streams are open.
    auto& follower = cluster.client(2);
    grpc::ClientContext commits_ctx, blocks_ctx;
    commits_ctx.set_deadline(std::chrono::system_clock::now() + 60s);
    blocks_ctx.set_deadline(std::chrono::system_clock::now() + 60s);
    v1::StreamBlocksRequest from;
    from.set_from_height(1);
    auto commits = follower.stub().StreamCommits(&commits_ctx, from);
    auto blocks = follower.stub().StreamBlocks(&blocks_ctx, from);

    std::vector<Sender> senders(4);
    auto hashes = SubmitMany(cluster, senders, 60, {0, 1, 2, 3}, "follow");
    std::set<Hash256> pending(hashes.begin(), hashes.end());
    uint64_t expected_height = 1;
    v1::BlockSummary summary;
    while (!pending.empty()) {
        INFO("still waiting for " << pending.size() << " transactions\n" << cluster.Problems());
        if (!commits->Read(&summary)) {
            const grpc::Status s = commits->Finish();
            FAIL("the stream ended: " << s.error_code() << " " << s.error_message());
        }
        auto header = chain::FromProto(summary.header());
        REQUIRE(header.ok());
        REQUIRE(header->height == expected_height++);
        // The summary matches the stored block and checks out on its own.
        auto block = follower.GetBlock(header->height);
        REQUIRE(block.ok());
        REQUIRE(header->Hash() == block->Hash());
        std::vector<Hash256> tx_hashes;
        for (const auto& bytes : summary.tx_hashes()) {
            auto h = HashFromBytes(AsBytes(bytes));
            REQUIRE(h);
            tx_hashes.push_back(*h);
        }
        REQUIRE(tx_hashes == block->TxHashes());
        REQUIRE(chain::MerkleRoot(tx_hashes) == header->tx_root);
        auto cert = chain::FromProto(summary.certificate());
        REQUIRE(cert.ok());
        REQUIRE(*cert == block->certificate);
        REQUIRE(cert->block_hash == header->Hash());
        for (const auto& h : tx_hashes) pending.erase(h);
    }
    // The full-block stream delivers the same blocks, transactions included.
    v1::Block pb;
    for (uint64_t h = 1; h < expected_height; ++h) {
        REQUIRE(blocks->Read(&pb));
        auto block = chain::FromProto(pb);
        REQUIRE(block.ok());
        auto stored = follower.GetBlock(h);
        REQUIRE(stored.ok());
        REQUIRE(block->Hash() == stored->Hash());
        REQUIRE(block->transactions.size() == stored->transactions.size());
        REQUIRE(block->TxHashes() == stored->TxHashes());
    }
    commits_ctx.TryCancel();
    blocks_ctx.TryCancel();
    (void)commits->Finish();
    (void)blocks->Finish();
    for (int i = 0; i < 4; ++i) REQUIRE(cluster.Terminate(i));
}

TEST_CASE("a SubmitStream call carries 1024 requests and then the node ends it", "[e2e]") {
    TestCluster cluster(1);
    cluster.StartAll();
    REQUIRE(cluster.WaitAllUp(In(20s)));
    Sender sender;
    std::vector<v1::SubmitBatchRequest> requests;
    for (int k = 0; k < 1025; ++k) {
        auto tx = client::MakeStatePut(sender.signer, cluster.chain_id(), ++sender.nonce,
                                       "s/" + std::to_string(k), AsBytes("v"));
        v1::SubmitBatchRequest req;
        *req.add_transactions() = chain::ToProto(tx);
        requests.push_back(std::move(req));
    }

    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + 60s);
    auto stream = cluster.client(0).stub().SubmitStream(&context);
    size_t answered = 0, accepted = 0;  // written by the reader, read after join()
    std::thread reader([&] {
        v1::SubmitBatchResponse resp;
        while (stream->Read(&resp)) {
            ++answered;
            if (resp.results_size() == 1 && resp.results(0).code() == 0) ++accepted;
        }
    });
    // The 1025th is written too; the node does not read it (the write itself may or may not
    // succeed, depending on how far the node got).
    for (const auto& req : requests) {
        if (!stream->Write(req)) break;
    }
    stream->WritesDone();
    reader.join();
    const grpc::Status status = stream->Finish();
    INFO(status.error_message());
    CHECK(status.ok());
    CHECK(answered == 1024);
    CHECK(accepted == 1024);

    // A fresh stream takes the request the first one left unread.
    grpc::ClientContext again;
    again.set_deadline(std::chrono::system_clock::now() + 60s);
    auto second = cluster.client(0).stub().SubmitStream(&again);
    REQUIRE(second->Write(requests.back()));
    second->WritesDone();
    v1::SubmitBatchResponse resp;
    REQUIRE(second->Read(&resp));
    REQUIRE(resp.results_size() == 1);
    CHECK(resp.results(0).code() == 0);
    CHECK_FALSE(second->Read(&resp));
    CHECK(second->Finish().ok());
    const Hash256 last_hash = chain::FromProto(requests.back().transactions(0)).Hash();
    auto last = cluster.client(0).WaitForCommit(last_hash, 30000);
    REQUIRE(last.ok());
    CHECK(last->state() == v1::TxStatus::COMMITTED);
}
