// SM3, HMAC-SM3, SM4 and the payload seal. SM2 lives in sm2.cpp.
#include "node/crypto/sm.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstdio>
#include <cstdlib>

#include "node/crypto/openssl_util.h"

namespace meterchain::crypto {

namespace detail {

std::string OpenSslError(std::string what) {
    const unsigned long code = ERR_get_error();
    ERR_clear_error();
    if (code != 0) {
        char reason[256];
        ERR_error_string_n(code, reason, sizeof reason);
        what += ": ";
        what += reason;
    }
    return what;
}

void Fatal(const std::string& what) {
    std::fprintf(stderr, "meterchain crypto: %s\n", OpenSslError(what).c_str());
    std::abort();
}

// Fetching by name walks the provider's method store under a lock; for small messages that
// costs more than the hashing, so each algorithm is fetched once and kept (the statics are
// initialised thread-safely and deliberately never freed).
const EVP_MD* Sm3Md() {
    static const EVP_MD* const md = [] {
        EVP_MD* fetched = EVP_MD_fetch(nullptr, "SM3", nullptr);
        if (fetched == nullptr) Fatal("SM3 is not available from the OpenSSL default provider");
        return fetched;
    }();
    return md;
}

}  // namespace detail

using namespace detail;

namespace {

// OpenSSL's length parameters are ints in places; larger inputs are processed in pieces.
constexpr size_t kMaxChunk = size_t{1} << 30;

EVP_MAC* HmacMac() {
    static EVP_MAC* const mac = [] {
        EVP_MAC* fetched = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
        if (fetched == nullptr) Fatal("HMAC is not available from the OpenSSL default provider");
        return fetched;
    }();
    return mac;
}

const EVP_CIPHER* FetchCipher(const char* name) {
    EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, name, nullptr);
    if (cipher == nullptr) Fatal(std::string(name) + " is not available from OpenSSL");
    return cipher;
}

const EVP_CIPHER* Sm4Ecb() {
    static const EVP_CIPHER* const cipher = FetchCipher("SM4-ECB");
    return cipher;
}

const EVP_CIPHER* Sm4CtrCipher() {
    static const EVP_CIPHER* const cipher = FetchCipher("SM4-CTR");
    return cipher;
}

// HMAC-SM3 over several pieces without concatenating them first.
class HmacSm3Stream {
public:
    explicit HmacSm3Stream(ByteView key) : m_ctx(EVP_MAC_CTX_new(HmacMac())) {
        // The digest name is only read during EVP_MAC_init; the const_cast is OpenSSL's API.
        const OSSL_PARAM params[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>("SM3"), 0),
            OSSL_PARAM_construct_end()};
        // A null key means "keep the previous key" to EVP_MAC_init, so an empty key must
        // still be passed as a non-null pointer.
        static const uint8_t kNoKey = 0;
        const uint8_t* key_data = key.empty() ? &kNoKey : key.data();
        if (!m_ctx || EVP_MAC_init(m_ctx.get(), key_data, key.size(), params) != 1) {
            Fatal("HMAC-SM3 init failed");
        }
    }

    HmacSm3Stream& Update(ByteView data) {
        if (!data.empty() && EVP_MAC_update(m_ctx.get(), data.data(), data.size()) != 1) {
            Fatal("HMAC-SM3 update failed");
        }
        return *this;
    }

    Hash256 Final() {
        Hash256 out;
        size_t len = 0;
        if (EVP_MAC_final(m_ctx.get(), out.data(), &len, out.size()) != 1 || len != out.size()) {
            Fatal("HMAC-SM3 final failed");
        }
        return out;
    }

private:
    MacCtxPtr m_ctx;
};

void RequireSize(ByteView data, size_t size, const char* what) {
    if (data.size() != size) {
        Fatal(std::string(what) + " must be " + std::to_string(size) + " bytes, got " +
              std::to_string(data.size()));
    }
}

