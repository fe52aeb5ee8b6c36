#include <catch2/catch.hpp>

#include "node/chain/merkle.h"
#include "node/chain/proto_adapter.h"
#include "node/chain/state.h"
#include "node/chain/types.h"
#include "node/chain/validators.h"
#include "node/crypto/signer.h"

using namespace meterchain;
using namespace meterchain::chain;

namespace {

struct Cluster {
    std::vector<crypto::Sm2Signer> signers;
    ValidatorSet set;
    explicit Cluster(size_t n) {
        std::vector<Validator> vs;
        for (size_t i = 0; i < n; ++i) {
            signers.emplace_back(crypto::Sm2PrivateKey::Generate());
            vs.push_back(Validator{"v" + std::to_string(i), "org", "utility",
                                   signers.back().PublicKey(), "127.0.0.1:0"});
        }
        set = ValidatorSet(std::move(vs));
    }
};

Block MakeBlock(const Cluster& c, const std::string& chain_id, size_t signers) {
    crypto::Sm2Signer client(crypto::Sm2PrivateKey::Generate());
    Block b;
    b.header.chain_id = chain_id;
    b.header.height = 3;
    b.header.view = 1;
    for (uint64_t nonce = 1; nonce <= 3; ++nonce) {
        TxBody body{chain_id, 1, ToBytes("payload"), {}, nonce, 1700000000000};
        b.transactions.push_back(SignTransaction(body, client));
    }
    b.header.tx_root = MerkleRoot(b.TxHashes());
    b.certificate.height = 3;
    b.certificate.view = 1;
    b.certificate.block_hash = b.Hash();
    Bytes vote = CommitVoteBytes(chain_id, 3, 1, b.Hash());
    for (size_t i = 0; i < signers; ++i) {
        b.certificate.signatures.push_back({static_cast<uint32_t>(i), c.signers[i].Sign(vote)});
    }
    return b;
}

}  // namespace

TEST_CASE("transactions verify against their sender and reject tampering", "[chain]") {
    crypto::Sm2Signer client(crypto::Sm2PrivateKey::Generate());
    crypto::Sm2Verifier verifier;
    TxBody body{"tianjin", 1, ToBytes("hello"), {}, 7, 42};
    Transaction tx = SignTransaction(body, client);

    auto ok = VerifyTransaction(tx, verifier);
    REQUIRE(ok.ok());
    CHECK(ok->sender == client.PublicKey());
    CHECK(ok->nonce == 7);
    CHECK(ok->payload == ToBytes("hello"));

    Transaction flipped = tx;
    flipped.body.back() ^= 1;
    CHECK(VerifyTransaction(flipped, verifier).status().code() == StatusCode::kUnauthenticated);

    // A signature over the bare body (no domain tag) is not a transaction signature.
    Transaction untagged = tx;
    crypto::Sm2PrivateKey key = crypto::Sm2PrivateKey::Generate();
    crypto::Sm2Signer other(key);
    untagged.signature = client.Sign(tx.body);
    CHECK_FALSE(VerifyTransaction(untagged, verifier).ok());

    Transaction garbage{ToBytes("not a protobuf \xff\xff"), tx.signature};
    CHECK(VerifyTransaction(garbage, verifier).status().code() == StatusCode::kInvalidArgument);
    Transaction unsigned_tx{tx.body, {}};
    CHECK(VerifyTransaction(unsigned_tx, verifier).status().code() ==
          StatusCode::kInvalidArgument);
}

TEST_CASE("tx hash is SM3 of the body and does not depend on the signature", "[chain]") {
    crypto::Sm2Signer client(crypto::Sm2PrivateKey::Generate());
    TxBody body{"tianjin", 1, ToBytes("x"), {}, 1, 0};
    Transaction a = SignTransaction(body, client);
    Transaction b = SignTransaction(body, client);  // SM2 signing is randomised
    CHECK(a.signature != b.signature);
    CHECK(a.Hash() == b.Hash());
    CHECK(a.Hash() == crypto::Sm3(a.body));
}

TEST_CASE("block header canonical encoding round trips and every field changes the hash",
          "[chain]") {
    BlockHeader h;
    h.chain_id = "tianjin";
    h.height = 10;
    h.prev_hash[0] = 1;
    h.tx_root[1] = 2;
    h.state_root[2] = 3;
    h.proposer = 2;
    h.view = 5;
    h.timestamp_ms = 1700000000000;
    auto decoded = BlockHeader::Decode(h.Encode());
    REQUIRE(decoded.ok());
    CHECK(*decoded == h);

    const Hash256 base = h.Hash();
    std::vector<BlockHeader> variants(8, h);
    variants[0].chain_id = "other";
    variants[1].height++;
    variants[2].prev_hash[5] ^= 1;
    variants[3].tx_root[5] ^= 1;
    variants[4].state_root[5] ^= 1;
    variants[5].proposer++;
    variants[6].view++;
    variants[7].timestamp_ms++;
    for (const auto& v : variants) CHECK(v.Hash() != base);

    Bytes enc = h.Encode();
    enc.push_back(0);
    CHECK_FALSE(BlockHeader::Decode(enc).ok());
    enc.resize(enc.size() - 2);
    CHECK_FALSE(BlockHeader::Decode(enc).ok());
}

TEST_CASE("block survives the proto round trip and keeps its hash", "[chain]") {
    Cluster c(4);
    Block b = MakeBlock(c, "tianjin", 3);
    auto parsed = ParseBlock(SerializeBlock(b));
    REQUIRE(parsed.ok());
    CHECK(*parsed == b);
    CHECK(parsed->Hash() == b.Hash());
    CHECK(CheckBlockIntegrity(*parsed).ok());

    v1::Block pb = ToProto(b);
    pb.mutable_header()->set_prev_hash("short");
    CHECK(FromProto(pb).status().code() == StatusCode::kInvalidArgument);
    CHECK_FALSE(ParseBlock(ToBytes("\x0a\xff garbage")).ok());
}

