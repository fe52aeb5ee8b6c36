// An in-process network of net::Transport endpoints, one per validator, for tests that run
// several nodes in one process (the twin of net::PeerTransport, as leveldb's in-memory Env is
// of its Env). Nothing moves until the test says so: a sent frame waits in one queue, in send
// order, and Deliver hands frames to their receivers' handlers on the calling thread, so a
// test decides what arrives when and runs the same way every time.
//
// As strict as the real transport where it matters: every frame is serialized when sent and
// parsed on delivery (a frame that does not survive the wire fails here as it would there); a
// receiver learns the sender from the network, never from the frame; frames to or from a cut
// node are dropped and counted as the real queues' overflow is.
//
// Thread-safety: all member functions (and the transports' Send) may be called from any
// thread; one mutex guards the queue. Handlers run on the thread calling Deliver, outside the
// lock (a handler may send). A transport must not be stopped or destroyed while Deliver runs
// on another thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "node/net/transport.h"

namespace meterchain::net {

class InProcessNetwork {
public:
    explicit InProcessNetwork(size_t validators);
    ~InProcessNetwork();
    InProcessNetwork(const InProcessNetwork&) = delete;
    InProcessNetwork& operator=(const InProcessNetwork&) = delete;

    // The transport of validator `self` (one each; owned by the caller, and must not outlive
    // the network). Its Start registers the handler, its Stop removes it.
    std::unique_ptr<Transport> Endpoint(uint32_t self);

    // Delivers up to `max` queued frames in send order; returns how many were delivered.
    // Frames for a receiver that is not started are dropped.
    size_t Deliver(size_t max = SIZE_MAX);
    // Delivers until nothing is queued, at most `max` frames; returns how many were delivered.
    size_t DeliverAll(size_t max = 1000000) { return Deliver(max); }
    size_t queued() const;

    // Cuts (or restores) every link of validator `index`: frames to and from it are dropped.
    void SetIsolated(uint32_t index, bool isolated);

    // Frames delivered and dropped so far, over all links.
    uint64_t delivered() const;
    uint64_t dropped() const;

private:
    class Endpoint_;
    struct Queued {
        uint32_t from = 0;
        uint32_t to = 0;
        std::string bytes;  // the serialized frame
    };
    void Enqueue(uint32_t from, uint32_t to, const v1::PeerFrame& frame);
    void Attach(uint32_t index, Endpoint_* endpoint);  // null detaches

    mutable std::mutex m_mutex;
    std::deque<Queued> m_queue;            // guarded by m_mutex
    std::vector<Endpoint_*> m_endpoints;   // guarded by m_mutex; started ones, by index
    std::vector<bool> m_isolated;          // guarded by m_mutex
    uint64_t m_delivered = 0;              // guarded by m_mutex
    uint64_t m_dropped = 0;                // guarded by m_mutex
};

}  // namespace meterchain::net
