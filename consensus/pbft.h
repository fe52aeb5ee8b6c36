// The PBFT consensus core: a pure, deterministic state machine.
//
// Inputs:  Step(message from a peer), Tick() (one unit of abstract time), Propose(batch).
// Outputs: TakeReady() — durable writes, committed blocks (with commit certificates), messages
//          to send and block requests to serve. No sockets, threads or clocks inside: the node
//          (or the simulator) drives it and must apply a Ready in this order: (1) write
//          `durable` synced (unless every write in it is lazy), (2) apply `committed` blocks
//          in order, (3) send `messages`.
//
// Protocol (docs/CONSENSUS.md): blocks are sequence numbers. In view v the primary
// (v mod n) sends PRE-PREPARE(block), which counts as its prepare, and every backup PREPARE;
// 2f+1 prepares make the block prepared and each replica sends COMMIT, signed over the
// commit vote; 2f+1 commits commit it, strictly in height order, and those signatures are
// its certificate. Several heights may be in flight (pipelining) inside the window above
// the last stable checkpoint. A replica accepts a proposal at h only when its parent at h-1
// is committed or accepted in the same view. Checkpoints every K heights become stable with
// 2f+1 matching signatures and move the window. A silent or faulty primary is replaced by
// VIEW-CHANGE / NEW-VIEW; the new view re-proposes the chain of highest-view prepared
// blocks, so no committed block is reverted. Nodes that fall behind fetch committed blocks
// (BLOCK-REQUEST / BLOCK-RESPONSE) and verify their certificates.
//
// Thread-safety: none; one thread (the node's consensus strand) owns a Core.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "consensus/application.h"
#include "consensus/messages.h"
#include "node/chain/validators.h"
#include "node/crypto/signer.h"

namespace meterchain::consensus {

struct Options {
    std::string chain_id;
    chain::ValidatorSet validators;
    uint32_t self = 0;
    uint64_t checkpoint_interval = 8;   // K
    uint64_t window = 32;               // heights accepted above the stable checkpoint
    uint64_t max_in_flight = 8;         // uncommitted heights the primary proposes ahead
    uint32_t view_timeout_ticks = 40;   // no progress for this long -> view change
    uint32_t max_view_timeout_ticks = 40 * 64;
    uint32_t retransmit_ticks = 10;     // resend own votes of stalled heights
    uint32_t fetch_retry_ticks = 8;     // resend an unanswered block request
    uint64_t max_blocks_per_request = 64;
    // A replica behind the others keeps this many block requests outstanding (to one peer),
    // so that fetching runs at the speed of the link and the disk, not of round trips.
    uint32_t fetch_pipeline = 4;
    // When the chain starts from a genesis block every node creates locally (height 0, no
    // certificate), its hash; consensus then starts at height 1.
    std::optional<Hash256> genesis_hash;
};

struct Outbound {
    static constexpr int32_t kBroadcast = -1;
    int32_t to = kBroadcast;  // validator index, or kBroadcast (all others)
    Message message;
};

// A durable record of the core; nullopt value = delete. Keys are short ASCII names.
//
// A lazy write may be lost in a crash without harm, so it need not reach the disk before the
// Ready's messages go out: only the deletion of a committed height's record is lazy (a
// restarted core skips the records of heights at or below the committed tip). A Ready whose
// writes are all lazy therefore needs no sync; one with any other write is synced whole.
struct DurableWrite {
    std::string key;
    std::optional<Bytes> value;
    bool lazy = false;
};

// A peer asked for committed blocks; the node answers with a BlockResponse from storage.
struct ServeRequest {
    uint32_t to = 0;
    uint64_t from_height = 0;
    uint64_t to_height = 0;
};

struct Ready {
    std::vector<DurableWrite> durable;
    std::vector<chain::Block> committed;
    std::vector<Outbound> messages;
    std::vector<ServeRequest> serve;
    bool empty() const {
        return durable.empty() && committed.empty() && messages.empty() && serve.empty();
    }
};

// The committed tip the core starts from (from storage).
struct Tip {
    bool empty = true;
    chain::BlockHeader header;         // valid when !empty
    chain::CommitCertificate certificate;
};

struct Counters {
    uint64_t view_changes = 0;
    uint64_t equivocations_detected = 0;
    uint64_t invalid_proposals = 0;
    uint64_t bad_signatures = 0;
    uint64_t blocks_fetched = 0;
};

class Core {
public:
    // `signer`, `verifier` and `app` must outlive the Core. `durable` holds the records of
    // earlier Ready::durable writes (empty on first start); `tip` the committed tip in storage.
    Core(Options options, const crypto::Signer& signer, const crypto::Verifier& verifier,
         Application& app, const Tip& tip, const std::map<std::string, Bytes>& durable);

    void Step(const Message& message);
    void Tick();

