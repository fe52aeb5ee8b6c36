// A fast deterministic stand-in for SM2, for large simulation sweeps. Validator i's public key
// is "sim-pk-<i>"; its signature over m is a keyed 128-bit hash of m. Only the simulator's
// registry knows the keys, so a simulated Byzantine node cannot forge another's signature
// (it does not call the registry for keys other than its own).
#pragma once

#include <cstdint>
#include <string>

#include "node/crypto/signer.h"

namespace meterchain::sim {

Bytes FakePublicKey(uint32_t index);

class FakeSigner final : public crypto::Signer {
public:
    explicit FakeSigner(uint32_t index) : m_index(index), m_public(FakePublicKey(index)) {}
    const Bytes& PublicKey() const override { return m_public; }
    Bytes Sign(ByteView msg) const override;

private:
    uint32_t m_index;
    Bytes m_public;
};

class FakeVerifier final : public crypto::Verifier {
public:
    bool Verify(ByteView public_key, ByteView msg, ByteView signature) const override;
};

}  // namespace meterchain::sim
