// SM2 keys, signatures and public-key encryption over OpenSSL 3's EVP_PKEY API.
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <climits>
#include <cstdio>

#include "node/crypto/openssl_util.h"
#include "node/crypto/sm.h"

namespace meterchain::crypto {

using namespace detail;

namespace {

std::shared_ptr<EVP_PKEY> Share(PkeyPtr key) { return std::shared_ptr<EVP_PKEY>(std::move(key)); }

// Builds an "SM2"-typed key from a raw public point and, for a key pair, the private scalar.
// EVP_PKEY_fromdata decodes the point with EC_POINT_oct2point, which rejects points that are
// not on the curve.
Result<std::shared_ptr<EVP_PKEY>> Sm2FromData(ByteView pub, const BIGNUM* priv,
                                              const std::string& what) {
    ParamBldPtr bld(OSSL_PARAM_BLD_new());
    if (!bld ||
        OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "SM2", 0) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, pub.data(),
                                         pub.size()) != 1 ||
        (priv != nullptr &&
         OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, priv) != 1)) {
        Fatal("cannot build SM2 key parameters");
    }
    ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
    PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "SM2", nullptr));
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1) {
        Fatal("SM2 key import is not available");
    }
    EVP_PKEY* key = nullptr;
    const int selection = priv != nullptr ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY;
    if (EVP_PKEY_fromdata(ctx.get(), &key, selection, params.get()) != 1) {
        return InvalidArgument(OpenSslError(what));
    }
    return Share(PkeyPtr(key));
}

// The public point as 0x04 || X || Y. Built from the coordinates rather than read as
// OSSL_PKEY_PARAM_PUB_KEY, because that parameter follows the key's point conversion form,
// which is "compressed" for a key decoded from a compressed SubjectPublicKeyInfo.
Bytes RawPublic(const EVP_PKEY* key) {
    BIGNUM* x = nullptr;
    BIGNUM* y = nullptr;
    const bool got = EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &x) == 1 &&
                     EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &y) == 1;
    const BnPtr x_owned(x);
    const BnPtr y_owned(y);
    Bytes out(kRawPublicKeySize);
    out[0] = 0x04;
    if (!got ||
        BN_bn2binpad(x, out.data() + 1, kCoordinateSize) != static_cast<int>(kCoordinateSize) ||
        BN_bn2binpad(y, out.data() + 1 + kCoordinateSize, kCoordinateSize) !=
            static_cast<int>(kCoordinateSize)) {
        Fatal("cannot export an SM2 public key");
    }
    return out;
}

// Accepts a key decoded from PEM or DER if it is on the SM2 curve, and returns it typed
// "SM2". Some OpenSSL 3.0 releases decode SM2 keys as type "EC" on the SM2 curve; such a key
// would sign with ECDSA rather than SM2, so it is rebuilt as an SM2 key. (3.0.22, installed
// here, already decodes them as "SM2".)
Result<std::shared_ptr<EVP_PKEY>> AdoptDecodedKey(PkeyPtr decoded, bool with_private) {
    if (EVP_PKEY_is_a(decoded.get(), "SM2")) return Share(std::move(decoded));

    char group[64] = {};
    size_t group_len = 0;
    const bool ec_on_sm2 =
        EVP_PKEY_is_a(decoded.get(), "EC") &&
        EVP_PKEY_get_group_name(decoded.get(), group, sizeof group, &group_len) == 1 &&
        std::string_view(group, group_len) == "SM2";
    ERR_clear_error();
    if (!ec_on_sm2) {
        const char* type = EVP_PKEY_get0_type_name(decoded.get());
        std::string got = type != nullptr ? type : "an unknown type";
        if (group_len > 0) got += std::string(" on curve ") + group;
        return InvalidArgument("not an SM2 key: got " + got);
    }

    SecretBnPtr priv;
    if (with_private) {
        BIGNUM* scalar = nullptr;
        if (EVP_PKEY_get_bn_param(decoded.get(), OSSL_PKEY_PARAM_PRIV_KEY, &scalar) != 1) {
            return InvalidArgument(OpenSslError("cannot read the SM2 private key"));
        }
        priv.reset(scalar);
    }
    return Sm2FromData(RawPublic(decoded.get()), priv.get(), "cannot re-import the SM2 key");
}

