// View change: replacing a silent or faulty primary without reverting committed blocks.
#include <algorithm>
#include <functional>
#include <set>
#include <vector>

#include "consensus/pbft.h"

namespace meterchain::consensus {

void Core::StartViewChange(uint64_t new_view) {
    if (new_view <= m_view) return;
    ++m_counters.view_changes;
    m_view = new_view;
    m_in_view_change = true;
    m_sent_new_view = false;
    m_ticks = 0;
    m_view_change_ticks = 0;
    for (auto& [h, slot] : m_slots) ResetSlotForNewView(slot);
    m_waiting.clear();
    PersistView();
    m_view_changes.erase(m_view_changes.begin(), m_view_changes.lower_bound(new_view));
    m_ready.messages.push_back({Outbound::kBroadcast, OwnViewChange()});
    MaybeSendNewView();
}

const ViewChange& Core::OwnViewChange() {
    auto& mine = m_view_changes[m_view];
    auto it = mine.find(m_opt.self);
    if (it == mine.end()) {  // e.g. restarted in the middle of a view change
        Message vc = BuildViewChange(m_view);
        SignMessage(m_opt.chain_id, m_signer, vc);
        it = mine.emplace(m_opt.self, std::get<ViewChange>(std::move(vc))).first;
    }
    return it->second;
}

ViewChange Core::BuildViewChange(uint64_t new_view) const {
    ViewChange vc;
    vc.new_view = new_view;
    vc.from = m_opt.self;
    // A locally created genesis block has no certificate; it is common knowledge anyway.
    vc.has_committed = m_has_committed && !m_committed_cert.signatures.empty();
    if (vc.has_committed) vc.committed = m_committed_cert;
    for (const auto& [h, slot] : m_slots) {
        if (h >= FirstUncommitted() && slot.best_prepared) vc.prepared.push_back(*slot.best_prepared);
    }
    return vc;
}

bool Core::ValidViewChange(const ViewChange& m) const {
    if (m.from >= m_opt.validators.size()) return false;
    uint64_t above = 0;  // prepared heights must lie above the claimed committed height
    if (m.has_committed) {
        if (!chain::VerifyCertificate(m.committed, m_opt.chain_id, m_opt.validators, m_verifier)
                 .ok()) {
            return false;
        }
        above = m.committed.height + 1;
    }
    std::set<uint64_t> heights;
    for (const auto& cert : m.prepared) {
        const uint64_t h = cert.block.header.height;
        if (h < above || cert.view >= m.new_view || !heights.insert(h).second) return false;
        if (!VerifyPreparedCert(m_opt.chain_id, m_opt.validators, m_verifier, h, cert)) {
            return false;
        }
    }
    return true;
}

void Core::OnViewChange(const ViewChange& m) {
    if (!ValidViewChange(m)) {
        ++m_counters.bad_signatures;
        return;
    }
    if (m.has_committed) NoteAhead(m.committed.height, m.from);
    // The sender's view change shows how far it has committed. If that is behind this node,
    // send it the missing blocks: it may be stuck in a view nobody else is moving to, and
    // then nothing else would tell it that the chain moved on.
    const uint64_t peer_next = m.has_committed ? m.committed.height + 1 : 0;
    if (m_has_committed && peer_next <= m_committed_height) {
        m_ready.serve.push_back(
            {m.from, peer_next,
             std::min(m_committed_height, peer_next + m_opt.max_blocks_per_request - 1)});
    }
    if (m.new_view < m_view || (m.new_view == m_view && !m_in_view_change)) {
        // The sender is behind: hand it the NEW-VIEW that installed the current view. A
        // replica other than the primary wraps it: peers accept a message only from its own
        // sender, and the NEW-VIEW inside keeps the primary's signature.
        if (!m_in_view_change && m_last_new_view && m_last_new_view->view == m_view) {
            const auto to = static_cast<int32_t>(m.from);
            if (m_last_new_view->from == m_opt.self) {
                m_ready.messages.push_back({to, *m_last_new_view});
            } else {
                m_ready.messages.push_back({to, NewViewRelay{*m_last_new_view, m_opt.self}});
            }
        }
        return;
    }
    m_view_changes[m.new_view][m.from] = m;
    // The primary of this view asks for the next one: it is leaving (HandOver). Follow at
    // once. A faulty primary gains nothing by it: it could stall its own view anyway.
    if (!m_in_view_change && m.from == Primary(m_view) && m.new_view == m_view + 1) {
        StartViewChange(m.new_view);
        return;
    }
    MaybeJoinHigherView();
    MaybeSendNewView();
}

void Core::MaybeJoinHigherView() {
    // f+1 replicas asking for higher views include an honest one: follow to the smallest of
    // those views rather than wait for a local timeout (PBFT liveness rule).
    std::map<uint32_t, uint64_t> highest;  // sender -> its highest requested view
    for (const auto& [view, senders] : m_view_changes) {
        if (view <= m_view) continue;
        for (const auto& [from, vc] : senders) {
            if (from != m_opt.self) highest[from] = std::max(highest[from], view);
        }
    }
    if (highest.size() < m_opt.validators.F() + 1) return;
    uint64_t target = UINT64_MAX;
    for (const auto& [from, view] : highest) target = std::min(target, view);
    StartViewChange(target);
}

void Core::NoteHigherView(uint32_t from, uint64_t view) {
    // A replica restarted in an old view (or with an empty data dir) under load never times
    // out: the blocks it fetches reset its timer, and it would only fetch, never vote, until
    // the cluster changed view again. Votes of a later view tell it where the others are.
    if (from == m_opt.self || from >= m_opt.validators.size() || view <= m_view) return;
    uint64_t& seen = m_views_seen[from];
    seen = std::max(seen, view);
    std::vector<uint64_t> views;
    for (auto it = m_views_seen.begin(); it != m_views_seen.end();) {
        if (it->second <= m_view) {
            it = m_views_seen.erase(it);
        } else {
            views.push_back(it->second);
            ++it;
        }
    }
    const size_t needed = m_opt.validators.F() + 1;
    if (views.size() < needed) return;
    // The highest view that f+1 of them have reached: at least one honest replica is there.
    std::sort(views.begin(), views.end(), std::greater<>());
    StartViewChange(views[needed - 1]);
}

void Core::MaybeSendNewView() {
    if (!m_in_view_change || m_sent_new_view || Primary(m_view) != m_opt.self) return;
    auto it = m_view_changes.find(m_view);
    if (it == m_view_changes.end() || it->second.size() < m_opt.validators.Quorum()) return;
    NewView nv;
    nv.view = m_view;
    nv.from = m_opt.self;
    nv.view_changes.push_back(OwnViewChange());
    for (const auto& [from, vc] : it->second) {
        if (nv.view_changes.size() == m_opt.validators.Quorum()) break;
        if (from != m_opt.self) nv.view_changes.push_back(vc);
    }
    Message msg = nv;
    SignMessage(m_opt.chain_id, m_signer, msg);
    m_sent_new_view = true;
    m_ready.messages.push_back({Outbound::kBroadcast, msg});
    InstallNewView(std::get<NewView>(msg));
}

void Core::OnNewView(const NewView& nv) {
    if (nv.from != Primary(nv.view)) return;
    if (nv.view < m_view || (nv.view == m_view && !m_in_view_change)) return;
    std::set<uint32_t> senders;
    for (const auto& vc : nv.view_changes) {
        if (vc.new_view != nv.view || !senders.insert(vc.from).second) return;
        if (!VerifyMessage(m_opt.chain_id, m_opt.validators, m_verifier, vc) ||
            !ValidViewChange(vc)) {
            ++m_counters.bad_signatures;
            return;
        }
    }
    if (senders.size() < m_opt.validators.Quorum()) return;
    InstallNewView(nv);
}

Core::Selection Core::Select(const std::vector<ViewChange>& vcs) const {
    Selection s;
    for (const auto& vc : vcs) {
        if (vc.has_committed && (!s.has_base || vc.committed.height > s.base_height)) {
            s.has_base = true;
            s.base_height = vc.committed.height;
            s.base_hash = vc.committed.block_hash;
        }
    }
    if (!s.has_base && m_opt.genesis_hash) {
        s.has_base = true;
        s.base_height = 0;
        s.base_hash = *m_opt.genesis_hash;
    }
    uint64_t h = s.has_base ? s.base_height + 1 : 0;
    Hash256 parent = s.has_base ? s.base_hash : Hash256{};
    for (;;) {
        // The highest-view prepared block at h; ties (possible only with more than f faulty
        // validators) break on the block hash so that every replica picks the same one.
        const PreparedCert* best = nullptr;
        Hash256 best_hash{};
        for (const auto& vc : vcs) {
            for (const auto& cert : vc.prepared) {
                if (cert.block.header.height != h) continue;
                const Hash256 hash = cert.block.Hash();
                if (!best || cert.view > best->view || (cert.view == best->view && hash < best_hash)) {
                    best = &cert;
                    best_hash = hash;
                }
            }
        }
        if (!best || best->block.header.prev_hash != parent) break;
        s.blocks.push_back(best->block);
        parent = best_hash;
        ++h;
    }
    return s;
}

void Core::InstallNewView(const NewView& nv) {
    m_view = nv.view;
    m_in_view_change = false;
    m_ticks = 0;
    m_last_new_view = nv;
    PersistView();
    PersistNewView(nv);
    for (auto& [h, slot] : m_slots) ResetSlotForNewView(slot);
    m_waiting.clear();
    m_view_changes.erase(m_view_changes.begin(), m_view_changes.upper_bound(m_view));

    const Selection sel = Select(nv.view_changes);
    m_view_has_base = sel.has_base;
    m_view_base = sel.base_height;
    if (sel.has_base) {
        for (const auto& vc : nv.view_changes) {
            if (vc.has_committed && vc.committed.height == sel.base_height) {
                NoteAhead(sel.base_height, vc.from);
                break;
            }
        }
    }
    for (const auto& block : sel.blocks) {
        if (block.header.height >= FirstUncommitted()) {
            m_waiting[block.header.height] = Proposal{block, true, std::nullopt};
        }
    }
    TryAcceptWaiting();
}

}  // namespace meterchain::consensus
