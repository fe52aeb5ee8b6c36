// Gossip of client transactions between validators: which validator gets a transaction this
// node admitted, and how soon. It sends frames through a net::Transport (gossip lane), which
// knows nothing of this policy.
//
// Every validator needs a transaction a client gave to this node: the one whose proposal comes
// next (the lead) at once, to propose it; the others only for their pending-work timers and
// to propose it after a view change, since they get its body in the PRE-PREPARE. So the lead
// gets transactions in batches gathered within batch_delay_ms (or at the next Flush), the
// others in fewer, larger frames gathered within lazy_delay_ms, less those no longer needed
// by then (nearly every client request carries one transaction, and a frame of its own costs
// each side more CPU than the body's bytes). Without a lead (a view change), everyone is in a
// hurry; when this node is the lead, nobody is.
//
// Thread-safety: every member function may be called from any thread; one mutex guards the
// batches, and frames are sent outside it. Start/Stop run the flusher thread that sends each
// batch when it is due.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "node/base/bytes.h"
#include "node/chain/types.h"
#include "node/net/transport.h"

namespace meterchain::node {

struct GossipOptions {
    uint32_t self = 0;
    size_t validators = 0;
    // Transactions for the lead go out at most this long after the first one...
    uint32_t batch_delay_ms = 2;
    // ...or as soon as this many bytes are waiting (either batch).
    size_t batch_bytes = 256u << 10;
    // The others get theirs in batches at most this old.
    uint32_t lazy_delay_ms = 200;
};

class Gossip {
public:
    static constexpr uint32_t kNoLead = UINT32_MAX;
    // Whether a transaction gathered for the validators other than the lead still has to reach
    // them; asked when their batch goes out (the node: not committed yet). Must be thread-safe.
    using NeededFn = std::function<bool(const Hash256& hash)>;

    // `transport` must outlive the gossip. Without `needed`, every transaction is needed.
    Gossip(GossipOptions options, net::Transport& transport, NeededFn needed = nullptr);
    ~Gossip();
    Gossip(const Gossip&) = delete;
    Gossip& operator=(const Gossip&) = delete;

    // Starts and stops the flusher thread (Stop is idempotent; batches still waiting are
    // dropped, as a stopping transport would drop them).
    void Start();
    void Stop();

    // Gossips a transaction this node verified and admitted (`hash` = tx.Hash()) to every
    // other validator, as the header says.
    void Broadcast(const chain::Transaction& tx, const Hash256& hash);
    // Sends what was gathered for the lead (for everyone while there is none) now. The node
    // calls it at the end of a client request, whose transactions already form a batch, so
    // that they do not wait out the delay.
    void Flush();
    // The validator whose proposal comes next: the node names its view's primary, or kNoLead
    // during a view change (and itself when it is the primary). Changing the lead first sends
    // what was gathered under the old one, where it was gathered for.
    void SetLead(uint32_t lead);

private:
    // A batch of transactions being gathered, for the lead or for the rest.
    struct Batch {
        std::shared_ptr<v1::PeerFrame> frame;  // null when empty
        std::vector<Hash256> hashes;  // of frame's transactions, in order (lazy batch only)
        size_t bytes = 0;
        std::chrono::steady_clock::time_point due;  // when it must go out
    };
    // Takes the batch (requires m_mutex held); SendBatch sends it outside the lock.
    static Batch TakeLocked(Batch& batch);
    // To the lead alone (lead_batch) or, less what m_needed says is no longer needed, to
    // every validator but the lead.
    void SendBatch(Batch batch, bool lead_batch, uint32_t lead);
    void RunFlusher();

    const GossipOptions m_opt;
    net::Transport& m_transport;
    const NeededFn m_needed;
    std::mutex m_mutex;
    std::condition_variable m_cv;
    // Guarded by m_mutex. Without a lead, everything goes through m_lead_batch.
    Batch m_lead_batch;
    Batch m_lazy_batch;
    uint32_t m_lead = kNoLead;
    bool m_stopping = false;
    std::thread m_flusher;
};

}  // namespace meterchain::node
