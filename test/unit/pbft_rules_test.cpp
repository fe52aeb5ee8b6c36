// The PBFT core's rules, one test each, driven message by message (no network).
#include <catch2/catch.hpp>

#include "consensus/pbft.h"
#include "node/chain/merkle.h"
#include "test/sim/fake_app.h"
#include "test/sim/fake_crypto.h"

using namespace meterchain;
using namespace meterchain::consensus;
using meterchain::sim::FakeApp;
using meterchain::sim::FakePublicKey;
using meterchain::sim::FakeSigner;
using meterchain::sim::FakeVerifier;

namespace {

constexpr const char* kChain = "sim";

chain::ValidatorSet Validators(uint32_t n) {
    std::vector<chain::Validator> vs;
    for (uint32_t i = 0; i < n; ++i) vs.push_back({"n" + std::to_string(i), "", "", FakePublicKey(i), ""});
    return chain::ValidatorSet(std::move(vs));
}

chain::Transaction Tx(const std::string& body) { return {ToBytes(body), {}}; }

// One replica under test (index `self` of `n`), plus the keys of everyone to forge inputs.
struct Harness {
    uint32_t n;
    std::vector<FakeSigner> signers;
    FakeVerifier verifier;
    FakeApp app;
    Options options;
    std::unique_ptr<Core> core;
    std::map<std::string, Bytes> durable;

    explicit Harness(uint32_t nodes = 4, uint32_t self = 1) : n(nodes) {
        for (uint32_t i = 0; i < n; ++i) signers.emplace_back(i);
        options.chain_id = kChain;
        options.validators = Validators(n);
        options.self = self;
        Restart();
    }
    void Restart() {
        app = FakeApp();
        core = std::make_unique<Core>(options, signers[options.self], verifier, app, Tip{}, durable);
    }
    // From the durable records and a committed chain ending in `committed`.
    void RestartAt(const chain::Block& committed) {
        app = FakeApp();
        app.Commit(committed);
        Tip tip;
        tip.empty = false;
        tip.header = committed.header;
        tip.certificate = committed.certificate;
        core = std::make_unique<Core>(options, signers[options.self], verifier, app, tip, durable);
    }
    Ready Take() {
        Ready r = core->TakeReady();
        for (auto& w : r.durable) {
            if (w.value) durable[w.key] = *w.value; else durable.erase(w.key);
        }
        return r;
    }
    // A block at `height` on `parent`, executed by a scratch application to get its root.
    chain::Block MakeBlock(uint64_t height, const Hash256& parent, std::vector<chain::Transaction> txs,
                           uint64_t view = 0) {
        chain::Block b;
        b.header.chain_id = kChain;
        b.header.height = height;
        b.header.prev_hash = parent;
        b.header.view = view;
        b.header.proposer = static_cast<uint32_t>(view % n);
        b.header.timestamp_ms = 1000 + height;
        b.transactions = std::move(txs);
        b.header.tx_root = chain::MerkleRoot(b.TxHashes());
        FakeApp scratch;
        auto root = scratch.Execute(b);
        if (root.ok()) b.header.state_root = *root;
        return b;
    }
    Message Signed(Message m) {
        SignMessage(kChain, signers[Sender(m)], m);
        return m;
    }
    Message PrePrepareOf(const chain::Block& b, uint32_t from = 0, uint64_t view = 0) {
        return Signed(PrePrepare{view, b.header.height, b, from, {}});
    }
    Message VoteOf(VoteKind kind, const chain::Block& b, uint32_t from, uint64_t view = 0) {
        return Signed(Vote{kind, view, b.header.height, b.Hash(), from, {}, {}});
    }
    // An empty VIEW-CHANGE (nothing committed or prepared) for `view`.
    ViewChange ViewChangeOf(uint32_t from, uint64_t view) {
        ViewChange vc;
        vc.new_view = view;
        vc.from = from;
        return std::get<ViewChange>(Signed(vc));
    }
    // The NEW-VIEW the primary of `view` sends with the view changes of `from`.
    NewView NewViewOf(uint64_t view, std::vector<uint32_t> from) {
        NewView nv;
        nv.view = view;
        nv.from = static_cast<uint32_t>(view % n);
        for (uint32_t i : from) nv.view_changes.push_back(ViewChangeOf(i, view));
        return std::get<NewView>(Signed(nv));
    }
};

template <class T>
std::vector<T> Sent(const Ready& r) {
    std::vector<T> out;
    for (const auto& o : r.messages) {
        if (auto* m = std::get_if<T>(&o.message)) out.push_back(*m);
    }
    return out;
}

std::vector<Vote> SentVotes(const Ready& r, VoteKind kind) {
    std::vector<Vote> out;
    for (const auto& v : Sent<Vote>(r)) {
        if (v.kind == kind) out.push_back(v);
    }
    return out;
}

}  // namespace

