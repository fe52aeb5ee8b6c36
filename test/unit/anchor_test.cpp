// The anchor contract as a light client: one test per acceptance rule and per refusal.
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "contracts/anchor.h"
#include "contracts/common.h"
#include "contracts/governance.h"
#include "contracts/builtin.h"
#include "node/audit/anchor_check.h"
#include "node/chain/light_client.h"
#include "node/crypto/signer.h"
#include "node/crypto/sm.h"
#include "proto/metrology.pb.h"

namespace meterchain::contracts {
namespace {

constexpr const char* kUpper = "stategrid-main-1";
constexpr const char* kLower = "tianjin-meter-1";

std::shared_ptr<crypto::Sm2Signer> NewSigner() {
    return std::make_shared<crypto::Sm2Signer>(crypto::Sm2PrivateKey::Generate());
}

// A lower chain made up in memory: four validators with real SM2 keys that certify whatever
// headers the test asks for (so a fork is as easy to make as an honest chain).
struct LowerChain {
    std::string chain_id = kLower;
    std::vector<std::shared_ptr<crypto::Sm2Signer>> validators;
    std::vector<chain::BlockHeader> headers;  // headers[h] = height h (0 = genesis)

    explicit LowerChain(int n = 4, std::string id = kLower) : chain_id(std::move(id)) {
        for (int i = 0; i < n; ++i) validators.push_back(NewSigner());
        chain::BlockHeader genesis;
        genesis.chain_id = chain_id;
        genesis.timestamp_ms = 1'000'000;
        headers.push_back(genesis);
    }
    // Appends `count` blocks; `salt` makes a different (forked) block at the same height.
    void Grow(int count, uint8_t salt = 0) {
        for (int i = 0; i < count; ++i) {
            chain::BlockHeader h;
            h.chain_id = chain_id;
            h.height = headers.back().height + 1;
            h.prev_hash = headers.back().Hash();
            h.tx_root[0] = salt;
            h.timestamp_ms = headers.back().timestamp_ms + 1000;
            headers.push_back(h);
        }
    }
    v1::RegisteredChain Registration() const {
        v1::RegisteredChain r;
        r.set_chain_id(chain_id);
        for (size_t i = 0; i < validators.size(); ++i) {
            auto* v = r.add_validators();
            v->set_name("v" + std::to_string(i));
            v->set_public_key(ToHex(validators[i]->PublicKey()));
        }
        const Hash256 g = headers[0].Hash();
        r.set_start_prev_hash(ToString(g));
        return r;
    }
    v1::CommitCertificate Certify(const chain::BlockHeader& h, std::vector<int> signers) const {
        v1::CommitCertificate c;
        c.set_height(h.height);
        c.set_view(0);
        const Hash256 hash = h.Hash();
        c.set_block_hash(ToString(hash));
        const Bytes vote = chain::CommitVoteBytes(h.chain_id, h.height, 0, hash);
        for (int i : signers) {
            auto* s = c.add_signatures();
            s->set_validator(static_cast<uint32_t>(i));
            s->set_signature(ToString(validators[static_cast<size_t>(i)]->Sign(vote)));
        }
        return c;
    }
    v1::AnchorArgs Anchor(uint64_t from, uint64_t to, std::vector<int> signers = {0, 1, 2}) const {
        v1::AnchorArgs a;
        a.set_source_chain_id(chain_id);
        a.set_from_height(from);
        a.set_to_height(to);
        std::vector<chain::BlockHeader> range;
        for (uint64_t h = from; h <= to; ++h) {
            a.add_headers(ToString(headers[h].Encode()));
            range.push_back(headers[h]);
        }
        const Hash256 d = chain::HeaderRangeDigest(chain_id, range);
        a.set_range_digest(ToString(d));
        *a.mutable_certificate() = Certify(headers[to], std::move(signers));
        a.set_source_tip(headers.back().height);
        return a;
    }
};

// The upper chain's state and contract, run like the executor does: a failed call's writes
// are discarded.
struct UpperChain {
    MemoryState state;
    AnchorContract contract;
    uint64_t height = 10;
    crypto::Sm2Signer relay{crypto::Sm2PrivateKey::Generate()};

