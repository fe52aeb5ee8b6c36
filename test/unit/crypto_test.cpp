#include <catch2/catch.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include "node/base/bytes.h"
#include "node/base/status.h"
#include "node/crypto/cached_verifier.h"
#include "node/crypto/signer.h"
#include "node/crypto/sm.h"

using namespace meterchain;
using namespace meterchain::crypto;

namespace {

Bytes Hex(std::string_view hex) {
    auto bytes = FromHex(hex);
    REQUIRE(bytes.has_value());
    return *bytes;
}

Bytes Flip(Bytes data, size_t index, uint8_t mask = 0x01) {
    data.at(index) ^= mask;
    return data;
}

Bytes Concat(ByteView a, ByteView b) {
    Bytes out(a.begin(), a.end());
    out.insert(out.end(), b.begin(), b.end());
    return out;
}

// Test-only OpenSSL objects, for keys the library itself refuses to make.
struct PkeyDeleter {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct BioDeleter {
    void operator()(BIO* p) const { BIO_free(p); }
};
using TestPkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

std::string ToPemString(const std::function<int(BIO*)>& write) {
    std::unique_ptr<BIO, BioDeleter> bio(BIO_new(BIO_s_mem()));
    REQUIRE(write(bio.get()) == 1);
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<size_t>(len));
}

}  // namespace

// ---- SM3 ----

