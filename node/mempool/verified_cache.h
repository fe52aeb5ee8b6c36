// Hashes of transactions whose signature this node has already verified, so that each
// signature is checked once per node (on submission or gossip) and not again when the
// transaction shows up in a proposed block.
//
// Bounded: once `capacity` hashes are held, inserting another evicts the oldest (FIFO). An
// evicted hash only costs a repeated verification, never a wrong answer. All memory is
// allocated when the cache is built (base::FixedKeySet), so it does not grow as it fills.
//
// Thread-safety: all member functions may be called concurrently; one mutex guards all state.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <vector>

#include "node/base/bytes.h"
#include "node/base/fixed_key_set.h"
#include "node/base/status.h"
#include "node/chain/types.h"
#include "node/crypto/signer.h"
#include "node/mempool/hash_key.h"

namespace meterchain::mempool {

class VerifiedCache {
public:
    // 2.5 MiB. An entry is needed from a transaction's arrival until it commits, seconds
    // under load; one evicted earlier only costs a repeated check. (A million entries in node
    // based containers held ~100 MiB and made a node's RSS grow through a 10-minute run.)
    static constexpr size_t kDefaultCapacity = 65536;

    // `capacity` must be at least 1.
    explicit VerifiedCache(size_t capacity = kDefaultCapacity);
    VerifiedCache(const VerifiedCache&) = delete;
    VerifiedCache& operator=(const VerifiedCache&) = delete;

    // Records that the signature of transaction `hash` verified. Inserting a hash already
    // present changes nothing (its eviction position is kept).
    void Insert(const Hash256& hash);
    bool Contains(const Hash256& hash) const;

    // For a caller about to verify the signature behind `hash`, so that two threads do not
    // check the same one at once (a proposal's transactions are checked while their gossiped
    // copies may be): kKnown when it verified before; kMine when the caller is to verify it
    // now and report with End. While another thread is checking it: with `wait`, waits for
    // that check and decides again; without, returns kBusy at once (the consensus path must
    // not wait for a background thread).
    enum class Claim { kKnown, kMine, kBusy };
    Claim Begin(const Hash256& hash, bool wait);
    // Ends a kMine claim: `verified` records the hash; either way waiters are woken (after a
    // failure one of them checks again, as it would have without waiting).
    void End(const Hash256& hash, bool verified);

    size_t size() const;
    size_t capacity() const { return m_set.capacity(); }

private:
    mutable std::mutex m_mutex;
    std::condition_variable m_checked;  // an End happened
    base::FixedKeySet m_set;            // guarded by m_mutex
    std::vector<Hash256> m_checking;    // guarded by m_mutex; claimed, at most one per thread
};

// What the cache remembers for a transaction: SM3 over its hash (= SM3 of the body) and its
// signature. The tx hash alone covers only the body, and a body once seen with a valid
// signature must not vouch for a copy carrying another (a primary could otherwise put
// transactions with forged signatures into a block that every node accepts).
Hash256 VerifiedKey(const Hash256& tx_hash, ByteView signature);

// What a check does when another thread is checking the same signature right now.
enum class OnBusy {
    kWait,    // wait for that thread's answer (gossip, submissions)
    kRepeat,  // check it again (the consensus thread, which must not wait for a background one)
    kSkip,    // leave it to that thread (pre-checks, whose answer is not needed now)
};

// chain::VerifyTransaction, once per node: when `cache` already holds the transaction's
// VerifiedKey (`hash` = tx.Hash()) the body is only parsed; a signature that verifies is
// remembered. `on_busy` is kWait or kRepeat (kSkip would leave no answer; it acts as kRepeat).
Result<chain::TxBody> VerifyTransactionOnce(const chain::Transaction& tx, const Hash256& hash,
                                            const crypto::Verifier& verifier,
                                            VerifiedCache& cache, OnBusy on_busy = OnBusy::kWait);

// Runs fn(0) .. fn(n-1), possibly concurrently, and returns when all have returned
// (base::WorkPool::ParallelFor in the daemon; a plain loop will do).
using ParallelFor = std::function<void(size_t n, const std::function<void(size_t)>& fn)>;

// Checks, spread over `parallel_for`, the signature of every transaction in `txs` that is not
// in `cache` yet, and records those that verify. Nothing is reported: the caller's own
// VerifyTransactionOnce of each transaction then costs a lookup, and names the failures.
// `on_busy` is kSkip (a peer's stream thread) or kRepeat (the executor, which needs every
// answer now and must not wait).
void PreverifyTransactions(const std::vector<chain::Transaction>& txs,
                           const crypto::Verifier& verifier, VerifiedCache& cache,
                           const ParallelFor& parallel_for, OnBusy on_busy = OnBusy::kSkip);

}  // namespace meterchain::mempool
