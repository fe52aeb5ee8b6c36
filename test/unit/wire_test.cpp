// Wire conversion of consensus messages: every field survives ToProto -> bytes -> FromProto, the
// signatures still verify afterwards, and malformed input is refused with a reason.
#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "consensus/messages.h"
#include "node/chain/merkle.h"
#include "node/chain/types.h"
#include "node/chain/validators.h"
#include "node/crypto/signer.h"
#include "node/net/wire.h"

using namespace meterchain;
using namespace meterchain::consensus;
using Catch::Matchers::Contains;

namespace {

constexpr const char* kChain = "tianjin-meter";
constexpr uint64_t kMax64 = std::numeric_limits<uint64_t>::max();

Hash256 Filled(uint8_t seed) {
    Hash256 h;
    for (size_t i = 0; i < h.size(); ++i) h[i] = static_cast<uint8_t>(seed + i);
    return h;
}

// Four SM2 validators (quorum 3) and a client that signs transactions.
struct Cluster {
    std::vector<crypto::Sm2Signer> signers;
    crypto::Sm2Signer client{crypto::Sm2PrivateKey::Generate()};
    crypto::Sm2Verifier verifier;
    chain::ValidatorSet set;

    Cluster() {
        std::vector<chain::Validator> vs;
        for (int i = 0; i < 4; ++i) {
            signers.emplace_back(crypto::Sm2PrivateKey::Generate());
            vs.push_back({"v" + std::to_string(i), "State Grid Tianjin", "utility",
                          signers.back().PublicKey(), "10.0.0." + std::to_string(i) + ":7050"});
        }
        set = chain::ValidatorSet(std::move(vs));
    }

    // A block of `txs` signed meter readings at `height`; with a commit certificate from
    // validators 0..2 when `committed`.
    chain::Block MakeBlock(uint64_t height, uint64_t view, int txs, bool committed) const {
        chain::Block b;
        b.header.height = height;
        b.header.prev_hash = Filled(static_cast<uint8_t>(height));
        b.header.state_root = Filled(static_cast<uint8_t>(height + 100));
        b.header.proposer = static_cast<uint32_t>(view % 4);
        b.header.view = view;
        b.header.timestamp_ms = 1700000000000 + height;
        b.header.chain_id = kChain;
        for (int i = 0; i < txs; ++i) {
            chain::TxBody body{kChain,
                               1,
                               ToBytes("meter/0042=" + std::to_string(1000 + i)),
                               {},
                               height * 10 + static_cast<uint64_t>(i),
                               1699999999000 + static_cast<uint64_t>(i)};
            b.transactions.push_back(chain::SignTransaction(body, client));
        }
        b.header.tx_root = chain::MerkleRoot(b.TxHashes());
        if (committed) {
            b.certificate.height = height;
            b.certificate.view = view;
            b.certificate.block_hash = b.Hash();
            const Bytes vote = chain::CommitVoteBytes(kChain, height, view, b.Hash());
            for (uint32_t i = 0; i < 3; ++i) {
                b.certificate.signatures.push_back({i, signers[i].Sign(vote)});
            }
        }
        return b;
    }

    PreparedCert MakePreparedCert(uint64_t height, uint64_t view) const {
        PreparedCert cert;
        cert.view = view;
        cert.block = MakeBlock(height, view, 2, false);
        const Bytes vote = PrepareVoteBytes(kChain, view, height, cert.block.Hash());
        for (uint32_t i : {3u, 1u, 2u}) cert.prepares.push_back({i, signers[i].Sign(vote)});
        return cert;
    }

    // A view change to `new_view` from `from` that committed height 4 and prepared 5 and 6.
    ViewChange MakeViewChange(uint32_t from, uint64_t new_view, bool has_committed) const {
        ViewChange vc;
        vc.new_view = new_view;
        vc.has_committed = has_committed;
        if (has_committed) vc.committed = MakeBlock(4, 1, 1, true).certificate;
        vc.prepared.push_back(MakePreparedCert(5, 1));
        vc.prepared.push_back(MakePreparedCert(6, 2));
        vc.from = from;
        return vc;
    }

