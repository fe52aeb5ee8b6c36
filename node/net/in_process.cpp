#include "node/net/in_process.h"

#include <utility>

namespace meterchain::net {

class InProcessNetwork::Endpoint_ final : public Transport {
public:
    Endpoint_(InProcessNetwork& network, uint32_t self) : m_network(network), m_self(self) {}
    ~Endpoint_() override { Stop(); }

    Status Start(FrameHandler on_frame) override {
        m_on_frame = std::move(on_frame);
        m_network.Attach(m_self, this);
        return Status::Ok();
    }
    void Stop() override { m_network.Attach(m_self, nullptr); }
    void Send(uint32_t to, Lane, Frame frame) override {
        if (to == m_self || to >= m_network.m_isolated.size()) return;
        m_network.Enqueue(m_self, to, *frame);
        m_counters.frames_sent.fetch_add(1);
    }
    std::vector<bool> Connected() const override {
        std::lock_guard lock(m_network.m_mutex);
        std::vector<bool> out(m_network.m_isolated.size(), false);
        for (uint32_t i = 0; i < out.size(); ++i) {
            out[i] = i == m_self || (m_network.m_endpoints[i] != nullptr &&
                                     !m_network.m_isolated[i] && !m_network.m_isolated[m_self]);
        }
        return out;
    }
    TransportCounters& counters() override { return m_counters; }
    const TransportCounters& counters() const override { return m_counters; }

    void Receive(uint32_t from, const v1::PeerFrame& frame) {
        m_counters.frames_received.fetch_add(1);
        m_on_frame(from, frame);
    }

private:
    InProcessNetwork& m_network;
    const uint32_t m_self;
    FrameHandler m_on_frame;  // set by Start
    TransportCounters m_counters;
};

InProcessNetwork::InProcessNetwork(size_t validators)
    : m_endpoints(validators, nullptr), m_isolated(validators, false) {}

InProcessNetwork::~InProcessNetwork() = default;

std::unique_ptr<Transport> InProcessNetwork::Endpoint(uint32_t self) {
    return std::make_unique<Endpoint_>(*this, self);
}

void InProcessNetwork::Attach(uint32_t index, Endpoint_* endpoint) {
    std::lock_guard lock(m_mutex);
    if (index < m_endpoints.size()) m_endpoints[index] = endpoint;
}

void InProcessNetwork::Enqueue(uint32_t from, uint32_t to, const v1::PeerFrame& frame) {
    std::string bytes = frame.SerializeAsString();
    std::lock_guard lock(m_mutex);
    if (m_isolated[from] || m_isolated[to]) {
        ++m_dropped;
        return;
    }
    m_queue.push_back({from, to, std::move(bytes)});
}

size_t InProcessNetwork::Deliver(size_t max) {
    size_t delivered = 0;
    while (delivered < max) {
        Queued next;
        Endpoint_* receiver = nullptr;
        {
            std::lock_guard lock(m_mutex);
            if (m_queue.empty()) break;
            next = std::move(m_queue.front());
            m_queue.pop_front();
            receiver = m_endpoints[next.to];
            if (receiver == nullptr || m_isolated[next.from] || m_isolated[next.to]) {
                ++m_dropped;
                continue;
            }
            ++m_delivered;
        }
        v1::PeerFrame frame;
        if (!frame.ParseFromString(next.bytes)) {
            receiver->counters().bad_frames.fetch_add(1);
        } else {
            receiver->Receive(next.from, frame);
        }
        ++delivered;
    }
    return delivered;
}

size_t InProcessNetwork::queued() const {
    std::lock_guard lock(m_mutex);
    return m_queue.size();
}

void InProcessNetwork::SetIsolated(uint32_t index, bool isolated) {
    std::lock_guard lock(m_mutex);
    if (index < m_isolated.size()) m_isolated[index] = isolated;
}

uint64_t InProcessNetwork::delivered() const {
    std::lock_guard lock(m_mutex);
    return m_delivered;
}

uint64_t InProcessNetwork::dropped() const {
    std::lock_guard lock(m_mutex);
    return m_dropped;
}

}  // namespace meterchain::net
