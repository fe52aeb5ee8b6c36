#include "node/crypto/cached_verifier.h"

#include <cstring>

#include "node/crypto/sm.h"

namespace meterchain::crypto {
namespace {

void AppendBlob(Bytes& out, ByteView b) {
    const uint32_t n = static_cast<uint32_t>(b.size());
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(n >> shift));
    out.insert(out.end(), b.begin(), b.end());
}

}  // namespace

size_t CachedVerifier::KeyHash::operator()(const Hash256& h) const noexcept {
    size_t v;
    std::memcpy(&v, h.data(), sizeof v);
    return v;
}

CachedVerifier::CachedVerifier(const Verifier& inner, size_t capacity)
    : m_inner(inner), m_capacity(capacity < 2 ? 2 : capacity) {}

bool CachedVerifier::Verify(ByteView public_key, ByteView msg, ByteView signature) const {
    Bytes triple;
    triple.reserve(12 + public_key.size() + msg.size() + signature.size());
    AppendBlob(triple, public_key);
    AppendBlob(triple, msg);
    AppendBlob(triple, signature);
    const Hash256 key = Sm3(triple);
    {
        std::lock_guard lock(m_mutex);
        if (m_recent.count(key) != 0 || m_older.count(key) != 0) return true;
    }
    if (!m_inner.Verify(public_key, msg, signature)) return false;
    std::lock_guard lock(m_mutex);
    if (m_recent.size() >= m_capacity / 2) {
        m_older = std::move(m_recent);
        m_recent = {};
    }
    m_recent.insert(key);
    return true;
}

}  // namespace meterchain::crypto