    template <class T>
    T Signed(T m) const {
        Message msg = std::move(m);
        SignMessage(kChain, signers.at(Sender(msg)), msg);
        return std::get<T>(std::move(msg));
    }

    bool Verifies(const Message& m) const { return VerifyMessage(kChain, set, verifier, m); }
};

const Cluster& TheCluster() {
    static const Cluster c;
    return c;
}

// ToProto -> bytes -> FromProto, as the transport does it.
Message RoundTrip(const Message& m) {
    const std::string wire = net::ToProto(m).SerializeAsString();
    v1::ConsensusEnvelope parsed;
    REQUIRE(parsed.ParseFromString(wire));
    auto back = net::FromProto(parsed);
    INFO(back.status().ToString());
    REQUIRE(back.ok());
    REQUIRE(back->index() == m.index());
    return std::move(*back);
}

template <class T>
T RoundTripAs(const T& m) {
    return std::get<T>(RoundTrip(Message{m}));
}

Status Decode(const v1::ConsensusEnvelope& e) { return net::FromProto(e).status(); }

void CheckRefused(const v1::ConsensusEnvelope& e, const std::string& reason) {
    // Through bytes too: what matters is what a peer can send.
    v1::ConsensusEnvelope parsed;
    REQUIRE(parsed.ParseFromString(e.SerializeAsString()));
    const Status s = Decode(parsed);
    CHECK(s.code() == StatusCode::kInvalidArgument);
    CHECK_THAT(s.message(), Contains(reason));
}

void CheckSamePreparedCert(const PreparedCert& a, const PreparedCert& b) {
    CHECK(a.view == b.view);
    CHECK(a.block == b.block);
    CHECK(a.prepares == b.prepares);
}

void CheckSameViewChange(const ViewChange& a, const ViewChange& b) {
    CHECK(a.new_view == b.new_view);
    CHECK(a.has_committed == b.has_committed);
    CHECK(a.committed == b.committed);
    REQUIRE(a.prepared.size() == b.prepared.size());
    for (size_t i = 0; i < a.prepared.size(); ++i) {
        CheckSamePreparedCert(a.prepared[i], b.prepared[i]);
    }
    CHECK(a.from == b.from);
    CHECK(a.signature == b.signature);
}

void CheckTransactionsVerify(const chain::Block& b) {
    for (const auto& tx : b.transactions) {
        CHECK(chain::VerifyTransaction(tx, TheCluster().verifier).ok());
    }
}

}  // namespace

// ---- round trips ---------------------------------------------------------------------------

TEST_CASE("PRE-PREPARE round-trips with its block and still verifies", "[wire]") {
    const Cluster& c = TheCluster();
    PrePrepare m{7, 12, c.MakeBlock(12, 7, 3, false), 3, {}};
    m = c.Signed(m);

    const PrePrepare back = RoundTripAs(m);
    CHECK(back.view == m.view);
    CHECK(back.height == m.height);
    CHECK(back.block == m.block);
    CHECK(back.block.certificate == chain::CommitCertificate{});  // stays empty
    CHECK(back.from == m.from);
    CHECK(back.signature == m.signature);
    CHECK(c.Verifies(back));
    CHECK(chain::CheckTxRoot(back.block).ok());
    CheckTransactionsVerify(back.block);
}