    Status Register(const v1::RegisteredChain& r) {
        v1::GovernanceAction action;
        *action.mutable_register_chain() = r;
        OverlayState overlay(state);
        Status st = ApplyGovernanceAction(overlay, action);
        if (st.ok()) Apply(overlay);
        return st;
    }
    Status Anchor(const v1::AnchorArgs& a) {
        CallContext ctx;
        ctx.chain_id = kUpper;
        ctx.sender = relay.PublicKey();
        ctx.height = ++height;
        ctx.block_timestamp_ms = 2'000'000 + height * 1000;
        ctx.tx_hash[0] = static_cast<uint8_t>(height);
        OverlayState overlay(state);
        Status st = contract.Call(ctx, "Anchor", SerializeProto(a), overlay);
        if (st.ok()) Apply(overlay);
        return st;
    }
    void Apply(const OverlayState& overlay) {
        for (const auto& [k, v] : overlay.writes()) {
            if (v) state.Put(k, *v); else state.Delete(k);
        }
    }
    v1::ChainAnchorStatus Progress(const std::string& id = kLower) const {
        v1::AnchorQuery q;
        q.set_chain_id(id);
        auto r = contract.Query("Chain", SerializeProto(q), state);
        REQUIRE(r.ok());
        v1::ChainAnchorStatus s;
        REQUIRE(s.ParseFromArray(r->data(), static_cast<int>(r->size())));
        return s;
    }
};

bool RefusedWith(const meterchain::Status& st, std::string_view reason) {
    return !st.ok() && st.message().rfind(std::string(reason) + ":", 0) == 0;
}

struct Fixture {
    LowerChain lower;
    UpperChain upper;
    Fixture() {
        lower.Grow(20);
        REQUIRE(upper.Register(lower.Registration()).ok());
    }
};

TEST_CASE("anchor: a certified range that continues the anchored chain is accepted and queryable",
          "[anchor]") {
    Fixture f;
    REQUIRE(f.upper.Anchor(f.lower.Anchor(1, 5)).ok());
    REQUIRE(f.upper.Anchor(f.lower.Anchor(6, 12, {3, 1, 2, 0})).ok());
    const auto s = f.upper.Progress();
    CHECK(s.last_height() == 12);
    CHECK(s.anchors() == 2);
    CHECK(s.last_hash() == ToString(f.lower.headers[12].Hash()));
    CHECK(s.reported_tip() == 20);
    CHECK(s.lag_blocks() == 8);
    CHECK(s.last_anchor_time_ms() > 0);

    v1::AnchorQuery q;
    q.set_chain_id(kLower);
    q.set_height(7);
    auto r = f.upper.contract.Query("Header", SerializeProto(q), f.upper.state);
    REQUIRE(r.ok());
    v1::AnchoredHeader h;
    REQUIRE(h.ParseFromArray(r->data(), static_cast<int>(r->size())));
    CHECK(h.header() == ToString(f.lower.headers[7].Encode()));
    CHECK(h.anchor().from_height() == 6);
    CHECK(h.anchor().to_height() == 12);

    q.set_height(0);
    auto list = f.upper.contract.Query("Anchors", SerializeProto(q), f.upper.state);
    REQUIRE(list.ok());
    v1::AnchorRecordList anchors;
    REQUIRE(anchors.ParseFromArray(list->data(), static_cast<int>(list->size())));
    REQUIRE(anchors.anchors_size() == 2);
    CHECK(anchors.anchors(1).from_height() == 6);
}

TEST_CASE("anchor: a forged certificate signature is refused as FORGED_CERTIFICATE", "[anchor]") {
    Fixture f;
    auto a = f.lower.Anchor(1, 5);
    std::string sig = a.certificate().signatures(1).signature();
    sig[sig.size() / 2] ^= 0x01;
    a.mutable_certificate()->mutable_signatures(1)->set_signature(sig);
    CHECK(RefusedWith(f.upper.Anchor(a), kAnchorForged));
    // Signed by the right validator over another block: forged for this one.
    auto b = f.lower.Anchor(1, 5);
    *b.mutable_certificate()->mutable_signatures(0) =
        f.lower.Certify(f.lower.headers[4], {0}).signatures(0);
    CHECK(RefusedWith(f.upper.Anchor(b), kAnchorForged));
    CHECK(f.upper.Progress().last_height() == 0);
}

TEST_CASE("anchor: too few signatures are refused as SHORT_CERTIFICATE", "[anchor]") {
    Fixture f;
    CHECK(RefusedWith(f.upper.Anchor(f.lower.Anchor(1, 5, {0, 1})), kAnchorShort));
    CHECK(RefusedWith(f.upper.Anchor(f.lower.Anchor(1, 5, {})), kAnchorShort));
    CHECK(RefusedWith(f.upper.Anchor(f.lower.Anchor(1, 5, {2, 2, 2})), kAnchorDuplicateSigner));
    CHECK(f.upper.Progress().last_height() == 0);
}

TEST_CASE("anchor: a signature by a key outside the registered set is refused", "[anchor]") {
    Fixture f;
    // The lower chain's validators sign, plus a fifth key the upper chain never registered.
    LowerChain five(5);
    five.headers = f.lower.headers;
    for (int i = 0; i < 4; ++i) five.validators[static_cast<size_t>(i)] = f.lower.validators[static_cast<size_t>(i)];
    CHECK(RefusedWith(f.upper.Anchor(five.Anchor(1, 5, {0, 1, 4})), kAnchorUnregisteredSigner));
    // A whole quorum of strangers claiming registered indices: forged.
    LowerChain strangers;
    strangers.headers = f.lower.headers;
    CHECK(RefusedWith(f.upper.Anchor(strangers.Anchor(1, 5, {0, 1, 2})), kAnchorForged));
    CHECK(f.upper.Progress().last_height() == 0);
}

TEST_CASE("anchor: a range that leaves a gap after the last anchored height is refused as GAP",
          "[anchor]") {
    Fixture f;
    REQUIRE(f.upper.Anchor(f.lower.Anchor(1, 5)).ok());
    CHECK(RefusedWith(f.upper.Anchor(f.lower.Anchor(7, 9)), kAnchorGap));
    CHECK(RefusedWith(f.upper.Anchor(f.lower.Anchor(2, 2)), kAnchorDuplicate));
    CHECK(f.upper.Progress().last_height() == 5);
}

TEST_CASE("anchor: a range overlapping anchored heights is refused as OVERLAP and an exact "
          "duplicate as DUPLICATE without changing anything",
          "[anchor]") {
    Fixture f;
    REQUIRE(f.upper.Anchor(f.lower.Anchor(1, 5)).ok());
    const auto before = f.upper.state.data();
    CHECK(RefusedWith(f.upper.Anchor(f.lower.Anchor(4, 8)), kAnchorOverlap));
    CHECK(RefusedWith(f.upper.Anchor(f.lower.Anchor(1, 5)), kAnchorDuplicate));
    CHECK(RefusedWith(f.upper.Anchor(f.lower.Anchor(3, 5)), kAnchorDuplicate));
    CHECK(f.upper.state.data() == before);
    REQUIRE(f.upper.Anchor(f.lower.Anchor(6, 8)).ok());
    CHECK(f.upper.Progress().last_height() == 8);
}

TEST_CASE("anchor: two certified headers at one height store equivocation evidence and stop "
          "the chain",
          "[anchor]") {
    Fixture f;
    REQUIRE(f.upper.Anchor(f.lower.Anchor(1, 5)).ok());
    // The same validators certify another block 4 (and 5 on top of it).
    LowerChain fork = f.lower;
    fork.headers.resize(4);
    fork.Grow(2, /*salt=*/7);
    REQUIRE(fork.headers[4].Hash() != f.lower.headers[4].Hash());
    REQUIRE(f.upper.Anchor(fork.Anchor(4, 5)).ok());  // succeeds: the evidence is kept
    const auto s = f.upper.Progress();
    CHECK(s.stopped());
    CHECK(s.last_height() == 5);
    v1::AnchorQuery q;
    q.set_chain_id(kLower);
    auto r = f.upper.contract.Query("Evidence", SerializeProto(q), f.upper.state);
    REQUIRE(r.ok());
    v1::EquivocationEvidence e;
    REQUIRE(e.ParseFromArray(r->data(), static_cast<int>(r->size())));
    CHECK(e.height() == 4);
    CHECK(e.anchored_header() == ToString(f.lower.headers[4].Encode()));
    CHECK(e.conflicting_hash() == ToString(fork.headers[4].Hash()));
    // Nothing more is anchored for that chain, not even the honest continuation.
    CHECK(RefusedWith(f.upper.Anchor(f.lower.Anchor(6, 8)), kAnchorStopped));
}

TEST_CASE("anchor: a certified range descending from another anchored block is a fork",
          "[anchor]") {
    Fixture f;
    REQUIRE(f.upper.Anchor(f.lower.Anchor(1, 5)).ok());
    LowerChain fork = f.lower;
    fork.headers.resize(5);
    fork.Grow(4, /*salt=*/9);  // another 5..8; its 6 links to the other 5
    REQUIRE(f.upper.Anchor(fork.Anchor(6, 8)).ok());
    CHECK(f.upper.Progress().stopped());
}

TEST_CASE("anchor: a wrong or unregistered chain id is refused", "[anchor]") {
    Fixture f;
    LowerChain other(4, "shanghai-meter-1");
    other.Grow(3);
    CHECK(RefusedWith(f.upper.Anchor(other.Anchor(1, 3)), kAnchorUnregisteredChain));
    // Headers of another chain under the registered chain's name.
    auto a = other.Anchor(1, 3);
    a.set_source_chain_id(kLower);
    CHECK(RefusedWith(f.upper.Anchor(a), kAnchorWrongChainId));
    // The upper chain itself.
    auto self = f.lower.Anchor(1, 3);
    self.set_source_chain_id(kUpper);
    CHECK(RefusedWith(f.upper.Anchor(self), kAnchorWrongChainId));
}

TEST_CASE("anchor: malformed ranges are refused: digest headers and range bounds", "[anchor]") {
    Fixture f;
    auto a = f.lower.Anchor(1, 5);
    a.set_range_digest(std::string(32, '\0'));
    CHECK(RefusedWith(f.upper.Anchor(a), kAnchorDigestMismatch));
    auto b = f.lower.Anchor(1, 5);
    b.set_to_height(6);
    CHECK(RefusedWith(f.upper.Anchor(b), kAnchorMalformed));
    auto c = f.lower.Anchor(1, 5);
    c.mutable_headers()->SwapElements(1, 2);
    CHECK(RefusedWith(f.upper.Anchor(c), kAnchorBrokenHeaders));
    auto d = f.lower.Anchor(1, 5);
    d.set_headers(2, "garbage");
    CHECK(RefusedWith(f.upper.Anchor(d), kAnchorMalformed));
    // A certificate of another height.
    auto e = f.lower.Anchor(1, 5);
    *e.mutable_certificate() = f.lower.Certify(f.lower.headers[4], {0, 1, 2});
    CHECK(RefusedWith(f.upper.Anchor(e), kAnchorCertificateMismatch));
    CHECK(f.upper.Progress().last_height() == 0);
}

TEST_CASE("anchor: the first range must continue the registered start hash", "[anchor]") {
    Fixture f;
    // A different genesis below block 1: the first anchor descends from another block 0.
    LowerChain other = f.lower;
    other.headers.resize(1);
    other.headers[0].timestamp_ms += 1;
    other.Grow(3);
    REQUIRE(f.upper.Anchor(other.Anchor(1, 3)).ok());
    CHECK(f.upper.Progress().stopped());
}

TEST_CASE("anchor: registration through governance validates the validator set and keeps "
          "progress on re-registration",
          "[anchor][governance]") {
    Fixture f;
    auto bad = f.lower.Registration();
    bad.mutable_validators(1)->set_public_key("04abcd");
    CHECK(!f.upper.Register(bad).ok());
    auto twice = f.lower.Registration();
    twice.mutable_validators(1)->set_public_key(twice.validators(0).public_key());
    CHECK(!f.upper.Register(twice).ok());
    auto none = f.lower.Registration();
    none.clear_validators();
    CHECK(!f.upper.Register(none).ok());

    REQUIRE(f.upper.Anchor(f.lower.Anchor(1, 5)).ok());
    // A new validator set (one validator replaced): later anchors must be certified by it.
    LowerChain next = f.lower;
    next.validators[3] = NewSigner();
    REQUIRE(f.upper.Register(next.Registration()).ok());
    CHECK(f.upper.Progress().last_height() == 5);
    CHECK(RefusedWith(f.upper.Anchor(f.lower.Anchor(6, 7, {3, 0, 1})), kAnchorForged));
    CHECK(f.upper.Anchor(next.Anchor(6, 7, {3, 0, 1})).ok());
}

TEST_CASE("anchor: the auditor's replay check accepts a recorded anchor and names a forged one",
          "[anchor][audit]") {
    Fixture f;
    const auto args = f.lower.Anchor(1, 5);
    const chain::Transaction tx =
        SignContractCall(kUpper, 1, 0, kAnchorContract, "Anchor", args, f.upper.relay);
    // Executed as the node does: the record names the transaction.
    CallContext ctx;
    ctx.chain_id = kUpper;
    ctx.sender = f.upper.relay.PublicKey();
    ctx.tx_hash = tx.Hash();
    ctx.height = 1;
    REQUIRE(f.upper.contract.Call(ctx, "Anchor", SerializeProto(args), f.upper.state).ok());
    chain::Block block;
    block.header.height = 1;
    block.transactions.push_back(tx);
    audit::AnchorCheck check;
    CHECK(!check.CheckBlock(block, f.upper.state).has_value());
    CHECK(check.anchors_checked() == 1);

    // The same block holding a transaction whose certificate was altered after the fact (as a
    // tampered store would): the replay names it.
    auto forged = args;
    std::string sig = forged.certificate().signatures(0).signature();
    sig[5] ^= 0x01;
    forged.mutable_certificate()->mutable_signatures(0)->set_signature(sig);
    const chain::Transaction bad =
        SignContractCall(kUpper, 1, 0, kAnchorContract, "Anchor", forged, f.upper.relay);
    v1::AnchorRecord record;
    REQUIRE(*ReadProto(f.upper.state, "anchor/range/" + std::string(kLower) + "/00000000000000000005",
                       &record));
    record.set_tx_hash(ToString(bad.Hash()));
    WriteProto(f.upper.state, "anchor/range/" + std::string(kLower) + "/00000000000000000005",
               record);
    block.transactions = {bad};
    auto mismatch = check.CheckBlock(block, f.upper.state);
    REQUIRE(mismatch.has_value());
    CHECK(mismatch->check == audit::Check::kAnchor);
    CHECK(mismatch->detail.find("forged certificate") != std::string::npos);
}

}  // namespace
}  // namespace meterchain::contracts