// Refuses encrypted PEM. Without a callback OpenSSL would prompt for a passphrase on the
// terminal, which would hang a node.
int NoPassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*user*/) { return -1; }

Result<BioPtr> ReadOnlyBio(std::string_view text) {
    if (text.size() > static_cast<size_t>(INT_MAX)) return InvalidArgument("PEM input too large");
    BioPtr bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
    if (!bio) Fatal("cannot allocate a memory BIO");
    return bio;
}

// Encodes a key with OSSL_ENCODER, which (unlike i2d_PrivateKey, which writes SEC1 for EC
// keys) lets us name the structure: "PrivateKeyInfo" (PKCS#8) or "SubjectPublicKeyInfo".
Bytes EncodeKey(const EVP_PKEY* key, int selection, const char* format, const char* structure) {
    EncoderCtxPtr ctx(
        OSSL_ENCODER_CTX_new_for_pkey(key, selection, format, structure, nullptr));
    unsigned char* data = nullptr;
    size_t len = 0;
    if (!ctx || OSSL_ENCODER_CTX_get_num_encoders(ctx.get()) == 0 ||
        OSSL_ENCODER_to_data(ctx.get(), &data, &len) != 1) {
        Fatal(std::string("cannot encode an SM2 key as ") + format + " " + structure);
    }
    Bytes out(data, data + len);
    // Private keys pass through this buffer: wipe it before returning it to the heap.
    OPENSSL_clear_free(data, len);
    return out;
}

// OpenSSL 3.0 uses an empty ID unless one is set, and signatures would then not interoperate
// with any other SM2 implementation (see /work/shared/TOOLCHAIN.md).
void SetDistinguishingId(EVP_PKEY_CTX* pctx, std::string_view id) {
    if (id.size() > static_cast<size_t>(INT_MAX) ||
        EVP_PKEY_CTX_set1_id(pctx, id.data(), static_cast<int>(id.size())) != 1) {
        Fatal("cannot set the SM2 distinguishing ID");
    }
}

}  // namespace

// ---- Sm2PublicKey ----

Result<Sm2PublicKey> Sm2PublicKey::FromRaw(ByteView raw65) {
    if (raw65.size() != kRawPublicKeySize) {
        return InvalidArgument("an SM2 public key must be 65 bytes (0x04 || X || Y), got " +
                               std::to_string(raw65.size()));
    }
    if (raw65[0] != 0x04) {
        char prefix[8];
        std::snprintf(prefix, sizeof prefix, "0x%02x", raw65[0]);
        return InvalidArgument(
            std::string("an SM2 public key must be an uncompressed point starting with 0x04, "
                        "got ") +
            prefix);
    }
    auto key = Sm2FromData(raw65, nullptr, "the SM2 public key is not a point on the curve");
    if (!key.ok()) return key.status();
    // Adds the range and point-at-infinity checks. Not EVP_PKEY_public_check: it also
    // multiplies the point by the group order (~200 us, most of a verification), and since
    // the SM2 curve has cofactor 1, every point on it other than infinity has that order.
    // Sm2Verify runs this for every signature, so the full check would nearly halve
    // verification throughput for no gain.
    PkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, key->get(), nullptr));
    if (!check) Fatal("cannot allocate an EVP_PKEY_CTX");
    if (EVP_PKEY_public_check_quick(check.get()) != 1) {
        return InvalidArgument(OpenSslError("the SM2 public key is not a valid curve point"));
    }
    return Sm2PublicKey(std::move(*key));
}

Result<Sm2PublicKey> Sm2PublicKey::FromPem(std::string_view pem) {
    auto bio = ReadOnlyBio(pem);
    if (!bio.ok()) return bio.status();
    PkeyPtr decoded(PEM_read_bio_PUBKEY(bio->get(), nullptr, NoPassphrase, nullptr));
    if (!decoded) return InvalidArgument(OpenSslError("not a PEM SubjectPublicKeyInfo"));
    auto key = AdoptDecodedKey(std::move(decoded), false);
    if (!key.ok()) return key.status();
    return Sm2PublicKey(std::move(*key));
}

