// Hashes of transactions whose signature this node has already verified, so that each
// signature is checked once per node (on submission or gossip) and not again when the
// transaction shows up in a proposed block.
//
// Bounded: once `capacity` hashes are held, inserting another evicts the oldest (FIFO). An
// evicted hash only costs a repeated verification, never a wrong answer.
//
// Thread-safety: all member functions may be called concurrently; one mutex guards all state.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <vector>
#include <mutex>
#include <unordered_set>

#include "node/base/bytes.h"
#include "node/base/status.h"
#include "node/chain/types.h"
#include "node/crypto/signer.h"
#include "node/mempool/hash_key.h"

namespace meterchain::mempool {

class VerifiedCache {
public:
    // About 6 MiB. An entry is needed from a transaction's arrival until it commits, seconds
    // under load; one evicted earlier only costs a repeated check. (A million entries held
    // ~100 MiB and made a node's RSS grow through a 10-minute run.)
    static constexpr size_t kDefaultCapacity = 65536;

    // `capacity` must be at least 1.
    explicit VerifiedCache(size_t capacity = kDefaultCapacity);
    VerifiedCache(const VerifiedCache&) = delete;
    VerifiedCache& operator=(const VerifiedCache&) = delete;

    // Records that the signature of transaction `hash` verified. Inserting a hash already
    // present changes nothing (its eviction position is kept).
    void Insert(const Hash256& hash);
    bool Contains(const Hash256& hash) const;
    size_t size() const;
    size_t capacity() const { return m_capacity; }

private:
    const size_t m_capacity;

    mutable std::mutex m_mutex;
    std::unordered_set<Hash256, Hash256Hasher> m_set;  // guarded by m_mutex
    std::deque<Hash256> m_order;                       // guarded by m_mutex; oldest first
};

// What the cache remembers for a transaction: SM3 over its hash (= SM3 of the body) and its
// signature. The tx hash alone covers only the body, and a body once seen with a valid
// signature must not vouch for a copy carrying another (a primary could otherwise put
// transactions with forged signatures into a block that every node accepts).
Hash256 VerifiedKey(const Hash256& tx_hash, ByteView signature);

// chain::VerifyTransaction, once per node: when `cache` already holds the transaction's
// VerifiedKey (`hash` = tx.Hash()) the body is only parsed; a signature that verifies is
// remembered.
Result<chain::TxBody> VerifyTransactionOnce(const chain::Transaction& tx, const Hash256& hash,
                                            const crypto::Verifier& verifier,
                                            VerifiedCache& cache);

// Runs fn(0) .. fn(n-1), possibly concurrently, and returns when all have returned
// (base::WorkPool::ParallelFor in the daemon; a plain loop will do).
using ParallelFor = std::function<void(size_t n, const std::function<void(size_t)>& fn)>;

// Checks, spread over `parallel_for`, the signature of every transaction in `txs` that is not
// in `cache` yet, and records those that verify. Nothing is reported: the caller's own
// VerifyTransactionOnce of each transaction then costs a lookup, and names the failures.
void PreverifyTransactions(const std::vector<chain::Transaction>& txs,
                           const crypto::Verifier& verifier, VerifiedCache& cache,
                           const ParallelFor& parallel_for);

}  // namespace meterchain::mempool