TEST_CASE("PREPARE keeps the proposal signature and COMMIT round-trips", "[wire]") {
    const Cluster& c = TheCluster();
    const chain::Block block = c.MakeBlock(12, 7, 1, false);
    const Bytes proposal = c.signers[3].Sign(PrePrepareBytes(kChain, 7, 12, 3, block.Hash()));

    Vote prepare{VoteKind::kPrepare, 7, 12, block.Hash(), 1, {}, proposal};
    prepare = c.Signed(prepare);
    const Vote p = RoundTripAs(prepare);
    CHECK(p.kind == VoteKind::kPrepare);
    CHECK(p.view == 7);
    CHECK(p.height == 12);
    CHECK(p.digest == block.Hash());
    CHECK(p.from == 1);
    CHECK(p.signature == prepare.signature);
    CHECK(p.proposal_signature == proposal);
    CHECK(c.Verifies(p));
    // The evidence is still the primary's signature over the same pre-prepare.
    CHECK(c.verifier.Verify(c.set.at(3).public_key,
                            PrePrepareBytes(kChain, p.view, p.height, 3, p.digest),
                            p.proposal_signature));

    Vote commit{VoteKind::kCommit, 7, 12, block.Hash(), 2, {}, {}};
    commit = c.Signed(commit);
    const Vote k = RoundTripAs(commit);
    CHECK(k.kind == VoteKind::kCommit);
    CHECK(k.view == 7);
    CHECK(k.height == 12);
    CHECK(k.digest == block.Hash());
    CHECK(k.from == 2);
    CHECK(k.signature == commit.signature);
    CHECK(k.proposal_signature.empty());
    CHECK(c.Verifies(k));
}

TEST_CASE("CHECKPOINT round-trips", "[wire]") {
    const Cluster& c = TheCluster();
    Checkpoint m{100, Filled(9), Filled(200), 2, {}};
    m = c.Signed(m);
    const Checkpoint back = RoundTripAs(m);
    CHECK(back.height == 100);
    CHECK(back.block_hash == m.block_hash);
    CHECK(back.state_root == m.state_root);
    CHECK(back.from == 2);
    CHECK(back.signature == m.signature);
    CHECK(c.Verifies(back));
}

TEST_CASE("VIEW-CHANGE round-trips its committed certificate and prepared certificates", "[wire]") {
    const Cluster& c = TheCluster();
    const ViewChange m = c.Signed(c.MakeViewChange(2, 3, true));

    const v1::ConsensusEnvelope e = net::ToProto(Message{m});
    CHECK(e.from() == 2);
    CHECK(e.view_change().from() == 2);
    CHECK(e.view_change().has_committed());

    const ViewChange back = RoundTripAs(m);
    CheckSameViewChange(back, m);
    CHECK(c.Verifies(back));
    CHECK(chain::VerifyCertificate(back.committed, kChain, c.set, c.verifier).ok());
    for (const auto& cert : back.prepared) {
        CHECK(VerifyPreparedCert(kChain, c.set, c.verifier, cert.block.header.height, cert));
        CheckTransactionsVerify(cert.block);
    }
}

TEST_CASE("VIEW-CHANGE at genesis sends no committed certificate", "[wire]") {
    const Cluster& c = TheCluster();
    ViewChange m = c.MakeViewChange(1, 1, false);
    m.prepared.clear();
    m = c.Signed(m);

    CHECK_FALSE(net::ToProto(Message{m}).view_change().has_committed());
    const ViewChange back = RoundTripAs(m);
    CheckSameViewChange(back, m);
    CHECK_FALSE(back.has_committed);
    CHECK(c.Verifies(back));

    // A genesis-height commit (height 0, hash all zero) is still "committed": presence, not
    // content, carries has_committed.
    ViewChange zero = c.MakeViewChange(1, 1, false);
    zero.has_committed = true;
    zero = c.Signed(zero);
    CHECK(RoundTripAs(zero).has_committed);
}

TEST_CASE("NEW-VIEW round-trips the view changes nested in it", "[wire]") {
    const Cluster& c = TheCluster();
    NewView m;
    m.view = 3;
    m.from = 3;
    m.view_changes.push_back(c.Signed(c.MakeViewChange(0, 3, true)));
    m.view_changes.push_back(c.Signed(c.MakeViewChange(1, 3, false)));
    m.view_changes.push_back(c.Signed(c.MakeViewChange(2, 3, true)));
    m = c.Signed(m);

    const NewView back = RoundTripAs(m);
    CHECK(back.view == 3);
    CHECK(back.from == 3);
    CHECK(back.signature == m.signature);
    REQUIRE(back.view_changes.size() == 3);
    for (size_t i = 0; i < 3; ++i) {
        CheckSameViewChange(back.view_changes[i], m.view_changes[i]);
        // Each nested view change is verified on its own by the replicas.
        CHECK(c.Verifies(back.view_changes[i]));
    }
    CHECK(c.Verifies(back));
}

