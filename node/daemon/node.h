// One meterchain node: storage, executor, mempool, consensus core, peer transport and client
// API wired together.
//
// Threads:
//   - the consensus thread runs an io_context that owns the consensus::Core and the executor:
//     peer messages, ticks, proposals and commits all happen there, one at a time;
//   - gRPC threads (peer streams, client calls) hand work over by posting to that io_context;
//   - a work pool (base::WorkPool) checks the SM2 signatures of submitted and gossiped
//     transactions, once per node (keys land in the crypto::SignatureCache that the
//     executor trusts). The transactions of a proposal and of a client's call are urgent.
//     Gossip is urgent on the primary (it can only propose what it has verified) and background work
//     on the others (a proposal that overtakes it is checked urgently then);
//   - each peer's stream thread checks the signature of that peer's consensus messages (and
//     the transactions of its proposals) before handing them to the consensus thread, so the
//     checks of different peers run in parallel and the core finds them remembered
//     (crypto::CachedVerifier).
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "consensus/pbft.h"
#include "contracts/contract.h"
#include "contracts/validation_key.h"
#include "node/base/work_pool.h"
#include "node/crypto/cached_verifier.h"
#include "node/crypto/signature_cache.h"
#include "node/chain/validators.h"
#include "node/crypto/signer.h"
#include "node/daemon/delivery.h"
#include "node/executor/executor.h"
#include "node/mempool/mempool.h"
#include "node/daemon/gossip.h"
#include "node/metrics/metrics.h"
#include "node/net/messenger.h"
#include "node/net/transport.h"
#include "node/storage/chain_store.h"
#include "node/storage/kv_store.h"
#include "proto/config.pb.h"

namespace grpc {
class Server;
}

namespace meterchain::gateway {
class Gateway;
struct Readiness;
}

namespace meterchain::node {

class ClientService;

// What a node runs on. The defaults are the daemon's; a test that runs several nodes in one
// process passes an in-memory store, an in-process transport and drives the node itself.
struct NodeEnvironment {
    // The key-value store under the chain; null: LevelDB in <data_dir>/chain.
    std::unique_ptr<storage::KvStore> kv;
    // The peer transport; null: net::PeerTransport with the config's TLS files.
    std::unique_ptr<net::Transport> transport;
    // Serve the gRPC client API on client_listen.
    bool client_api = true;
    // Run a consensus thread with wall-clock ticks. Without it nothing happens on its own:
    // the owner calls RunPending and Tick on one thread of its own, in place of that thread.
    bool consensus_thread = true;
};
// meterchaind's exit code when its storage fails a write (disk full, I/O error): the node
// stops at once, and its data dir opens again once the cause is fixed.
inline constexpr int kExitStorageFailure = 3;

// A snapshot for GetStatus.
struct NodeSnapshot {
    uint64_t height = 0;
    Hash256 tip_hash{};
    Hash256 state_root{};
    uint64_t view = 0;
    bool in_view_change = false;
    uint32_t primary = 0;
    size_t mempool_size = 0;
    std::vector<bool> connected;
};

class Node {
public:
    // Opens the data dir (refusing a locked or corrupt one), creates or checks the genesis and
    // restores the consensus state. Errors name the failing part.
    static Result<std::unique_ptr<Node>> Create(const v1::NodeConfig& config,
                                                NodeEnvironment env = {});
    ~Node();

    // Starts the peer transport, the client API and the consensus thread (as the environment
    // says).
    Status Start();
    // Without a consensus thread (NodeEnvironment::consensus_thread false), on the owner's
    // thread: runs the work handed to the consensus thread so far (peer messages, proposals)
    // and returns how many pieces ran; Tick is one consensus tick.
    size_t RunPending();
    void Tick();
    // Blocks until Stop() is called (e.g. from a signal handler thread).
    void Wait();
    // Graceful: a primary first hands its view over (HandOver), then the node stops accepting
    // clients, closes peers and finishes the current step. Idempotent.
    void Stop();

