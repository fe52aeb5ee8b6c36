// The gRPC implementation of net::Transport (transport.h): streams of service Peer in
// proto/node.proto over mutual TLS with the cluster CA.
//
// Each node keeps two outbound streams (the lanes) to every other validator and accepts the
// same from each, each its own TLS connection, so a backlog of gossip never holds up a
// proposal or a vote (neither in the sender's queue nor in the HTTP/2 stream, nor behind the
// receiver's handling of a gossip frame). A caller proves who it is twice: its TLS certificate
// must be signed by the cluster CA with the validator's name as common name, and its first
// frame (PeerHello) must be SM2-signed by the validator's key from the validator set. Anything
// else is refused and logged. Outbound streams reconnect with exponential back-off. Each peer
// and lane has a bounded queue (frames and bytes); when it is full the oldest frame is dropped
// and counted (consensus retransmits what matters), so a slow or dead peer cannot exhaust
// memory.
//
// Thread-safety: as transport.h says.
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

#include "node/base/status.h"
#include "node/chain/validators.h"
#include "node/crypto/signer.h"
#include "node/net/transport.h"
#include "proto/node.pb.h"

namespace grpc {
class Server;
}

namespace meterchain::net {

struct TransportOptions {
    std::string chain_id;
    // This node's genesis block hash, sent in the hello; a peer whose hello names another is
    // refused. Zero: not sent, not checked.
    Hash256 genesis_hash{};
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
    // An outbound stream is replaced by a fresh one after this many frames (see RunOutbound:
    // gRPC's per-call memory grows with every write until the call ends).
    uint64_t frames_per_stream = 2048;
};

class PeerTransport final : public Transport {
public:
    // `signer` and `verifier` must outlive the transport.
    PeerTransport(TransportOptions options, const crypto::Signer& signer,
                  const crypto::Verifier& verifier);
    ~PeerTransport() override;
    PeerTransport(const PeerTransport&) = delete;
    PeerTransport& operator=(const PeerTransport&) = delete;

    // Binds the listener and starts the outbound connections. kIoError when the address
    // cannot be bound (e.g. already in use), kInvalidArgument for bad TLS material.
    Status Start(FrameHandler on_frame) override;
    void Stop() override;
    void Send(uint32_t to, Lane lane, Frame frame) override;
    // Authenticated streams of both lanes are up in either direction.
    std::vector<bool> Connected() const override;
    TransportCounters& counters() override { return m_counters; }
    const TransportCounters& counters() const override { return m_counters; }

    class Service;  // the gRPC service (defined in the .cpp)
    struct Outbound;

private:
    struct LaneQueue;
    void RunOutbound(Outbound& peer, LaneQueue& lane);
    friend class Service;

    TransportOptions m_opt;
    const crypto::Signer& m_signer;
    const crypto::Verifier& m_verifier;
    FrameHandler m_on_frame;  // set by Start, then only read
    TransportCounters m_counters;
    std::unique_ptr<Service> m_service;
    std::unique_ptr<grpc::Server> m_server;
    std::vector<std::unique_ptr<Outbound>> m_outbound;  // indexed by validator (self: null)
    std::vector<std::atomic<int>> m_inbound_streams;    // live inbound streams per validator
    std::atomic<bool> m_stopping{false};
};

// The bytes a PeerHello signature covers.
Bytes HelloSigningBytes(const std::string& chain_id, uint32_t from, uint32_t to, ByteView nonce);

}  // namespace meterchain::net
