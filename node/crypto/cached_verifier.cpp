#include "node/crypto/cached_verifier.h"

#include "node/crypto/sm.h"

namespace meterchain::crypto {
namespace {

void AppendBlob(Bytes& out, ByteView b) {
    const uint32_t n = static_cast<uint32_t>(b.size());
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(n >> shift));
    out.insert(out.end(), b.begin(), b.end());
}

}  // namespace

CachedVerifier::CachedVerifier(const Verifier& inner, size_t capacity)
    : m_inner(inner), m_seen(capacity) {}

bool CachedVerifier::Verify(ByteView public_key, ByteView msg, ByteView signature) const {
    Bytes triple;
    triple.reserve(12 + public_key.size() + msg.size() + signature.size());
    AppendBlob(triple, public_key);
    AppendBlob(triple, msg);
    AppendBlob(triple, signature);
    const Hash256 key = Sm3(triple);
    {
        std::lock_guard lock(m_mutex);
        if (m_seen.Contains(key)) return true;
    }
    if (!m_inner.Verify(public_key, msg, signature)) return false;
    std::lock_guard lock(m_mutex);
    m_seen.Insert(key);
    return true;
}

}  // namespace meterchain::crypto