// Runs an SM4 mode over `data` with padding off: ECB callers pass whole blocks, CTR is a
// stream mode.
Bytes Sm4Apply(const EVP_CIPHER* cipher, bool encrypt, ByteView key, const uint8_t* iv,
               ByteView data) {
    RequireSize(key, kSm4KeySize, "an SM4 key");
    CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
    if (!ctx ||
        EVP_CipherInit_ex2(ctx.get(), cipher, key.data(), iv, encrypt ? 1 : 0, nullptr) != 1 ||
        EVP_CIPHER_CTX_set_padding(ctx.get(), 0) != 1) {
        Fatal("SM4 init failed");
    }
    Bytes out(data.size() + kSm4BlockSize);
    size_t written = 0;
    for (size_t pos = 0; pos < data.size(); pos += kMaxChunk) {
        const size_t n = std::min(kMaxChunk, data.size() - pos);
        int len = 0;
        if (EVP_CipherUpdate(ctx.get(), out.data() + written, &len, data.data() + pos,
                             static_cast<int>(n)) != 1) {
            Fatal("SM4 failed");
        }
        written += static_cast<size_t>(len);
    }
    int len = 0;
    if (EVP_CipherFinal_ex(ctx.get(), out.data() + written, &len) != 1) Fatal("SM4 final failed");
    written += static_cast<size_t>(len);
    out.resize(written);
    return out;
}

}  // namespace

// ---- SM3 ----

Hash256 Sm3(ByteView data) {
    Hash256 out;
    unsigned int len = 0;
    if (EVP_Digest(data.data(), data.size(), out.data(), &len, Sm3Md(), nullptr) != 1 ||
        len != out.size()) {
        Fatal("SM3 failed");
    }
    return out;
}

struct Sm3Hasher::Impl {
    MdCtxPtr ctx{EVP_MD_CTX_new()};
};

Sm3Hasher::Sm3Hasher() : m_impl(std::make_unique<Impl>()) {
    if (!m_impl->ctx || EVP_DigestInit_ex2(m_impl->ctx.get(), Sm3Md(), nullptr) != 1) {
        Fatal("SM3 init failed");
    }
}

Sm3Hasher::~Sm3Hasher() = default;

Sm3Hasher& Sm3Hasher::Update(ByteView data) {
    if (EVP_DigestUpdate(m_impl->ctx.get(), data.data(), data.size()) != 1) {
        Fatal("SM3 update failed");
    }
    return *this;
}

Hash256 Sm3Hasher::Final() {
    Hash256 out;
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(m_impl->ctx.get(), out.data(), &len) != 1 || len != out.size() ||
        EVP_DigestInit_ex2(m_impl->ctx.get(), Sm3Md(), nullptr) != 1) {
        Fatal("SM3 final failed");
    }
    return out;
}

Hash256 HmacSm3(ByteView key, ByteView data) { return HmacSm3Stream(key).Update(data).Final(); }