TEST_CASE("a replica prepares a valid pre-prepare from the primary", "[pbft]") {
    Harness h;
    auto block = h.MakeBlock(0, {}, {Tx("ok-1"), Tx("ok-2")});
    h.core->Step(h.PrePrepareOf(block));
    auto prepares = SentVotes(h.Take(), VoteKind::kPrepare);
    REQUIRE(prepares.size() == 1);
    CHECK(prepares[0].digest == block.Hash());
    CHECK(prepares[0].height == 0);
}

TEST_CASE("a pre-prepare with a bad signature is ignored", "[pbft]") {
    Harness h;
    auto msg = h.PrePrepareOf(h.MakeBlock(0, {}, {Tx("ok-1")}));
    std::get<PrePrepare>(msg).signature[3] ^= 1;
    h.core->Step(msg);
    CHECK(h.Take().messages.empty());
    CHECK(h.core->counters().bad_signatures == 1);
}

TEST_CASE("a pre-prepare from a backup is ignored", "[pbft]") {
    Harness h;
    h.core->Step(h.PrePrepareOf(h.MakeBlock(0, {}, {Tx("ok-1")}), 2));
    CHECK(h.Take().messages.empty());
}

TEST_CASE("a proposal with a wrong parent is rejected and the primary suspected", "[pbft]") {
    Harness h;
    Hash256 bogus{};
    bogus[0] = 7;
    h.core->Step(h.PrePrepareOf(h.MakeBlock(0, bogus, {Tx("ok-1")})));
    Ready r = h.Take();
    CHECK(SentVotes(r, VoteKind::kPrepare).empty());
    CHECK(h.core->counters().invalid_proposals == 1);
    CHECK(Sent<ViewChange>(r).size() == 1);
    CHECK(h.core->in_view_change());
}

TEST_CASE("a proposal whose header height differs from its slot is ignored", "[pbft]") {
    Harness h;
    auto block = h.MakeBlock(0, {}, {Tx("ok-1")});
    auto msg = h.Signed(PrePrepare{0, 1, block, 0, {}});
    h.core->Step(msg);
    CHECK(h.Take().messages.empty());
}

TEST_CASE("a proposal whose parent is unknown waits and is accepted when the parent arrives",
          "[pbft]") {
    Harness h;
    auto b0 = h.MakeBlock(0, {}, {Tx("ok-1")});
    FakeApp chain_app;  // executes b0 so that b1's root builds on it
    REQUIRE(chain_app.Execute(b0).ok());
    auto b1 = h.MakeBlock(1, b0.Hash(), {Tx("ok-2")});
    b1.header.state_root = *chain_app.Execute(b1);

    h.core->Step(h.PrePrepareOf(b1));
    CHECK(SentVotes(h.Take(), VoteKind::kPrepare).empty());
    h.core->Step(h.PrePrepareOf(b0));
    auto prepares = SentVotes(h.Take(), VoteKind::kPrepare);
    REQUIRE(prepares.size() == 2);
    CHECK(prepares[0].height == 0);
    CHECK(prepares[1].height == 1);
}

