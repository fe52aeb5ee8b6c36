// The peer transport between validators: gRPC bidirectional-capable streams (service Peer in
// proto/node.proto) over mutual TLS with the cluster CA.
//
// Each node keeps two outbound streams ("lanes") to every other validator and accepts the
// same from each: consensus messages travel on one, gossiped transactions on the other, so a
// backlog of gossip never holds up a proposal or a vote (neither in the sender's queue nor
// in the HTTP/2 stream, nor behind the receiver's handling of a gossip frame). A caller proves who it is twice: its TLS certificate must be signed by the
// cluster CA with the validator's name as common name, and its first frame (PeerHello) must be
// SM2-signed by the validator's key from the validator set. Anything else is refused and
// logged. Outbound streams reconnect with exponential back-off. Each peer has a bounded queue
// (frames and bytes); when it is full the oldest frame is dropped and counted (consensus
// retransmits what matters), so a slow or dead peer cannot exhaust memory.
//
// Thread-safety: Send/Broadcast/BroadcastTx/Connected may be called from any thread. Handlers
// are called on gRPC threads, concurrently for different peers and in each peer's order; the
// next frame of that peer is read when the handler returns, so a handler may do a message's
// own work (checking its signature) but must post anything long elsewhere.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "consensus/messages.h"
#include "node/base/status.h"
#include "node/chain/types.h"
#include "node/chain/validators.h"
#include "node/crypto/signer.h"
#include "proto/node.pb.h"

namespace grpc {
class Server;
}

namespace meterchain::net {

struct TransportOptions {
    std::string chain_id;
    uint32_t self = 0;
    chain::ValidatorSet validators;
    std::string listen;  // host:port of the Peer service
    std::string ca_pem, cert_pem, key_pem;
    // Per lane and peer. A peer that is down makes its queues fill to this and stay there
    // (it catches up by state transfer, not from the queue), so the bound is kept small.
    size_t max_queue_frames = 8192;
    size_t max_queue_bytes = 16u << 20;
    uint32_t backoff_min_ms = 50;
    uint32_t backoff_max_ms = 2000;
    size_t max_message_bytes = 64u << 20;
    // Gossiped transactions are sent in batches: at most this long after the first one...
    uint32_t tx_batch_delay_ms = 2;
    // ...or as soon as this many bytes are waiting.
    size_t tx_batch_bytes = 256u << 10;
    // Once SetTxLead names a lead, only the lead gets them that soon; every other validator
    // gets them in batches at most this old, less those no longer needed (see SetTxLead).
    uint32_t tx_lazy_delay_ms = 200;
    // An outbound stream is replaced by a fresh one after this many frames (see RunOutbound:
    // gRPC's per-call memory grows with every write until the call ends).
    uint64_t frames_per_stream = 2048;
};

struct TransportCounters {
    std::atomic<uint64_t> frames_sent{0};
    std::atomic<uint64_t> frames_received{0};
    std::atomic<uint64_t> frames_dropped{0};   // queue overflow
    std::atomic<uint64_t> peers_refused{0};    // bad hello, wrong certificate name, ...
    std::atomic<uint64_t> bad_frames{0};
    std::atomic<uint64_t> streams_rotated{0};  // planned replacements (frames_per_stream)
};

class PeerTransport {
public:
    using MessageHandler = std::function<void(uint32_t from, consensus::Message message)>;
    // Gossiped transactions, a frame's worth at a time (unverified).
    using TxHandler = std::function<void(uint32_t from, std::vector<chain::Transaction> txs)>;

    // `signer` and `verifier` must outlive the transport.
    PeerTransport(TransportOptions options, const crypto::Signer& signer,
                  const crypto::Verifier& verifier, MessageHandler on_message,
                  TxHandler on_tx);
    ~PeerTransport();
    PeerTransport(const PeerTransport&) = delete;
    PeerTransport& operator=(const PeerTransport&) = delete;

    // Binds the listener and starts the outbound connections. kIoError when the address
    // cannot be bound (e.g. already in use), kInvalidArgument for bad TLS material.
    Status Start();
    // Closes every stream and joins the threads. Idempotent.
    void Stop();