    // ---- used by the client API (any thread) ----
    // Verifies and admits a client transaction; returns its hash. Errors: kInvalidArgument
    // (malformed, wrong chain, replayed nonce), kUnauthenticated (bad signature),
    // kAlreadyExists (duplicate), kResourceExhausted (mempool full), kFailedPrecondition
    // (shutting down).
    Result<Hash256> Submit(chain::Transaction tx);
    // Submit for many transactions: signatures are checked in parallel on the pool; one
    // result per transaction, in order.
    std::vector<Result<Hash256>> SubmitMany(std::vector<chain::Transaction> txs);
    // Waits until the committed height reaches beyond `seen_height` or the deadline passes.
    // Returns the committed height then.
    uint64_t WaitForHeight(uint64_t seen_height, std::chrono::steady_clock::time_point deadline);
    NodeSnapshot Snapshot() const;
    bool InMempool(const Hash256& tx_hash) const { return m_mempool->Contains(tx_hash); }
    const storage::ChainStore& store() const { return *m_store; }
    const contracts::Registry& registry() const { return *m_registry; }
    const v1::NodeConfig& config() const { return m_config; }
    const chain::ValidatorSet& validators() const { return m_validators; }
    uint32_t self() const { return m_self; }
    uint64_t verifications() const { return m_verifier->verifications(); }
    uint64_t verify_cpu_ns() const { return m_verifier->verify_cpu_ns(); }
    // Peer transport counters (0 before Start).
    uint64_t peer_frames_sent() const;
    uint64_t peer_frames_received() const;
    bool stopping() const { return m_stopping.load(); }
    // A committed block that no longer reads back from the store (`status` is GetBlock's
    // kCorruption). Logged once, then fetched from the peers and, once its commit certificate
    // and this store's own hash index prove it, written back (ChainStore::RepairBlock). Any
    // thread.
    void ReportCorruptBlock(uint64_t height, const Status& status);
    // The node's metrics (rendered by the gateway's /metrics). Any thread.
    metrics::Registry& metrics() { return *m_metrics; }
    // The HTTP gateway's port (0 when it is off or not started).
    uint16_t gateway_port() const;

private:
    Node() = default;
    // The steps of Start: the transport (unless given), messenger and gossip; the client API.
    Status StartPeers();
    Status StartClientApi();
    // Records this validator as the data dir's owner, or refuses (kFailedPrecondition) a data
    // dir that another validator owns.
    Status ClaimDataDir();
    // The committed-height record outside LevelDB (see CheckCommittedMark in node.cpp).
    std::string CommittedMarkPath() const;
    void CheckCommittedMark();
    void WriteCommittedMark(uint64_t height);
    // Asks a peer (another one each attempt) for a block being repaired; consensus thread.
    void RequestRepair(uint64_t height);
    // Writes back the blocks being repaired that `response` carries, when they check out.
    void TryRepair(const consensus::BlockResponse& response);
    // Logs the failed write and ends the process with kExitStorageFailure.
    [[noreturn]] void ExitOnStorageFailure(const std::string& what, const Status& status);
    void OnPeerMessage(uint32_t from, consensus::Message message);
    void OnPeerTxs(uint32_t from, std::vector<chain::Transaction> txs);
    void AdmitGossiped(uint32_t from, chain::Transaction tx);
    // Checks the transactions of the blocks a message carries in parallel (remembered in the
    // signature cache for the executor).
    void PreverifyBlocks(const consensus::Message& message);
    void ParallelFor(size_t n, const std::function<void(size_t)>& fn);
    base::ParallelFor ParallelForFn();  // ParallelFor as the executor takes it
    void ScheduleTick();
    void OnTick();
    void MaybePropose();
    void ArmBatchTimer(std::chrono::steady_clock::time_point when);
    // Hands the core's Ready to storage, the executor and the network, in the order
    // consensus/ready.h gives (persist, apply, send, serve).
    void Drain();
    class ReadySteps;
    void Persist(std::vector<consensus::DurableWrite> writes, bool sync);
    void ApplyCommitted(const chain::Block& block);
    void SendOut(const consensus::Outbound& out);
    void Serve(const consensus::ServeRequest& request);
    void PublishSnapshot();
    // When this node is the primary of an active view, asks for the next view and waits
    // (bounded) until the next primary's NEW-VIEW has installed it, so that the cluster does
    // not wait out a view-change timeout after this node leaves. Called by Stop, while the
    // consensus thread and the transport still run.
    void HandOver();
    // Admits a checked transaction to the mempool and gossips it.
    Result<Hash256> Admit(chain::Transaction tx, const Hash256& hash, const chain::TxBody& body);
    void PostPropose();
    // Size limit, signature (once per node) and chain id; the body on success.
    Result<chain::TxBody> CheckTransaction(const chain::Transaction& tx, const Hash256& hash);
    // Registers the node's metrics in m_metrics (Create; node_metrics.cpp).
    void RegisterMetrics();
    // What /readyz reports (any thread; node_metrics.cpp).
    gateway::Readiness ReadinessNow() const;