TEST_CASE("a proposal with an invalid transaction is rejected", "[pbft]") {
    Harness h;
    auto block = h.MakeBlock(0, {}, {Tx("ok-1")});
    block.transactions.push_back(Tx("bad-tx"));
    block.header.tx_root = chain::MerkleRoot(block.TxHashes());
    h.core->Step(h.PrePrepareOf(block));
    CHECK(SentVotes(h.Take(), VoteKind::kPrepare).empty());
    CHECK(h.core->counters().invalid_proposals == 1);
}

TEST_CASE("a proposal with a duplicate transaction is rejected", "[pbft]") {
    Harness h;
    auto block = h.MakeBlock(0, {}, {Tx("ok-1")});
    block.transactions.push_back(Tx("ok-1"));
    block.header.tx_root = chain::MerkleRoot(block.TxHashes());
    h.core->Step(h.PrePrepareOf(block));
    CHECK(SentVotes(h.Take(), VoteKind::kPrepare).empty());
    CHECK(h.core->counters().invalid_proposals == 1);
}

TEST_CASE("a proposal whose state root does not match execution is rejected", "[pbft]") {
    Harness h;
    auto block = h.MakeBlock(0, {}, {Tx("ok-1")});
    block.header.state_root[0] ^= 1;
    h.core->Step(h.PrePrepareOf(block));
    CHECK(SentVotes(h.Take(), VoteKind::kPrepare).empty());
    CHECK(h.core->counters().invalid_proposals == 1);
}

TEST_CASE("a primary that proposes two blocks for one height is replaced", "[pbft]") {
    Harness h;
    auto a = h.MakeBlock(0, {}, {Tx("ok-1")});
    auto b = h.MakeBlock(0, {}, {Tx("ok-2")});
    h.core->Step(h.PrePrepareOf(a));
    h.Take();
    h.core->Step(h.PrePrepareOf(b));
    Ready r = h.Take();
    CHECK(h.core->counters().equivocations_detected == 1);
    CHECK(Sent<ViewChange>(r).size() == 1);
    CHECK(SentVotes(r, VoteKind::kPrepare).empty());
}

TEST_CASE("a pre-prepare and 2f prepares, then 2f+1 commits, commit the block with a "
          "verifiable certificate", "[pbft]") {
    Harness h;
    auto block = h.MakeBlock(0, {}, {Tx("ok-1")});
    h.core->Step(h.PrePrepareOf(block));
    Ready r = h.Take();
    CHECK(SentVotes(r, VoteKind::kPrepare).size() == 1);
    CHECK(SentVotes(r, VoteKind::kCommit).empty());  // the pre-prepare and its own: 2 of 3
    h.core->Step(h.VoteOf(VoteKind::kPrepare, block, 2));
    r = h.Take();
    REQUIRE(SentVotes(r, VoteKind::kCommit).size() == 1);
    h.core->Step(h.VoteOf(VoteKind::kCommit, block, 0));
    CHECK(h.Take().committed.empty());
    h.core->Step(h.VoteOf(VoteKind::kCommit, block, 3));
    r = h.Take();
    REQUIRE(r.committed.size() == 1);
    const auto& committed = r.committed[0];
    CHECK(committed.Hash() == block.Hash());
    CHECK(committed.certificate.signatures.size() == 3);
    CHECK(chain::VerifyCertificate(committed.certificate, kChain, h.options.validators, h.verifier).ok());
    CHECK(h.core->committed_height() == 0);
}

TEST_CASE("the primary sends no PREPARE: its PRE-PREPARE is its prepare", "[pbft]") {
    Harness h(4, 0);
    REQUIRE(h.core->Propose({Tx("ok-1")}, 1001).ok());
    Ready r = h.Take();
    auto proposals = Sent<PrePrepare>(r);
    REQUIRE(proposals.size() == 1);
    CHECK(SentVotes(r, VoteKind::kPrepare).empty());
    const chain::Block block = proposals[0].block;
    h.core->Step(h.VoteOf(VoteKind::kPrepare, block, 1));
    CHECK(SentVotes(h.Take(), VoteKind::kCommit).empty());  // pre-prepare + 1 prepare: 2 of 3
    h.core->Step(h.VoteOf(VoteKind::kPrepare, block, 2));
    CHECK(SentVotes(h.Take(), VoteKind::kCommit).size() == 1);
}

