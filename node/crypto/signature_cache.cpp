#include "node/crypto/signature_cache.h"

#include <algorithm>

#include "node/crypto/sm.h"

namespace meterchain::crypto {

SignatureCache::SignatureCache(size_t capacity) : m_set(capacity) {}

void SignatureCache::Insert(const Hash256& key) {
    std::lock_guard lock(m_mutex);
    m_set.Insert(key);
}

bool SignatureCache::Contains(const Hash256& key) const {
    std::lock_guard lock(m_mutex);
    return m_set.Contains(key);
}

SignatureCache::Claim SignatureCache::Begin(const Hash256& key, bool wait) {
    std::unique_lock lock(m_mutex);
    for (;;) {
        if (m_set.Contains(key)) return Claim::kKnown;
        if (std::find(m_checking.begin(), m_checking.end(), key) == m_checking.end()) {
            m_checking.push_back(key);
            return Claim::kMine;
        }
        if (!wait) return Claim::kBusy;
        m_checked.wait(lock);
    }
}

void SignatureCache::End(const Hash256& key, bool verified) {
    {
        std::lock_guard lock(m_mutex);
        if (verified) m_set.Insert(key);
        auto it = std::find(m_checking.begin(), m_checking.end(), key);
        if (it != m_checking.end()) {
            *it = m_checking.back();
            m_checking.pop_back();
        }
    }
    m_checked.notify_all();
}

size_t SignatureCache::size() const {
    std::lock_guard lock(m_mutex);
    return m_set.size();
}

Hash256 SignatureCacheKey(const Hash256& digest, ByteView signature) {
    Bytes joined(digest.begin(), digest.end());
    joined.insert(joined.end(), signature.begin(), signature.end());
    return Sm3(joined);
}

}  // namespace meterchain::crypto