    // True when this node is the primary of an active view and may propose the next height
    // (not when it voted, before a restart, for another block at that height in this view:
    // proposing a second one would be equivocation; the view change replaces it).
    bool CanPropose() const;
    // Proposes a block of `txs` at the next height. The caller excludes InFlightTxHashes().
    // Errors: kFailedPrecondition when !CanPropose(); the application's error when the batch
    // does not execute (nothing is sent then).
    Status Propose(std::vector<chain::Transaction> txs, uint64_t timestamp_ms);
    // The node has transactions waiting; a primary that proposes nothing is then replaced.
    void SetPendingWork(bool pending) { m_pending_work = pending; }
    // The node is stopping. When it is the primary of an active view, it asks for the next
    // view at once: the others follow a VIEW-CHANGE from the primary of their view without
    // waiting for their timers (a primary gives up its own view only when it leaves), so the
    // next primary takes over within a round trip instead of after a view-change timeout.
    // Returns true when it did (the caller should let the Ready's messages go out).
    bool HandOver();

    Ready TakeReady();
    bool HasReady() const { return !m_ready.empty(); }

    uint64_t view() const { return m_view; }
    bool in_view_change() const { return m_in_view_change; }
    uint32_t Primary(uint64_t view) const;
    uint64_t committed_height() const { return m_committed_height; }
    bool has_committed() const { return m_has_committed; }
    uint64_t stable_checkpoint() const { return m_low; }
    std::set<Hash256> InFlightTxHashes() const;
    // Heights proposed or accepted above the committed tip, not committed yet.
    uint64_t InFlightHeights() const;
    // Transactions in those blocks and in proposals waiting for their parent (the size of
    // InFlightTxHashes() at most, without building it).
    size_t InFlightTxCount() const;
    const Counters& counters() const { return m_counters; }
    // The highest committed height a peer reported (0 when none did): how far behind this
    // replica is, for readiness probes.
    uint64_t ahead_height() const { return m_ahead_height; }

private:
    struct Slot {
        // The proposal accepted in the current view.
        bool accepted = false;
        chain::Block block;
        Hash256 digest{};
        std::optional<PrePrepare> pre_prepare;  // kept by the primary for retransmission
        Bytes proposal_signature;               // the primary's signature on what we accepted
        bool sent_commit = false;
        bool prepared = false;
        bool committed_local = false;
        // Votes of the current view, per digest, per voter.
        std::map<Hash256, std::map<uint32_t, Bytes>> prepares;
        std::map<Hash256, std::map<uint32_t, Bytes>> commits;
        std::map<uint32_t, Hash256> prepare_of, commit_of;  // first vote of each voter
        // Highest-view prepared certificate, kept across views (view-change evidence).
        std::optional<PreparedCert> best_prepared;
        // The digest this node voted for in `lock_view` (persisted: never vote twice).
        uint64_t lock_view = 0;
        std::optional<Hash256> lock_digest;
        uint32_t stalled_ticks = 0;
    };
    struct Proposal {
        chain::Block block;
        bool justified = false;  // re-proposed by a NEW-VIEW (no pre-prepare signature)
        std::optional<PrePrepare> pre_prepare;
    };
    struct Selection {
        bool has_base = false;
        uint64_t base_height = 0;
        Hash256 base_hash{};
        std::vector<chain::Block> blocks;  // heights base+1, base+2, ... (or 0, 1, ... )
    };

    // Message handlers.
    void OnPrePrepare(const PrePrepare& m);
    void OnVote(const Vote& m);
    // False for a vote that can change nothing here: a repeat, one for a height already
    // committed, or one for the accepted block after its quorum of that kind was reached.
    // Such votes are dropped before their signature is checked: with n = 4, a replica then
    // verifies 2 of the 3 prepares and 2 of the 3 commits it receives per block.
    bool VoteNeeded(const Vote& m) const;
    void OnCheckpoint(const Checkpoint& m);
    void OnViewChange(const ViewChange& m);
    void OnNewView(const NewView& m);
    void OnNewViewRelay(const NewViewRelay& m) { OnNewView(m.new_view); }
    void OnBlockRequest(const BlockRequest& m);
    void OnBlockResponse(const BlockResponse& m);

    // Normal case.
    uint64_t NextHeight() const;      // the lowest height without an accepted proposal
    bool InWindow(uint64_t height) const;
    std::optional<Hash256> ParentHash(uint64_t height) const;  // committed or accepted
    std::optional<uint64_t> ParentTimestamp(uint64_t height) const;
    void TryAcceptWaiting();
    bool Accept(const Proposal& p);   // validates, executes, votes; false when invalid
    void CheckPrepared(uint64_t height);
    void CheckCommitted(uint64_t height);
    void CommitInOrder();
    void CommitBlock(chain::Block block);
    void SendVote(VoteKind kind, uint64_t height, const Hash256& digest);
    void ResetSlotForNewView(Slot& s);
    uint64_t FirstUncommitted() const { return m_has_committed ? m_committed_height + 1 : 0; }
    uint32_t ViewTimeout() const;
    void Retransmit();

