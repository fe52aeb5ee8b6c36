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

namespace {

// Checks the signature behind `key` unless it is known to verify: nullopt when known (or, with
// kSkip, being checked by another thread), else the check's result, recorded in `cache`.
std::optional<Result<chain::TxBody>> CheckUnlessKnown(const chain::Transaction& tx,
                                                      const Hash256& key,
                                                      const crypto::Verifier& verifier,
                                                      VerifiedCache& cache, OnBusy on_busy) {
    const auto claim = cache.Begin(key, on_busy == OnBusy::kWait);
    if (claim == VerifiedCache::Claim::kKnown) return std::nullopt;
    if (claim == VerifiedCache::Claim::kBusy && on_busy == OnBusy::kSkip) return std::nullopt;
    auto body = chain::VerifyTransaction(tx, verifier);
    if (claim == VerifiedCache::Claim::kMine) {
        cache.End(key, body.ok());
    } else if (body.ok()) {
        cache.Insert(key);
    }
    return body;
}

}  // namespace

Result<chain::TxBody> VerifyTransactionOnce(const chain::Transaction& tx, const Hash256& hash,
                                            const crypto::Verifier& verifier,
                                            VerifiedCache& cache, OnBusy on_busy) {
    if (on_busy == OnBusy::kSkip) on_busy = OnBusy::kRepeat;
    auto checked = CheckUnlessKnown(tx, VerifiedKey(hash, tx.signature), verifier, cache, on_busy);
    return checked ? std::move(*checked) : chain::TxBody::Parse(tx.body);
}

void PreverifyTransactions(const std::vector<chain::Transaction>& txs,
                           const crypto::Verifier& verifier, VerifiedCache& cache,
                           const ParallelFor& parallel_for, OnBusy on_busy) {
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
        (void)CheckUnlessKnown(*todo[i], keys[i], verifier, cache, on_busy);
    });
}

}  // namespace meterchain::mempool