TEST_CASE("block integrity catches a changed transaction or a foreign certificate", "[chain]") {
    Cluster c(1);
    Block b = MakeBlock(c, "tianjin", 1);
    REQUIRE(CheckBlockIntegrity(b).ok());
    Block changed = b;
    changed.transactions[1].body.push_back(0);
    CHECK(CheckBlockIntegrity(changed).code() == StatusCode::kCorruption);
    Block foreign = b;
    foreign.certificate.block_hash[0] ^= 1;
    CHECK(CheckBlockIntegrity(foreign).code() == StatusCode::kCorruption);
}

TEST_CASE("validator set sizes: f and quorum for n = 1..10", "[chain]") {
    // Quorum = ceil((n+f+1)/2): 2f+1 when n = 3f+1, larger otherwise so that two quorums
    // always share an honest validator.
    const size_t expected_f[] = {0, 0, 0, 1, 1, 1, 2, 2, 2, 3};
    const size_t expected_quorum[] = {1, 2, 2, 3, 4, 4, 5, 6, 6, 7};
    for (size_t n = 1; n <= 10; ++n) {
        ValidatorSet set{std::vector<Validator>(n)};
        INFO("n=" << n);
        CHECK(set.F() == expected_f[n - 1]);
        CHECK(set.Quorum() == expected_quorum[n - 1]);
        CHECK(2 * set.Quorum() >= n + set.F() + 1);  // quorum intersection holds an honest node
    }
}

TEST_CASE("commit certificates need a quorum of distinct valid validator signatures",
          "[chain]") {
    Cluster c(4);  // f = 1, quorum 3
    crypto::Sm2Verifier verifier;
    Block b = MakeBlock(c, "tianjin", 3);
    CHECK(VerifyCertificate(b.certificate, "tianjin", c.set, verifier).ok());

    SECTION("too few signatures") {
        b.certificate.signatures.pop_back();
        Status s = VerifyCertificate(b.certificate, "tianjin", c.set, verifier);
        CHECK(s.code() == StatusCode::kUnauthenticated);
        CHECK(s.message().find("2 of 3") != std::string::npos);
    }
    SECTION("a duplicated signer does not count twice") {
        b.certificate.signatures[2] = b.certificate.signatures[0];
        CHECK_FALSE(VerifyCertificate(b.certificate, "tianjin", c.set, verifier).ok());
    }
    SECTION("a signature attributed to another validator") {
        b.certificate.signatures[2].validator = 3;
        CHECK_FALSE(VerifyCertificate(b.certificate, "tianjin", c.set, verifier).ok());
    }
    SECTION("an unknown signer index") {
        b.certificate.signatures[2].validator = 9;
        CHECK_FALSE(VerifyCertificate(b.certificate, "tianjin", c.set, verifier).ok());
    }
    SECTION("votes for another chain") {
        CHECK_FALSE(VerifyCertificate(b.certificate, "national", c.set, verifier).ok());
    }
    SECTION("votes for another view") {
        b.certificate.view = 2;
        CHECK_FALSE(VerifyCertificate(b.certificate, "tianjin", c.set, verifier).ok());
    }
}

TEST_CASE("state root is a hash chain over canonical write sets", "[chain]") {
    WriteSet a{{"k1", ToBytes("v1")}, {"k2", std::nullopt}};
    WriteSet b{{"k2", std::nullopt}, {"k1", ToBytes("v1")}};  // same content, other insert order
    CHECK(WriteSetDigest(a) == WriteSetDigest(b));
    WriteSet deleted{{"k1", ToBytes("v1")}, {"k2", Bytes{}}};  // empty value is not a delete
    CHECK(WriteSetDigest(a) != WriteSetDigest(deleted));

    Hash256 r1 = NextStateRoot(Hash256{}, a);
    Hash256 r2 = NextStateRoot(r1, WriteSet{});
    CHECK(r1 != Hash256{});
    CHECK(r2 != r1);
    CHECK(NextStateRoot(Hash256{}, a) == r1);
}

TEST_CASE("a sealed write set gives the same digest and state root as the plain one", "[chain]") {
    WriteSet a{{"k1", ToBytes("v1")}, {"k2", std::nullopt}};
    const SealedWriteSet sealed(a);
    CHECK(sealed.writes() == a);
    CHECK(sealed.digest() == WriteSetDigest(a));
    Hash256 parent{};
    parent[0] = 7;
    CHECK(NextStateRoot(parent, sealed) == NextStateRoot(parent, a));
    CHECK(SealedWriteSet().digest() == WriteSetDigest(WriteSet{}));
}

TEST_CASE("a remembered transaction hash follows the body, also in copies", "[chain]") {
    chain::Transaction tx{ToBytes("body bytes of a transaction"), ToBytes("sig")};
    const Hash256 original = crypto::Sm3(tx.body);
    tx.RememberHash();
    REQUIRE(tx.memo.set);
    REQUIRE(tx.Hash() == original);
    chain::Transaction copy = tx;
    REQUIRE(copy.Hash() == original);
    // Changed in place (same size) after hashing: hashed again, never the stale value.
    copy.body[3] ^= 0x01;
    REQUIRE(copy.Hash() == crypto::Sm3(copy.body));
    REQUIRE(copy.Hash() != original);
    REQUIRE(tx.Hash() == original);
    REQUIRE(copy != tx);
}
