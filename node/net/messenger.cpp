#include "node/net/messenger.h"

#include <memory>
#include <utility>

#include "node/base/log.h"
#include "node/chain/proto_adapter.h"
#include "node/net/wire.h"

namespace meterchain::net {

Frame MessageFrame(const consensus::Message& message) {
    auto frame = std::make_shared<v1::PeerFrame>();
    *frame->mutable_message() = ToProto(message);
    return frame;
}

Messenger::Messenger(Transport& transport, MessageHandler on_message, TxHandler on_tx)
    : m_transport(transport), m_on_message(std::move(on_message)), m_on_tx(std::move(on_tx)) {}

Status Messenger::Start() {
    return m_transport.Start(
        [this](uint32_t from, const v1::PeerFrame& frame) { OnFrame(from, frame); });
}

void Messenger::Send(uint32_t to, const consensus::Message& message) {
    m_transport.Send(to, Lane::kConsensus, MessageFrame(message));
}

void Messenger::Broadcast(const consensus::Message& message, size_t validators) {
    Frame frame = MessageFrame(message);
    for (uint32_t i = 0; i < validators; ++i) m_transport.Send(i, Lane::kConsensus, frame);
}

void Messenger::OnFrame(uint32_t from, const v1::PeerFrame& frame) {
    if (frame.has_message()) {
        auto message = FromProto(frame.message());
        if (!message.ok() || consensus::Sender(*message) != from) {
            m_transport.counters().bad_frames.fetch_add(1);
            MC_LOG(kWarn, "net", "bad frame")("index", from)(
                "reason", message.ok() ? "sender mismatch" : message.status().message());
            return;
        }
        m_on_message(from, std::move(*message));
    } else if (frame.has_forwarded_tx()) {
        std::vector<chain::Transaction> txs;
        txs.push_back(chain::FromProto(frame.forwarded_tx()));
        m_on_tx(from, std::move(txs));
    } else if (frame.has_forwarded_txs()) {
        std::vector<chain::Transaction> txs;
        txs.reserve(static_cast<size_t>(frame.forwarded_txs().transactions_size()));
        for (const auto& tx : frame.forwarded_txs().transactions()) {
            txs.push_back(chain::FromProto(tx));
        }
        m_on_tx(from, std::move(txs));
    } else {
        m_transport.counters().bad_frames.fetch_add(1);
    }
}

}  // namespace meterchain::net
