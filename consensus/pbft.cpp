// Normal-case operation of the PBFT core: proposals, prepares, commits, in-order commit.
#include "consensus/pbft.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "node/base/overloaded.h"
#include "node/chain/merkle.h"

namespace meterchain::consensus {

namespace {
// The first `quorum` signatures in validator order: every honest node builds the same
// certificate from the same votes.
std::vector<chain::CommitSignature> FirstSignatures(const std::map<uint32_t, Bytes>& votes,
                                                    size_t quorum) {
    std::vector<chain::CommitSignature> out;
    for (const auto& [who, sig] : votes) {
        if (out.size() == quorum) break;
        out.push_back({who, sig});
    }
    return out;
}
}  // namespace

Core::Core(Options options, const crypto::Signer& signer, const crypto::Verifier& verifier,
           Application& app, const Tip& tip, const std::map<std::string, Bytes>& durable)
    : m_opt(std::move(options)), m_signer(signer), m_verifier(verifier), m_app(app) {
    if (m_opt.validators.size() == 0 || m_opt.self >= m_opt.validators.size()) {
        std::fprintf(stderr, "consensus: self index %u outside a validator set of %zu\n",
                     m_opt.self, m_opt.validators.size());
        std::abort();
    }
    m_opt.window = std::max(m_opt.window, 2 * m_opt.checkpoint_interval);
    m_opt.max_in_flight = std::clamp<uint64_t>(m_opt.max_in_flight, 1, m_opt.window);
    if (!tip.empty) {
        m_has_committed = true;
        m_committed_height = tip.header.height;
        m_committed_header = tip.header;
        m_committed_cert = tip.certificate;
        m_low = tip.header.height - tip.header.height % m_opt.checkpoint_interval;
    }
    Restore(durable);
}

uint32_t Core::Primary(uint64_t view) const {
    return m_opt.validators.Primary(view);
}

void Core::Step(const Message& message) {
    if (Sender(message) == m_opt.self && !std::holds_alternative<BlockResponse>(message)) return;
    if (const auto* vote = std::get_if<Vote>(&message); vote != nullptr && !VoteNeeded(*vote)) {
        return;
    }
    if (!VerifyMessage(m_opt.chain_id, m_opt.validators, m_verifier, message)) {
        ++m_counters.bad_signatures;
        return;
    }
    std::visit(base::Overloaded{
                   [this](const PrePrepare& m) { OnPrePrepare(m); },
                   [this](const Vote& m) { OnVote(m); },
                   [this](const Checkpoint& m) { OnCheckpoint(m); },
                   [this](const ViewChange& m) { OnViewChange(m); },
                   [this](const NewView& m) { OnNewView(m); },
                   [this](const BlockRequest& m) { OnBlockRequest(m); },
                   [this](const BlockResponse& m) { OnBlockResponse(m); },
                   [this](const NewViewRelay& m) { OnNewViewRelay(m); },
               },
               message);
}

uint32_t Core::ViewTimeout() const {
    uint64_t t = m_opt.view_timeout_ticks;
    for (uint32_t i = 0; i < m_view_change_attempts && t < m_opt.max_view_timeout_ticks; ++i) t *= 2;
    return static_cast<uint32_t>(std::min<uint64_t>(t, m_opt.max_view_timeout_ticks));
}

void Core::Tick() {
    if (m_fetching) {
        ++m_fetch_ticks;
        MaybeFetch();
    }
    Retransmit();
    if (m_in_view_change) {
        ++m_view_change_ticks;
        // PBFT: the timer of a view change runs only once 2f+1 replicas want this view or a
        // later one. A replica alone (say, cut off by a partition) waits instead of racing
        // through views nobody else will join; it keeps up meanwhile through state transfer.
        // Counting later views too matters: a replica that moved on no longer repeats its
        // view change for this one, and those who missed it must still be able to move.
        std::set<uint32_t> wanting;
        for (auto it = m_view_changes.lower_bound(m_view); it != m_view_changes.end(); ++it) {
            for (const auto& [from, vc] : it->second) wanting.insert(from);
        }
        if (wanting.size() < m_opt.validators.Quorum()) {
            // Alone in this view change, perhaps only because this replica is behind an idle
            // cluster (no message would tell it so): now and then ask a peer for the heights
            // above its own. A peer that has them answers; the blocks carry certificates.
            if (m_view_change_ticks % ProbeTicks() == 0) ProbeAhead();
            return;
        }
        if (++m_ticks >= ViewTimeout()) {
            ++m_view_change_attempts;  // this view failed too: wait twice as long for the next
            StartViewChange(m_view + 1);
        }
        return;
    }
    const bool work = m_pending_work || !m_waiting.empty() ||
                      std::any_of(m_slots.begin(), m_slots.end(),
                                  [](const auto& kv) { return kv.second.accepted; });
    if (!work) {
        m_ticks = 0;
        // An idle cluster sends nothing, so a replica that is behind it (started late, or
        // missed the last commits) would not learn so. Once quiet for a while, ask a peer in
        // turn for the heights above the committed tip; a peer that has none does not answer.
        if (!m_fetching && ++m_idle_ticks % ProbeTicks() == 0) ProbeAhead();
        return;
    }
    m_idle_ticks = 0;
    if (++m_ticks >= ViewTimeout()) StartViewChange(m_view + 1);
}

void Core::Retransmit() {
    // Lost messages must not stall a height forever: resend what this node said about every
    // height that has not committed for a while. Receivers treat repeats as no-ops.
    for (auto& [height, slot] : m_slots) {
        if (!slot.accepted || m_in_view_change) continue;
        if (++slot.stalled_ticks % m_opt.retransmit_ticks != 0) continue;
        if (slot.pre_prepare) m_ready.messages.push_back({Outbound::kBroadcast, *slot.pre_prepare});
        for (auto kind : {VoteKind::kPrepare, VoteKind::kCommit}) {
            // A primary's own PRE-PREPARE, just re-sent, is its prepare (see Accept).
            if (kind == VoteKind::kPrepare && slot.pre_prepare) continue;
            const auto& votes = kind == VoteKind::kPrepare ? slot.prepares : slot.commits;
            auto it = votes.find(slot.digest);
            if (it == votes.end()) continue;
            auto mine = it->second.find(m_opt.self);
            if (mine == it->second.end()) continue;
            Vote v{kind, m_view, height, slot.digest, m_opt.self, mine->second,
                   kind == VoteKind::kPrepare ? slot.proposal_signature : Bytes{}};
            m_ready.messages.push_back({Outbound::kBroadcast, v});
        }
    }
    if (m_in_view_change && m_view_change_ticks > 0 &&
        m_view_change_ticks % m_opt.retransmit_ticks == 0) {
        m_ready.messages.push_back({Outbound::kBroadcast, OwnViewChange()});
    }
}

bool Core::InWindow(uint64_t height) const {
    const uint64_t low = std::max(m_low, m_has_committed ? m_committed_height : 0);
    return height >= FirstUncommitted() && height <= low + m_opt.window;
}

std::optional<Hash256> Core::ParentHash(uint64_t height) const {
    if (height < FirstUncommitted()) return std::nullopt;
    if (height == FirstUncommitted()) {
        if (m_has_committed) return m_committed_header.Hash();
        return Hash256{};  // parent of the first block
    }
    auto it = m_slots.find(height - 1);
    if (it == m_slots.end() || !it->second.accepted) return std::nullopt;
    return it->second.digest;
}

std::optional<uint64_t> Core::ParentTimestamp(uint64_t height) const {
    if (height == FirstUncommitted()) {
        return m_has_committed ? m_committed_header.timestamp_ms : 0;
    }
    auto it = m_slots.find(height - 1);
    if (it == m_slots.end() || !it->second.accepted) return std::nullopt;
    return it->second.block.header.timestamp_ms;
}

uint64_t Core::NextHeight() const {
    uint64_t h = FirstUncommitted();
    for (auto it = m_slots.find(h); it != m_slots.end() && it->first == h && it->second.accepted;
         ++it) {
        ++h;
    }
    return h;
}

bool Core::CanPropose() const {
    if (m_in_view_change || Primary(m_view) != m_opt.self || !m_waiting.empty()) return false;
    if (m_view_has_base && (!m_has_committed || m_committed_height < m_view_base)) return false;
    const uint64_t h = NextHeight();
    if (!InWindow(h) || h - FirstUncommitted() >= m_opt.max_in_flight || !ParentHash(h)) {
        return false;
    }
    // Restarted after proposing at h in this view: that block is gone with the memory, and
    // another one would contradict the vote its PRE-PREPARE was. Only a view change helps.
    auto slot = m_slots.find(h);
    return slot == m_slots.end() || !slot->second.lock_digest || slot->second.lock_view != m_view;
}

bool Core::HandOver() {
    if (m_in_view_change || Primary(m_view) != m_opt.self || m_opt.validators.size() == 1) {
        return false;
    }
    StartViewChange(m_view + 1);
    return true;
}

Status Core::Propose(std::vector<chain::Transaction> txs, uint64_t timestamp_ms) {
    if (!CanPropose()) return FailedPrecondition("not the primary of an active view with room");
    const uint64_t h = NextHeight();
    chain::Block block;
    auto& hd = block.header;
    hd.chain_id = m_opt.chain_id;
    hd.height = h;
    hd.prev_hash = *ParentHash(h);
    hd.proposer = m_opt.self;
    hd.view = m_view;
    hd.timestamp_ms = std::max(timestamp_ms, *ParentTimestamp(h));
    block.transactions = std::move(txs);
    hd.tx_root = chain::MerkleRoot(block.TxHashes());
    auto root = m_app.Execute(block);
    if (!root.ok()) return root.status();
    hd.state_root = *root;

    PrePrepare pp{m_view, h, block, m_opt.self, {}};
    Message msg = pp;
    SignMessage(m_opt.chain_id, m_signer, msg);
    if (!Accept(Proposal{block, false, std::get<PrePrepare>(msg)})) {
        return Internal("own proposal at height " + std::to_string(h) + " was not accepted");
    }
    m_ready.messages.push_back({Outbound::kBroadcast, std::move(msg)});
    return Status::Ok();
}

void Core::OnPrePrepare(const PrePrepare& m) {
    if (m.view > m_view) NoteHigherView(m.from, m.view);
    if (m_in_view_change || m.view != m_view || m.from != Primary(m_view)) return;
    if (m.height != m.block.header.height || m.height < FirstUncommitted()) return;
    if (!InWindow(m.height)) {
        NoteAhead(m.height - 1, m.from);
        return;
    }
    const Hash256 digest = m.block.Hash();
    auto slot = m_slots.find(m.height);
    if (slot != m_slots.end() && slot->second.accepted) {
        if (slot->second.digest != digest) {
            ++m_counters.equivocations_detected;
            StartViewChange(m_view + 1);
        }
        return;
    }
    auto waiting = m_waiting.find(m.height);
    if (waiting != m_waiting.end()) {
        if (waiting->second.block.Hash() != digest) {
            ++m_counters.equivocations_detected;
            StartViewChange(m_view + 1);
        }
        return;
    }
    m_waiting[m.height] = Proposal{m.block, false, m};
    TryAcceptWaiting();
}

void Core::TryAcceptWaiting() {
    m_waiting.erase(m_waiting.begin(), m_waiting.lower_bound(FirstUncommitted()));
    while (!m_in_view_change) {
        // Proposals of a new view build on its base: wait until that is committed here.
        if (m_view_has_base && (!m_has_committed || m_committed_height < m_view_base)) return;
        const uint64_t h = NextHeight();
        auto it = m_waiting.find(h);
        if (it == m_waiting.end()) return;
        Proposal p = std::move(it->second);
        m_waiting.erase(it);
        if (!Accept(p)) {
            ++m_counters.invalid_proposals;
            StartViewChange(m_view + 1);
            return;
        }
    }
}

bool Core::Accept(const Proposal& p) {
    const auto& hd = p.block.header;
    const uint64_t h = hd.height;
    const auto parent = ParentHash(h);
    const auto parent_ts = ParentTimestamp(h);
    if (!parent || !parent_ts || hd.prev_hash != *parent || hd.chain_id != m_opt.chain_id) {
        return false;
    }
    if (p.justified) {
        if (hd.view > m_view || hd.proposer != Primary(hd.view)) return false;
    } else if (hd.view != m_view || hd.proposer != Primary(m_view)) {
        return false;
    }
    if (hd.timestamp_ms < *parent_ts || !chain::CheckTxRoot(p.block).ok()) return false;

    Slot& slot = m_slots[h];
    const Hash256 digest = p.block.Hash();
    if (slot.lock_digest && slot.lock_view == m_view && *slot.lock_digest != digest) {
        return false;  // this node already voted for another block here in this view
    }
    auto root = m_app.Execute(p.block);
    if (!root.ok() || *root != hd.state_root) return false;

    slot.accepted = true;
    slot.block = p.block;
    slot.digest = digest;
    slot.stalled_ticks = 0;
    if (p.pre_prepare && p.pre_prepare->from == m_opt.self) slot.pre_prepare = p.pre_prepare;
    slot.proposal_signature = p.pre_prepare ? p.pre_prepare->signature : Bytes{};
    slot.lock_view = m_view;
    slot.lock_digest = digest;
    PersistSlot(h, slot);
    // As in PBFT, the PRE-PREPARE is the primary's prepare: it signs the same view, height and
    // digest, so with 2f backups' PREPAREs it makes the block prepared, and the primary sends
    // no PREPARE of its own. A block re-proposed by a NEW-VIEW has no PRE-PREPARE; there the
    // primary votes like everyone else. (The first vote of each voter counts, as in OnVote.)
    const uint32_t primary = Primary(m_view);
    if (p.pre_prepare && slot.prepare_of.emplace(primary, digest).second) {
        slot.prepares[digest][primary] = p.pre_prepare->signature;
    }
    if (!p.pre_prepare || m_opt.self != primary) SendVote(VoteKind::kPrepare, h, digest);
    CheckPrepared(h);
    return true;
}

void Core::SendVote(VoteKind kind, uint64_t height, const Hash256& digest) {
    Slot& slot = m_slots[height];
    Message msg = Vote{kind, m_view, height, digest, m_opt.self, {}, {}};
    SignMessage(m_opt.chain_id, m_signer, msg);
    if (kind == VoteKind::kPrepare) std::get<Vote>(msg).proposal_signature = slot.proposal_signature;
    const Vote& v = std::get<Vote>(msg);
    auto& votes = kind == VoteKind::kPrepare ? slot.prepares : slot.commits;
    auto& first = kind == VoteKind::kPrepare ? slot.prepare_of : slot.commit_of;
    first[m_opt.self] = digest;
    votes[digest][m_opt.self] = v.signature;
    m_ready.messages.push_back({Outbound::kBroadcast, std::move(msg)});
}

bool Core::VoteNeeded(const Vote& m) const {
    if (m.height < FirstUncommitted()) return false;
    if (m_in_view_change || m.view != m_view) return true;  // OnVote decides (may note a peer ahead)
    auto it = m_slots.find(m.height);
    if (it == m_slots.end()) return true;
    const Slot& slot = it->second;
    const auto& first = m.kind == VoteKind::kPrepare ? slot.prepare_of : slot.commit_of;
    auto seen = first.find(m.from);
    if (seen != first.end() && seen->second == m.digest) return false;  // a repeat
    if (!slot.accepted || m.digest != slot.digest) return true;  // evidence, or a missed block
    return m.kind == VoteKind::kPrepare ? !slot.prepared : !slot.committed_local;
}

void Core::OnVote(const Vote& m) {
    if (m.view > m_view) NoteHigherView(m.from, m.view);
    if (m_in_view_change || m.view != m_view || m.height < FirstUncommitted()) return;
    if (!InWindow(m.height)) {
        NoteAhead(m.height - 1, m.from, /*urgent=*/false);
        return;
    }
    Slot& slot = m_slots[m.height];
    if (m.kind == VoteKind::kPrepare && slot.accepted && m.digest != slot.digest &&
        !m.proposal_signature.empty() &&
        m_verifier.Verify(m_opt.validators.at(Primary(m_view)).public_key,
                          PrePrepareBytes(m_opt.chain_id, m_view, m.height, Primary(m_view),
                                          m.digest),
                          m.proposal_signature)) {
        // The primary signed two different proposals for this height in this view.
        ++m_counters.equivocations_detected;
        StartViewChange(m_view + 1);
        return;
    }
    auto& first = m.kind == VoteKind::kPrepare ? slot.prepare_of : slot.commit_of;
    auto [it, inserted] = first.emplace(m.from, m.digest);
    if (!inserted) return;  // a repeat, or a second vote for another block: the first counts
    auto& votes = m.kind == VoteKind::kPrepare ? slot.prepares : slot.commits;
    votes[m.digest][m.from] = m.signature;
    if (m.kind == VoteKind::kPrepare) {
        CheckPrepared(m.height);
    } else {
        // A quorum committed a block this node never prepared: it missed messages and will
        // have to fetch the block once the others have committed it.
        const bool missed = votes[m.digest].size() >= m_opt.validators.Quorum() &&
                            (!slot.accepted || slot.digest != m.digest);
        CheckCommitted(m.height);  // may commit and erase the slot
        if (missed) NoteAhead(m.height, m.from, /*urgent=*/false);
    }
}

void Core::CheckPrepared(uint64_t height) {
    if (height < FirstUncommitted()) return;
    Slot& slot = m_slots[height];
    if (!slot.accepted || slot.prepared) return;
    auto it = slot.prepares.find(slot.digest);
    if (it == slot.prepares.end() || it->second.size() < m_opt.validators.Quorum()) return;
    slot.prepared = true;
    slot.best_prepared =
        PreparedCert{m_view, slot.block, FirstSignatures(it->second, m_opt.validators.Quorum())};
    PersistSlot(height, slot);
    slot.sent_commit = true;
    SendVote(VoteKind::kCommit, height, slot.digest);
    CheckCommitted(height);
}

void Core::CheckCommitted(uint64_t height) {
    if (height < FirstUncommitted()) return;
    Slot& slot = m_slots[height];
    if (!slot.prepared || slot.committed_local) return;
    auto it = slot.commits.find(slot.digest);
    if (it == slot.commits.end() || it->second.size() < m_opt.validators.Quorum()) return;
    slot.committed_local = true;
    CommitInOrder();
}

void Core::CommitInOrder() {
    for (;;) {
        auto it = m_slots.find(FirstUncommitted());
        if (it == m_slots.end() || !it->second.committed_local) return;
        Slot& slot = it->second;
        chain::Block block = slot.block;
        block.certificate.height = it->first;
        block.certificate.view = m_view;
        block.certificate.block_hash = slot.digest;
        block.certificate.signatures =
            FirstSignatures(slot.commits.at(slot.digest), m_opt.validators.Quorum());
        CommitBlock(std::move(block));
    }
}

void Core::CommitBlock(chain::Block block) {
    const uint64_t h = block.header.height;
    if (h != FirstUncommitted()) {
        std::fprintf(stderr, "consensus: committing height %llu out of order (expected %llu)\n",
                     static_cast<unsigned long long>(h),
                     static_cast<unsigned long long>(FirstUncommitted()));
        std::abort();
    }
    m_has_committed = true;
    m_committed_height = h;
    m_committed_header = block.header;
    m_committed_cert = block.certificate;
    m_slots.erase(h);
    Persist(SlotKey(h), std::nullopt, /*lazy=*/true);
    m_waiting.erase(m_waiting.begin(), m_waiting.upper_bound(h));
    m_ticks = 0;
    m_idle_ticks = 0;
    m_view_change_attempts = 0;
    if (h % m_opt.checkpoint_interval == 0) SendCheckpoint(block.header);
    m_ready.committed.push_back(std::move(block));
}

std::set<Hash256> Core::InFlightTxHashes() const {
    // Transaction hashes of a block are computed once per block (this is asked for every
    // proposal the node considers).
    std::set<Hash256> out;
    std::map<Hash256, std::vector<Hash256>> used;
    auto add_block = [&](const chain::Block& block) {
        const Hash256 key = block.Hash();
        auto it = m_tx_hash_cache.find(key);
        std::vector<Hash256> hashes = it != m_tx_hash_cache.end() ? it->second : block.TxHashes();
        out.insert(hashes.begin(), hashes.end());
        used.emplace(key, std::move(hashes));
    };
    for (const auto& [h, slot] : m_slots) {
        if (slot.accepted) add_block(slot.block);
    }
    for (const auto& [h, p] : m_waiting) add_block(p.block);
    m_tx_hash_cache = std::move(used);
    return out;
}

uint64_t Core::InFlightHeights() const { return NextHeight() - FirstUncommitted(); }

size_t Core::InFlightTxCount() const {
    size_t n = 0;
    for (const auto& [h, slot] : m_slots) {
        if (slot.accepted) n += slot.block.transactions.size();
    }
    for (const auto& [h, p] : m_waiting) n += p.block.transactions.size();
    return n;
}

void Core::ResetSlotForNewView(Slot& s) {
    s.accepted = false;
    s.block = {};
    s.digest = {};
    s.pre_prepare.reset();
    s.proposal_signature.clear();
    s.sent_commit = s.prepared = s.committed_local = false;
    s.prepares.clear();
    s.commits.clear();
    s.prepare_of.clear();
    s.commit_of.clear();
    s.stalled_ticks = 0;
}

void Core::Send(int32_t to, Message m) {
    SignMessage(m_opt.chain_id, m_signer, m);
    m_ready.messages.push_back({to, std::move(m)});
}

Ready Core::TakeReady() {
    Ready out = std::move(m_ready);
    m_ready = Ready{};
    return out;
}

}  // namespace meterchain::consensus