TEST_CASE("SM3 matches the GB/T 32905 example vectors", "[crypto]") {
    CHECK(ToHex(Sm3("abc")) == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");
    std::string abcd16;
    for (int i = 0; i < 16; ++i) abcd16 += "abcd";
    CHECK(ToHex(Sm3(abcd16)) == "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732");
    // The empty message (a widely published value).
    CHECK(ToHex(Sm3(ByteView{})) ==
          "1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b");
}

TEST_CASE("SM3 streaming in uneven chunks equals one-shot and Final resets the hasher",
          "[crypto]") {
    const Bytes data = RandomBytes(1000);
    const Hash256 expected = Sm3(data);

    Sm3Hasher hasher;
    size_t pos = 0;
    size_t step = 1;
    while (pos < data.size()) {  // chunks of 1, 2, 4, ... bytes straddle the 64-byte blocks
        const size_t n = std::min(step, data.size() - pos);
        hasher.Update(ByteView(data).subspan(pos, n));
        pos += n;
        step = step * 2 + 1;
    }
    CHECK(hasher.Final() == expected);

    // After Final the hasher starts over: no state from the previous message leaks in.
    CHECK(ToHex(hasher.Update("a").Update("bc").Final()) ==
          "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");
    CHECK(hasher.Final() == Sm3(ByteView{}));
}

// ---- HMAC-SM3, ConstantTimeEqual, RandomBytes ----

TEST_CASE("HMAC-SM3 is deterministic, key-sensitive and follows RFC 2104", "[crypto]") {
    const Bytes key = ToBytes("key");
    CHECK(HmacSm3(key, AsBytes("message")) == HmacSm3(key, AsBytes("message")));
    CHECK(HmacSm3(key, AsBytes("message")) != HmacSm3(ToBytes("kez"), AsBytes("message")));
    CHECK(HmacSm3(key, AsBytes("message")) != HmacSm3(key, AsBytes("messagf")));
    CHECK(HmacSm3(key, AsBytes("message")) != Sm3("message"));

    // Rebuild HMAC from SM3 (block size 64): H((K ^ opad) || H((K ^ ipad) || m)), where a key
    // longer than a block is first hashed. Covers the empty, short and long key paths.
    auto reference = [](Bytes k, ByteView msg) {
        if (k.size() > 64) k = ToBytes(Sm3(k));
        k.resize(64, 0);
        Bytes inner(64), outer(64);
        for (size_t i = 0; i < 64; ++i) {
            inner[i] = k[i] ^ 0x36;
            outer[i] = k[i] ^ 0x5c;
        }
        const Hash256 inner_hash = Sm3(Concat(inner, msg));
        return Sm3(Concat(outer, inner_hash));
    };
    const Bytes msg = ToBytes("what do ya want for nothing?");
    for (size_t key_len : {size_t{0}, size_t{3}, size_t{64}, size_t{100}}) {
        const Bytes k = RandomBytes(key_len);
        INFO("key length " << key_len);
        CHECK(HmacSm3(k, msg) == reference(k, msg));
    }
}

TEST_CASE("ConstantTimeEqual compares contents and lengths", "[crypto]") {
    CHECK(ConstantTimeEqual(ToBytes("abc"), ToBytes("abc")));
    CHECK_FALSE(ConstantTimeEqual(ToBytes("abc"), ToBytes("abd")));
    CHECK_FALSE(ConstantTimeEqual(ToBytes("abc"), ToBytes("ab")));
    CHECK_FALSE(ConstantTimeEqual(ToBytes(""), ToBytes("a")));
    CHECK(ConstantTimeEqual(ByteView{}, ByteView{}));
}

TEST_CASE("RandomBytes returns the requested length and fresh bytes", "[crypto]") {
    CHECK(RandomBytes(0).empty());
    CHECK(RandomBytes(33).size() == 33);
    CHECK(RandomBytes(32) != RandomBytes(32));
}

// ---- SM4 ----

TEST_CASE("SM4 matches the GB/T 32907 example and decrypts back", "[crypto]") {
    const Bytes key = Hex("0123456789abcdeffedcba9876543210");
    const Bytes ciphertext = Sm4EncryptBlock(key, key);
    CHECK(ToHex(ciphertext) == "681edf34d206965e86b3e94f536e4246");
    CHECK(Sm4DecryptBlock(key, ciphertext) == key);
}

TEST_CASE("SM4 encrypted one million times matches the GB/T 32907 vector", "[crypto]") {
    const Bytes key = Hex("0123456789abcdeffedcba9876543210");
    CHECK(ToHex(Sm4EncryptBlockRepeated(key, key, 1'000'000)) ==
          "595298c7c6fd271f0402f804c33d3f66");
    CHECK(Sm4EncryptBlockRepeated(key, key, 1) == Sm4EncryptBlock(key, key));
    CHECK(Sm4EncryptBlockRepeated(key, key, 0) == key);
}

TEST_CASE("SM4-CTR is the ECB keystream of a big-endian counter and its own inverse",
          "[crypto]") {
    const Bytes key = RandomBytes(kSm4KeySize);
    // The low 64 bits are about to wrap, so the carry into the upper half is exercised.
    const Bytes iv = Hex("00112233445566fffffffffffffffffe");
    const Bytes plaintext = RandomBytes(3 * kSm4BlockSize + 5);
    const Bytes ciphertext = Sm4Ctr(key, iv, plaintext);
    REQUIRE(ciphertext.size() == plaintext.size());

    const Bytes counters[] = {iv, Hex("00112233445566ffffffffffffffffff"),
                              Hex("00112233445567000000000000000000"),
                              Hex("00112233445567000000000000000001")};
    for (size_t i = 0; i < plaintext.size(); ++i) {
        const Bytes keystream = Sm4EncryptBlock(key, counters[i / kSm4BlockSize]);
        REQUIRE((plaintext[i] ^ keystream[i % kSm4BlockSize]) == ciphertext[i]);
    }
    CHECK(Sm4Ctr(key, iv, ciphertext) == plaintext);
    CHECK(Sm4Ctr(key, iv, ByteView{}).empty());
    CHECK(Sm4Ctr(RandomBytes(kSm4KeySize), iv, plaintext) != ciphertext);
}

// ---- SM2 signatures ----

TEST_CASE("SM2 signatures verify and reject changed messages, signatures and keys",
          "[crypto]") {
    const Sm2PrivateKey key = Sm2PrivateKey::Generate();
    const Sm2PublicKey pub = key.PublicKey();
    const Bytes msg = ToBytes("transfer 10 kWh from meter 7 to meter 9");
    const Bytes sig = key.Sign(msg);

    CHECK(pub.Verify(msg, sig));
    CHECK(key.Sign(msg) != sig);  // randomised
    CHECK(pub.Verify(msg, key.Sign(msg)));
    CHECK(pub.Verify(ByteView{}, key.Sign(ByteView{})));

    CHECK_FALSE(pub.Verify(Flip(msg, 0), sig));
    CHECK_FALSE(pub.Verify(Flip(msg, msg.size() - 1, 0x80), sig));
    CHECK_FALSE(pub.Verify(Concat(msg, ToBytes("x")), sig));
    for (size_t i : {size_t{10}, sig.size() / 2, sig.size() - 1}) {
        INFO("flipped signature byte " << i);
        CHECK_FALSE(pub.Verify(msg, Flip(sig, i)));
    }
    CHECK_FALSE(Sm2PrivateKey::Generate().PublicKey().Verify(msg, sig));
}

TEST_CASE("SM2 signatures bind the distinguishing ID and default to 1234567812345678",
          "[crypto]") {
    const Sm2PrivateKey key = Sm2PrivateKey::Generate();
    const Sm2PublicKey pub = key.PublicKey();
    const Bytes msg = ToBytes("block 42");

    CHECK_FALSE(pub.Verify(msg, key.Sign(msg), "other-id"));
    CHECK_FALSE(pub.Verify(msg, key.Sign(msg, "other-id")));
    CHECK(pub.Verify(msg, key.Sign(msg, "other-id"), "other-id"));
    CHECK(pub.Verify(msg, key.Sign(msg, "1234567812345678")));
    CHECK(pub.Verify(msg, key.Sign(msg), "1234567812345678"));
    // OpenSSL 3.0's own default is the empty ID: ours must not be that.
    CHECK_FALSE(pub.Verify(msg, key.Sign(msg), ""));
}

TEST_CASE("SM2 verification returns false on malformed signatures", "[crypto]") {
    const Sm2PrivateKey key = Sm2PrivateKey::Generate();
    const Sm2PublicKey pub = key.PublicKey();
    const Bytes msg = ToBytes("m");
    const Bytes sig = key.Sign(msg);

    CHECK_FALSE(pub.Verify(msg, ByteView{}));
    CHECK_FALSE(pub.Verify(msg, ByteView(sig).first(sig.size() - 1)));
    CHECK_FALSE(pub.Verify(msg, Concat(sig, Bytes{0x00})));
    CHECK_FALSE(pub.Verify(msg, Bytes(64, 0x00)));
    CHECK_FALSE(pub.Verify(msg, Bytes(72, 0xff)));
    CHECK_FALSE(pub.Verify(msg, Bytes(4096, 0x30)));
    CHECK_FALSE(pub.Verify(msg, Hex("3006020100020100")));  // r = s = 0
    for (int i = 0; i < 50; ++i) CHECK_FALSE(pub.Verify(msg, RandomBytes(1 + i)));
    CHECK(pub.Verify(msg, sig));  // still fine after all that
}

// ---- SM2 key formats ----

TEST_CASE("SM2 raw public keys round trip as 65 bytes starting with 0x04", "[crypto]") {
    const Sm2PrivateKey key = Sm2PrivateKey::Generate();
    const Bytes raw = key.PublicKey().Raw();
    REQUIRE(raw.size() == 65);
    CHECK(raw[0] == 0x04);

    auto parsed = Sm2PublicKey::FromRaw(raw);
    REQUIRE(parsed.ok());
    CHECK(parsed->Raw() == raw);
    const Bytes msg = ToBytes("hello");
    CHECK(parsed->Verify(msg, key.Sign(msg)));
    CHECK(Sm2Verify(raw, msg, key.Sign(msg)));
}

TEST_CASE("SM2 FromRaw rejects wrong lengths, prefixes and points off the curve", "[crypto]") {
    const Bytes raw = Sm2PrivateKey::Generate().PublicKey().Raw();
    const Bytes msg = ToBytes("m");

    auto short_key = Sm2PublicKey::FromRaw(ByteView(raw).first(64));
    REQUIRE_FALSE(short_key.ok());
    CHECK(short_key.status().code() == StatusCode::kInvalidArgument);
    CHECK_THAT(short_key.status().message(), Catch::Contains("65 bytes"));
    CHECK_FALSE(Sm2PublicKey::FromRaw(ByteView(raw).subspan(1)).ok());  // X || Y, no prefix
    CHECK_FALSE(Sm2PublicKey::FromRaw(Concat(raw, Bytes{0})).ok());
    CHECK_FALSE(Sm2PublicKey::FromRaw(ByteView{}).ok());

    for (uint8_t prefix : {uint8_t{0x00}, uint8_t{0x02}, uint8_t{0x03}, uint8_t{0x05}}) {
        Bytes bad = raw;
        bad[0] = prefix;
        auto r = Sm2PublicKey::FromRaw(bad);
        REQUIRE_FALSE(r.ok());
        CHECK(r.status().code() == StatusCode::kInvalidArgument);
        CHECK_THAT(r.status().message(), Catch::Contains("0x04"));
    }

    // Changing Y moves the point off the curve (x^3 + ax + b has at most two roots y).
    auto off_curve = Sm2PublicKey::FromRaw(Flip(raw, 64));
    REQUIRE_FALSE(off_curve.ok());
    CHECK(off_curve.status().code() == StatusCode::kInvalidArgument);
    CHECK_THAT(off_curve.status().message(), Catch::Contains("curve"));
    CHECK_FALSE(Sm2PublicKey::FromRaw(Concat(Bytes{0x04}, Bytes(64, 0x00))).ok());
    CHECK_FALSE(Sm2PublicKey::FromRaw(Concat(Bytes{0x04}, Bytes(64, 0xff))).ok());

    Sm2Verifier verifier;
    CHECK_FALSE(verifier.Verify(Flip(raw, 64), msg, Bytes(70, 0x30)));
    CHECK_FALSE(Sm2Verify(ByteView(raw).first(64), msg, Bytes(70, 0x30)));
}

TEST_CASE("SM2 private and public keys round trip through PEM and DER", "[crypto]") {
    const Sm2PrivateKey key = Sm2PrivateKey::Generate();
    const Sm2PublicKey pub = key.PublicKey();
    const Bytes msg = ToBytes("round trip");

    const std::string priv_pem = key.ToPem();
    CHECK(priv_pem.rfind("-----BEGIN PRIVATE KEY-----", 0) == 0);  // PKCS#8, not SEC1
    const Bytes priv_der = key.ToDer();
    // PKCS#8 PrivateKeyInfo: SEQUENCE { INTEGER 0 (version), AlgorithmIdentifier, ... }.
    REQUIRE(priv_der.size() > 6);
    CHECK(ToHex(ByteView(priv_der).first(3)) == "308187");
    CHECK(ToHex(ByteView(priv_der).subspan(3, 3)) == "020100");
    const std::string pub_pem = pub.ToPem();
    CHECK(pub_pem.rfind("-----BEGIN PUBLIC KEY-----", 0) == 0);
    const Bytes pub_der = pub.ToDer();

    auto from_priv_pem = Sm2PrivateKey::FromPem(priv_pem);
    auto from_priv_der = Sm2PrivateKey::FromDer(priv_der);
    auto from_pub_pem = Sm2PublicKey::FromPem(pub_pem);
    auto from_pub_der = Sm2PublicKey::FromDer(pub_der);
    REQUIRE(from_priv_pem.ok());
    REQUIRE(from_priv_der.ok());
    REQUIRE(from_pub_pem.ok());
    REQUIRE(from_pub_der.ok());

    CHECK(from_priv_pem->ToDer() == priv_der);
    CHECK(from_priv_der->ToPem() == priv_pem);
    CHECK(from_pub_pem->Raw() == pub.Raw());
    CHECK(from_pub_der->Raw() == pub.Raw());
    CHECK(from_priv_pem->PublicKey().Raw() == pub.Raw());

    // Signatures cross between the original and every reloaded form.
    CHECK(from_pub_pem->Verify(msg, key.Sign(msg)));
    CHECK(from_pub_der->Verify(msg, key.Sign(msg)));
    CHECK(pub.Verify(msg, from_priv_pem->Sign(msg)));
    CHECK(pub.Verify(msg, from_priv_der->Sign(msg)));
    CHECK(from_pub_der->Verify(msg, from_priv_pem->Sign(msg, "other"), "other"));
    CHECK_FALSE(from_pub_der->Verify(msg, from_priv_pem->Sign(msg), "other"));
    // Encryption crosses too.
    auto ct = from_pub_pem->Encrypt(msg);
    REQUIRE(ct.ok());
    auto pt = from_priv_der->Decrypt(*ct);
    REQUIRE(pt.ok());
    CHECK(*pt == msg);
}

TEST_CASE("SM2 key loading refuses garbage, other curves, trailing bytes and encrypted PEM",
          "[crypto]") {
    CHECK_FALSE(Sm2PrivateKey::FromPem("not a key").ok());
    CHECK_FALSE(Sm2PrivateKey::FromPem("").ok());
    CHECK_FALSE(Sm2PublicKey::FromPem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
                    .ok());
    CHECK_FALSE(Sm2PrivateKey::FromDer(RandomBytes(100)).ok());
    CHECK_FALSE(Sm2PrivateKey::FromDer(ByteView{}).ok());
    CHECK_FALSE(Sm2PublicKey::FromDer(RandomBytes(91)).ok());

    const Sm2PrivateKey key = Sm2PrivateKey::Generate();
    CHECK_FALSE(Sm2PublicKey::FromDer(Concat(key.PublicKey().ToDer(), Bytes{0})).ok());
    CHECK_FALSE(Sm2PrivateKey::FromDer(Concat(key.ToDer(), Bytes{0})).ok());
    CHECK_FALSE(Sm2PublicKey::FromPem(key.ToPem()).ok());          // a private key PEM
    CHECK_FALSE(Sm2PrivateKey::FromPem(key.PublicKey().ToPem()).ok());  // no private part

    // A P-256 key is a valid EC key but not an SM2 key.
    TestPkey p256(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    REQUIRE(p256);
    const std::string p256_priv = ToPemString([&](BIO* b) {
        return PEM_write_bio_PrivateKey(b, p256.get(), nullptr, nullptr, 0, nullptr, nullptr);
    });
    const std::string p256_pub =
        ToPemString([&](BIO* b) { return PEM_write_bio_PUBKEY(b, p256.get()); });
    auto priv = Sm2PrivateKey::FromPem(p256_priv);
    REQUIRE_FALSE(priv.ok());
    CHECK(priv.status().code() == StatusCode::kInvalidArgument);
    CHECK_THAT(priv.status().message(), Catch::Contains("not an SM2 key"));
    auto pub = Sm2PublicKey::FromPem(p256_pub);
    REQUIRE_FALSE(pub.ok());
    CHECK_THAT(pub.status().message(), Catch::Contains("not an SM2 key"));

    // An SM2 key made by OpenSSL directly loads; encrypted with a passphrase it is refused
    // rather than prompted for.
    TestPkey sm2(EVP_PKEY_Q_keygen(nullptr, nullptr, "SM2"));
    REQUIRE(sm2);
    const std::string plain = ToPemString([&](BIO* b) {
        return PEM_write_bio_PrivateKey(b, sm2.get(), nullptr, nullptr, 0, nullptr, nullptr);
    });
    CHECK(Sm2PrivateKey::FromPem(plain).ok());
    static char kPassphrase[] = "secret";
    const std::string encrypted = ToPemString([&](BIO* b) {
        return PEM_write_bio_PKCS8PrivateKey(b, sm2.get(), EVP_aes_128_cbc(), kPassphrase, 6,
                                             nullptr, nullptr);
    });
    CHECK(encrypted.find("ENCRYPTED") != std::string::npos);
    CHECK_FALSE(Sm2PrivateKey::FromPem(encrypted).ok());
}

TEST_CASE("SM2 public keys in compressed SubjectPublicKeyInfo export uncompressed raw",
          "[crypto]") {
    const Sm2PrivateKey key = Sm2PrivateKey::Generate();
    const Bytes raw = key.PublicKey().Raw();
    // SEQUENCE { SEQUENCE { id-ecPublicKey, SM2 curve }, BIT STRING { 02|03 || X } }.
    Bytes der = Hex("3039301306072a8648ce3d020106082a811ccf5501822d032200");
    der.push_back(static_cast<uint8_t>(0x02 | (raw[64] & 1)));
    der.insert(der.end(), raw.begin() + 1, raw.begin() + 33);

    auto pub = Sm2PublicKey::FromDer(der);
    REQUIRE(pub.ok());
    CHECK(pub->Raw() == raw);
    const Bytes msg = ToBytes("compressed");
    CHECK(pub->Verify(msg, key.Sign(msg)));
}

// ---- SM2 encryption ----

TEST_CASE("SM2 encryption round trips and refuses tampering and other keys", "[crypto]") {
    const Sm2PrivateKey key = Sm2PrivateKey::Generate();
    const Sm2PublicKey pub = key.PublicKey();

    for (size_t size : {size_t{1}, size_t{32}, size_t{1024}}) {
        INFO("plaintext size " << size);
        const Bytes plaintext = RandomBytes(size);
        auto ct = pub.Encrypt(plaintext);
        REQUIRE(ct.ok());
        CHECK(*ct != plaintext);
        auto pt = key.Decrypt(*ct);
        REQUIRE(pt.ok());
        CHECK(*pt == plaintext);
    }

    auto empty = pub.Encrypt(ByteView{});
    REQUIRE_FALSE(empty.ok());
    CHECK(empty.status().code() == StatusCode::kInvalidArgument);

    const Bytes plaintext = RandomBytes(100);
    auto ct = pub.Encrypt(plaintext);
    REQUIRE(ct.ok());
    CHECK(*pub.Encrypt(plaintext) != *ct);  // randomised
    // Flip bytes in C1 (the point), C3 (the hash) and C2 (the body), which sit in that order.
    for (size_t i : {size_t{8}, size_t{40}, ct->size() - 60, ct->size() - 1}) {
        INFO("flipped ciphertext byte " << i);
        auto r = key.Decrypt(Flip(*ct, i));
        REQUIRE_FALSE(r.ok());
        const StatusCode code = r.status().code();
        CHECK((code == StatusCode::kUnauthenticated || code == StatusCode::kInvalidArgument));
    }
    auto truncated = key.Decrypt(ByteView(*ct).first(ct->size() - 1));
    CHECK_FALSE(truncated.ok());
    CHECK_FALSE(key.Decrypt(ByteView{}).ok());
    CHECK_FALSE(key.Decrypt(RandomBytes(120)).ok());

    auto other = Sm2PrivateKey::Generate().Decrypt(*ct);
    REQUIRE_FALSE(other.ok());
    CHECK(other.status().code() == StatusCode::kUnauthenticated);
}

// ---- Seal / Open ----

TEST_CASE("Seal and Open round trip with associated data", "[crypto]") {
    const Bytes key = RandomBytes(kSealKeySize);
    const Bytes aad = ToBytes("channel=7,height=42");
    for (size_t size : {size_t{0}, size_t{1}, size_t{16}, size_t{1000}}) {
        INFO("plaintext size " << size);
        const Bytes plaintext = RandomBytes(size);
        const Bytes sealed = Seal(key, plaintext, aad);
        CHECK(sealed.size() == 16 + size + 32);
        auto opened = Open(key, sealed, aad);
        REQUIRE(opened.ok());
        CHECK(*opened == plaintext);
    }
    const Bytes plaintext = ToBytes("reading 1234.5 kWh");
    CHECK(Seal(key, plaintext) != Seal(key, plaintext));  // fresh IV each time
    auto no_aad = Open(key, Seal(key, plaintext));
    REQUIRE(no_aad.ok());
    CHECK(*no_aad == plaintext);
}

TEST_CASE("Open refuses tampering, the wrong key and malformed input", "[crypto]") {
    const Bytes key = RandomBytes(kSealKeySize);
    const Bytes aad = ToBytes("aad");
    const Bytes plaintext = ToBytes("settlement batch 19");
    const Bytes sealed = Seal(key, plaintext, aad);

    auto refused = [&](ByteView k, ByteView s, ByteView a) {
        auto r = Open(k, s, a);
        REQUIRE_FALSE(r.ok());
        return r.status();
    };
    // iv, ciphertext and tag positions.
    for (size_t i : {size_t{0}, size_t{15}, size_t{16}, size_t{16 + plaintext.size() - 1},
                     sealed.size() - 32, sealed.size() - 1}) {
        INFO("flipped sealed byte " << i);
        const Status s = refused(key, Flip(sealed, i), aad);
        CHECK(s.code() == StatusCode::kUnauthenticated);
        CHECK(s.message() == "payload authentication failed");
    }
    CHECK(refused(key, sealed, Flip(aad, 0)).code() == StatusCode::kUnauthenticated);
    CHECK(refused(key, sealed, ByteView{}).code() == StatusCode::kUnauthenticated);
    CHECK(refused(key, sealed, Concat(aad, Bytes{0})).code() == StatusCode::kUnauthenticated);
    CHECK(refused(RandomBytes(kSealKeySize), sealed, aad).code() == StatusCode::kUnauthenticated);
    CHECK(refused(Flip(key, 31), sealed, aad).code() == StatusCode::kUnauthenticated);

    CHECK(refused(key, ByteView(sealed).first(47), aad).code() == StatusCode::kInvalidArgument);
    CHECK(refused(key, ByteView{}, aad).code() == StatusCode::kInvalidArgument);
    CHECK(refused(ByteView(key).first(16), sealed, aad).code() == StatusCode::kInvalidArgument);
    CHECK(refused(Concat(key, Bytes{0}), sealed, aad).code() == StatusCode::kInvalidArgument);
    // Truncating the ciphertext keeps the minimum length but breaks the tag.
    Bytes cut(sealed.begin(), sealed.end());
    cut.erase(cut.begin() + 16);
    CHECK(refused(key, cut, aad).code() == StatusCode::kUnauthenticated);
}

// ---- Signer / Verifier ----

TEST_CASE("Sm2Signer and Sm2Verifier agree and carry the raw public key", "[crypto]") {
    Sm2PrivateKey key = Sm2PrivateKey::Generate();
    const Bytes raw = key.PublicKey().Raw();
    const Sm2Signer signer(key);
    const Sm2Verifier verifier;
    const Signer& as_signer = signer;
    const Verifier& as_verifier = verifier;

    CHECK(as_signer.PublicKey() == raw);
    const Bytes msg = ToBytes("prepare v=1 n=5");
    const Bytes sig = as_signer.Sign(msg);
    CHECK(as_verifier.Verify(raw, msg, sig));
    CHECK(key.PublicKey().Verify(msg, sig));
    CHECK_FALSE(as_verifier.Verify(raw, Flip(msg, 0), sig));
    CHECK_FALSE(as_verifier.Verify(Sm2PrivateKey::Generate().PublicKey().Raw(), msg, sig));
    CHECK_FALSE(as_verifier.Verify(Bytes(65, 0x04), msg, sig));
    CHECK_FALSE(as_verifier.Verify(ByteView{}, msg, sig));

    const Sm2Signer other_id_signer(key, "meterchain-test");
    CHECK_FALSE(as_verifier.Verify(raw, msg, other_id_signer.Sign(msg)));
    CHECK(Sm2Verifier("meterchain-test").Verify(raw, msg, other_id_signer.Sign(msg)));
}

// ---- Interoperation with the openssl command line ----

TEST_CASE("SM2 signatures and keys interoperate with the openssl command line", "[crypto]") {
    if (std::system("openssl version > /dev/null 2>&1") != 0) {
        WARN("openssl command not found: skipping the interop test");
        return;
    }
    namespace fs = std::filesystem;
    char dir_template[] = "/tmp/mc_crypto_test_XXXXXX";
    REQUIRE(mkdtemp(dir_template) != nullptr);
    const fs::path dir = dir_template;
    auto path = [&](const char* name) { return (dir / name).string(); };
    auto write = [&](const char* name, ByteView data) {
        std::ofstream out(path(name), std::ios::binary);
        out.write(reinterpret_cast<const char*>(data.data()),
                  static_cast<std::streamsize>(data.size()));
    };
    auto read = [&](const char* name) {
        std::ifstream in(path(name), std::ios::binary);
        return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    };
    auto run = [&](const std::string& cmd) {
        return std::system(("cd " + dir.string() + " && " + cmd + " > /dev/null 2>&1").c_str());
    };

    const Sm2PrivateKey key = Sm2PrivateKey::Generate();
    const Bytes msg = ToBytes("interop message");
    write("key.pem", AsBytes(key.ToPem()));
    write("pub.pem", AsBytes(key.PublicKey().ToPem()));
    write("msg", msg);

    // Ours -> OpenSSL.
    write("ours.sig", key.Sign(msg));
    CHECK(run("openssl dgst -sm3 -verify pub.pem -sigopt distid:1234567812345678 "
              "-signature ours.sig msg") == 0);
    CHECK(run("openssl dgst -sm3 -verify pub.pem -sigopt distid:other "
              "-signature ours.sig msg") != 0);

    // OpenSSL -> ours.
    REQUIRE(run("openssl dgst -sm3 -sign key.pem -sigopt distid:1234567812345678 "
                "-out theirs.sig msg") == 0);
    CHECK(key.PublicKey().Verify(msg, read("theirs.sig")));

    // Keys generated by the CLI, PKCS#8 and SEC1, load and sign.
    REQUIRE(run("openssl genpkey -algorithm SM2 -out gen.pem") == 0);
    REQUIRE(run("openssl ecparam -name SM2 -genkey -noout -out sec1.pem") == 0);
    REQUIRE(run("openssl pkey -in sec1.pem -outform DER -traditional -out sec1.der") == 0);
    for (const char* name : {"gen.pem", "sec1.pem"}) {
        INFO(name);
        const Bytes pem = read(name);
        auto loaded = Sm2PrivateKey::FromPem(ToString(pem));
        REQUIRE(loaded.ok());
        CHECK(loaded->PublicKey().Verify(msg, loaded->Sign(msg)));
    }
    auto sec1_der = Sm2PrivateKey::FromDer(read("sec1.der"));
    REQUIRE(sec1_der.ok());
    CHECK(sec1_der->PublicKey().Verify(msg, sec1_der->Sign(msg)));

    // SM2 encryption: OpenSSL encrypts to our key, we decrypt.
    REQUIRE(run("openssl pkeyutl -encrypt -pubin -inkey pub.pem -in msg -out msg.enc") == 0);
    auto pt = key.Decrypt(read("msg.enc"));
    REQUIRE(pt.ok());
    CHECK(*pt == msg);

    fs::remove_all(dir);
}

TEST_CASE("CachedVerifier checks a signature once and never remembers a failure", "[crypto]") {
    crypto::Sm2Signer signer(crypto::Sm2PrivateKey::Generate());
    crypto::Sm2Verifier inner;
    crypto::CachedVerifier cached(inner, 4);
    const Bytes msg = ToBytes("PREPARE h=7");
    const Bytes sig = signer.Sign(msg);
    REQUIRE(cached.Verify(signer.PublicKey(), msg, sig));
    REQUIRE(cached.Verify(signer.PublicKey(), msg, sig));
    REQUIRE(inner.verifications() == 1);
    // Another message with the same signature is a different triple.
    REQUIRE_FALSE(cached.Verify(signer.PublicKey(), ToBytes("PREPARE h=8"), sig));
    REQUIRE_FALSE(cached.Verify(signer.PublicKey(), ToBytes("PREPARE h=8"), sig));
    REQUIRE(inner.verifications() == 3);
    // Bounded: after many others the first is forgotten and checked again, still correctly.
    for (int i = 0; i < 8; ++i) {
        const Bytes m = ToBytes("m" + std::to_string(i));
        REQUIRE(cached.Verify(signer.PublicKey(), m, signer.Sign(m)));
    }
    REQUIRE(cached.Verify(signer.PublicKey(), msg, sig));
    REQUIRE(inner.verifications() == 12);
}

TEST_CASE("Sm2Verifier accounts the CPU time its verifications take", "[crypto]") {
    crypto::Sm2Signer signer(crypto::Sm2PrivateKey::Generate());
    crypto::Sm2Verifier verifier;
    const Bytes msg = ToBytes("COMMIT h=9");
    const Bytes sig = signer.Sign(msg);
    REQUIRE(verifier.verify_cpu_ns() == 0);
    auto thread_cpu_ns = [] {
        timespec ts{};
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull +
               static_cast<uint64_t>(ts.tv_nsec);
    };
    const uint64_t before = thread_cpu_ns();
    for (int i = 0; i < 20; ++i) REQUIRE(verifier.Verify(signer.PublicKey(), msg, sig));
    const uint64_t spent = thread_cpu_ns() - before;
    REQUIRE(verifier.verifications() == 20);
    // Counted, and only inside this thread's CPU time for the loop (which also parsed the
    // key once and ran the REQUIREs).
    REQUIRE(verifier.verify_cpu_ns() > 0);
    REQUIRE(verifier.verify_cpu_ns() <= spent);
    // A failed check costs the same work and is counted too.
    const uint64_t counted = verifier.verify_cpu_ns();
    REQUIRE_FALSE(verifier.Verify(signer.PublicKey(), ToBytes("COMMIT h=10"), sig));
    REQUIRE(verifier.verify_cpu_ns() > counted);
}
