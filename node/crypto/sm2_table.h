// SM2 verification against one known public key, with precomputed point tables.
//
// A validator's key signs every consensus message, so nodes verify against the same few keys
// over and over. GB/T 32918.2 verification computes s*G + t*P; OpenSSL computes it from
// scratch each time (about 256 doublings and a hundred additions). Here both G and P have a
// table of their multiples d * 16^i (d = 1..15, i = 0..63, in affine form), so the product is
// at most 128 additions and no doublings: 2.5-3.5 times faster. A table costs 30-70 ms to
// build and about 0.7 MiB (960 OpenSSL points); it is meant for a handful of long-lived
// keys, not for every client's key.
//
// Only public data goes into a table and its walk (signatures, messages, public keys), so
// the table lookups need not be constant time. Signing never uses this.
//
// The result is exactly that of Sm2PublicKey::Verify (EVP_DigestVerify): the same strict DER
// decoding of (r, s), the same range checks, e = SM3(Z_A || msg) with the same Z_A.
//
// Thread-safety: immutable after Build; Verify may be called concurrently.
#pragma once

#include <memory>
#include <string_view>

#include "node/base/bytes.h"
#include "node/base/status.h"

namespace meterchain::crypto {

class Sm2KeyTable {
public:
    // `raw_public` is 0x04 || X || Y on the SM2 curve (kInvalidArgument otherwise); `id` is
    // the distinguishing ID signatures are made with.
    static Result<std::shared_ptr<const Sm2KeyTable>> Build(ByteView raw_public,
                                                            std::string_view id);
    ~Sm2KeyTable();
    Sm2KeyTable(const Sm2KeyTable&) = delete;
    Sm2KeyTable& operator=(const Sm2KeyTable&) = delete;

    // True only for a valid DER SM2 signature by this key over `msg`.
    bool Verify(ByteView msg, ByteView signature) const;

    struct Impl;

private:
    explicit Sm2KeyTable(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

}  // namespace meterchain::crypto