TEST_CASE("a PREPARE from the primary beside its PRE-PREPARE counts once", "[pbft]") {
    Harness h;
    auto block = h.MakeBlock(0, {}, {Tx("ok-1")});
    h.core->Step(h.PrePrepareOf(block));
    h.core->Step(h.VoteOf(VoteKind::kPrepare, block, 0));
    CHECK(SentVotes(h.Take(), VoteKind::kCommit).empty());  // still 2 of 3
    h.core->Step(h.VoteOf(VoteKind::kPrepare, block, 3));
    CHECK(SentVotes(h.Take(), VoteKind::kCommit).size() == 1);
}

TEST_CASE("a prepared certificate carries the primary's PRE-PREPARE signature and verifies",
          "[pbft]") {
    Harness h;
    auto block = h.MakeBlock(0, {}, {Tx("ok-1")});
    h.core->Step(h.PrePrepareOf(block));
    h.core->Step(h.VoteOf(VoteKind::kPrepare, block, 2));
    REQUIRE(SentVotes(h.Take(), VoteKind::kCommit).size() == 1);
    for (uint32_t from : {2u, 3u}) {  // f+1 want view 1: replica 1 follows with its evidence
        ViewChange vc;
        vc.new_view = 1;
        vc.from = from;
        h.core->Step(h.Signed(vc));
    }
    auto sent = Sent<ViewChange>(h.Take());
    REQUIRE(sent.size() == 1);
    REQUIRE(sent[0].prepared.size() == 1);
    const PreparedCert& cert = sent[0].prepared[0];
    CHECK(cert.block.Hash() == block.Hash());
    bool has_primary = false;
    for (const auto& sig : cert.prepares) has_primary = has_primary || sig.validator == 0;
    CHECK(has_primary);
    CHECK(VerifyPreparedCert(kChain, h.options.validators, h.verifier, 0, cert));

    // The primary's entry must be its signature over this proposal; a PRE-PREPARE-style
    // signature from anyone else does not count.
    PreparedCert forged = cert;
    for (auto& sig : forged.prepares) {
        if (sig.validator == 0) {
            sig.signature = h.signers[0].Sign(PrePrepareBytes(kChain, 0, 0, 0, Hash256{}));
        }
    }
    CHECK_FALSE(VerifyPreparedCert(kChain, h.options.validators, h.verifier, 0, forged));
    PreparedCert other = cert;
    for (auto& sig : other.prepares) {
        if (sig.validator == 2) {
            sig.signature = h.signers[2].Sign(PrePrepareBytes(kChain, 0, 0, 2, block.Hash()));
        }
    }
    CHECK_FALSE(VerifyPreparedCert(kChain, h.options.validators, h.verifier, 0, other));
}

TEST_CASE("votes of one voter for two blocks count only once", "[pbft]") {
    Harness h;
    auto block = h.MakeBlock(0, {}, {Tx("ok-1")});
    auto other = h.MakeBlock(0, {}, {Tx("ok-2")});
    h.core->Step(h.PrePrepareOf(block));
    h.core->Step(h.VoteOf(VoteKind::kPrepare, other, 2));  // voter 2 first votes elsewhere
    h.core->Step(h.VoteOf(VoteKind::kPrepare, block, 2));  // then for the real block
    // Own + the primary's pre-prepare = 2 of 3: voter 2's second vote must not count.
    CHECK(SentVotes(h.Take(), VoteKind::kCommit).empty());
}

