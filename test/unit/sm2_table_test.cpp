// Sm2KeyTable (table-based SM2 verification for known keys) must give exactly the answers of
// EVP_DigestVerify (Sm2PublicKey::Verify): checked side by side on valid signatures, on every
// kind of damage to them, and on hand-built encodings at the edges of the rules.
#include <catch2/catch.hpp>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>

#include <memory>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "node/base/bytes.h"
#include "node/crypto/signer.h"
#include "node/crypto/sm.h"
#include "node/crypto/sm2_table.h"

using namespace meterchain;
using namespace meterchain::crypto;

namespace {

struct BnDeleter {
    void operator()(BIGNUM* p) const { BN_free(p); }
};
using TestBn = std::unique_ptr<BIGNUM, BnDeleter>;

TestBn Order() {
    std::unique_ptr<EC_GROUP, decltype(&EC_GROUP_free)> group(
        EC_GROUP_new_by_curve_name(NID_sm2), EC_GROUP_free);
    REQUIRE(group);
    TestBn order(BN_dup(EC_GROUP_get0_order(group.get())));
    REQUIRE(order);
    return order;
}

// A DER INTEGER for a non-negative number, minimal unless `pad` extra zero bytes are asked
// for (which DER forbids).
Bytes DerInteger(const BIGNUM* n, size_t pad = 0) {
    Bytes body(static_cast<size_t>(BN_num_bytes(n)));
    BN_bn2bin(n, body.data());
    if (body.empty() || (body[0] & 0x80) != 0) body.insert(body.begin(), 0x00);
    body.insert(body.begin(), pad, 0x00);
    Bytes out;
    out.reserve(2 + body.size());
    out.push_back(0x02);
    out.push_back(static_cast<uint8_t>(body.size()));
    out.insert(out.end(), body.begin(), body.end());
    return out;
}

// SEQUENCE { r, s }; `long_form` writes the length as 0x81 len (not DER for len < 128).
Bytes DerSignature(const Bytes& r, const Bytes& s, bool long_form = false) {
    Bytes out;
    out.reserve(3 + r.size() + s.size());
    out.push_back(0x30);
    if (long_form) out.push_back(0x81);
    out.push_back(static_cast<uint8_t>(r.size() + s.size()));
    out.insert(out.end(), r.begin(), r.end());
    out.insert(out.end(), s.begin(), s.end());
    return out;
}

// (r, s) of a DER signature made by our own signer (always minimal DER).
std::pair<TestBn, TestBn> Split(const Bytes& sig) {
    REQUIRE(sig.size() > 8);
    REQUIRE(sig[0] == 0x30);
    size_t at = 2;
    auto read = [&] {
        REQUIRE(sig.at(at) == 0x02);
        const size_t len = sig.at(at + 1);
        TestBn n(BN_bin2bn(sig.data() + at + 2, static_cast<int>(len), nullptr));
        REQUIRE(n);
        at += 2 + len;
        return n;
    };
    TestBn r = read();
    TestBn s = read();
    return {std::move(r), std::move(s)};
}

// Both verifiers must agree on every input; returns that common answer.
bool Agree(const Sm2PublicKey& pub, const Sm2KeyTable& table, const Bytes& msg,
           const Bytes& sig) {
    const bool evp = pub.Verify(msg, sig);
    const bool fast = table.Verify(msg, sig);
    INFO("signature " << ToHex(sig));
    CHECK(fast == evp);
    return evp;
}

}  // namespace

