// Signatures this node has already seen verify, so that each is checked once per node (a
// transaction on submission or gossip) and not again when it shows up elsewhere (in a proposed
// block, at execution). Entries are keys that stand for a whole (message, signature) pair:
// SignatureCacheKey below; chain/tx_signatures.h builds them for transactions.
//
// Bounded: once `capacity` keys are held, inserting another evicts the oldest (FIFO). An
// evicted key only costs a repeated verification, never a wrong answer. All memory is
// allocated when the cache is built (base::FixedKeySet), so it does not grow as it fills.
//
// Thread-safety: all member functions may be called concurrently; one mutex guards all state.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <vector>

#include "node/base/bytes.h"
#include "node/base/fixed_key_set.h"

namespace meterchain::crypto {

class SignatureCache {
public:
    // 2.5 MiB. An entry is needed from a transaction's arrival until it commits, seconds
    // under load; one evicted earlier only costs a repeated check. (A million entries in node
    // based containers held ~100 MiB and made a node's RSS grow through a 10-minute run.)
    static constexpr size_t kDefaultCapacity = 65536;

    // `capacity` must be at least 1.
    explicit SignatureCache(size_t capacity = kDefaultCapacity);
    SignatureCache(const SignatureCache&) = delete;
    SignatureCache& operator=(const SignatureCache&) = delete;

    // Records that the signature behind `key` verified. Inserting a key already present
    // changes nothing (its eviction position is kept).
    void Insert(const Hash256& key);
    bool Contains(const Hash256& key) const;

    // For a caller about to verify the signature behind `key`, so that two threads do not
    // check the same one at once (a proposal's transactions are checked while their gossiped
    // copies may be): kKnown when it verified before; kMine when the caller is to verify it
    // now and report with End. While another thread is checking it: with `wait`, waits for
    // that check and decides again; without, returns kBusy at once (the consensus path must
    // not wait for a background thread).
    enum class Claim { kKnown, kMine, kBusy };
    Claim Begin(const Hash256& key, bool wait);
    // Ends a kMine claim: `verified` records the key; either way waiters are woken (after a
    // failure one of them checks again, as it would have without waiting).
    void End(const Hash256& key, bool verified);

    size_t size() const;
    size_t capacity() const { return m_set.capacity(); }

private:
    mutable std::mutex m_mutex;
    std::condition_variable m_checked;  // an End happened
    base::FixedKeySet m_set;            // guarded by m_mutex
    std::vector<Hash256> m_checking;    // guarded by m_mutex; claimed, at most one per thread
};

// The key the cache remembers for a signature over a message whose digest is `digest`: SM3
// over the digest and the signature. The digest alone covers only the message, and a message
// once seen with a valid signature must not vouch for a copy carrying another (a primary could
// otherwise put transactions with forged signatures into a block that every node accepts).
Hash256 SignatureCacheKey(const Hash256& digest, ByteView signature);

// What a check does when another thread is checking the same signature right now.
enum class OnBusy {
    kWait,    // wait for that thread's answer (gossip, submissions)
    kRepeat,  // check it again (the consensus thread, which must not wait for a background one)
    kSkip,    // leave it to that thread (pre-checks, whose answer is not needed now)
};

}  // namespace meterchain::crypto
