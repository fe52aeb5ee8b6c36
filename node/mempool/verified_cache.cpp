#include "node/mempool/verified_cache.h"

#include <algorithm>

#include "node/crypto/sm.h"

namespace meterchain::mempool {

VerifiedCache::VerifiedCache(size_t capacity) : m_set(capacity) {}

void VerifiedCache::Insert(const Hash256& hash) {
    std::lock_guard lock(m_mutex);
    m_set.Insert(hash);
}

bool VerifiedCache::Contains(const Hash256& hash) const {
    std::lock_guard lock(m_mutex);
    return m_set.Contains(hash);
}

VerifiedCache::Claim VerifiedCache::Begin(const Hash256& hash, bool wait) {
    std::unique_lock lock(m_mutex);
    for (;;) {
        if (m_set.Contains(hash)) return Claim::kKnown;
        if (std::find(m_checking.begin(), m_checking.end(), hash) == m_checking.end()) {
            m_checking.push_back(hash);
            return Claim::kMine;
        }
        if (!wait) return Claim::kBusy;
        m_checked.wait(lock);
    }
}

void VerifiedCache::End(const Hash256& hash, bool verified) {
    {
        std::lock_guard lock(m_mutex);
        if (verified) m_set.Insert(hash);
        auto it = std::find(m_checking.begin(), m_checking.end(), hash);
        if (it != m_checking.end()) {
            *it = m_checking.back();
            m_checking.pop_back();
        }
    }
    m_checked.notify_all();
}

size_t VerifiedCache::size() const {
    std::lock_guard lock(m_mutex);
    return m_set.size();
}

Hash256 VerifiedKey(const Hash256& tx_hash, ByteView signature) {
    Bytes joined(tx_hash.begin(), tx_hash.end());
    joined.insert(joined.end(), signature.begin(), signature.end());
    return crypto::Sm3(joined);
}

Result<chain::TxBody> VerifyTransactionOnce(const chain::Transaction& tx, const Hash256& hash,
                                            const crypto::Verifier& verifier,
                                            VerifiedCache& cache, bool wait_for_others) {
    const Hash256 key = VerifiedKey(hash, tx.signature);
    const auto claim = cache.Begin(key, wait_for_others);
    if (claim == VerifiedCache::Claim::kKnown) return chain::TxBody::Parse(tx.body);
    auto body = chain::VerifyTransaction(tx, verifier);
    if (claim == VerifiedCache::Claim::kMine) {
        cache.End(key, body.ok());
    } else if (body.ok()) {
        cache.Insert(key);
    }
    return body;
}

void PreverifyTransactions(const std::vector<chain::Transaction>& txs,
                           const crypto::Verifier& verifier, VerifiedCache& cache,
                           const ParallelFor& parallel_for, bool repeat_busy) {
    std::vector<const chain::Transaction*> todo;
    std::vector<Hash256> keys;
    for (const auto& tx : txs) {
        Hash256 key = VerifiedKey(tx.Hash(), tx.signature);
        if (cache.Contains(key)) continue;
        todo.push_back(&tx);
        keys.push_back(key);
    }
    if (todo.empty()) return;
    parallel_for(todo.size(), [&](size_t i) {
        const auto claim = cache.Begin(keys[i], false);
        if (claim == VerifiedCache::Claim::kMine) {
            cache.End(keys[i], chain::VerifyTransaction(*todo[i], verifier).ok());
        } else if (claim == VerifiedCache::Claim::kBusy && repeat_busy &&
                   chain::VerifyTransaction(*todo[i], verifier).ok()) {
            cache.Insert(keys[i]);
        }
    });
}

}  // namespace meterchain::mempool
