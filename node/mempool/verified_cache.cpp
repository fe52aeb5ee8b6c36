#include "node/mempool/verified_cache.h"

#include <algorithm>

#include "node/crypto/sm.h"

namespace meterchain::mempool {

VerifiedCache::VerifiedCache(size_t capacity) : m_capacity(std::max<size_t>(capacity, 1)) {}

void VerifiedCache::Insert(const Hash256& hash) {
    std::lock_guard lock(m_mutex);
    if (!m_set.insert(hash).second) return;
    m_order.push_back(hash);
    if (m_order.size() > m_capacity) {
        m_set.erase(m_order.front());
        m_order.pop_front();
    }
}

bool VerifiedCache::Contains(const Hash256& hash) const {
    std::lock_guard lock(m_mutex);
    return m_set.contains(hash);
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
                                            VerifiedCache& cache) {
    const Hash256 key = VerifiedKey(hash, tx.signature);
    if (cache.Contains(key)) return chain::TxBody::Parse(tx.body);
    auto body = chain::VerifyTransaction(tx, verifier);
    if (body.ok()) cache.Insert(key);
    return body;
}

void PreverifyTransactions(const std::vector<chain::Transaction>& txs,
                           const crypto::Verifier& verifier, VerifiedCache& cache,
                           const ParallelFor& parallel_for) {
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
        if (chain::VerifyTransaction(*todo[i], verifier).ok()) cache.Insert(keys[i]);
    });
}

}  // namespace meterchain::mempool