TEST_CASE("NEW-VIEW-RELAY carries the relaying replica outside and the primary's NEW-VIEW "
          "inside, still verifying", "[wire]") {
    const Cluster& c = TheCluster();
    NewView nv;
    nv.view = 3;
    nv.from = 3;
    nv.view_changes.push_back(c.Signed(c.MakeViewChange(0, 3, true)));
    nv.view_changes.push_back(c.Signed(c.MakeViewChange(1, 3, false)));
    nv.view_changes.push_back(c.Signed(c.MakeViewChange(2, 3, true)));
    nv = c.Signed(nv);
    const NewViewRelay m{nv, 1};

    const v1::ConsensusEnvelope e = net::ToProto(Message{m});
    CHECK(e.from() == 1);  // what the transport checks against the stream's peer
    CHECK(e.signature().empty());

    const NewViewRelay back = RoundTripAs(m);
    CHECK(back.from == 1);
    CHECK(back.new_view.from == 3);
    CHECK(back.new_view.signature == nv.signature);
    REQUIRE(back.new_view.view_changes.size() == 3);
    for (size_t i = 0; i < 3; ++i) CheckSameViewChange(back.new_view.view_changes[i], nv.view_changes[i]);
    CHECK(c.Verifies(back));
    CHECK(c.Verifies(back.new_view));

    NewViewRelay forged = back;
    forged.new_view.view = 4;  // no longer what the primary signed
    CHECK_FALSE(c.Verifies(forged));

    v1::ConsensusEnvelope signed_envelope = e;
    signed_envelope.set_signature("x");
    CHECK_FALSE(net::FromProto(signed_envelope).ok());
}

TEST_CASE("BLOCK-REQUEST round-trips", "[wire]") {
    const Cluster& c = TheCluster();
    BlockRequest m{5, kMax64, 1, {}};
    m = c.Signed(m);
    const BlockRequest back = RoundTripAs(m);
    CHECK(back.from_height == 5);
    CHECK(back.to_height == kMax64);
    CHECK(back.from == 1);
    CHECK(back.signature == m.signature);
    CHECK(c.Verifies(back));
}

TEST_CASE("BLOCK-RESPONSE round-trips committed blocks with their certificates", "[wire]") {
    const Cluster& c = TheCluster();
    BlockResponse m;
    m.from = 2;
    for (uint64_t h = 8; h <= 10; ++h) m.blocks.push_back(c.MakeBlock(h, 1, 2, true));

    const v1::ConsensusEnvelope e = net::ToProto(Message{m});
    CHECK(e.from() == 2);
    CHECK(e.signature().empty());

    m.tip_height = 1234;
    const BlockResponse back = RoundTripAs(m);
    CHECK(back.from == 2);
    CHECK(back.tip_height == 1234);
    CHECK(back.blocks == m.blocks);
    CHECK(c.Verifies(back));
    for (const auto& b : back.blocks) {
        CHECK(chain::CheckBlockIntegrity(b).ok());
        CHECK(chain::VerifyCertificate(b.certificate, kChain, c.set, c.verifier).ok());
        CheckTransactionsVerify(b);
    }

    const BlockResponse none = RoundTripAs(BlockResponse{{}, 0});
    CHECK(none.blocks.empty());
    CHECK(none.from == 0);
}

