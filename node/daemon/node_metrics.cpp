// The node's metrics (docs/GATEWAY.md lists them) and the readiness the gateway reports. The
// consensus thread updates counters and the round-latency histogram in ApplyCommitted and
// copies the core's counters into atomics in PublishSnapshot; everything else is read from
// thread-safe accessors when /metrics is scraped.
#include "node/daemon/node.h"
#include "node/gateway/gateway.h"

namespace meterchain::node {

void Node::RegisterMetrics() {
    metrics::Registry& r = *m_metrics;
    using metrics::Type;
    m_committed_txs = &r.AddCounter("meterchain_committed_transactions_total",
                                    "transactions in blocks committed by this node");
    m_committed_blocks =
        &r.AddCounter("meterchain_committed_blocks_total", "blocks committed by this node");
    m_round_latency = &r.AddHistogram(
        "meterchain_round_latency_seconds",
        "from a block's proposal (its timestamp) to its commit on this node",
        {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10});
    r.AddCallback("meterchain_height", "committed height", Type::kGauge,
                  [this] { return static_cast<double>(Snapshot().height); });
    r.AddCallback("meterchain_view", "current PBFT view", Type::kGauge,
                  [this] { return static_cast<double>(Snapshot().view); });
    r.AddCallback("meterchain_in_view_change", "1 while a view change is in progress",
                  Type::kGauge, [this] { return Snapshot().in_view_change ? 1.0 : 0.0; });
    r.AddCallback("meterchain_view_changes_total", "view changes this node went through",
                  Type::kCounter, [this] { return static_cast<double>(m_view_changes.load()); });
    r.AddCallback("meterchain_mempool_transactions", "transactions waiting in the mempool",
                  Type::kGauge, [this] { return static_cast<double>(m_mempool->size()); });
    r.AddCallback("meterchain_peers_connected", "validator peers with an open stream",
                  Type::kGauge, [this] {
                      size_t n = 0;
                      if (m_transport) {
                          const auto c = m_transport->Connected();
                          for (size_t i = 0; i < c.size(); ++i) n += (c[i] && i != m_self) ? 1 : 0;
                      }
                      return static_cast<double>(n);
                  });
    r.AddCallback("meterchain_peers", "other validators in the configuration", Type::kGauge,
                  [this] { return static_cast<double>(m_validators.size() - 1); });
    r.AddCallback("meterchain_signature_verifications_total",
                  "SM2 signature verifications this node performed", Type::kCounter,
                  [this] { return static_cast<double>(m_verifier->verifications()); });
    r.AddCallback("meterchain_signature_verify_cpu_seconds_total",
                  "thread CPU time spent in SM2 verification", Type::kCounter,
                  [this] { return static_cast<double>(m_verifier->verify_cpu_ns()) / 1e9; });
    r.AddCallback("meterchain_peer_frames_sent_total", "frames written to peer streams",
                  Type::kCounter, [this] { return static_cast<double>(peer_frames_sent()); });
}

gateway::Readiness Node::ReadinessNow() const {
    gateway::Readiness r;
    const NodeSnapshot s = Snapshot();
    r.height = s.height;
    r.peers_height = m_ahead_height.load();
    r.in_view_change = s.in_view_change;
    for (size_t i = 0; i < s.connected.size(); ++i) r.peers_connected += (s.connected[i] && i != m_self) ? 1 : 0;
    r.peers = m_validators.size() - 1;
    // A quorum is 2f+1 of n = 3f+1 (n - f); this node is one of them.
    const size_t n = m_validators.size();
    const size_t f = (n - 1) / 3;
    r.quorum_peers = n - f - 1;
    return r;
}

uint16_t Node::gateway_port() const { return m_gateway ? m_gateway->port() : 0; }

}  // namespace meterchain::node