TEST_CASE("view change timeouts double while views keep failing", "[pbft]") {
    // n = 7 and this replica is 6, so the primaries of views 1..5 are others, all silent.
    Harness h(7, 6);
    h.core->SetPendingWork(true);  // a client is waiting, the primary of view 0 stays silent
    std::vector<uint64_t> at;      // tick of the first VIEW-CHANGE for each new view
    uint64_t last_view = 0;
    for (uint64_t tick = 1; tick <= 1000 && at.size() < 4; ++tick) {
        h.core->Tick();
        for (const auto& vc : Sent<ViewChange>(h.Take())) {
            if (vc.new_view <= last_view) continue;  // a retransmission
            last_view = vc.new_view;
            at.push_back(tick);
            // 2f+1 replicas want this view (the timer only runs then); its primary is silent.
            for (uint32_t from = 0; from < 4; ++from) {
                ViewChange other;
                other.new_view = vc.new_view;
                other.from = from;
                h.core->Step(h.Signed(other));
            }
            h.Take();
        }
    }
    REQUIRE(at.size() == 4);
    CHECK(at[0] == 40);
    CHECK(at[1] - at[0] == 40);   // the first view change waits one base timeout
    CHECK(at[2] - at[1] == 80);   // then twice as long
    CHECK(at[3] - at[2] == 160);  // and twice again
}

TEST_CASE("a view change alone does not time out without 2f+1 replicas wanting it", "[pbft]") {
    Harness h;
    h.core->SetPendingWork(true);
    uint64_t view_changes = 0;
    for (int tick = 0; tick < 2000; ++tick) {
        h.core->Tick();
        for (const auto& vc : Sent<ViewChange>(h.Take())) view_changes = std::max(view_changes, vc.new_view);
    }
    CHECK(view_changes == 1);  // it asked for view 1 and keeps asking, but does not race ahead
    CHECK(h.core->in_view_change());
}

TEST_CASE("f+1 view changes for a higher view make a replica follow", "[pbft]") {
    Harness h;
    for (uint32_t from : {0u, 2u}) {
        ViewChange vc;
        vc.new_view = 3;
        vc.from = from;
        h.core->Step(h.Signed(vc));
    }
    auto sent = Sent<ViewChange>(h.Take());
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].new_view == 3);
    CHECK(h.core->view() == 3);
}

TEST_CASE("a new view re-proposes the highest prepared block and keeps its hash", "[pbft]") {
    // Replica 2 is the primary of view 2; it collects view changes where replica 1 reports
    // block b0 prepared in view 0.
    Harness h(4, 2);
    auto b0 = h.MakeBlock(0, {}, {Tx("ok-1")});
    PreparedCert cert;
    cert.view = 0;
    cert.block = b0;
    for (uint32_t i : {0u, 1u, 3u}) {
        cert.prepares.push_back({i, h.signers[i].Sign(PrepareVoteBytes(kChain, 0, 0, b0.Hash()))});
    }
    ViewChange with;
    with.new_view = 2;
    with.from = 1;
    with.prepared.push_back(cert);
    ViewChange without;
    without.new_view = 2;
    without.from = 3;
    h.core->Step(h.Signed(with));
    h.core->Step(h.Signed(without));  // f+1: replica 2 joins view 2 and has 2f+1 with its own
    Ready r = h.Take();
    auto nv = Sent<NewView>(r);
    REQUIRE(nv.size() == 1);
    CHECK(nv[0].view_changes.size() == 3);
    CHECK(h.core->view() == 2);
    CHECK_FALSE(h.core->in_view_change());
    auto prepares = SentVotes(r, VoteKind::kPrepare);
    REQUIRE(prepares.size() == 1);
    CHECK(prepares[0].digest == b0.Hash());  // the same block, prepared again in view 2
    CHECK(prepares[0].view == 2);
}

