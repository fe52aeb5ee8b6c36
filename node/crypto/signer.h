// Narrow signing interfaces that consensus/ and contracts/ depend on, so that a simulation can
// substitute a fast deterministic suite for SM2.
#pragma once

#include <string_view>

#include "node/base/bytes.h"
#include "node/crypto/sm.h"

namespace meterchain::crypto {

// Signs on behalf of one identity. Implementations are thread-safe.
class Signer {
public:
    virtual ~Signer() = default;
    virtual const Bytes& PublicKey() const = 0;  // the identity, as carried on chain
    virtual Bytes Sign(ByteView msg) const = 0;
};

// Verifies signatures made by any identity. Implementations are thread-safe.
class Verifier {
public:
    virtual ~Verifier() = default;
    virtual bool Verify(ByteView public_key, ByteView msg, ByteView signature) const = 0;
};

// SM2 with a fixed distinguishing ID. Holds the private key in memory only.
class Sm2Signer final : public Signer {
public:
    explicit Sm2Signer(Sm2PrivateKey key, std::string id = std::string(kDefaultSm2Id));
    const Bytes& PublicKey() const override { return m_public; }
    Bytes Sign(ByteView msg) const override;

private:
    Sm2PrivateKey m_key;
    Bytes m_public;
    std::string m_id;
};

class Sm2Verifier final : public Verifier {
public:
    explicit Sm2Verifier(std::string id = std::string(kDefaultSm2Id)) : m_id(std::move(id)) {}
    bool Verify(ByteView public_key, ByteView msg, ByteView signature) const override;

private:
    std::string m_id;
};

}  // namespace meterchain::crypto
