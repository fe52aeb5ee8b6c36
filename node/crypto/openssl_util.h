// Internal to node/crypto: RAII owners for OpenSSL objects and the error helpers shared by the
// SM2, SM3 and SM4 implementation files. Not part of the library's interface.
#pragma once

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/encoder.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <cstddef>
#include <memory>
#include <string>

namespace meterchain::crypto::detail {

// A unique_ptr deleter calling OpenSSL's free function for the type.
template <auto kFree>
struct Free {
    template <typename T>
    void operator()(T* p) const {
        kFree(p);
    }
};
template <typename T, auto kFree>
using Owned = std::unique_ptr<T, Free<kFree>>;

using PkeyPtr = Owned<EVP_PKEY, EVP_PKEY_free>;
using PkeyCtxPtr = Owned<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;
using MdCtxPtr = Owned<EVP_MD_CTX, EVP_MD_CTX_free>;
using MacCtxPtr = Owned<EVP_MAC_CTX, EVP_MAC_CTX_free>;
using CipherCtxPtr = Owned<EVP_CIPHER_CTX, EVP_CIPHER_CTX_free>;
using BioPtr = Owned<BIO, BIO_free>;
using BnPtr = Owned<BIGNUM, BN_free>;
using SecretBnPtr = Owned<BIGNUM, BN_clear_free>;  // private scalars
using ParamBldPtr = Owned<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>;
using ParamPtr = Owned<OSSL_PARAM, OSSL_PARAM_free>;
using EncoderCtxPtr = Owned<OSSL_ENCODER_CTX, OSSL_ENCODER_CTX_free>;

// SM2 encodings shared by sm2.cpp and sm2_table.cpp.
inline constexpr size_t kRawPublicKeySize = 65;  // 0x04 || X || Y
inline constexpr size_t kCoordinateSize = 32;
// DER SEQUENCE { INTEGER r, INTEGER s } for 256-bit r and s is at most 2 + 2 * (2 + 33).
inline constexpr size_t kMaxSignatureSize = 72;

// `what`, followed by the reason of the oldest error on this thread's OpenSSL error queue
// (usually the root cause). Empties the queue so that a later failure is not reported with
// this one's reason.
std::string OpenSslError(std::string what);

// For failures that only a broken invariant or an OpenSSL internal error can cause (wrong
// sizes passed by our own code, out of memory): carrying on would be worse than stopping.
[[noreturn]] void Fatal(const std::string& what);

// SM3, fetched once from the default provider and kept for the life of the process.
const EVP_MD* Sm3Md();

}  // namespace meterchain::crypto::detail