TEST_CASE("a forged prepared certificate in a view change is rejected", "[pbft]") {
    Harness h(4, 2);
    auto b0 = h.MakeBlock(0, {}, {Tx("ok-1")});
    PreparedCert cert;
    cert.view = 0;
    cert.block = b0;
    for (uint32_t i : {0u, 1u, 3u}) {
        cert.prepares.push_back({i, h.signers[1].Sign(PrepareVoteBytes(kChain, 0, 0, b0.Hash()))});
    }
    ViewChange vc;
    vc.new_view = 2;
    vc.from = 1;
    vc.prepared.push_back(cert);  // replica 1 signed all three "prepares" itself
    h.core->Step(h.Signed(vc));
    CHECK(h.core->counters().bad_signatures == 1);
}

TEST_CASE("a restarted replica never votes for a second block in the same view", "[pbft]") {
    Harness h;
    auto a = h.MakeBlock(0, {}, {Tx("ok-1")});
    auto b = h.MakeBlock(0, {}, {Tx("ok-2")});
    h.core->Step(h.PrePrepareOf(a));
    REQUIRE(SentVotes(h.Take(), VoteKind::kPrepare).size() == 1);
    h.Restart();  // from the durable records only
    h.core->Step(h.PrePrepareOf(b));
    CHECK(SentVotes(h.Take(), VoteKind::kPrepare).empty());
}

TEST_CASE("a commit deletes its height's record lazily, and a restart that finds it deletes it "
          "again", "[pbft]") {
    Harness h;
    auto block = h.MakeBlock(0, {}, {Tx("ok-1")});
    h.core->Step(h.PrePrepareOf(block));
    h.core->Step(h.VoteOf(VoteKind::kPrepare, block, 2));
    Ready prepared = h.Take();
    REQUIRE(SentVotes(prepared, VoteKind::kCommit).size() == 1);
    for (const auto& w : prepared.durable) CHECK_FALSE(w.lazy);  // votes must be synced
    REQUIRE(h.durable.count("slot/00000000000000000000") == 1);

    h.core->Step(h.VoteOf(VoteKind::kCommit, block, 0));
    h.core->Step(h.VoteOf(VoteKind::kCommit, block, 3));
    Ready r = h.core->TakeReady();  // not applied: the crash below loses it
    REQUIRE(r.committed.size() == 1);
    REQUIRE(r.durable.size() == 1);
    CHECK(r.durable[0].key == "slot/00000000000000000000");
    CHECK_FALSE(r.durable[0].value.has_value());
    CHECK(r.durable[0].lazy);

    // The block was stored (its append is synced) but the lazy deletion did not survive.
    h.RestartAt(r.committed[0]);
    Ready again = h.Take();
    REQUIRE(again.durable.size() == 1);
    CHECK(again.durable[0].key == "slot/00000000000000000000");
    CHECK_FALSE(again.durable[0].value.has_value());
    CHECK(again.durable[0].lazy);
    CHECK(again.messages.empty());
    CHECK(h.durable.count("slot/00000000000000000000") == 0);
    CHECK(h.core->committed_height() == 0);

    // The stale record made no difference: the next height prepares as usual.
    auto next = h.MakeBlock(1, block.Hash(), {Tx("ok-2")});
    FakeApp on_block;
    on_block.Commit(r.committed[0]);
    auto root = on_block.Execute(next);
    REQUIRE(root.ok());
    next.header.state_root = *root;
    h.core->Step(h.PrePrepareOf(next));
    CHECK(SentVotes(h.Take(), VoteKind::kPrepare).size() == 1);
}

TEST_CASE("a single validator commits its own proposal at once", "[pbft]") {
    Harness h(1, 0);
    REQUIRE(h.core->CanPropose());
    REQUIRE(h.core->Propose({Tx("ok-1")}, 5000).ok());
    Ready r = h.Take();
    REQUIRE(r.committed.size() == 1);
    CHECK(r.committed[0].certificate.signatures.size() == 1);
    CHECK(r.committed[0].header.timestamp_ms == 5000);
}

TEST_CASE("the primary refuses a batch that does not execute", "[pbft]") {
    Harness h(4, 0);
    Status s = h.core->Propose({Tx("bad-1")}, 1);
    CHECK(s.code() == StatusCode::kInvalidArgument);
    CHECK(h.Take().messages.empty());
}

