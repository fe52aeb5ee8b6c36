// Cross-chain proofs checked offline: a valid three-level proof verifies; a byte flipped in any
// part fails at that part's step; a byte flipped anywhere in the file fails.
#include <catch2/catch.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "crosschain/anchor_tx.h"
#include "crosschain/proof.h"
#include "node/chain/light_client.h"
#include "node/chain/merkle.h"
#include "node/chain/proto_adapter.h"
#include "node/crypto/signer.h"
#include "node/crypto/sm.h"

namespace meterchain::crosschain {
namespace {

std::shared_ptr<crypto::Sm2Signer> NewSigner() {
    return std::make_shared<crypto::Sm2Signer>(crypto::Sm2PrivateKey::Generate());
}

// A chain whose validators certify the blocks the test builds.
struct TestChain {
    std::string id;
    std::vector<std::shared_ptr<crypto::Sm2Signer>> validators;
    std::vector<chain::BlockHeader> headers;  // index = height
    std::vector<std::vector<chain::Transaction>> txs;

    TestChain(std::string chain_id, int n) : id(std::move(chain_id)) {
        for (int i = 0; i < n; ++i) validators.push_back(NewSigner());
        chain::BlockHeader g;
        g.chain_id = id;
        headers.push_back(g);
        txs.emplace_back();
    }
    uint64_t Add(std::vector<chain::Transaction> block_txs) {
        chain::BlockHeader h;
        h.chain_id = id;
        h.height = headers.size();
        h.prev_hash = headers.back().Hash();
        std::vector<Hash256> leaves;
        for (const auto& tx : block_txs) leaves.push_back(tx.Hash());
        h.tx_root = chain::MerkleRoot(leaves);
        h.timestamp_ms = 1000 * h.height;
        headers.push_back(h);
        txs.push_back(std::move(block_txs));
        return h.height;
    }
    v1::CommitCertificate Certify(uint64_t height) const {
        chain::CommitCertificate c;
        c.height = height;
        c.block_hash = headers[height].Hash();
        const Bytes vote = chain::CommitVoteBytes(id, height, 0, c.block_hash);
        const size_t quorum = chain::ValidatorSet(Validators()).Quorum();
        for (size_t i = 0; i < quorum; ++i) {
            c.signatures.push_back({static_cast<uint32_t>(i), validators[i]->Sign(vote)});
        }
        return chain::ToProto(c);
    }
    std::vector<chain::Validator> Validators() const {
        std::vector<chain::Validator> out;
        for (size_t i = 0; i < validators.size(); ++i) {
            out.push_back({"v" + std::to_string(i), "", "", validators[i]->PublicKey(), ""});
        }
        return out;
    }
    v1::BlockSummary Summary(uint64_t h) const {
        v1::BlockSummary s;
        *s.mutable_header() = chain::ToProto(headers[h]);
        *s.mutable_certificate() = Certify(h);
        return s;
    }
    // The level of a proof for transaction `index` of block `height`, headers up to `to`.
    v1::ProofLevel Level(uint64_t height, size_t index, uint64_t to) const {
        v1::ProofLevel l;
        l.set_chain_id(id);
        *l.mutable_transaction() = chain::ToProto(txs[height][index]);
        std::vector<Hash256> leaves;
        for (const auto& tx : txs[height]) leaves.push_back(tx.Hash());
        *l.mutable_tx_path() = chain::ToProto(chain::BuildMerkleProof(leaves, index).value());
        for (uint64_t h = height; h <= to; ++h) l.add_headers(ToString(headers[h].Encode()));
        *l.mutable_certificate() = Certify(height);
        return l;
    }
};

chain::Transaction Put(const std::string& chain_id, const std::string& key) {
    static const auto sender = NewSigner();
    static uint64_t nonce = 0;
    chain::TxBody body;
    body.chain_id = chain_id;
    body.type = static_cast<uint32_t>(chain::TxType::kStatePut);
    body.payload = Bytes(key.begin(), key.end());
    body.nonce = ++nonce;
    return chain::SignTransaction(std::move(body), *sender);
}

chain::Transaction AnchorOf(const TestChain& lower, uint64_t from, uint64_t to,
                            const std::string& upper_id, uint64_t nonce) {
    static const auto relay = NewSigner();
    std::vector<v1::BlockSummary> blocks;
    for (uint64_t h = from; h <= to; ++h) blocks.push_back(lower.Summary(h));
    auto args = BuildAnchorArgs(lower.id, blocks, to);
    REQUIRE(args.ok());
    return SignAnchorTx(upper_id, nonce, 0, *args, *relay);
}

struct ThreeLevels {
    TestChain province{"tianjin-meter-1", 4};
    TestChain main_chain{"stategrid-main-1", 4};
    TestChain alliance{"alliance-1", 1};
    v1::CrossChainProof proof;
    TrustedSets trust;

