// The pool of signed transactions waiting to be proposed in a block.
//
// Replay protection is by per-sender nonces: a transaction commits only with the nonce right
// after its sender's last committed one. The pool refuses nonces that are already used,
// keeps at most one pending transaction per (sender, nonce), accepts nonces further ahead
// (they wait), and hands out each sender's transactions as an unbroken nonce sequence: with
// gossip, nonces 2 and 3 may arrive after 4, and 4 must not commit first (2 and 3 would then
// be refused as replays and lost).
//
// The pool does not verify signatures, parse bodies on Add or execute anything: callers pass
// transactions whose signature they have verified, together with the parsed body.
//
// Thread-safety: every member function may be called concurrently (gRPC threads Add, the
// consensus thread calls Batch and RemoveCommitted). One mutex guards all state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "node/base/bytes.h"
#include "node/base/status.h"
#include "node/chain/types.h"
#include "node/mempool/hash_key.h"

namespace meterchain::mempool {

struct MempoolOptions {
    size_t max_txs = 100000;              // transactions held at most
    size_t max_bytes = 512 * 1024 * 1024;  // sum of TxBytes() held at most
};

// What a transaction costs against MempoolOptions::max_bytes and Batch's max_bytes: the body
// plus the signature.
size_t TxBytes(const chain::Transaction& tx);

class Mempool {
public:
    // `committed_nonce(sender)` returns the sender's last committed nonce, 0 if none, from
    // committed state. It must be thread-safe; the pool calls it while holding its own mutex,
    // so it must not call back into the pool.
    using CommittedNonceFn = std::function<uint64_t(ByteView sender)>;

    Mempool(MempoolOptions options, CommittedNonceFn committed_nonce);
    Mempool(const Mempool&) = delete;
    Mempool& operator=(const Mempool&) = delete;

    // Adds a transaction whose signature the caller has verified; `body` must be the parsed
    // tx.body. Returns the transaction hash. Errors (nothing is added):
    //   kAlreadyExists     the same transaction (hash) is pending, or the sender has a
    //                      different pending transaction with the same nonce;
    //   kInvalidArgument   the nonce is <= the sender's last committed nonce;
    //   kResourceExhausted the pool is at max_txs or would exceed max_bytes.
    Result<Hash256> Add(chain::Transaction tx, const chain::TxBody& body);

    // Up to `max_txs` pending transactions whose total TxBytes() is at most `max_bytes`,
    // skipping those whose hash is in `exclude` (e.g. transactions in blocks not yet
    // committed). Order: arrival order, except that each sender's transactions come out in
    // ascending nonce order, and only while they continue the sender's committed nonce
    // without a gap (excluded ones count as present). When a sender's lower-nonce transactions
    // are excluded, its next ones come out in their own arrival position. Filling stops at the first transaction that
    // would exceed `max_bytes`. Nothing is removed from the pool.
    // Cost: O((result + |exclude|) * log) — independent of the pool size otherwise.
    std::vector<chain::Transaction> Batch(size_t max_txs, size_t max_bytes,
                                          const std::set<Hash256>& exclude) const;

    // Drops `txs` (transactions just committed) by hash, then drops every pending transaction
    // of their senders whose nonce is now <= the sender's committed nonce (asking
    // committed_nonce again). Call after the block's state is committed. Transactions that
    // are not in the pool are fine (their body is parsed to find the sender; an unparsable
    // body is skipped).
    void RemoveCommitted(const std::vector<chain::Transaction>& txs);

    bool Contains(const Hash256& hash) const;
    std::optional<chain::Transaction> Get(const Hash256& hash) const;
    size_t size() const;   // pending transactions
    size_t bytes() const;  // sum of their TxBytes()

private:
    struct Sender;
    struct Entry {
        chain::Transaction tx;
        Hash256 hash{};
        Sender* sender = nullptr;  // owned by m_senders; outlives the entry
        uint64_t nonce = 0;
        uint64_t seq = 0;  // arrival sequence number, unique
        size_t bytes = 0;
        // Batch scratch: equals m_batch_epoch while that call excludes this entry.
        mutable uint64_t excluded_epoch = 0;
    };
    // Every pending transaction of one sender, by nonce.
    struct Sender {
        std::string key;  // the raw public key, as in m_senders
        std::map<uint64_t, Entry*> by_nonce;
        // Batch scratch: equals m_batch_epoch while that call excludes this sender's head.
        mutable uint64_t redirected_epoch = 0;
    };

    // Removes one entry from every index. Requires m_mutex held.
    void EraseLocked(Entry* entry);
    // Drops the sender's transactions whose nonce is <= its committed nonce, and the sender
    // itself once it has none. Requires m_mutex held.
    void PruneSenderLocked(const std::string& sender_key);

    const MempoolOptions m_options;
    const CommittedNonceFn m_committed_nonce;

    mutable std::mutex m_mutex;
    // All below are guarded by m_mutex. Entries and senders live in node-based maps, so the
    // raw pointers between them stay valid until the element is erased.
    std::unordered_map<Hash256, Entry, Hash256Hasher> m_txs;
    std::unordered_map<std::string, Sender> m_senders;
    // The lowest-nonce pending transaction of each sender, keyed by its arrival seq: Batch
    // merges senders in arrival order starting from here.
    std::map<uint64_t, Entry*> m_heads;
    uint64_t m_next_seq = 0;
    // Numbers Batch calls so that their marks on entries and senders need no clearing.
    mutable uint64_t m_batch_epoch = 0;
    size_t m_bytes = 0;
};

}  // namespace meterchain::mempool
