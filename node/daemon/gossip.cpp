#include "node/daemon/gossip.h"

#include <algorithm>
#include <utility>

#include "node/base/thread_name.h"
#include "node/chain/proto_adapter.h"

namespace meterchain::node {

Gossip::Gossip(GossipOptions options, net::Transport& transport, NeededFn needed)
    : m_opt(options), m_transport(transport), m_needed(std::move(needed)) {}

Gossip::~Gossip() { Stop(); }

void Gossip::Start() {
    m_flusher = std::thread([this] {
        base::NameThisThread("mc-gossip");
        RunFlusher();
    });
}

void Gossip::Stop() {
    {
        std::lock_guard lock(m_mutex);
        m_stopping = true;
    }
    m_cv.notify_all();
    if (m_flusher.joinable()) m_flusher.join();
}

void Gossip::Broadcast(const chain::Transaction& tx, const Hash256& hash) {
    const auto now = std::chrono::steady_clock::now();
    const size_t bytes = tx.body.size() + tx.signature.size() + 16;
    Batch full_lead, full_lazy;
    uint32_t lead = kNoLead;
    {
        std::lock_guard lock(m_mutex);
        lead = m_lead;
        // Only the batch for the others is filtered (SendBatch), so only it keeps the hashes.
        auto add = [&](Batch& batch, uint32_t delay_ms, const v1::Transaction& proto,
                       bool keep_hash) {
            if (!batch.frame) {
                batch.frame = std::make_shared<v1::PeerFrame>();
                batch.due = now + std::chrono::milliseconds(delay_ms);
                m_cv.notify_one();  // the flusher may be waiting for a later due time
            }
            *batch.frame->mutable_forwarded_txs()->add_transactions() = proto;
            if (keep_hash) batch.hashes.push_back(hash);
            batch.bytes += bytes;
            return batch.bytes >= m_opt.batch_bytes ? TakeLocked(batch) : Batch{};
        };
        const v1::Transaction proto = chain::ToProto(tx);
        const bool lazy_only = lead == m_opt.self;  // this node proposes: nobody is in a hurry
        if (!lazy_only) full_lead = add(m_lead_batch, m_opt.batch_delay_ms, proto, false);
        if (lead != kNoLead) full_lazy = add(m_lazy_batch, m_opt.lazy_delay_ms, proto, true);
    }
    SendBatch(std::move(full_lead), true, lead);
    SendBatch(std::move(full_lazy), false, lead);
}

Gossip::Batch Gossip::TakeLocked(Batch& batch) {
    Batch out = std::move(batch);
    batch = Batch{};
    return out;
}

void Gossip::SendBatch(Batch batch, bool lead_batch, uint32_t lead) {
    if (!batch.frame) return;
    net::Frame frame = std::move(batch.frame);
    const auto n = static_cast<uint32_t>(m_opt.validators);
    if (lead == kNoLead) {
        for (uint32_t i = 0; i < n; ++i) m_transport.Send(i, net::Lane::kGossip, frame);
        return;
    }
    if (lead_batch) {
        m_transport.Send(lead, net::Lane::kGossip, std::move(frame));
        return;
    }
    if (m_needed) {
        // Most transactions have committed by now (the lead proposed them, and the others got
        // them in its PRE-PREPARE): only the rest still has to go, in a new frame only when
        // something was left out.
        std::vector<bool> needed(batch.hashes.size());
        size_t count = 0;
        for (size_t i = 0; i < needed.size(); ++i) {
            needed[i] = m_needed(batch.hashes[i]);
            if (needed[i]) ++count;
        }
        if (count == 0) return;
        if (count < needed.size()) {
            const auto& all = frame->forwarded_txs().transactions();
            auto kept = std::make_shared<v1::PeerFrame>();
            for (size_t i = 0; i < needed.size(); ++i) {
                if (needed[i]) {
                    *kept->mutable_forwarded_txs()->add_transactions() =
                        all[static_cast<int>(i)];
                }
            }
            frame = std::move(kept);
        }
    }
    for (uint32_t i = 0; i < n; ++i) {
        if (i != lead) m_transport.Send(i, net::Lane::kGossip, frame);
    }
}

void Gossip::Flush() {
    Batch batch;
    uint32_t lead = kNoLead;
    {
        std::lock_guard lock(m_mutex);
        batch = TakeLocked(m_lead_batch);
        lead = m_lead;
    }
    SendBatch(std::move(batch), true, lead);
}

void Gossip::SetLead(uint32_t lead) {
    if (lead != kNoLead && lead >= m_opt.validators) lead = kNoLead;
    Batch lead_batch, lazy_batch;
    uint32_t old = kNoLead;
    {
        std::lock_guard lock(m_mutex);
        if (lead == m_lead) return;
        old = m_lead;
        lead_batch = TakeLocked(m_lead_batch);
        lazy_batch = TakeLocked(m_lazy_batch);
        m_lead = lead;
    }
    // What was gathered goes where it was gathered for: every transaction still needed
    // reaches every peer.
    SendBatch(std::move(lead_batch), true, old);
    SendBatch(std::move(lazy_batch), false, old);
}

// Sends each batch once it is due.
void Gossip::RunFlusher() {
    std::unique_lock lock(m_mutex);
    while (!m_stopping) {
        const bool lead_waiting = m_lead_batch.frame != nullptr;
        const bool lazy_waiting = m_lazy_batch.frame != nullptr;
        if (!lead_waiting && !lazy_waiting) {
            m_cv.wait(lock);
            continue;
        }
        const auto now = std::chrono::steady_clock::now();
        Batch lead_batch, lazy_batch;
        if (lead_waiting && m_lead_batch.due <= now) lead_batch = TakeLocked(m_lead_batch);
        if (lazy_waiting && m_lazy_batch.due <= now) lazy_batch = TakeLocked(m_lazy_batch);
        if (!lead_batch.frame && !lazy_batch.frame) {
            auto due = lead_waiting ? m_lead_batch.due : m_lazy_batch.due;
            if (lead_waiting && lazy_waiting) due = std::min(due, m_lazy_batch.due);
            m_cv.wait_until(lock, due);
            continue;
        }
        const uint32_t lead = m_lead;
        lock.unlock();
        SendBatch(std::move(lead_batch), true, lead);
        SendBatch(std::move(lazy_batch), false, lead);
        lock.lock();
    }
}

}  // namespace meterchain::node
