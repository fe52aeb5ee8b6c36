// Transaction signatures checked once per node, through a crypto::SignatureCache whose keys
// are crypto::SignatureCacheKey(tx hash, signature): used where transactions arrive (client
// calls, gossip, proposals) and by the executor, which finds them remembered.
//
// Thread-safety: as the cache's; the verifier must be safe to call concurrently.
#pragma once

#include <vector>

#include "node/base/parallel_for.h"
#include "node/base/status.h"
#include "node/chain/types.h"
#include "node/crypto/signature_cache.h"
#include "node/crypto/signer.h"

namespace meterchain::chain {

// VerifyTransaction, once per node: when `cache` already holds the transaction's key
// (`hash` = tx.Hash()) the body is only parsed; a signature that verifies is remembered.
// `on_busy` is kWait or kRepeat (kSkip would leave no answer; it acts as kRepeat).
Result<TxBody> VerifyTransactionOnce(const Transaction& tx, const Hash256& hash,
                                     const crypto::Verifier& verifier,
                                     crypto::SignatureCache& cache,
                                     crypto::OnBusy on_busy = crypto::OnBusy::kWait);

// Checks, spread over `parallel_for`, the signature of every transaction in `txs` that is not
// in `cache` yet, and records those that verify. Nothing is reported: the caller's own
// VerifyTransactionOnce of each transaction then costs a lookup, and names the failures.
// `on_busy` is kSkip (a peer's stream thread) or kRepeat (the executor, which needs every
// answer now and must not wait).
void PreverifyTransactions(const std::vector<Transaction>& txs, const crypto::Verifier& verifier,
                           crypto::SignatureCache& cache, const base::ParallelFor& parallel_for,
                           crypto::OnBusy on_busy = crypto::OnBusy::kSkip);

}  // namespace meterchain::chain