bool ConstantTimeEqual(ByteView a, ByteView b) {
    if (a.size() != b.size()) return false;
    if (a.empty()) return true;
    return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Bytes RandomBytes(size_t n) {
    Bytes out(n);
    for (size_t pos = 0; pos < n; pos += kMaxChunk) {
        const size_t chunk = std::min(kMaxChunk, n - pos);
        if (RAND_bytes(out.data() + pos, static_cast<int>(chunk)) != 1) {
            Fatal("the OpenSSL DRBG failed");
        }
    }
    return out;
}

// ---- SM4 ----

Bytes Sm4EncryptBlock(ByteView key16, ByteView block16) {
    RequireSize(block16, kSm4BlockSize, "an SM4 block");
    return Sm4Apply(Sm4Ecb(), true, key16, nullptr, block16);
}

Bytes Sm4DecryptBlock(ByteView key16, ByteView block16) {
    RequireSize(block16, kSm4BlockSize, "an SM4 block");
    return Sm4Apply(Sm4Ecb(), false, key16, nullptr, block16);
}

Bytes Sm4EncryptBlockRepeated(ByteView key16, ByteView block16, size_t times) {
    RequireSize(key16, kSm4KeySize, "an SM4 key");
    RequireSize(block16, kSm4BlockSize, "an SM4 block");
    // One context keyed once: re-keying per block would dominate the million-round vector.
    CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
    if (!ctx || EVP_EncryptInit_ex2(ctx.get(), Sm4Ecb(), key16.data(), nullptr, nullptr) != 1 ||
        EVP_CIPHER_CTX_set_padding(ctx.get(), 0) != 1) {
        Fatal("SM4 init failed");
    }
    Bytes block(block16.begin(), block16.end());
    for (size_t i = 0; i < times; ++i) {
        int len = 0;
        // ECB without padding emits each whole block at once; in-place operation is allowed.
        if (EVP_EncryptUpdate(ctx.get(), block.data(), &len, block.data(),
                              static_cast<int>(kSm4BlockSize)) != 1 ||
            len != static_cast<int>(kSm4BlockSize)) {
            Fatal("SM4 failed");
        }
    }
    return block;
}

Bytes Sm4Ctr(ByteView key16, ByteView iv16, ByteView data) {
    RequireSize(iv16, kSm4BlockSize, "an SM4-CTR IV");
    return Sm4Apply(Sm4CtrCipher(), true, key16, iv16.data(), data);
}

// ---- Seal / Open ----

namespace {

constexpr size_t kSealTagSize = 32;

// Separate keys for encryption and authentication, so the MAC key never touches SM4.
struct SealKeys {
    std::array<uint8_t, kSm4KeySize> enc;
    Hash256 mac;

    explicit SealKeys(ByteView key32) {
        Hash256 enc_full = HmacSm3(key32, AsBytes("meterchain/seal/enc"));
        std::copy_n(enc_full.begin(), enc.size(), enc.begin());
        OPENSSL_cleanse(enc_full.data(), enc_full.size());
        mac = HmacSm3(key32, AsBytes("meterchain/seal/mac"));
    }
    ~SealKeys() {
        OPENSSL_cleanse(enc.data(), enc.size());
        OPENSSL_cleanse(mac.data(), mac.size());
    }
    SealKeys(const SealKeys&) = delete;
    SealKeys& operator=(const SealKeys&) = delete;
};

// tag = HMAC-SM3(mac_key, len(aad) as u64 BE || aad || iv || ciphertext). The length prefix
// keeps the aad/iv boundary unambiguous, so bytes cannot move between aad and ciphertext.
Hash256 SealTag(const Hash256& mac_key, ByteView aad, ByteView iv, ByteView ciphertext) {
    std::array<uint8_t, 8> aad_len;
    const uint64_t n = aad.size();
    for (size_t i = 0; i < aad_len.size(); ++i) {
        aad_len[i] = static_cast<uint8_t>(n >> (56 - 8 * i));
    }
    return HmacSm3Stream(mac_key).Update(aad_len).Update(aad).Update(iv).Update(ciphertext).Final();
}

}  // namespace

Bytes Seal(ByteView key32, ByteView plaintext, ByteView aad) {
    RequireSize(key32, kSealKeySize, "a seal key");
    const SealKeys keys(key32);
    // A random IV per message: CTR with a repeated (key, IV) pair would leak the XOR of the
    // plaintexts. With 128-bit IVs, collisions are negligible for any realistic volume.
    const Bytes iv = RandomBytes(kSm4BlockSize);
    const Bytes ciphertext = Sm4Ctr(keys.enc, iv, plaintext);
    const Hash256 tag = SealTag(keys.mac, aad, iv, ciphertext);

    Bytes out;
    out.reserve(iv.size() + ciphertext.size() + tag.size());
    out.insert(out.end(), iv.begin(), iv.end());
    out.insert(out.end(), ciphertext.begin(), ciphertext.end());
    out.insert(out.end(), tag.begin(), tag.end());
    return out;
}

Result<Bytes> Open(ByteView key32, ByteView sealed, ByteView aad) {
    if (key32.size() != kSealKeySize) {
        return InvalidArgument("a seal key must be " + std::to_string(kSealKeySize) +
                               " bytes, got " + std::to_string(key32.size()));
    }
    if (sealed.size() < kSm4BlockSize + kSealTagSize) {
        return InvalidArgument("sealed payload is too short: " + std::to_string(sealed.size()) +
                               " bytes");
    }
    const SealKeys keys(key32);
    const ByteView iv = sealed.first(kSm4BlockSize);
    const ByteView ciphertext =
        sealed.subspan(kSm4BlockSize, sealed.size() - kSm4BlockSize - kSealTagSize);
    const ByteView tag = sealed.last(kSealTagSize);
    // Encrypt-then-MAC: nothing is decrypted before the tag checks out.
    if (!ConstantTimeEqual(SealTag(keys.mac, aad, iv, ciphertext), tag)) {
        return Unauthenticated("payload authentication failed");
    }
    return Sm4Ctr(keys.enc, iv, ciphertext);
}

}  // namespace meterchain::crypto