    void Send(uint32_t to, const consensus::Message& message);
    void Broadcast(const consensus::Message& message);
    // Gossips a client transaction (verified by this node; `hash` = tx.Hash()) to every other
    // validator. To the lead (every validator while there is none) it goes out with the others
    // gathered within tx_batch_delay_ms, or at the next FlushTxs; to the rest, with those
    // gathered within tx_lazy_delay_ms, unless by then it is no longer needed.
    void BroadcastTx(const chain::Transaction& tx, const Hash256& hash);
    // Sends the transactions gathered for the lead (all of them while there is none) now. The
    // node calls it at the end of a client request, whose transactions already form a batch,
    // so that they do not wait out the delay.
    void FlushTxs();
    // The validator whose proposal comes next: the node names its view's primary, or kNoLead
    // during a view change (and itself when it is the primary: then nobody is in a hurry).
    // Only the lead needs a transaction at once. The others get its body in the PRE-PREPARE
    // and need the gossip only for their pending-work timers and to propose it after a view
    // change, so they get it in fewer, larger frames (nearly every client request carries
    // one transaction, and a frame of its own costs each side more CPU than the body's bytes),
    // and not at all once it has committed (see SetTxNeeded). Changing the lead first sends
    // what was gathered under the old one.
    static constexpr uint32_t kNoLead = UINT32_MAX;
    void SetTxLead(uint32_t lead);
    // `needed(hash)` says whether a transaction gathered for the validators other than the lead
    // still has to reach them; asked when their batch goes out (the node: not committed yet).
    // Without it, every transaction does. Call before Start; it must be thread-safe.
    using TxNeededFn = std::function<bool(const Hash256& hash)>;
    void SetTxNeeded(TxNeededFn needed) { m_tx_needed = std::move(needed); }

    // Per validator index: authenticated streams of both lanes are up in either direction
    // (self: true).
    std::vector<bool> Connected() const;
    const TransportCounters& counters() const { return m_counters; }

    class Service;  // the gRPC service (defined in the .cpp)
    struct Outbound;

private:
    struct Lane;
    enum LaneIndex : size_t { kConsensusLane = 0, kGossipLane = 1, kLanes = 2 };
    void RunOutbound(Outbound& peer, Lane& lane);
    void RunTxFlusher();
    // A batch of gossiped transactions being gathered, for the lead or for the rest.
    struct TxBatch {
        std::shared_ptr<v1::PeerFrame> frame;  // null when empty
        std::vector<Hash256> hashes;  // of frame's transactions, in order (lazy batch only)
        size_t bytes = 0;
        std::chrono::steady_clock::time_point due;  // when it must go out
    };
    // Takes the batch (requires m_tx_mutex held); SendTxBatch sends it outside the lock.
    static TxBatch TakeLocked(TxBatch& batch);
    // To the lead alone (lead_batch) or, less what m_tx_needed says is no longer needed, to
    // every validator but the lead.
    void SendTxBatch(TxBatch batch, bool lead_batch, uint32_t lead);
    void Enqueue(uint32_t to, std::shared_ptr<const v1::PeerFrame> frame, LaneIndex lane);
    friend class Service;

    TransportOptions m_opt;
    const crypto::Signer& m_signer;
    const crypto::Verifier& m_verifier;
    MessageHandler m_on_message;
    TxHandler m_on_tx;
    TransportCounters m_counters;
    std::unique_ptr<Service> m_service;
    std::unique_ptr<grpc::Server> m_server;
    std::vector<std::unique_ptr<Outbound>> m_outbound;  // indexed by validator (self: null)
    std::vector<std::atomic<int>> m_inbound_streams;    // live inbound streams per validator
    std::atomic<bool> m_stopping{false};
    bool m_started = false;
    std::mutex m_tx_mutex;
    std::condition_variable m_tx_cv;
    // Guarded by m_tx_mutex. Without a lead, everything goes through m_tx_lead_batch.
    TxBatch m_tx_lead_batch;
    TxBatch m_tx_lazy_batch;
    uint32_t m_tx_lead = kNoLead;
    TxNeededFn m_tx_needed;  // set before Start, then only read
    std::thread m_tx_flusher;
};

// The bytes a PeerHello signature covers.
Bytes HelloSigningBytes(const std::string& chain_id, uint32_t from, uint32_t to, ByteView nonce);

}  // namespace meterchain::net