Result<Sm2PublicKey> Sm2PublicKey::FromDer(ByteView der) {
    const unsigned char* p = der.data();
    PkeyPtr decoded(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
    if (!decoded) return InvalidArgument(OpenSslError("not a DER SubjectPublicKeyInfo"));
    if (p != der.data() + der.size()) {
        return InvalidArgument("trailing bytes after the DER SubjectPublicKeyInfo");
    }
    auto key = AdoptDecodedKey(std::move(decoded), false);
    if (!key.ok()) return key.status();
    return Sm2PublicKey(std::move(*key));
}

Bytes Sm2PublicKey::Raw() const { return RawPublic(m_key.get()); }

std::string Sm2PublicKey::ToPem() const {
    return ToString(EncodeKey(m_key.get(), EVP_PKEY_PUBLIC_KEY, "PEM", "SubjectPublicKeyInfo"));
}

Bytes Sm2PublicKey::ToDer() const {
    return EncodeKey(m_key.get(), EVP_PKEY_PUBLIC_KEY, "DER", "SubjectPublicKeyInfo");
}

bool Sm2PublicKey::Verify(ByteView msg, ByteView signature, std::string_view id) const {
    // Cannot be a DER SM2 signature: spare the Z_A and SM3 work (OpenSSL would refuse it too).
    if (signature.empty() || signature.size() > kMaxSignatureSize) return false;
    MdCtxPtr ctx(EVP_MD_CTX_new());
    EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
    // Only our own key and a fixed digest go into the init, never the untrusted input, so a
    // failure here is an OpenSSL fault rather than a bad signature.
    if (!ctx || EVP_DigestVerifyInit_ex(ctx.get(), &pctx, "SM3", nullptr, nullptr, m_key.get(),
                                        nullptr) != 1) {
        Fatal("SM2 verify init failed");
    }
    SetDistinguishingId(pctx, id);
    const int rc =
        EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), msg.data(), msg.size());
    // A bad or malformed signature leaves reasons on the thread's error queue; drop them so
    // they neither accumulate nor get blamed for a later, unrelated failure.
    if (rc != 1) ERR_clear_error();
    return rc == 1;
}

Result<Bytes> Sm2PublicKey::Encrypt(ByteView plaintext) const {
    // GB/T 32918.4 restarts encryption while the key stream t is all zero, which an empty t
    // always is; OpenSSL fails on it with a misleading "malloc failure".
    if (plaintext.empty()) return InvalidArgument("SM2 cannot encrypt an empty plaintext");
    PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, m_key.get(), nullptr));
    size_t len = 0;
    if (!ctx || EVP_PKEY_encrypt_init(ctx.get()) != 1 ||
        EVP_PKEY_encrypt(ctx.get(), nullptr, &len, plaintext.data(), plaintext.size()) != 1) {
        return Internal(OpenSslError("SM2 encryption failed"));
    }
    Bytes out(len);
    if (EVP_PKEY_encrypt(ctx.get(), out.data(), &len, plaintext.data(), plaintext.size()) != 1) {
        return Internal(OpenSslError("SM2 encryption failed"));
    }
    out.resize(len);
    return out;
}

// ---- Sm2PrivateKey ----

Sm2PrivateKey Sm2PrivateKey::Generate() {
    PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "SM2", nullptr));
    EVP_PKEY* key = nullptr;
    if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 || EVP_PKEY_keygen(ctx.get(), &key) != 1) {
        Fatal("SM2 key generation failed");
    }
    return Sm2PrivateKey(Share(PkeyPtr(key)));
}

Result<Sm2PrivateKey> Sm2PrivateKey::FromPem(std::string_view pem) {
    auto bio = ReadOnlyBio(pem);
    if (!bio.ok()) return bio.status();
    PkeyPtr decoded(PEM_read_bio_PrivateKey(bio->get(), nullptr, NoPassphrase, nullptr));
    if (!decoded) {
        return InvalidArgument(OpenSslError("not an unencrypted PEM private key"));
    }
    auto key = AdoptDecodedKey(std::move(decoded), true);
    if (!key.ok()) return key.status();
    return Sm2PrivateKey(std::move(*key));
}

