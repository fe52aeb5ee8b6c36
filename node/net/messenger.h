// Consensus messages and gossiped transactions over a net::Transport: encodes what the node
// sends into frames (net/wire.h) and decodes what arrives, with the checks every transport
// gets alike, so that a test's in-process network is as strict as the real one: a frame that
// does not decode, or whose message names another sender than the validator it came from, is
// counted (TransportCounters::bad_frames), logged and dropped.
//
// Thread-safety: Send and Broadcast may be called from any thread after Start. The handlers
// run on the transport's threads, as its frame handler does (see transport.h).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "consensus/messages.h"
#include "node/base/status.h"
#include "node/chain/types.h"
#include "node/net/transport.h"

namespace meterchain::net {

class Messenger {
public:
    using MessageHandler = std::function<void(uint32_t from, consensus::Message message)>;
    // Gossiped transactions, a frame's worth at a time (unverified).
    using TxHandler = std::function<void(uint32_t from, std::vector<chain::Transaction> txs)>;

    // `transport` must outlive the messenger.
    Messenger(Transport& transport, MessageHandler on_message, TxHandler on_tx);

    // Starts the transport with this messenger as its frame handler (errors: the transport's).
    Status Start();
    void Send(uint32_t to, const consensus::Message& message);
    // To every validator but this node (the transport skips itself).
    void Broadcast(const consensus::Message& message, size_t validators);

    // What Start hands the transport; public so that a test can feed frames in directly.
    void OnFrame(uint32_t from, const v1::PeerFrame& frame);

    Transport& transport() { return m_transport; }

private:
    Transport& m_transport;
    MessageHandler m_on_message;
    TxHandler m_on_tx;
};

// The frame carrying `message` (consensus lane).
Frame MessageFrame(const consensus::Message& message);

}  // namespace meterchain::net
