#include "node/chain/tx_signatures.h"

#include <optional>

namespace meterchain::chain {

namespace {

using crypto::OnBusy;
using crypto::SignatureCache;

// Checks the signature behind `key` unless it is known to verify: nullopt when known (or, with
// kSkip, being checked by another thread), else the check's result, recorded in `cache`.
std::optional<Result<TxBody>> CheckUnlessKnown(const Transaction& tx, const Hash256& key,
                                               const crypto::Verifier& verifier,
                                               SignatureCache& cache, OnBusy on_busy) {
    const auto claim = cache.Begin(key, on_busy == OnBusy::kWait);
    if (claim == SignatureCache::Claim::kKnown) return std::nullopt;
    if (claim == SignatureCache::Claim::kBusy && on_busy == OnBusy::kSkip) return std::nullopt;
    auto body = VerifyTransaction(tx, verifier);
    if (claim == SignatureCache::Claim::kMine) {
        cache.End(key, body.ok());
    } else if (body.ok()) {
        cache.Insert(key);
    }
    return body;
}

}  // namespace

Result<TxBody> VerifyTransactionOnce(const Transaction& tx, const Hash256& hash,
                                     const crypto::Verifier& verifier, SignatureCache& cache,
                                     OnBusy on_busy) {
    if (on_busy == OnBusy::kSkip) on_busy = OnBusy::kRepeat;
    auto checked = CheckUnlessKnown(tx, crypto::SignatureCacheKey(hash, tx.signature), verifier,
                                    cache, on_busy);
    return checked ? std::move(*checked) : TxBody::Parse(tx.body);
}

void PreverifyTransactions(const std::vector<Transaction>& txs, const crypto::Verifier& verifier,
                           SignatureCache& cache, const base::ParallelFor& parallel_for,
                           OnBusy on_busy) {
    std::vector<const Transaction*> todo;
    std::vector<Hash256> keys;
    for (const auto& tx : txs) {
        Hash256 key = crypto::SignatureCacheKey(tx.Hash(), tx.signature);
        if (cache.Contains(key)) continue;
        todo.push_back(&tx);
        keys.push_back(key);
    }
    if (todo.empty()) return;
    parallel_for(todo.size(), [&](size_t i) {
        (void)CheckUnlessKnown(*todo[i], keys[i], verifier, cache, on_busy);
    });
}

}  // namespace meterchain::chain