    ThreeLevels() {
        province.Add({Put(province.id, "a")});
        const uint64_t h = province.Add({Put(province.id, "b"), Put(province.id, "c"),
                                         Put(province.id, "d")});
        province.Add({});
        const uint64_t p_to = province.Add({Put(province.id, "e")});

        main_chain.Add({Put(main_chain.id, "x")});
        const uint64_t m = main_chain.Add({Put(main_chain.id, "y"),
                                           AnchorOf(province, 1, p_to, main_chain.id, 1)});
        const uint64_t m_to = main_chain.Add({Put(main_chain.id, "z")});

        const uint64_t a = alliance.Add({AnchorOf(main_chain, 1, m_to, alliance.id, 1)});

        proof.set_format(kProofFormat);
        *proof.add_levels() = province.Level(h, 2, p_to);
        *proof.add_levels() = main_chain.Level(m, 1, m_to);
        *proof.add_levels() = alliance.Level(a, 0, a);
        for (const TestChain* c : {&province, &main_chain, &alliance}) {
            trust.chains.emplace(c->id, chain::ValidatorSet(c->Validators()));
        }
    }
    ProofVerdict Verify(const v1::CrossChainProof& p) const {
        std::string bytes;
        p.SerializeToString(&bytes);
        return VerifyProof(AsBytes(bytes), trust, verifier);
    }
    crypto::Sm2Verifier verifier;
};

std::string FailedStep(const ProofVerdict& v) {
    REQUIRE(!v.ok);
    REQUIRE(!v.steps.empty());
    CHECK(!v.steps.back().ok);
    return v.steps.back().name;
}

void Flip(std::string* field, size_t at = 0) {
    REQUIRE(!field->empty());
    (*field)[std::min(at, field->size() - 1)] ^= 0x01;
}

TEST_CASE("proof: a three-level proof verifies offline with only the validator keys",
          "[crosschain][proof]") {
    ThreeLevels t;
    const ProofVerdict v = t.Verify(t.proof);
    INFO((v.steps.empty() ? std::string() : v.steps.back().name + ": " + v.steps.back().detail));
    REQUIRE(v.ok);
    CHECK(v.proven_tx == ToHex(t.province.txs[2][2].Hash()));
    // format + per level: transaction, header-chain, merkle-path, certificate (+ anchor above 0)
    CHECK(v.steps.size() == 1 + 4 + 5 + 5);
}

TEST_CASE("proof: a flipped byte in each part fails at that part's step", "[crosschain][proof]") {
    ThreeLevels t;
    struct Case {
        std::string part;
        std::function<void(v1::CrossChainProof&)> flip;
        std::string step;
    };
    const std::vector<Case> cases = {
        {"format", [](auto& p) { Flip(p.mutable_format()); }, "format"},
        {"level 0 tx body", [](auto& p) { Flip(p.mutable_levels(0)->mutable_transaction()->mutable_body(), 10); },
         "level 0 (tianjin-meter-1) transaction"},
        {"level 0 tx signature", [](auto& p) { Flip(p.mutable_levels(0)->mutable_transaction()->mutable_signature(), 20); },
         "level 0 (tianjin-meter-1) transaction"},
        {"level 0 merkle sibling", [](auto& p) { Flip(p.mutable_levels(0)->mutable_tx_path()->mutable_siblings(0), 5); },
         "level 0 (tianjin-meter-1) merkle-path"},
        {"level 0 merkle index", [](auto& p) { p.mutable_levels(0)->mutable_tx_path()->set_leaf_index(1); },
         "level 0 (tianjin-meter-1) merkle-path"},
        {"level 0 first header", [](auto& p) { Flip(p.mutable_levels(0)->mutable_headers(0), 60); },
         "level 0 (tianjin-meter-1) header-chain"},
        {"level 0 last header", [](auto& p) { Flip(p.mutable_levels(0)->mutable_headers(2), 150); },
         "level 1 (stategrid-main-1) anchor"},
        {"level 0 certificate", [](auto& p) { Flip(p.mutable_levels(0)->mutable_certificate()->mutable_signatures(1)->mutable_signature(), 30); },
         "level 0 (tianjin-meter-1) certificate"},
        {"level 1 anchor tx", [](auto& p) { Flip(p.mutable_levels(1)->mutable_transaction()->mutable_body(), 200); },
         "level 1 (stategrid-main-1) transaction"},
        {"level 1 merkle sibling", [](auto& p) { Flip(p.mutable_levels(1)->mutable_tx_path()->mutable_siblings(0), 31); },
         "level 1 (stategrid-main-1) merkle-path"},
        {"level 1 first header", [](auto& p) { Flip(p.mutable_levels(1)->mutable_headers(0), 100); },
         "level 1 (stategrid-main-1) header-chain"},
        {"level 1 last header", [](auto& p) { Flip(p.mutable_levels(1)->mutable_headers(1), 100); },
         "level 2 (alliance-1) anchor"},
        {"level 1 certificate", [](auto& p) { p.mutable_levels(1)->mutable_certificate()->set_view(7); },
         "level 1 (stategrid-main-1) certificate"},
        {"level 2 anchor tx", [](auto& p) { Flip(p.mutable_levels(2)->mutable_transaction()->mutable_signature(), 9); },
         "level 2 (alliance-1) transaction"},
        {"level 2 merkle count", [](auto& p) { p.mutable_levels(2)->mutable_tx_path()->set_leaf_count(2); },
         "level 2 (alliance-1) merkle-path"},
        {"level 2 header", [](auto& p) { Flip(p.mutable_levels(2)->mutable_headers(0), 90); },
         "level 2 (alliance-1) merkle-path"},
        {"level 2 certificate", [](auto& p) { Flip(p.mutable_levels(2)->mutable_certificate()->mutable_signatures(0)->mutable_signature(), 40); },
         "level 2 (alliance-1) certificate"},
        {"level 2 chain id", [](auto& p) { Flip(p.mutable_levels(2)->mutable_chain_id(), 0); },
         "level 2 (`lliance-1) transaction"},
    };
    for (const auto& c : cases) {
        INFO(c.part);
        v1::CrossChainProof p = t.proof;
        c.flip(p);
        CHECK(FailedStep(t.Verify(p)) == c.step);
    }
}

TEST_CASE("proof: flipping any single byte of the file makes verification fail",
          "[crosschain][proof]") {
    ThreeLevels t;
    std::string bytes;
    t.proof.SerializeToString(&bytes);
    REQUIRE(VerifyProof(AsBytes(bytes), t.trust, t.verifier).ok);
    size_t passed = 0;
    for (size_t i = 0; i < bytes.size(); ++i) {
        std::string flipped = bytes;
        flipped[i] = static_cast<char>(flipped[i] ^ 0x20);
        if (VerifyProof(AsBytes(flipped), t.trust, t.verifier).ok) {
            ++passed;
            UNSCOPED_INFO("flipping byte " << i << " still verifies");
        }
    }
    CHECK(passed == 0);
}

TEST_CASE("proof: a validator set the verifier does not trust fails the certificate step",
          "[crosschain][proof]") {
    ThreeLevels t;
    TrustedSets other = t.trust;
    other.chains.erase("stategrid-main-1");
    std::string bytes;
    t.proof.SerializeToString(&bytes);
    CHECK(FailedStep(VerifyProof(AsBytes(bytes), other, t.verifier)) ==
          "level 1 (stategrid-main-1) certificate");
    other = t.trust;
    TestChain impostor{"alliance-1", 1};
    other.chains.erase("alliance-1");
    other.chains.emplace("alliance-1", chain::ValidatorSet(impostor.Validators()));
    CHECK(FailedStep(VerifyProof(AsBytes(bytes), other, t.verifier)) ==
          "level 2 (alliance-1) certificate");
}

}  // namespace
}  // namespace meterchain::crosschain