TEST_CASE("Sm2KeyTable gives EVP's answer on valid and damaged signatures", "[crypto]") {
    for (int k = 0; k < 3; ++k) {
        const Sm2PrivateKey key = Sm2PrivateKey::Generate();
        const Sm2PublicKey pub = key.PublicKey();
        auto table = Sm2KeyTable::Build(pub.Raw(), kDefaultSm2Id);
        REQUIRE(table.ok());
        for (int m = 0; m < 8; ++m) {
            const Bytes msg = m == 0 ? Bytes{} : RandomBytes(static_cast<size_t>(1 + m * 97));
            const Bytes sig = key.Sign(msg);
            REQUIRE(Agree(pub, **table, msg, sig));
            if (!msg.empty()) {
                Bytes changed = msg;
                changed[changed.size() / 2] ^= 0x10;
                CHECK_FALSE(Agree(pub, **table, changed, sig));
            }
            // Every byte of the signature, damaged: lengths, tags, r and s.
            for (size_t i = 0; i < sig.size(); ++i) {
                for (uint8_t mask : {uint8_t{0x01}, uint8_t{0x80}}) {
                    Bytes bad = sig;
                    bad[i] ^= mask;
                    CHECK_FALSE(Agree(pub, **table, msg, bad));
                }
            }
            Bytes longer = sig;
            longer.push_back(0x00);
            CHECK_FALSE(Agree(pub, **table, msg, longer));
            CHECK_FALSE(Agree(pub, **table, msg, Bytes(sig.begin(), sig.end() - 1)));
            // Another key's signature on the same message.
            CHECK_FALSE(Agree(pub, **table, msg, Sm2PrivateKey::Generate().Sign(msg)));
        }
        CHECK_FALSE(Agree(pub, **table, ToBytes("m"), Bytes{}));
        for (int i = 0; i < 40; ++i) {
            CHECK_FALSE(Agree(pub, **table, ToBytes("m"), RandomBytes(static_cast<size_t>(1 + i * 2))));
        }
    }
}

TEST_CASE("Sm2KeyTable refuses what EVP refuses at the edges of DER and of the ranges",
          "[crypto]") {
    const Sm2PrivateKey key = Sm2PrivateKey::Generate();
    const Sm2PublicKey pub = key.PublicKey();
    auto built = Sm2KeyTable::Build(pub.Raw(), kDefaultSm2Id);
    REQUIRE(built.ok());
    const Sm2KeyTable& table = **built;
    const Bytes msg = ToBytes("COMMIT v=0 h=12");
    const Bytes sig = key.Sign(msg);
    auto [r, s] = Split(sig);
    const TestBn order = Order();

    // Rebuilt from its parts, the signature is the same bytes and still valid.
    REQUIRE(DerSignature(DerInteger(r.get()), DerInteger(s.get())) == sig);
    REQUIRE(Agree(pub, table, msg, DerSignature(DerInteger(r.get()), DerInteger(s.get()))));
    // The same numbers in encodings DER forbids.
    CHECK_FALSE(Agree(pub, table, msg, DerSignature(DerInteger(r.get(), 1), DerInteger(s.get()))));
    CHECK_FALSE(Agree(pub, table, msg, DerSignature(DerInteger(r.get()), DerInteger(s.get(), 1))));
    CHECK_FALSE(
        Agree(pub, table, msg, DerSignature(DerInteger(r.get()), DerInteger(s.get()), true)));

    TestBn zero(BN_new());
    TestBn bigger(BN_new());
    TestBn minus_r(BN_new());
    BN_CTX* ctx = BN_CTX_new();
    REQUIRE((zero && bigger && minus_r && ctx));
    BN_zero(zero.get());
    // r or s of 0, n, or r + n (the same residue, out of range).
    REQUIRE(BN_add(bigger.get(), r.get(), order.get()) == 1);
    const BIGNUM* out_of_range[] = {zero.get(), order.get(), bigger.get()};
    for (const BIGNUM* bad : out_of_range) {
        CHECK_FALSE(Agree(pub, table, msg, DerSignature(DerInteger(bad), DerInteger(s.get()))));
        CHECK_FALSE(Agree(pub, table, msg, DerSignature(DerInteger(r.get()), DerInteger(bad))));
    }
    // s = n - r makes t = r + s = 0 mod n, which the standard rejects outright.
    REQUIRE(BN_sub(minus_r.get(), order.get(), r.get()) == 1);
    CHECK_FALSE(Agree(pub, table, msg, DerSignature(DerInteger(r.get()), DerInteger(minus_r.get()))));
    // Swapped r and s.
    CHECK_FALSE(Agree(pub, table, msg, DerSignature(DerInteger(s.get()), DerInteger(r.get()))));
    BN_CTX_free(ctx);
}