TEST_CASE("a replica of the current view hands its NEW-VIEW to a replica asking for that view, "
          "relayed in its own name", "[pbft]") {
    Harness h(4, 2);
    const NewView nv = h.NewViewOf(1, {1, 0, 3});
    h.core->Step(nv);
    REQUIRE(h.core->view() == 1);
    REQUIRE_FALSE(h.core->in_view_change());
    h.Take();
    h.core->Step(h.ViewChangeOf(3, 1));  // replica 3 missed it
    Ready r = h.Take();
    auto relayed = Sent<NewViewRelay>(r);
    REQUIRE(relayed.size() == 1);
    CHECK(Sent<NewView>(r).empty());  // the primary's message is never sent as this replica's
    CHECK(relayed[0].from == 2);
    CHECK(relayed[0].new_view.from == 1);
    CHECK(relayed[0].new_view.signature == nv.signature);
    REQUIRE(r.messages.size() == 1);
    CHECK(r.messages[0].to == 3);
}

TEST_CASE("a relayed NEW-VIEW installs the view as the primary's own does", "[pbft]") {
    Harness h(4, 3);
    h.core->SetPendingWork(true);
    for (int t = 0; t < 40; ++t) h.core->Tick();  // times out alone: view change to view 1
    REQUIRE(h.core->in_view_change());
    h.Take();
    h.core->Step(NewViewRelay{h.NewViewOf(1, {1, 0, 2}), 2});
    CHECK(h.core->view() == 1);
    CHECK_FALSE(h.core->in_view_change());
}

TEST_CASE("a relayed NEW-VIEW whose primary signature does not verify is ignored", "[pbft]") {
    Harness h(4, 3);
    NewView nv = h.NewViewOf(1, {1, 0, 2});
    nv.signature[0] ^= 0x5a;
    h.core->Step(NewViewRelay{nv, 2});
    CHECK(h.core->view() == 0);
    CHECK(h.core->counters().bad_signatures == 1);
}

TEST_CASE("a restarted primary still answers a replica that missed its NEW-VIEW", "[pbft]") {
    Harness h(4, 1);
    for (uint32_t from : {0u, 3u}) h.core->Step(h.ViewChangeOf(from, 1));  // f+1: it follows
    Ready r = h.Take();
    REQUIRE(Sent<NewView>(r).size() == 1);
    REQUIRE(h.core->view() == 1);
    h.Restart();  // from the durable records only
    h.Take();
    REQUIRE(h.core->view() == 1);
    h.core->Step(h.ViewChangeOf(2, 1));
    auto sent = Sent<NewView>(h.Take());
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].view == 1);
    CHECK(sent[0].from == 1);
}

TEST_CASE("a VIEW-CHANGE from the primary of the current view is followed at once", "[pbft]") {
    Harness h(4, 2);
    h.core->Step(h.ViewChangeOf(0, 1));  // one replica only, but it is view 0's primary
    auto sent = Sent<ViewChange>(h.Take());
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].new_view == 1);
    CHECK(h.core->view() == 1);
    CHECK(h.core->in_view_change());
}

TEST_CASE("a VIEW-CHANGE from a single backup is not followed", "[pbft]") {
    Harness h(4, 2);
    h.core->Step(h.ViewChangeOf(3, 1));
    CHECK(Sent<ViewChange>(h.Take()).empty());
    CHECK(h.core->view() == 0);
}

TEST_CASE("a leaving primary hands its view over to the next one", "[pbft]") {
    Harness h(4, 0);
    CHECK(h.core->HandOver());
    auto sent = Sent<ViewChange>(h.Take());
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].new_view == 1);
    Harness backup(4, 2);
    CHECK_FALSE(backup.core->HandOver());  // only the primary of an active view hands over
    CHECK(backup.Take().messages.empty());
}

