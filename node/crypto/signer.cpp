#include "node/crypto/signer.h"

namespace meterchain::crypto {

// The raw public key is computed once: it is the identity and is read on every message sent.
Sm2Signer::Sm2Signer(Sm2PrivateKey key, std::string id)
    : m_key(std::move(key)), m_public(m_key.PublicKey().Raw()), m_id(std::move(id)) {}

Bytes Sm2Signer::Sign(ByteView msg) const { return m_key.Sign(msg, m_id); }

bool Sm2Verifier::Verify(ByteView public_key, ByteView msg, ByteView signature) const {
    return Sm2Verify(public_key, msg, signature, m_id);
}

}  // namespace meterchain::crypto
