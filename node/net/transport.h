// The seam between the node and the network: a Transport moves frames (v1::PeerFrame,
// proto/node.proto) between the validators of one cluster, and nothing else. What a frame means
// (consensus messages, gossiped transactions) is the business of the layers above it
// (net::Messenger, node::Gossip); whom to send what, and when, is the node's.
//
// Implementations: net::PeerTransport (gRPC streams over mutual TLS, the daemon's) and
// net::InProcessNetwork's transports (frames handed over in memory, for tests that run several
// nodes in one process), in the way leveldb has its Env and an in-memory Env.
//
// Each peer is reached on two lanes with their own queues, so that a backlog on one never holds
// up the other: consensus messages on one, gossiped transactions on the other. Frames sent to
// one peer on one lane arrive in order; a frame may be lost (a bounded queue dropped it, the
// peer was down), never altered or attributed to another sender.
//
// Thread-safety: Send, Connected and counters may be called from any thread once Start has
// returned. The frame handler is called on the transport's threads, concurrently for
// different peers and in each peer's order per lane; the next frame of that peer and lane is
// read when the handler returns, so a handler may do a frame's own work (checking a signature)
// but must post anything long elsewhere.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "node/base/status.h"
#include "proto/node.pb.h"

namespace meterchain::net {

enum class Lane : size_t { kConsensus = 0, kGossip = 1 };
inline constexpr size_t kLanes = 2;

// Frames are immutable once sent, so one frame can be queued for several peers.
using Frame = std::shared_ptr<const v1::PeerFrame>;

struct TransportCounters {
    std::atomic<uint64_t> frames_sent{0};
    std::atomic<uint64_t> frames_received{0};
    std::atomic<uint64_t> frames_dropped{0};   // queue overflow
    std::atomic<uint64_t> peers_refused{0};    // bad hello, wrong certificate name, ...
    std::atomic<uint64_t> bad_frames{0};       // frames the layer above could not use
    std::atomic<uint64_t> streams_rotated{0};  // planned replacements (frames_per_stream)
};

class Transport {
public:
    // A frame from validator `from`, whose identity the transport has established (never this
    // node itself).
    using FrameHandler = std::function<void(uint32_t from, const v1::PeerFrame& frame)>;

    virtual ~Transport() = default;

    // Starts listening and connecting; received frames go to `on_frame` from then on. Errors:
    // kIoError when the transport cannot listen, kInvalidArgument for bad settings.
    virtual Status Start(FrameHandler on_frame) = 0;
    // Closes everything and joins the transport's threads; no handler runs after it returns.
    // Idempotent.
    virtual void Stop() = 0;

    // Queues `frame` for validator `to` on `lane`. Sending to this node itself or to an index
    // outside the validator set does nothing.
    virtual void Send(uint32_t to, Lane lane, Frame frame) = 0;

    // Per validator index: whether frames can flow to and from it on both lanes (self: true).
    virtual std::vector<bool> Connected() const = 0;
    virtual TransportCounters& counters() = 0;
    virtual const TransportCounters& counters() const = 0;
};

}  // namespace meterchain::net