TEST_CASE("extreme integer values and empty byte fields round-trip", "[wire]") {
    Vote v{
        VoteKind::kCommit, kMax64, kMax64, Hash256{}, std::numeric_limits<uint32_t>::max(), {}, {}};
    const Vote back = RoundTripAs(v);
    CHECK(back.view == kMax64);
    CHECK(back.height == kMax64);
    CHECK(back.digest == Hash256{});
    CHECK(back.from == std::numeric_limits<uint32_t>::max());
    CHECK(back.signature.empty());
    CHECK(back.proposal_signature.empty());
}

// ---- malformed input ---------------------------------------------------------------------

TEST_CASE("an envelope without a body is refused", "[wire]") {
    v1::ConsensusEnvelope e;
    e.set_from(1);
    e.set_signature("sig");
    CheckRefused(e, "no body");
}

TEST_CASE("hash fields that are not 32 bytes are refused", "[wire]") {
    const Cluster& c = TheCluster();
    const Vote vote{VoteKind::kPrepare, 1, 2, Filled(1), 0, ToBytes("s"), {}};
    const Checkpoint cp{10, Filled(2), Filled(3), 0, ToBytes("s")};

    for (size_t size : {0, 31, 33}) {
        v1::ConsensusEnvelope e = net::ToProto(Message{vote});
        e.mutable_vote()->set_digest(std::string(size, 'x'));
        CheckRefused(e, "vote.digest must be 32 bytes");
    }

    v1::ConsensusEnvelope e = net::ToProto(Message{cp});
    e.mutable_checkpoint()->set_block_hash(std::string(31, 'x'));
    CheckRefused(e, "checkpoint.block_hash must be 32 bytes");
    e = net::ToProto(Message{cp});
    e.mutable_checkpoint()->set_state_root(std::string(33, 'x'));
    CheckRefused(e, "checkpoint.state_root must be 32 bytes");

    // Inside a block header and a commit certificate.
    e = net::ToProto(Message{PrePrepare{1, 4, c.MakeBlock(4, 1, 1, false), 1, ToBytes("s")}});
    e.mutable_pre_prepare()->mutable_block()->mutable_header()->set_tx_root("short");
    CheckRefused(e, "pre_prepare.block: header tx_root must be 32 bytes");

    e = net::ToProto(Message{c.MakeViewChange(0, 2, true)});
    e.mutable_view_change()->mutable_committed()->set_block_hash(std::string(40, 'x'));
    CheckRefused(e, "view_change.committed: certificate block_hash must be 32 bytes");
}

TEST_CASE("a vote kind other than PREPARE or COMMIT is refused", "[wire]") {
    const Vote vote{VoteKind::kCommit, 1, 2, Filled(1), 0, ToBytes("s"), {}};
    v1::ConsensusEnvelope e = net::ToProto(Message{vote});
    e.mutable_vote()->set_kind(v1::VoteMsg::KIND_UNSPECIFIED);
    CheckRefused(e, "vote.kind 0 is neither PREPARE nor COMMIT");

    // A value from a future schema: proto3 keeps it, the adapter must not map it.
    e.mutable_vote()->set_kind(static_cast<v1::VoteMsg::Kind>(7));
    CheckRefused(e, "vote.kind 7");

    // The domain side cannot produce an invalid kind on the wire either.
    Vote bogus = vote;
    bogus.kind = static_cast<VoteKind>(9);
    CheckRefused(net::ToProto(Message{bogus}), "vote.kind 0");
}

