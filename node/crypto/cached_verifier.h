// A Verifier that remembers the signatures it has seen verify, so that a signature checked
// early (on the peer's stream thread, in parallel with other peers) is not checked again when
// the consensus core looks at the same message. The key is SM3 over the length-prefixed public
// key, message and signature, so a hit means exactly the same triple verified before.
//
// Bounded: holds at most `capacity` entries, allocated up front; when full, the oldest is
// forgotten (a forgotten entry only costs one more verification, never a wrong answer).
// Failures are not remembered.
//
// Thread-safety: Verify may be called concurrently; one mutex guards the memory.
#pragma once

#include <cstddef>
#include <mutex>

#include "node/base/fixed_key_set.h"
#include "node/crypto/signer.h"

namespace meterchain::crypto {

class CachedVerifier final : public Verifier {
public:
    // `inner` must outlive this object.
    explicit CachedVerifier(const Verifier& inner, size_t capacity = 1 << 16);
    bool Verify(ByteView public_key, ByteView msg, ByteView signature) const override;

private:
    const Verifier& m_inner;
    mutable std::mutex m_mutex;
    mutable base::FixedKeySet m_seen;  // guarded by m_mutex
};

}  // namespace meterchain::crypto