Result<Sm2PrivateKey> Sm2PrivateKey::FromDer(ByteView der) {
    const unsigned char* p = der.data();
    // Also accepts SEC1 ECPrivateKey, as written by `openssl ecparam -genkey -name SM2`.
    PkeyPtr decoded(d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(der.size())));
    if (!decoded) return InvalidArgument(OpenSslError("not a DER private key"));
    if (p != der.data() + der.size()) {
        return InvalidArgument("trailing bytes after the DER private key");
    }
    auto key = AdoptDecodedKey(std::move(decoded), true);
    if (!key.ok()) return key.status();
    return Sm2PrivateKey(std::move(*key));
}

std::string Sm2PrivateKey::ToPem() const {
    Bytes pem = EncodeKey(m_key.get(), EVP_PKEY_KEYPAIR, "PEM", "PrivateKeyInfo");
    std::string out = ToString(pem);
    OPENSSL_cleanse(pem.data(), pem.size());
    return out;
}

Bytes Sm2PrivateKey::ToDer() const {
    return EncodeKey(m_key.get(), EVP_PKEY_KEYPAIR, "DER", "PrivateKeyInfo");
}

Sm2PublicKey Sm2PrivateKey::PublicKey() const {
    // A separate public-only EVP_PKEY, so that a shared Sm2PublicKey never carries the secret.
    auto pub = Sm2FromData(RawPublic(m_key.get()), nullptr, "cannot derive the public key");
    if (!pub.ok()) Fatal(pub.status().message());
    return Sm2PublicKey(std::move(*pub));
}

Bytes Sm2PrivateKey::Sign(ByteView msg, std::string_view id) const {
    MdCtxPtr ctx(EVP_MD_CTX_new());
    EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
    if (!ctx || EVP_DigestSignInit_ex(ctx.get(), &pctx, "SM3", nullptr, nullptr, m_key.get(),
                                      nullptr) != 1) {
        Fatal("SM2 sign init failed");
    }
    SetDistinguishingId(pctx, id);
    // EVP_PKEY_get_size is the DER maximum; the actual signature is usually a byte or two
    // shorter, depending on the leading bits of r and s.
    size_t len = static_cast<size_t>(EVP_PKEY_get_size(m_key.get()));
    Bytes sig(len);
    if (EVP_DigestSign(ctx.get(), sig.data(), &len, msg.data(), msg.size()) != 1) {
        Fatal("SM2 signing failed");
    }
    sig.resize(len);
    return sig;
}

Result<Bytes> Sm2PrivateKey::Decrypt(ByteView ciphertext) const {
    if (ciphertext.empty()) return InvalidArgument("empty SM2 ciphertext");
    PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, m_key.get(), nullptr));
    if (!ctx || EVP_PKEY_decrypt_init(ctx.get()) != 1) Fatal("SM2 decrypt init failed");
    size_t len = 0;
    // The size query parses the C1C3C2 structure; failing it means the input is not one.
    if (EVP_PKEY_decrypt(ctx.get(), nullptr, &len, ciphertext.data(), ciphertext.size()) != 1) {
        return InvalidArgument(OpenSslError("malformed SM2 ciphertext"));
    }
    // Never pass a null output: OpenSSL would treat the call as another size query and
    // "succeed" without checking C3, i.e. without authenticating the ciphertext.
    Bytes out(std::max<size_t>(len, 1));
    len = out.size();
    if (EVP_PKEY_decrypt(ctx.get(), out.data(), &len, ciphertext.data(), ciphertext.size()) !=
        1) {
        return Unauthenticated(
            OpenSslError("SM2 decryption failed: tampered ciphertext or wrong key"));
    }
    out.resize(len);
    return out;
}

bool Sm2Verify(ByteView raw_pub, ByteView msg, ByteView signature, std::string_view id) {
    auto key = Sm2PublicKey::FromRaw(raw_pub);
    return key.ok() && key->Verify(msg, signature, id);
}

}  // namespace meterchain::crypto
