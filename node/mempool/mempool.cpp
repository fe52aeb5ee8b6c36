#include "node/mempool/mempool.h"

#include <algorithm>
#include <iterator>
#include <queue>
#include <utility>

namespace meterchain::mempool {

namespace {

// 16 hex characters identify a hash or key in messages well enough; the full key is 130.
constexpr size_t kPrefixBytes = 8;

std::string HexPrefix(ByteView data) {
    return ToHex(data.first(std::min(data.size(), kPrefixBytes)));
}

}  // namespace

size_t TxBytes(const chain::Transaction& tx) { return tx.body.size() + tx.signature.size(); }

Mempool::Mempool(MempoolOptions options, CommittedNonceFn committed_nonce)
    : m_options(options), m_committed_nonce(std::move(committed_nonce)) {}

Result<Hash256> Mempool::Add(chain::Transaction tx, const chain::TxBody& body) {
    // Hashing is the expensive part; keep it outside the lock (and remembered in the copies
    // that Batch hands out).
    if (!tx.memo.set) tx.RememberHash();
    const Hash256 hash = tx.Hash();
    const size_t size = TxBytes(tx);
    std::string key = ToString(body.sender);

    std::lock_guard lock(m_mutex);
    if (m_txs.contains(hash)) {
        return Status(StatusCode::kAlreadyExists,
                      "transaction " + HexPrefix(hash) + " is already in the mempool");
    }
    // Read under the lock: RemoveCommitted prunes after state advances, so a nonce checked
    // here cannot slip in between a commit and its pruning.
    const uint64_t committed = m_committed_nonce(body.sender);
    if (body.nonce <= committed) {
        return InvalidArgument("nonce " + std::to_string(body.nonce) + " already used by sender " +
                               HexPrefix(body.sender) + " (last committed nonce " +
                               std::to_string(committed) + ")");
    }
    auto sender_it = m_senders.find(key);
    if (sender_it != m_senders.end()) {
        auto pending = sender_it->second.by_nonce.find(body.nonce);
        if (pending != sender_it->second.by_nonce.end()) {
            return Status(StatusCode::kAlreadyExists,
                          "sender " + HexPrefix(body.sender) +
                              " already has pending transaction " +
                              HexPrefix(pending->second->hash) + " with nonce " +
                              std::to_string(body.nonce));
        }
    }
    if (m_txs.size() >= m_options.max_txs) {
        return Status(StatusCode::kResourceExhausted,
                      "mempool full (" + std::to_string(m_options.max_txs) + " transactions)");
    }
    // m_bytes <= max_bytes always holds, so the subtraction cannot wrap.
    if (size > m_options.max_bytes - m_bytes) {
        return Status(StatusCode::kResourceExhausted,
                      "mempool full (" + std::to_string(m_options.max_bytes) + " bytes)");
    }

    if (sender_it == m_senders.end()) {
        sender_it = m_senders.emplace(key, Sender{key, {}}).first;
    }
    Sender& sender = sender_it->second;
    Entry& entry =
        m_txs.emplace(hash, Entry{std::move(tx), hash, &sender, body.nonce, m_next_seq++, size})
            .first->second;
    auto slot = sender.by_nonce.emplace(body.nonce, &entry).first;
    if (slot == sender.by_nonce.begin()) {
        // The new lowest nonce of this sender replaces the old head.
        if (auto old = std::next(slot); old != sender.by_nonce.end()) {
            m_heads.erase(old->second->seq);
        }
        m_heads.emplace(entry.seq, &entry);
    }
    m_bytes += size;
    return hash;
}

std::vector<chain::Transaction> Mempool::Batch(size_t max_txs, size_t max_bytes,
                                               const std::set<Hash256>& exclude) const {
    std::vector<chain::Transaction> out;
    if (max_txs == 0) return out;

    // A k-way merge of the senders' nonce-ordered queues, always taking the candidate that
    // arrived first. Candidates come from two sources: m_heads (each sender's lowest pending
    // transaction, already in arrival order) and `ready`, a heap of the next candidate of
    // each sender already visited in this call. Only senders reached by the merge or named by
    // `exclude` are ever touched, so the pool's size does not enter the cost.
    using NonceIt = std::map<uint64_t, Entry*>::const_iterator;
    struct Candidate {
        uint64_t seq;
        NonceIt it;
        const Sender* sender;
    };
    auto later = [](const Candidate& a, const Candidate& b) { return a.seq > b.seq; };
    std::priority_queue<Candidate, std::vector<Candidate>, decltype(later)> ready(later);

    std::lock_guard lock(m_mutex);
    // Exclusion is marked on the entries once, so that walking a sender's queue tests a field
    // instead of searching `exclude` (tens of thousands of tree lookups per block otherwise).
    const uint64_t epoch = ++m_batch_epoch;
    std::vector<const Entry*> excluded_heads;
    for (const Hash256& hash : exclude) {
        auto found = m_txs.find(hash);
        if (found == m_txs.end()) continue;
        const Entry& entry = found->second;
        entry.excluded_epoch = epoch;
        if (entry.sender->by_nonce.begin()->second == &entry) excluded_heads.push_back(&entry);
    }
    // A sender's transactions are proposed only as an unbroken nonce sequence following its
    // committed nonce (excluded, i.e. in-flight, ones count as present): a transaction behind
    // a gap waits for the missing nonce instead of making it unusable once it commits.
    auto contiguous = [&](NonceIt it, const Sender* sender) {
        if (it == sender->by_nonce.begin()) {
            return it->first == m_committed_nonce(AsBytes(sender->key)) + 1;
        }
        return it->first == std::prev(it)->first + 1;
    };
    auto push_next = [&](NonceIt it, const Sender* sender) {
        while (it != sender->by_nonce.end() && it->second->excluded_epoch == epoch) {
            if (!contiguous(it, sender)) return;
            ++it;
        }
        if (it != sender->by_nonce.end() && contiguous(it, sender)) {
            ready.push({it->second->seq, it, sender});
        }
    };
    // Senders whose head is excluded enter the merge at their first non-excluded
    // transaction instead, and their m_heads entry is passed over.
    for (const Entry* head : excluded_heads) {
        head->sender->redirected_epoch = epoch;
        push_next(head->sender->by_nonce.begin(), head->sender);
    }

    out.reserve(std::min(max_txs, m_txs.size()));
    size_t used = 0;
    auto head = m_heads.begin();
    while (out.size() < max_txs) {
        while (head != m_heads.end() && head->second->sender->redirected_epoch == epoch) ++head;
        NonceIt it;
        const Sender* sender;
        if (!ready.empty() && (head == m_heads.end() || ready.top().seq < head->first)) {
            it = ready.top().it;
            sender = ready.top().sender;
            ready.pop();
        } else if (head != m_heads.end()) {
            sender = head->second->sender;
            it = sender->by_nonce.begin();
            ++head;
            if (!contiguous(it, sender)) continue;
        } else {
            break;
        }
        const Entry& entry = *it->second;
        // Stop rather than skip: skipping could let a sender's next nonce overtake this one.
        if (entry.bytes > max_bytes - used) break;
        used += entry.bytes;
        out.push_back(entry.tx);
        push_next(std::next(it), sender);
    }
    return out;
}

void Mempool::RemoveCommitted(const std::vector<chain::Transaction>& txs) {
    std::vector<Hash256> hashes;
    hashes.reserve(txs.size());
    for (const auto& tx : txs) hashes.push_back(tx.Hash());

    std::lock_guard lock(m_mutex);
    std::set<std::string> touched;
    for (size_t i = 0; i < txs.size(); ++i) {
        auto found = m_txs.find(hashes[i]);
        if (found != m_txs.end()) {
            touched.insert(found->second.sender->key);
            EraseLocked(&found->second);
            continue;
        }
        // Committed elsewhere; its sender may still have a conflicting or stale nonce here.
        auto body = chain::TxBody::Parse(txs[i].body);
        if (body.ok()) touched.insert(ToString(body->sender));
    }
    for (const auto& key : touched) PruneSenderLocked(key);
}

void Mempool::EraseLocked(Entry* entry) {
    Sender* sender = entry->sender;
    const bool was_head = sender->by_nonce.begin()->second == entry;
    sender->by_nonce.erase(entry->nonce);
    if (was_head) {
        m_heads.erase(entry->seq);
        if (!sender->by_nonce.empty()) {
            Entry* next = sender->by_nonce.begin()->second;
            m_heads.emplace(next->seq, next);
        }
    }
    if (sender->by_nonce.empty()) m_senders.erase(m_senders.find(sender->key));
    m_bytes -= entry->bytes;
    m_txs.erase(m_txs.find(entry->hash));
}

void Mempool::PruneSenderLocked(const std::string& sender_key) {
    auto it = m_senders.find(sender_key);
    if (it == m_senders.end()) return;
    const uint64_t committed = m_committed_nonce(AsBytes(sender_key));
    Sender& sender = it->second;
    while (sender.by_nonce.begin()->first <= committed) {
        const bool last = sender.by_nonce.size() == 1;
        EraseLocked(sender.by_nonce.begin()->second);
        if (last) return;  // the sender is gone with its last transaction
    }
}

bool Mempool::Contains(const Hash256& hash) const {
    std::lock_guard lock(m_mutex);
    return m_txs.contains(hash);
}

std::optional<chain::Transaction> Mempool::Get(const Hash256& hash) const {
    std::lock_guard lock(m_mutex);
    auto found = m_txs.find(hash);
    if (found == m_txs.end()) return std::nullopt;
    return found->second.tx;
}

size_t Mempool::size() const {
    std::lock_guard lock(m_mutex);
    return m_txs.size();
}

size_t Mempool::bytes() const {
    std::lock_guard lock(m_mutex);
    return m_bytes;
}

}  // namespace meterchain::mempool