    v1::NodeConfig m_config;
    chain::ValidatorSet m_validators;
    uint32_t m_self = 0;
    Hash256 m_genesis_hash{};
    int m_mark_fd = -1;        // committed-height record; consensus thread after Create
    uint64_t m_lost_from = 0;  // committed blocks the store lost (0: none); consensus thread
    uint64_t m_lost_to = 0;
    std::map<uint64_t, uint32_t> m_repairs;  // corrupt height -> requests sent; consensus thread
    uint32_t m_repair_ticks = 0;             // consensus thread
    std::unique_ptr<crypto::Sm2Signer> m_signer;
    std::unique_ptr<crypto::Sm2Verifier> m_verifier;
    std::unique_ptr<crypto::CachedVerifier> m_message_verifier;  // consensus messages
    std::unique_ptr<storage::ChainStore> m_store;
    std::unique_ptr<contracts::Registry> m_registry;
    // The chain validation key the contracts use; outlives m_executor.
    std::unique_ptr<contracts::ValidationKey> m_validation_key;
    std::unique_ptr<crypto::SignatureCache> m_cache;
    std::unique_ptr<mempool::Mempool> m_mempool;
    std::unique_ptr<executor::Executor> m_executor;
    std::unique_ptr<consensus::Core> m_core;
    std::unique_ptr<net::Transport> m_transport;    // set by Create or Start
    std::unique_ptr<net::Messenger> m_messenger;    // over m_transport
    std::unique_ptr<Gossip> m_gossip;               // over m_transport
    bool m_client_api = true;
    bool m_own_thread = true;
    std::unique_ptr<ClientService> m_client_service;
    std::unique_ptr<grpc::Server> m_client_server;

    boost::asio::io_context m_io;
    std::unique_ptr<boost::asio::steady_timer> m_tick_timer;
    // Fires when a waiting partial batch's delay ends (ArmBatchTimer); consensus thread only.
    std::unique_ptr<boost::asio::steady_timer> m_batch_timer;
    bool m_batch_timer_armed = false;
    std::unique_ptr<base::WorkPool> m_pool;
    std::atomic<size_t> m_gossip_backlog{0};   // gossiped transactions queued on m_pool
    std::atomic<bool> m_is_primary{false};     // of the current view (set by PublishSnapshot)
    std::atomic<uint64_t> m_gossip_dropped{0};  // refused because the backlog was full
    std::thread m_consensus_thread;
    std::chrono::steady_clock::time_point m_first_pending{};  // consensus thread only
    bool m_has_first_pending = false;                          // consensus thread only
    std::chrono::steady_clock::time_point m_last_trim{};       // consensus thread only
    std::atomic<bool> m_propose_posted{false};
    // Rate limit of the "own proposal refused" warning (consensus thread only).
    std::chrono::steady_clock::time_point m_last_refusal_log{};
    uint64_t m_refusals_unlogged = 0;

    mutable std::mutex m_snapshot_mutex;
    NodeSnapshot m_snapshot;  // guarded by m_snapshot_mutex
    std::condition_variable m_snapshot_cv;  // notified after every PublishSnapshot
    std::mutex m_height_mutex;
    std::condition_variable m_height_cv;  // notified after every commit
    std::atomic<bool> m_stopping{false};
    std::atomic<bool> m_stop_called{false};  // Stop() entered (m_stopping follows the hand-over)
    std::mutex m_stop_mutex;
    std::condition_variable m_stop_cv;
    bool m_stopped = false;  // guarded by m_stop_mutex
    // Metrics: the registry, what the consensus thread updates, and what it publishes for
    // callbacks that other threads read.
    std::unique_ptr<metrics::Registry> m_metrics;
    metrics::Counter* m_committed_txs = nullptr;
    metrics::Counter* m_committed_blocks = nullptr;
    metrics::Histogram* m_round_latency = nullptr;
    std::atomic<uint64_t> m_view_changes{0};  // copied from the core by PublishSnapshot
    std::atomic<uint64_t> m_ahead_height{0};  // copied from the core by PublishSnapshot
    // Owner-side SecDataAccess delivery. Last member, so it is destroyed (its worker joined)
    // before anything it uses.
    std::unique_ptr<Delivery> m_delivery;
    // The HTTP gateway (null when off); after m_delivery so that it is destroyed first.
    std::unique_ptr<gateway::Gateway> m_gateway;
};

}  // namespace meterchain::node
