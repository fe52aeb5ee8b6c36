// A Verifier that remembers the signatures it has seen verify, so that a signature checked
// early (on the peer's stream thread, in parallel with other peers) is not checked again when
// the consensus core looks at the same message. The key is SM3 over the length-prefixed public
// key, message and signature, so a hit means exactly the same triple verified before.
//
// Bounded: holds at most `capacity` entries; when full, the older half is forgotten (a
// forgotten entry only costs one more verification, never a wrong answer). Failures are not
// remembered.
//
// Thread-safety: Verify may be called concurrently; one mutex guards the memory.
#pragma once

#include <cstddef>
#include <mutex>
#include <unordered_set>

#include "node/crypto/signer.h"

namespace meterchain::crypto {

class CachedVerifier final : public Verifier {
public:
    // `inner` must outlive this object.
    explicit CachedVerifier(const Verifier& inner, size_t capacity = 1 << 16);
    bool Verify(ByteView public_key, ByteView msg, ByteView signature) const override;

private:
    struct KeyHash {
        size_t operator()(const Hash256& h) const noexcept;
    };
    const Verifier& m_inner;
    const size_t m_capacity;
    mutable std::mutex m_mutex;
    mutable std::unordered_set<Hash256, KeyHash> m_recent;  // guarded by m_mutex
    mutable std::unordered_set<Hash256, KeyHash> m_older;   // guarded by m_mutex
};

}  // namespace meterchain::crypto