TEST_CASE("missing or malformed nested blocks are refused with their path", "[wire]") {
    const Cluster& c = TheCluster();

    v1::ConsensusEnvelope e =
        net::ToProto(Message{PrePrepare{1, 4, c.MakeBlock(4, 1, 1, false), 1, ToBytes("s")}});
    e.mutable_pre_prepare()->clear_block();
    CheckRefused(e, "pre_prepare.block is missing");

    e = net::ToProto(Message{c.MakeViewChange(0, 2, true)});
    e.mutable_view_change()->mutable_prepared(1)->clear_block();
    CheckRefused(e, "view_change.prepared[1].block is missing");

    e = net::ToProto(Message{c.MakeViewChange(0, 2, true)});
    e.mutable_view_change()->mutable_prepared(0)->mutable_block()->clear_header();
    CheckRefused(e, "view_change.prepared[0].block: header prev_hash must be 32 bytes");

    NewView nv{3, {c.MakeViewChange(0, 3, true), c.MakeViewChange(1, 3, true)}, 3, ToBytes("s")};
    e = net::ToProto(Message{nv});
    e.mutable_new_view()
        ->mutable_view_changes(1)
        ->mutable_prepared(1)
        ->mutable_block()
        ->mutable_header()
        ->set_state_root("");
    CheckRefused(e, "new_view.view_changes[1].prepared[1].block: header state_root");

    BlockResponse br{{c.MakeBlock(1, 0, 1, true), c.MakeBlock(2, 0, 1, true)}, 1};
    e = net::ToProto(Message{br});
    e.mutable_block_response()->mutable_blocks(1)->clear_certificate();
    CheckRefused(e, "block_response.blocks[1]: certificate block_hash must be 32 bytes");
}

TEST_CASE("repeated fields beyond their caps are refused and at the cap accepted", "[wire]") {
    const Cluster& c = TheCluster();

    SECTION("view changes per NEW-VIEW") {
        v1::ConsensusEnvelope e;
        auto* nv = e.mutable_new_view();
        for (size_t i = 0; i < net::kMaxViewChanges; ++i) nv->add_view_changes();
        REQUIRE(Decode(e).ok());
        nv->add_view_changes();
        CheckRefused(e, "new_view.view_changes has 1025 entries, at most 1024 allowed");
    }
    SECTION("prepared certificates per VIEW-CHANGE, top-level and nested") {
        const v1::PreparedCert cert =
            net::ToProto(Message{c.MakeViewChange(0, 2, false)}).view_change().prepared(0);
        v1::ConsensusEnvelope e;
        auto* vc = e.mutable_view_change();
        for (size_t i = 0; i < net::kMaxPreparedCerts; ++i) *vc->add_prepared() = cert;
        REQUIRE(Decode(e).ok());
        *vc->add_prepared() = cert;
        CheckRefused(e, "view_change.prepared has 4097 entries, at most 4096 allowed");

        v1::ConsensusEnvelope n;
        *n.mutable_new_view()->add_view_changes() = *vc;
        CheckRefused(n, "new_view.view_changes[0].prepared has 4097 entries");
    }
    SECTION("blocks per BLOCK-RESPONSE") {
        const v1::Block block =
            net::ToProto(Message{BlockResponse{{c.MakeBlock(1, 0, 1, true)}, 0}})
                .block_response()
                .blocks(0);
        v1::ConsensusEnvelope e;
        auto* br = e.mutable_block_response();
        for (size_t i = 0; i < net::kMaxBlocksPerResponse; ++i) *br->add_blocks() = block;
        REQUIRE(Decode(e).ok());
        *br->add_blocks() = block;
        CheckRefused(e, "block_response.blocks has 1025 entries, at most 1024 allowed");
    }
}

TEST_CASE("a top-level VIEW-CHANGE must name the same sender and signature twice", "[wire]") {
    const Cluster& c = TheCluster();
    const ViewChange vc = c.Signed(c.MakeViewChange(1, 2, true));

    v1::ConsensusEnvelope e = net::ToProto(Message{vc});
    e.set_from(2);
    CheckRefused(e, "view_change.from/signature disagree with the envelope's");

    e = net::ToProto(Message{vc});
    e.mutable_view_change()->set_signature("forged");
    CheckRefused(e, "view_change.from/signature disagree with the envelope's");
}

TEST_CASE("a BLOCK-RESPONSE carrying a signature is refused", "[wire]") {
    v1::ConsensusEnvelope e = net::ToProto(Message{BlockResponse{{}, 1}});
    e.set_signature("sig");
    CheckRefused(e, "block_response is unsigned");
}
