// The Chinese national cryptographic suite (SM2, SM3, SM4) over OpenSSL 3's EVP API.
//
// Thread-safety: free functions and const member functions are safe to call concurrently;
// key objects are immutable after construction and may be shared between threads.
// Ownership: key classes own their EVP_PKEY and free it; they are movable and copyable
// (copies share the reference-counted EVP_PKEY).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "node/base/bytes.h"
#include "node/base/status.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace meterchain::crypto {

// The distinguishing ID of GB/T 32918 used when none is configured. OpenSSL 3.0 would
// otherwise use an empty ID, which does not interoperate.
inline constexpr std::string_view kDefaultSm2Id = "1234567812345678";

// ---- SM3 (GB/T 32905) ----
Hash256 Sm3(ByteView data);
inline Hash256 Sm3(std::string_view s) { return Sm3(AsBytes(s)); }

// Streaming SM3. Not thread-safe; one instance per thread of use.
class Sm3Hasher {
public:
    Sm3Hasher();
    ~Sm3Hasher();
    Sm3Hasher(const Sm3Hasher&) = delete;
    Sm3Hasher& operator=(const Sm3Hasher&) = delete;

    Sm3Hasher& Update(ByteView data);
    Sm3Hasher& Update(std::string_view s) { return Update(AsBytes(s)); }
    // Returns the digest and resets the hasher for reuse.
    Hash256 Final();

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

// HMAC with SM3 as the hash.
Hash256 HmacSm3(ByteView key, ByteView data);

// Compares in time that depends only on the lengths, never on the contents.
bool ConstantTimeEqual(ByteView a, ByteView b);

// Cryptographically secure random bytes from OpenSSL's DRBG. Aborts if the DRBG fails:
// continuing without randomness would be worse.
Bytes RandomBytes(size_t n);

// ---- SM2 (GB/T 32918) ----
class Sm2PublicKey {
public:
    // Raw uncompressed point: 0x04 || X (32) || Y (32). This is the form used on chain.
    static Result<Sm2PublicKey> FromRaw(ByteView raw65);
    // Keys decoded from PEM/DER must be on the SM2 curve (kInvalidArgument otherwise).
    static Result<Sm2PublicKey> FromPem(std::string_view pem);   // SubjectPublicKeyInfo PEM
    static Result<Sm2PublicKey> FromDer(ByteView der);           // SubjectPublicKeyInfo DER

    Bytes Raw() const;  // 65 bytes
    std::string ToPem() const;
    Bytes ToDer() const;

    // Verifies an SM2 signature (DER-encoded r,s) over SM3(Z_A || msg) with the given
    // distinguishing ID. Returns false on any mismatch or malformed signature.
    bool Verify(ByteView msg, ByteView signature, std::string_view id = kDefaultSm2Id) const;

    // SM2 public-key encryption (C1C3C2 ASN.1 as OpenSSL produces it). An empty plaintext
    // fails with kInvalidArgument: GB/T 32918.4 cannot encrypt it.
    Result<Bytes> Encrypt(ByteView plaintext) const;

    EVP_PKEY* native() const { return m_key.get(); }

private:
    explicit Sm2PublicKey(std::shared_ptr<EVP_PKEY> key) : m_key(std::move(key)) {}
    std::shared_ptr<EVP_PKEY> m_key;
    friend class Sm2PrivateKey;
};

class Sm2PrivateKey {
public:
    static Sm2PrivateKey Generate();
    // PKCS#8 PEM, unencrypted (encrypted PEM is refused, never prompted for). The caller
    // keeps the file readable by the owner only.
    static Result<Sm2PrivateKey> FromPem(std::string_view pem);
    static Result<Sm2PrivateKey> FromDer(ByteView der);  // PKCS#8 DER (SEC1 also accepted)

    std::string ToPem() const;  // PKCS#8 PEM; never log this
    Bytes ToDer() const;        // PKCS#8 DER; never log this
    Sm2PublicKey PublicKey() const;

    // Returns a DER-encoded signature over SM3(Z_A || msg). SM2 signing is randomised.
    // Aborts only if OpenSSL itself fails.
    Bytes Sign(ByteView msg, std::string_view id = kDefaultSm2Id) const;

    // Decrypts ciphertext made by Sm2PublicKey::Encrypt. kInvalidArgument when the input is
    // not an SM2 ciphertext; kUnauthenticated on tampering or the wrong key.
    Result<Bytes> Decrypt(ByteView ciphertext) const;

private:
    explicit Sm2PrivateKey(std::shared_ptr<EVP_PKEY> key) : m_key(std::move(key)) {}
    std::shared_ptr<EVP_PKEY> m_key;
};

// Convenience: verify against a raw 65-byte public key (parses it each call; cache an
// Sm2PublicKey on hot paths).
bool Sm2Verify(ByteView raw_pub, ByteView msg, ByteView signature,
               std::string_view id = kDefaultSm2Id);

// ---- SM4 (GB/T 32907) ----
inline constexpr size_t kSm4KeySize = 16;
inline constexpr size_t kSm4BlockSize = 16;

// The SM4 functions and Seal abort on a key, block or IV of the wrong size: the sizes are
// fixed by our own code, so a mismatch is a programming error.

// One block of SM4 in ECB mode (for test vectors and key wrapping internals only).
Bytes Sm4EncryptBlock(ByteView key16, ByteView block16);
Bytes Sm4DecryptBlock(ByteView key16, ByteView block16);
// Encrypts a block `times` times in a row (the GB/T 32907 one-million-iterations vector).
Bytes Sm4EncryptBlockRepeated(ByteView key16, ByteView block16, size_t times);

// SM4-CTR keystream XOR; encryption and decryption are the same operation. No integrity.
Bytes Sm4Ctr(ByteView key16, ByteView iv16, ByteView data);

// Authenticated encryption for payloads: SM4-CTR then HMAC-SM3 (encrypt-then-MAC), since the
// installed OpenSSL has no SM4-GCM. The 32-byte key is split by HMAC-SM3 key derivation into
// an encryption key and a MAC key. Output: iv (16) || ciphertext || tag (32).
// `aad` is authenticated but not encrypted.
inline constexpr size_t kSealKeySize = 32;
Bytes Seal(ByteView key32, ByteView plaintext, ByteView aad = {});
// Fails with kUnauthenticated when the tag does not match (tampering or wrong key), and with
// kInvalidArgument when the key is not 32 bytes or `sealed` is shorter than iv + tag.
Result<Bytes> Open(ByteView key32, ByteView sealed, ByteView aad = {});

}  // namespace meterchain::crypto