TEST_CASE("Sm2KeyTable binds the key's distinguishing ID", "[crypto]") {
    const Sm2PrivateKey key = Sm2PrivateKey::Generate();
    const Sm2PublicKey pub = key.PublicKey();
    const Bytes msg = ToBytes("block 7");
    auto own_id = Sm2KeyTable::Build(pub.Raw(), "meterchain-test");
    auto default_id = Sm2KeyTable::Build(pub.Raw(), kDefaultSm2Id);
    REQUIRE((own_id.ok() && default_id.ok()));
    CHECK((*own_id)->Verify(msg, key.Sign(msg, "meterchain-test")));
    CHECK_FALSE((*own_id)->Verify(msg, key.Sign(msg)));
    CHECK((*default_id)->Verify(msg, key.Sign(msg)));
    CHECK_FALSE((*default_id)->Verify(msg, key.Sign(msg, "meterchain-test")));
    auto empty_id = Sm2KeyTable::Build(pub.Raw(), "");
    REQUIRE(empty_id.ok());
    CHECK((*empty_id)->Verify(msg, key.Sign(msg, "")) == pub.Verify(msg, key.Sign(msg, ""), ""));
}

TEST_CASE("Sm2KeyTable refuses keys that are not SM2 points", "[crypto]") {
    Bytes raw = Sm2PrivateKey::Generate().PublicKey().Raw();
    CHECK(Sm2KeyTable::Build(raw, kDefaultSm2Id).ok());
    CHECK_FALSE(Sm2KeyTable::Build(Bytes(raw.begin(), raw.end() - 1), kDefaultSm2Id).ok());
    Bytes compressed = raw;
    compressed[0] = 0x02;
    CHECK_FALSE(Sm2KeyTable::Build(compressed, kDefaultSm2Id).ok());
    Bytes off_curve = raw;
    off_curve[64] ^= 0x01;
    auto refused = Sm2KeyTable::Build(off_curve, kDefaultSm2Id);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.status().code() == StatusCode::kInvalidArgument);
    CHECK_FALSE(Sm2KeyTable::Build(Bytes(65, 0x04), kDefaultSm2Id).ok());
}

TEST_CASE("Sm2Verifier uses precomputed keys with the same answers and accounting",
          "[crypto]") {
    const Sm2Signer validator(Sm2PrivateKey::Generate());
    const Sm2Signer client(Sm2PrivateKey::Generate());
    Sm2Verifier verifier;
    REQUIRE(verifier.Precompute(validator.PublicKey()).ok());
    CHECK_FALSE(verifier.Precompute(Bytes(65, 0x04)).ok());

    const Bytes msg = ToBytes("PREPARE v=2 h=40");
    const Bytes vsig = validator.Sign(msg);
    const Bytes csig = client.Sign(msg);
    CHECK(verifier.Verify(validator.PublicKey(), msg, vsig));
    CHECK(verifier.Verify(client.PublicKey(), msg, csig));  // not precomputed: EVP
    CHECK_FALSE(verifier.Verify(validator.PublicKey(), msg, csig));
    CHECK_FALSE(verifier.Verify(client.PublicKey(), msg, vsig));
    CHECK_FALSE(verifier.Verify(validator.PublicKey(), ToBytes("PREPARE v=2 h=41"), vsig));
    // Every check is counted, whichever way it ran.
    CHECK(verifier.verifications() == 5);
    CHECK(verifier.verify_cpu_ns() > 0);
}

TEST_CASE("Sm2KeyTable verifies from several threads at once", "[crypto]") {
    const Sm2PrivateKey key = Sm2PrivateKey::Generate();
    auto table = Sm2KeyTable::Build(key.PublicKey().Raw(), kDefaultSm2Id);
    REQUIRE(table.ok());
    std::vector<std::pair<Bytes, Bytes>> signed_messages;
    for (int i = 0; i < 16; ++i) {
        Bytes msg = ToBytes("vote " + std::to_string(i));
        Bytes sig = key.Sign(msg);
        signed_messages.emplace_back(std::move(msg), std::move(sig));
    }
    std::atomic<int> accepted{0};
    std::atomic<int> refused{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int round = 0; round < 4; ++round) {
                for (size_t i = 0; i < signed_messages.size(); ++i) {
                    const auto& [msg, sig] = signed_messages[i];
                    // Each thread also checks a neighbour's signature against the wrong message.
                    const auto& other = signed_messages[(i + 1 + static_cast<size_t>(t)) %
                                                        signed_messages.size()];
                    if ((*table)->Verify(msg, sig)) accepted.fetch_add(1);
                    if (!(*table)->Verify(msg, other.second)) refused.fetch_add(1);
                }
            }
        });
    }
    for (auto& th : threads) th.join();
    CHECK(accepted.load() == 4 * 4 * 16);
    CHECK(refused.load() == 4 * 4 * 16);
}