    // Checkpoints and state transfer.
    void SendCheckpoint(const chain::BlockHeader& header);
    void AdvanceLowWatermark(uint64_t height);
    // `urgent`: fetch now; otherwise give the normal protocol fetch_retry_ticks to catch up.
    void NoteAhead(uint64_t height, uint32_t peer, bool urgent = true);
    void MaybeFetch();
    // Keeps fetch_pipeline requests of max_blocks_per_request heights outstanding at
    // m_fetch_peer, up to m_ahead_height.
    void RequestMore();
    // Asks the next peer in turn for the blocks above the committed tip (see Tick).
    void ProbeAhead();
    // How often a replica that hears of no newer height asks on its own (see Tick).
    uint32_t ProbeTicks() const { return 4 * m_opt.fetch_retry_ticks; }

    // View change.
    void StartViewChange(uint64_t new_view);
    ViewChange BuildViewChange(uint64_t new_view) const;
    const ViewChange& OwnViewChange();  // this node's signed VIEW-CHANGE for m_view
    bool ValidViewChange(const ViewChange& m) const;
    void MaybeSendNewView();
    void InstallNewView(const NewView& nv);
    Selection Select(const std::vector<ViewChange>& vcs) const;
    void MaybeJoinHigherView();
    // A PRE-PREPARE or vote of a view above this replica's: once f+1 replicas are seen in
    // higher views, one of them is honest and that view was installed. The replica asks for
    // the view (VIEW-CHANGE), and the replicas of that view answer with its NEW-VIEW.
    void NoteHigherView(uint32_t from, uint64_t view);

    // Outputs.
    void Send(int32_t to, Message m);  // signs and queues
    void Persist(std::string key, std::optional<Bytes> value, bool lazy = false);
    void PersistView();
    void PersistSlot(uint64_t height, const Slot& s);
    void PersistNewView(const NewView& nv);
    static std::string SlotKey(uint64_t height);
    void Restore(const std::map<std::string, Bytes>& durable);

    Options m_opt;
    const crypto::Signer& m_signer;
    const crypto::Verifier& m_verifier;
    Application& m_app;

    uint64_t m_view = 0;
    bool m_in_view_change = false;
    uint32_t m_view_change_attempts = 0;  // consecutive views that failed; resets on commit
    uint32_t m_ticks = 0;                 // since the last progress (commit or new view)
    uint32_t m_view_change_ticks = 0;     // since this view change started
    bool m_pending_work = false;

    bool m_has_committed = false;
    uint64_t m_committed_height = 0;
    chain::BlockHeader m_committed_header;
    chain::CommitCertificate m_committed_cert;
    uint64_t m_low = 0;  // last stable checkpoint height (0 before the first)

    std::map<uint64_t, Slot> m_slots;          // uncommitted heights
    std::map<uint64_t, Proposal> m_waiting;    // proposals whose parent is not accepted yet
    uint64_t m_view_base = 0;                  // heights <= this must be committed first
    bool m_view_has_base = false;

    // Checkpoint votes: height -> (block hash, state root) -> voters.
    std::map<uint64_t, std::map<std::pair<Hash256, Hash256>, std::set<uint32_t>>> m_checkpoints;
    // View changes received: view -> sender -> message.
    std::map<uint64_t, std::map<uint32_t, ViewChange>> m_view_changes;
    std::optional<NewView> m_last_new_view;   // the NEW-VIEW that installed m_view
    // Highest view of each replica's normal-case messages above m_view (NoteHigherView).
    std::map<uint32_t, uint64_t> m_views_seen;
    bool m_sent_new_view = false;

    // State transfer.
    uint64_t m_ahead_height = 0;  // highest height some peer reported committed
    uint32_t m_ahead_peer = 0;
    bool m_fetching = false;
    uint32_t m_fetch_ticks = 0;
    uint32_t m_fetch_attempt = 0;
    bool m_fetch_sent = false;  // the running fetch has asked m_fetch_peer (not only armed)
    uint32_t m_fetch_peer = 0;
    uint64_t m_fetch_next = 0;  // the lowest height the running fetch has not asked for
    uint64_t m_fetch_gap_from = UINT64_MAX;  // where a cut-short answer was last asked again
    uint32_t m_probe_rotation = 0;
    uint32_t m_idle_ticks = 0;  // consecutive ticks without work (see Tick)

    Ready m_ready;
    // Cache of InFlightTxHashes: tx hashes per in-flight block hash (not protocol state).
    mutable std::map<Hash256, std::vector<Hash256>> m_tx_hash_cache;
    Counters m_counters;
};

}  // namespace meterchain::consensus
