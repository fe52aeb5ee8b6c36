// Checkpoints (watermark window) and state transfer (fetching committed blocks).
#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "consensus/pbft.h"

namespace meterchain::consensus {

void Core::SendCheckpoint(const chain::BlockHeader& header) {
    Checkpoint cp{header.height, header.Hash(), header.state_root, m_opt.self, {}};
    m_checkpoints[cp.height][{cp.block_hash, cp.state_root}].insert(m_opt.self);
    Send(Outbound::kBroadcast, cp);
    auto& voters = m_checkpoints[cp.height][{cp.block_hash, cp.state_root}];
    if (voters.size() >= m_opt.validators.Quorum()) AdvanceLowWatermark(cp.height);
}

void Core::OnCheckpoint(const Checkpoint& m) {
    if (m.height <= m_low && m_low != 0) return;
    if (!m_has_committed || m.height > m_committed_height) NoteAhead(m.height, m.from);
    auto& voters = m_checkpoints[m.height][{m.block_hash, m.state_root}];
    voters.insert(m.from);
    if (voters.size() >= m_opt.validators.Quorum()) AdvanceLowWatermark(m.height);
}

void Core::AdvanceLowWatermark(uint64_t height) {
    if (height <= m_low && m_low != 0) return;
    m_low = height;
    // Votes at or below a stable checkpoint are never needed again.
    m_checkpoints.erase(m_checkpoints.begin(), m_checkpoints.upper_bound(height));
}

void Core::NoteAhead(uint64_t height, uint32_t peer, bool urgent) {
    if (m_has_committed && height <= m_committed_height) return;
    if (height > m_ahead_height || !m_fetching) {
        m_ahead_height = std::max(m_ahead_height, height);
        m_ahead_peer = peer;
    }
    if (!urgent && !m_fetching) {
        // Arm the fetch timer only: votes racing ahead of a proposal are normal.
        m_fetching = true;
        m_fetch_ticks = 0;
        return;
    }
    MaybeFetch();
}

void Core::MaybeFetch() {
    const uint64_t first = FirstUncommitted();
    if (m_ahead_height < first) {
        m_fetching = false;
        m_fetch_sent = false;
        m_fetch_attempt = 0;
        return;
    }
    if (m_fetching && m_fetch_ticks < m_opt.fetch_retry_ticks) {
        if (m_fetch_sent) RequestMore();  // running: keep the pipeline full
        return;                           // armed only: give the normal protocol its chance
    }
    // Start, or nothing arrived for fetch_retry_ticks: ask the peer that showed it is ahead
    // first, then rotate through the others, from the committed tip again.
    const uint32_t n = static_cast<uint32_t>(m_opt.validators.size());
    if (n == 1) return;
    uint32_t peer = (m_ahead_peer + m_fetch_attempt) % n;
    if (peer == m_opt.self) peer = (peer + 1) % n;
    m_fetching = true;
    m_fetch_sent = true;
    m_fetch_peer = peer;
    m_fetch_next = first;
    m_fetch_ticks = 0;
    ++m_fetch_attempt;
    RequestMore();
}

void Core::RequestMore() {
    const uint64_t first = FirstUncommitted();
    const uint64_t per = std::max<uint64_t>(1, m_opt.max_blocks_per_request);
    const uint64_t limit =
        std::min(m_ahead_height, first + per * std::max<uint32_t>(1, m_opt.fetch_pipeline) - 1);
    m_fetch_next = std::max(m_fetch_next, first);
    while (m_fetch_next <= limit) {
        const uint64_t last = std::min(limit, m_fetch_next + per - 1);
        Send(static_cast<int32_t>(m_fetch_peer), BlockRequest{m_fetch_next, last, m_opt.self, {}});
        m_fetch_next = last + 1;
    }
}

void Core::ProbeAhead() {
    const uint32_t n = static_cast<uint32_t>(m_opt.validators.size());
    if (n == 1) return;
    uint32_t peer = (m_opt.self + 1 + m_probe_rotation++) % n;
    if (peer == m_opt.self) peer = (peer + 1) % n;
    const uint64_t first = FirstUncommitted();
    Send(static_cast<int32_t>(peer),
         BlockRequest{first, first + m_opt.max_blocks_per_request - 1, m_opt.self, {}});
}

void Core::OnBlockRequest(const BlockRequest& m) {
    if (!m_has_committed || m.from_height > m.to_height) return;
    const uint64_t last = std::min({m.to_height, m_committed_height,
                                    m.from_height + m_opt.max_blocks_per_request - 1});
    if (m.from_height > last) return;
    m_ready.serve.push_back({m.from, m.from_height, last});
}

void Core::OnBlockResponse(const BlockResponse& m) {
    bool progressed = false;
    bool gap = false;
    for (const auto& block : m.blocks) {
        const uint64_t h = block.header.height;
        if (h < FirstUncommitted()) continue;
        if (h > FirstUncommitted()) {
            gap = true;  // an earlier answer was cut short (see below)
            break;
        }
        const Hash256 parent = m_has_committed ? m_committed_header.Hash() : Hash256{};
        if (block.header.chain_id != m_opt.chain_id || block.header.prev_hash != parent ||
            !chain::CheckBlockIntegrity(block).ok() ||
            !chain::VerifyCertificate(block.certificate, m_opt.chain_id, m_opt.validators,
                                      m_verifier)
                 .ok()) {
            ++m_counters.bad_signatures;
            break;
        }
        auto root = m_app.Execute(block);
        if (!root.ok() || *root != block.header.state_root) {
            // 2f+1 validators certified this block; if it does not execute to its state root
            // here, this node's state has diverged. Going on would spread the damage.
            std::fprintf(stderr,
                         "consensus: certified block %llu does not execute to its state root "
                         "(%s): local state diverged\n",
                         static_cast<unsigned long long>(h), root.status().ToString().c_str());
            std::abort();
        }
        // Whatever this node had accepted at h and above was built on something else.
        auto slot = m_slots.find(h);
        if (slot != m_slots.end() && slot->second.accepted && slot->second.digest != block.Hash()) {
            for (auto it = slot; it != m_slots.end(); ++it) ResetSlotForNewView(it->second);
        }
        ++m_counters.blocks_fetched;
        CommitBlock(block);
        progressed = true;
    }
    // The sender has committed up to tip_height: keep fetching until caught up, whatever the
    // cluster does meanwhile (an idle one would tell this replica nothing).
    if (m.from != m_opt.self && m.from < m_opt.validators.size()) {
        NoteAhead(m.tip_height, m.from, /*urgent=*/false);
    }
    if (gap && m_fetch_sent && m.from == m_fetch_peer && m_fetch_gap_from != FirstUncommitted()) {
        // A peer answers a request with fewer blocks than asked when they are large: ask again
        // from the first missing height rather than wait for the retry timer (once per
        // height: the answers still on their way show the same gap).
        m_fetch_gap_from = FirstUncommitted();
        m_fetch_next = m_fetch_gap_from;
    }
    if (progressed || gap) {
        m_fetch_ticks = 0;  // the peer answers: no retry yet
        if (progressed) m_fetch_attempt = 0;
        if (!m_fetch_sent && m_ahead_height >= FirstUncommitted()) {
            m_fetch_sent = true;
            m_fetch_peer = m.from;
            m_fetch_next = FirstUncommitted();
        }
        MaybeFetch();
    }
    if (progressed) {
        TryAcceptWaiting();
        // Heights above may now have their parent and enough votes.
        std::vector<uint64_t> heights;
        for (const auto& [h, slot] : m_slots) heights.push_back(h);
        for (uint64_t h : heights) {  // CheckPrepared may commit and erase slots
            auto it = m_slots.find(h);
            if (it != m_slots.end() && it->second.accepted) CheckPrepared(h);
        }
        CommitInOrder();
    }
}

}  // namespace meterchain::consensus