TEST_CASE("a restarted primary does not propose over its own vote at the next height", "[pbft]") {
    Harness h(4, 0);
    REQUIRE(h.core->Propose({Tx("ok-1")}, 1001).ok());
    h.Take();
    h.Restart();  // the proposal is gone with its memory, its vote is on disk
    h.Take();
    CHECK_FALSE(h.core->CanPropose());
    CHECK(h.core->Propose({Tx("ok-2")}, 1002).code() == StatusCode::kFailedPrecondition);
    CHECK(h.Take().messages.empty());
}

TEST_CASE("a block response's tip keeps a replica fetching in pipelined ranges until it "
          "reaches it", "[pbft]") {
    Harness h(4, 1);
    h.options.max_blocks_per_request = 2;
    h.options.fetch_pipeline = 3;
    h.Restart();
    // A chain of 10 committed blocks, with certificates by 0, 2 and 3.
    std::vector<chain::Block> chain;
    FakeApp app;
    Hash256 parent{};
    for (uint64_t height = 0; height < 10; ++height) {
        auto b = h.MakeBlock(height, parent, {Tx("ok-" + std::to_string(height))});
        auto root = app.Execute(b);
        REQUIRE(root.ok());
        b.header.state_root = *root;
        app.Commit(b);
        b.certificate.height = height;
        b.certificate.block_hash = b.Hash();
        for (uint32_t v : {0u, 2u, 3u}) {
            b.certificate.signatures.push_back(
                {v, h.signers[v].Sign(chain::CommitVoteBytes(kChain, height, 0, b.Hash()))});
        }
        parent = b.Hash();
        chain.push_back(b);
    }
    auto requests_to = [](const Ready& r) {
        std::vector<std::pair<uint64_t, uint64_t>> out;
        for (const auto& o : r.messages) {
            if (auto* q = std::get_if<BlockRequest>(&o.message)) {
                CHECK(o.to == 2);
                out.push_back({q->from_height, q->to_height});
            }
        }
        return out;
    };
    // The answer to one probe: blocks 0-1, and the peer's tip is 9.
    h.core->Step(BlockResponse{{chain[0], chain[1]}, 2, 9});
    Ready r = h.Take();
    CHECK(r.committed.size() == 2);
    using Range = std::vector<std::pair<uint64_t, uint64_t>>;
    CHECK(requests_to(r) == Range{{2, 3}, {4, 5}, {6, 7}});  // three ranges at once
    h.core->Step(BlockResponse{{chain[2], chain[3]}, 2, 9});
    CHECK(requests_to(h.Take()) == Range{{8, 9}});  // one more as one is answered
    h.core->Step(BlockResponse{{chain[4], chain[5]}, 2, 9});
    h.core->Step(BlockResponse{{chain[6], chain[7]}, 2, 9});
    h.core->Step(BlockResponse{{chain[8], chain[9]}, 2, 9});
    r = h.Take();
    CHECK(requests_to(r).empty());
    CHECK(h.core->committed_height() == 9);
}

TEST_CASE("votes of a later view from f+1 replicas make a replica ask for that view and install "
          "the NEW-VIEW it gets back", "[pbft]") {
    Harness h(4, 3);  // restarted in view 0 while the others moved on to view 2
    auto block = h.MakeBlock(0, {}, {Tx("ok-1")}, 2);
    h.core->Step(h.VoteOf(VoteKind::kPrepare, block, 0, 2));
    CHECK(h.Take().messages.empty());  // one replica could be lying
    h.core->Step(h.VoteOf(VoteKind::kPrepare, block, 1, 2));
    auto asked = Sent<ViewChange>(h.Take());
    REQUIRE(asked.size() == 1);
    CHECK(asked[0].new_view == 2);
    CHECK(h.core->view() == 2);
    h.core->Step(NewViewRelay{h.NewViewOf(2, {2, 0, 1}), 1});
    CHECK(h.core->view() == 2);
    CHECK_FALSE(h.core->in_view_change());
}
