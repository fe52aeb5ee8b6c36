#include "node/daemon/node.h"

#include <grpcpp/grpcpp.h>
#include <fcntl.h>
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <boost/asio/post.hpp>
#include <filesystem>
#include <fstream>
#include <future>
#include <optional>
#include <thread>

#include "node/base/codec.h"
#include "node/base/log.h"
#include "node/base/thread_name.h"
#include "node/chain/tx_signatures.h"
#include "node/config/config.h"
#include "node/config/files.h"
#include "node/config/tls_gen.h"
#include "node/daemon/client_service.h"
#include "node/daemon/genesis.h"
#include "node/daemon/proposal_policy.h"
#include "consensus/ready.h"
#include "node/gateway/gateway.h"
#include "node/net/peer_transport.h"

namespace meterchain::node {
namespace {

constexpr std::string_view kDurablePrefix = "c/";
// Metadata record naming the validator that owns the data dir (see ClaimDataDir).
constexpr std::string_view kValidatorRecord = "validator";
constexpr size_t kMaxBatchBytes = 16u << 20;
// A BLOCK-RESPONSE carries at most this many blocks and, beyond its first block, this many
// bytes of transactions (a behind replica asks for several ranges at once: see
// consensus::Options::fetch_pipeline).
constexpr uint64_t kMaxBlocksPerResponse = 64;
constexpr size_t kMaxResponseBytes = 8u << 20;
// How long a stopping primary waits for the next one to take over (HandOver).
constexpr std::chrono::milliseconds kHandOverWait{1000};
// The "own proposal refused" warning is logged at most this often.
constexpr std::chrono::seconds kRefusalLogInterval{10};
// Gossiped transactions are verified in chunks of this many (one pool job each)...
constexpr size_t kGossipChunk = 16;
// ...except a frame of at most this many arriving while none wait (see OnPeerTxs).
constexpr size_t kGossipInlineTxs = 2;
static_assert(kGossipInlineTxs <= kGossipChunk, "an inline frame is one chunk");
// ...and at most this many wait; beyond it gossip is dropped (the transaction still reaches
// this node in the block that commits it, and is verified then).
constexpr size_t kMaxGossipBacklog = 50000;
// How often free heap pages go back to the system (see OnTick).
constexpr std::chrono::seconds kTrimInterval{10};

uint64_t WallMs() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
}

uint32_t TicksFor(uint32_t ms, uint32_t tick_ms) { return std::max<uint32_t>(1, ms / tick_ms); }

}  // namespace

Result<std::unique_ptr<Node>> Node::Create(const v1::NodeConfig& config, NodeEnvironment env) {
    std::unique_ptr<Node> n(new Node());
    n->m_config = config;
    n->m_transport = std::move(env.transport);
    n->m_client_api = env.client_api;
    n->m_own_thread = env.consensus_thread;
    const auto& cc = config.consensus();

    auto set = config::BuildValidatorSet(config);
    if (!set.ok()) return set.status();
    n->m_validators = std::move(*set);
    const int self = config::SelfIndex(config);
    if (self < 0) return InvalidArgument("config: name '" + config.name() + "' is not a validator");
    n->m_self = static_cast<uint32_t>(self);
    for (const auto& w : config::ConfigWarnings(config)) MC_LOG(kWarn, "config", w);

    auto key = config::LoadSm2KeyFile(config.key_file());
    if (!key.ok()) return key.status();
    if (Status mode = config::CheckPrivateFileMode(config.key_file()); !mode.ok()) {
        MC_LOG(kWarn, "config", mode.message());
    }
    n->m_signer = std::make_unique<crypto::Sm2Signer>(std::move(*key), config.sm2_id());
    n->m_verifier = std::make_unique<crypto::Sm2Verifier>(config.sm2_id());
    // The validators sign every consensus message: their keys get precomputed tables
    // (crypto::Sm2KeyTable), so that a block's votes cost less than half as much to check.
    for (uint32_t i = 0; i < n->m_validators.size(); ++i) {
        if (Status s = n->m_verifier->Precompute(n->m_validators.at(i).public_key); !s.ok()) {
            return InvalidArgument("genesis: validator " + std::to_string(i) + ": " + s.message());
        }
    }
    n->m_message_verifier = std::make_unique<crypto::CachedVerifier>(*n->m_verifier);
    const unsigned threads = config.mempool().verify_threads() > 0
                                 ? config.mempool().verify_threads()
                                 : std::max(1u, std::thread::hardware_concurrency());
    n->m_pool = std::make_unique<base::WorkPool>(threads);
    if (n->m_signer->PublicKey() != n->m_validators.at(n->m_self).public_key) {
        return InvalidArgument("config: key_file " + config.key_file() +
                               " does not hold the SM2 key of validator '" + config.name() + "'");
    }

    std::error_code ec;
    std::filesystem::create_directories(config.data_dir(), ec);
    if (ec) return IoError("cannot create data_dir " + config.data_dir() + ": " + ec.message());
    std::unique_ptr<storage::KvStore> kv = std::move(env.kv);
    if (!kv) {
        auto leveldb =
            storage::OpenLevelDb((std::filesystem::path(config.data_dir()) / "chain").string());
        if (!leveldb.ok()) return leveldb.status();
        kv = std::move(*leveldb);
    }
    auto store = storage::ChainStore::Open(std::move(kv));
    if (!store.ok()) return store.status();
    n->m_store = std::move(*store);
    MC_RETURN_IF_ERROR(n->ClaimDataDir());

    auto genesis = LoadGenesis(config);
    if (!genesis.ok()) return genesis.status();
    n->m_registry = std::move(genesis->registry);
    // This node's copy of the chain validation key K (docs/CONTRACTS.md).
    auto validation_key = LoadNodeValidationKey(config, genesis->writes);
    if (!validation_key.ok()) return validation_key.status();
    n->m_validation_key = std::move(*validation_key);

    n->m_cache = std::make_unique<crypto::SignatureCache>();
    executor::ExecutorOptions eo;
    eo.chain_id = config.chain_id();
    eo.max_clock_skew_ms = cc.max_clock_skew_ms();
    eo.now_ms = WallMs;
    eo.validation = n->m_validation_key.get();
    eo.parallel_for = n->ParallelForFn();
    n->m_executor = std::make_unique<executor::Executor>(eo, *n->m_store, *n->m_registry, *n->m_verifier,
                                               *n->m_cache);
    MC_RETURN_IF_ERROR(n->m_executor->InitGenesis(genesis->block, genesis->writes));

    mempool::MempoolOptions mo;
    mo.max_txs = config.mempool().max_txs();
    executor::Executor* exec = n->m_executor.get();
    n->m_mempool = std::make_unique<mempool::Mempool>(
        mo, [exec](ByteView sender) { return exec->CommittedNonce(sender); });

    consensus::Options co;
    co.chain_id = config.chain_id();
    co.validators = n->m_validators;
    co.self = n->m_self;
    co.checkpoint_interval = cc.checkpoint_interval();
    co.max_in_flight = cc.window();
    co.window = std::max<uint64_t>(2 * co.checkpoint_interval, 4 * co.max_in_flight);
    co.view_timeout_ticks = TicksFor(cc.view_change_timeout_ms(), cc.tick_ms());
    co.max_view_timeout_ticks = co.view_timeout_ticks * 32;
    // Peer streams are reliable; retransmission only covers reconnects, and re-sending big
    // proposals early adds load exactly when a node is slow.
    co.retransmit_ticks = TicksFor(std::max<uint32_t>(1000, cc.view_change_timeout_ms() / 2),
                                   cc.tick_ms());
    co.fetch_retry_ticks = TicksFor(300, cc.tick_ms());
    co.max_blocks_per_request = kMaxBlocksPerResponse;
    co.genesis_hash = genesis->block.Hash();
    n->m_genesis_hash = genesis->block.Hash();

    const auto tip = n->m_store->Tip();
    auto tip_block = n->m_store->GetBlock(tip.height);
    if (!tip_block.ok()) return tip_block.status();
    consensus::Tip core_tip;
    core_tip.empty = false;
    core_tip.header = tip_block->header;
    core_tip.certificate = tip_block->certificate;
    auto durable_records = n->m_store->ScanMeta(kDurablePrefix);
    if (!durable_records.ok()) return durable_records.status();
    std::map<std::string, Bytes> durable;
    for (auto& [name, value] : *durable_records) {
        durable.emplace(name.substr(kDurablePrefix.size()), std::move(value));
    }
    n->m_core = std::make_unique<consensus::Core>(co, *n->m_signer, *n->m_message_verifier,
                                                  *n->m_executor, core_tip, durable);
    // Owner-side SecDataAccess delivery (node/daemon/delivery.h).
    Node* node = n.get();
    auto delivery = Delivery::Create(
        config, *n->m_store, *n->m_registry, *n->m_signer,
        [node](chain::Transaction tx) { return node->Submit(std::move(tx)); },
        [node](const Hash256& hash) { return node->InMempool(hash); });
    if (!delivery.ok()) return delivery.status();
    n->m_delivery = std::move(*delivery);
    n->CheckCommittedMark();
    n->m_metrics = std::make_unique<metrics::Registry>();
    n->RegisterMetrics();
    if (!config.gateway().listen().empty()) {
        auto gw = gateway::Gateway::Create(config, *n->m_store, *n->m_metrics,
                                           [node] { return node->ReadinessNow(); });
        if (!gw.ok()) return gw.status();
        n->m_gateway = std::move(*gw);
    }
    MC_LOG(kInfo, "node", "opened")("name", config.name())("index", n->m_self)(
        "height", tip.height)("view", n->m_core->view())("validators", n->m_validators.size())(
        "genesis", ToHex(genesis->block.Hash()).substr(0, 16));
    return n;
}

Status Node::ClaimDataDir() {
    // The data dir holds this validator's votes: another validator that opened it would sign
    // them again as its own (a double vote). The first node to open it records its name and
    // key; any other is refused.
    const std::string& name = m_config.name();
    const Bytes& key = m_validators.at(m_self).public_key;
    const Bytes mine = codec::Writer().Text(name).Blob(key).bytes();
    auto stored = m_store->GetMeta(kValidatorRecord);
    if (!stored.ok()) return stored.status();
    if (!*stored) return m_store->PutMeta(kValidatorRecord, mine);
    if (**stored == mine) return Status::Ok();
    codec::Reader r(**stored);
    std::string owner;
    Bytes owner_key;
    if (!r.Text(owner) || !r.Blob(owner_key)) owner = "(unreadable record)";
    const std::string where = m_config.data_dir();
    if (owner == name) {
        return FailedPrecondition("data_dir " + where + " belongs to validator '" + owner +
                                  "' with another SM2 key (" + ToHex(owner_key).substr(0, 16) +
                                  "...); this node's key is " + ToHex(key).substr(0, 16) +
                                  "...: refusing to sign with its stored votes");
    }
    return FailedPrecondition("data_dir " + where + " belongs to validator '" + owner +
                              "', this node is '" + name +
                              "': refusing to use another validator's data dir (its stored "
                              "votes would be signed twice); give this node its own data_dir");
}

void Node::ReportCorruptBlock(uint64_t height, const Status& status) {
    boost::asio::post(m_io, [this, height, status] {
        if (m_stopping.load() || m_repairs.count(height) != 0) return;
        MC_LOG(kError, "storage", "stored block is corrupt; fetching it from peers")(
            "height", height)("error", status.message());
        m_repairs[height] = 0;
        RequestRepair(height);
    });
}

void Node::RequestRepair(uint64_t height) {
    const uint32_t n = static_cast<uint32_t>(m_validators.size());
    if (n < 2 || !m_messenger) return;
    uint32_t& attempts = m_repairs[height];
    uint32_t peer = (m_self + 1 + attempts++) % n;
    if (peer == m_self) peer = (peer + 1) % n;
    consensus::Message request = consensus::BlockRequest{height, height, m_self, {}};
    consensus::SignMessage(m_config.chain_id(), *m_signer, request);
    m_messenger->Send(peer, request);
}

void Node::TryRepair(const consensus::BlockResponse& response) {
    for (const auto& block : response.blocks) {
        const uint64_t height = block.header.height;
        if (m_repairs.count(height) == 0) continue;
        // The certificate proves a quorum committed this block; RepairBlock checks that it is
        // the one this store committed at that height, transactions included.
        Status s = block.certificate.block_hash == block.Hash()
                       ? chain::VerifyCertificate(block.certificate, m_config.chain_id(),
                                                  m_validators, *m_verifier)
                       : InvalidArgument("certificate is for another block");
        if (s.ok()) s = m_store->RepairBlock(block);
        if (!s.ok()) {
            MC_LOG(kWarn, "storage", "a peer's copy of a corrupt block was refused")(
                "height", height)("from", response.from)("reason", s.message());
            continue;
        }
        MC_LOG(kWarn, "storage", "repaired a corrupt stored block from a peer")(
            "height", height)("from", response.from);
        m_repairs.erase(height);
    }
}

std::string Node::CommittedMarkPath() const {
    return (std::filesystem::path(m_config.data_dir()) / "committed-height").string();
}

void Node::CheckCommittedMark() {
    // The height this node last committed, written outside LevelDB after every commit. Were
    // LevelDB's log cut short (a torn write, a damaged disk), the store reopens at an older
    // tip without a word: this record says how much was lost. The blocks themselves come back
    // from the peers like any missing height.
    std::ifstream in(CommittedMarkPath());
    uint64_t marked = 0;
    if (!(in >> marked)) return;
    const uint64_t tip = m_store->Tip().height;
    if (marked <= tip) return;
    m_lost_from = tip + 1;
    m_lost_to = marked;
    MC_LOG(kError, "storage", "the store lost committed blocks")("lost", marked - tip)(
        "from", tip + 1)("to", marked)("store_tip", tip)(
        "cause", "LevelDB's log was cut short (torn write or damaged disk)")(
        "action", "fetching them again from peers");
}

void Node::WriteCommittedMark(uint64_t height) {
    // Not synced: it only has to outlive LevelDB's own (synced) log, which it does unless the
    // machine itself loses power, and then nothing is reported, as before.
    if (m_mark_fd < 0) {
        m_mark_fd = ::open(CommittedMarkPath().c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (m_mark_fd < 0) return;
    }
    char text[24];
    const int n = std::snprintf(text, sizeof text, "%020llu\n",
                                static_cast<unsigned long long>(height));
    (void)!::pwrite(m_mark_fd, text, static_cast<size_t>(n), 0);
}

void Node::ExitOnStorageFailure(const std::string& what, const Status& status) {
    // Nothing that failed to reach the disk was sent or acknowledged (state is persisted
    // before votes go out, blocks before commits are reported), and LevelDB recovers its log
    // up to the last complete write: the data dir opens again once there is room. Exiting at
    // once, without the graceful stop, writes nothing more to a disk that refuses writes.
    MC_LOG(kError, "storage", what)("error", status.ToString())("exit_code", kExitStorageFailure)(
        "action", "free disk space (or fix the I/O error) and restart; nothing committed is lost");
    std::fflush(stderr);
    std::fflush(stdout);
    std::_Exit(kExitStorageFailure);
}

Node::~Node() {
    Stop();
    if (m_mark_fd >= 0) ::close(m_mark_fd);
}

Status Node::Start() {
    MC_RETURN_IF_ERROR(StartPeers());
    if (m_client_api) MC_RETURN_IF_ERROR(StartClientApi());
    MC_RETURN_IF_ERROR(m_messenger->Start());
    m_gossip->Start();

    PublishSnapshot();
    if (m_own_thread) {
        m_tick_timer = std::make_unique<boost::asio::steady_timer>(m_io);
        m_batch_timer = std::make_unique<boost::asio::steady_timer>(m_io);
        ScheduleTick();
        m_consensus_thread = std::thread([this] {
            base::NameThisThread("mc-consensus");
            auto guard = boost::asio::make_work_guard(m_io);
            m_io.run();
        });
    }
    m_delivery->Start();
    if (m_gateway) MC_RETURN_IF_ERROR(m_gateway->Start());
    MC_LOG(kInfo, "node", "started")("name", m_config.name())("peers", m_config.peer_listen())(
        "clients", m_client_api ? m_config.client_listen() : std::string("none"));
    return Status::Ok();
}

Status Node::StartPeers() {
    const auto& cfg = m_config;
    if (!m_transport) {
        auto ca = config::ReadFileToString(cfg.tls().ca_file());
        if (!ca.ok()) return ca.status();
        auto cert = config::ReadFileToString(cfg.tls().cert_file());
        if (!cert.ok()) return cert.status();
        auto key = config::ReadFileToString(cfg.tls().key_file());
        if (!key.ok()) return key.status();
        // Checked here with a clear message: gRPC would only fail to listen, the reason on
        // stderr.
        MC_RETURN_IF_ERROR(config::CheckTlsIdentity(*cert, *key, cfg.name(),
                                                    cfg.tls().cert_file(), cfg.tls().key_file()));
        if (Status s = config::VerifyTlsCertificate(*ca, *cert); !s.ok()) {
            MC_LOG(kWarn, "config", "peers will refuse this node's certificate")(
                "cert_file", cfg.tls().cert_file())("ca_file", cfg.tls().ca_file())(
                "error", s.message());
        }
        net::TransportOptions to;
        to.chain_id = cfg.chain_id();
        to.genesis_hash = m_genesis_hash;
        to.self = m_self;
        to.validators = m_validators;
        to.listen = cfg.peer_listen();
        to.ca_pem = *ca;
        to.cert_pem = *cert;
        to.key_pem = *key;
        m_transport = std::make_unique<net::PeerTransport>(to, *m_signer, *m_verifier);
    }
    m_messenger = std::make_unique<net::Messenger>(
        *m_transport,
        [this](uint32_t from, consensus::Message m) { OnPeerMessage(from, std::move(m)); },
        [this](uint32_t from, std::vector<chain::Transaction> txs) {
            OnPeerTxs(from, std::move(txs));
        });
    GossipOptions go;
    go.self = m_self;
    go.validators = m_validators.size();
    // The validators other than the primary need a gossiped transaction only while it has not
    // committed (committed ones leave the pool): after that they have it from the PRE-PREPARE.
    m_gossip = std::make_unique<Gossip>(go, *m_transport, [this](const Hash256& hash) {
        return m_mempool->Contains(hash);
    });
    return Status::Ok();
}

// Memory the client API's connections may hold in gRPC buffers, all together.
constexpr size_t kClientApiMemoryBytes = 128u << 20;

Status Node::StartClientApi() {
    const auto& cfg = m_config;
    m_client_service = std::make_unique<ClientService>(*this);
    grpc::ServerBuilder builder;
    int client_port = 0;
    std::shared_ptr<grpc::ServerCredentials> creds = grpc::InsecureServerCredentials();
    if (cfg.client_tls()) {
        auto cert = config::ReadFileToString(cfg.tls().cert_file());
        if (!cert.ok()) return cert.status();
        auto key = config::ReadFileToString(cfg.tls().key_file());
        if (!key.ok()) return key.status();
        grpc::SslServerCredentialsOptions tls;
        tls.pem_key_cert_pairs.push_back({*key, *cert});
        creds = grpc::SslServerCredentials(tls);
    }
    builder.AddListeningPort(cfg.client_listen(), creds, &client_port);
    builder.RegisterService(m_client_service.get());
    // A request is at most a batch of transactions; gRPC refuses larger ones.
    builder.SetMaxReceiveMessageSize(ClientService::kMaxRequestBytes);
    builder.SetMaxSendMessageSize(64 << 20);
    // gRPC's transport reads a message whole before it checks its size: without a memory
    // quota, ten clients sending 100 MB each held 659 MB of the node's memory. The quota
    // bounds what the client port's connections may buffer together (the peers' server has
    // its own).
    grpc::ResourceQuota quota("client-api");
    quota.Resize(kClientApiMemoryBytes);
    builder.SetResourceQuota(quota);
    builder.AddChannelArgument(GRPC_ARG_HTTP2_BDP_PROBE, 0);
    m_client_server = builder.BuildAndStart();
    if (!m_client_server || client_port == 0) {
        return IoError("cannot listen for clients on " + cfg.client_listen() +
                       " (address in use or invalid)");
    }
    return Status::Ok();
}

size_t Node::RunPending() {
    m_io.restart();
    return m_io.poll();
}

void Node::Tick() {
    if (m_stopping.load()) return;
    OnTick();
}

void Node::Wait() {
    std::unique_lock lock(m_stop_mutex);
    m_stop_cv.wait(lock, [&] { return m_stopped; });
}

void Node::Stop() {
    if (m_stop_called.exchange(true)) return;
    MC_LOG(kInfo, "node", "stopping")("name", m_config.name());
    if (m_gateway) m_gateway->Stop();
    HandOver();
    m_stopping.store(true);
    if (m_delivery) m_delivery->Stop();  // [contracts] may wait in Submit: before the pools stop
    if (m_client_service) m_client_service->Stop();  // parked waits and streams end now
    {
        // Wakes the clients' waits (WaitForHeight checks m_stopping) before the server waits
        // for their calls to end; the other way round it waited out its whole deadline.
        std::lock_guard lock(m_height_mutex);
    }
    m_height_cv.notify_all();
    if (m_client_server) {
        m_client_server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    }
    if (m_gossip) m_gossip->Stop();
    if (m_transport) m_transport->Stop();
    m_io.stop();
    if (m_consensus_thread.joinable()) m_consensus_thread.join();
    if (m_pool) m_pool->Stop();
    m_client_server.reset();
    {
        std::lock_guard lock(m_stop_mutex);
        m_stopped = true;
    }
    m_stop_cv.notify_all();
    MC_LOG(kInfo, "node", "stopped")("name", m_config.name());
}

void Node::HandOver() {
    if (!m_consensus_thread.joinable() || m_validators.size() == 1) return;
    auto started = std::make_shared<std::promise<std::optional<uint64_t>>>();
    auto result = started->get_future();
    boost::asio::post(m_io, [this, started] {
        const bool leaving = m_core->HandOver();
        Drain();
        started->set_value(leaving ? std::optional<uint64_t>(m_core->view()) : std::nullopt);
    });
    const auto deadline = std::chrono::steady_clock::now() + kHandOverWait;
    if (result.wait_until(deadline) != std::future_status::ready) return;
    const auto view = result.get();
    if (!view) return;
    MC_LOG(kInfo, "consensus", "primary leaving: asked for the next view")("view", *view);
    std::unique_lock lock(m_snapshot_mutex);
    const bool done = m_snapshot_cv.wait_until(lock, deadline, [&] {
        return m_snapshot.view >= *view && !m_snapshot.in_view_change;
    });
    MC_LOG(kInfo, "consensus", done ? "handed over" : "hand-over not confirmed in time")(
        "view", m_snapshot.view)("primary", m_snapshot.primary);
}

Result<chain::TxBody> Node::CheckTransaction(const chain::Transaction& tx, const Hash256& hash) {
    if (tx.body.size() > chain::kMaxTxBodySize) {
        return InvalidArgument("transaction body larger than " +
                               std::to_string(chain::kMaxTxBodySize) + " bytes");
    }
    auto body = chain::VerifyTransactionOnce(tx, hash, *m_verifier, *m_cache);
    if (!body.ok()) return body.status();
    if (body->chain_id != m_config.chain_id()) {
        return InvalidArgument("transaction is for chain '" + body->chain_id + "', this is '" +
                               m_config.chain_id() + "'");
    }
    return body;
}

Result<Hash256> Node::Submit(chain::Transaction tx) {
    std::vector<chain::Transaction> one;
    one.push_back(std::move(tx));
    return std::move(SubmitMany(std::move(one)).front());
}

std::vector<Result<Hash256>> Node::SubmitMany(std::vector<chain::Transaction> txs) {
    std::vector<Result<Hash256>> out;
    if (m_stopping.load()) {
        out.assign(txs.size(), FailedPrecondition("node is shutting down"));
        return out;
    }
    std::vector<Hash256> hashes(txs.size());
    std::vector<Result<chain::TxBody>> bodies(txs.size(), Internal("not checked"));
    ParallelFor(txs.size(), [&](size_t i) {
        hashes[i] = txs[i].Hash();
        bodies[i] = CheckTransaction(txs[i], hashes[i]);
    });
    out.reserve(txs.size());
    bool admitted = false;
    for (size_t i = 0; i < txs.size(); ++i) {
        if (!bodies[i].ok()) {
            out.push_back(bodies[i].status());
            continue;
        }
        out.push_back(Admit(std::move(txs[i]), hashes[i], *bodies[i]));
        admitted |= out.back().ok();
    }
    if (admitted) {
        m_gossip->Flush();  // this request's transactions are a batch already
        PostPropose();
    }
    return out;
}

Result<Hash256> Node::Admit(chain::Transaction tx, const Hash256& hash,
                            const chain::TxBody& body) {
    if (m_store->FindTransaction(hash).ok()) {
        return Status(StatusCode::kAlreadyExists, "transaction is already committed");
    }
    const chain::Transaction copy = tx;
    auto added = m_mempool->Add(std::move(tx), body);
    if (!added.ok()) return added.status();
    m_gossip->Broadcast(copy, hash);
    return added;
}

void Node::PostPropose() {
    // Only the primary proposes, and waking the consensus thread costs a thread switch. On
    // the others the next tick updates the core's pending work, which only times view
    // changes (and a node that has just become primary proposes on that tick too).
    if (!m_is_primary.load()) return;
    if (m_propose_posted.exchange(true)) return;
    boost::asio::post(m_io, [this] {
        m_propose_posted.store(false);
        MaybePropose();
        Drain();
    });
}

void Node::ParallelFor(size_t n, const std::function<void(size_t)>& fn) {
    m_pool->ParallelFor(n, fn);
}

base::ParallelFor Node::ParallelForFn() {
    return [this](size_t count, const std::function<void(size_t)>& fn) { ParallelFor(count, fn); };
}

void Node::OnPeerTxs(uint32_t from, std::vector<chain::Transaction> txs) {
    const size_t n = txs.size();
    if (n == 0 || m_stopping.load()) return;
    if (m_gossip_backlog.load() + n > kMaxGossipBacklog) {
        // Rate-limited warning: the first drop and every 10,000th after it.
        if (m_gossip_dropped.fetch_add(n) % 10000 < n) {
            MC_LOG(kWarn, "mempool", "gossip backlog full, transactions dropped")("from", from)(
                "dropped_total", m_gossip_dropped.load())("backlog", m_gossip_backlog.load());
        }
        return;
    }
    // A frame of one or two transactions while nothing else waits (light load: nearly every
    // client request carries one) is checked right here on the peer's stream thread, which may
    // do a message's own work, rather than waking a pool thread for it (a thread switch per
    // transaction, costly on a busy machine). Counted in the backlog meanwhile, so that frames
    // arriving at the same moment go to the pool and the overload rule still sees what waits.
    const size_t waiting = m_gossip_backlog.fetch_add(n);
    auto shared = std::make_shared<std::vector<chain::Transaction>>(std::move(txs));
    auto admit_chunk = [this, shared, from](size_t start) {
        const size_t end = std::min(start + kGossipChunk, shared->size());
        for (size_t i = start; i < end; ++i) AdmitGossiped(from, std::move((*shared)[i]));
        m_gossip_backlog.fetch_sub(end - start);
        PostPropose();
    };
    if (n <= kGossipInlineTxs && waiting == 0) {
        admit_chunk(0);
        return;
    }
    for (size_t start = 0; start < n; start += kGossipChunk) {
        const auto priority = m_is_primary.load() ? base::WorkPool::Priority::kUrgent
                                                  : base::WorkPool::Priority::kBackground;
        m_pool->Post(priority, [admit_chunk, start] { admit_chunk(start); });
    }
}

void Node::PreverifyBlocks(const consensus::Message& message) {
    auto run = [this](const chain::Block& block) {
        chain::PreverifyTransactions(block.transactions, *m_verifier, *m_cache, ParallelForFn());
    };
    if (const auto* pp = std::get_if<consensus::PrePrepare>(&message)) {
        run(pp->block);
    } else if (const auto* br = std::get_if<consensus::BlockResponse>(&message)) {
        for (const auto& block : br->blocks) run(block);
    }
}

void Node::AdmitGossiped(uint32_t from, chain::Transaction tx) {
    auto body = CheckTransaction(tx, tx.Hash());
    if (!body.ok()) {
        MC_LOG(kDebug, "mempool", "gossiped transaction refused")("from", from)(
            "reason", body.status().message());
        return;
    }
    auto added = m_mempool->Add(std::move(tx), *body);
    if (!added.ok() && added.status().code() != StatusCode::kAlreadyExists) {
        MC_LOG(kDebug, "mempool", "gossiped transaction not added")("from", from)(
            "reason", added.status().message());
    }
}

void Node::OnPeerMessage(uint32_t, consensus::Message message) {
    // On the peer's stream thread: the signature checks of different peers run in parallel,
    // and the core's own check of this message then hits m_message_verifier's memory. A
    // message that fails is still handed over: the core counts and drops it. Votes are left
    // to the core, which checks only those it still needs (Core::VoteNeeded).
    if (!std::holds_alternative<consensus::Vote>(message) &&
        consensus::VerifyMessage(m_config.chain_id(), m_validators, *m_message_verifier,
                                 message)) {
        PreverifyBlocks(message);
    }
    boost::asio::post(m_io, [this, m = std::move(message)]() mutable {
        if (m_stopping.load()) return;
        if (!m_repairs.empty()) {
            if (const auto* response = std::get_if<consensus::BlockResponse>(&m)) {
                TryRepair(*response);
            }
        }
        const uint64_t committed = m_core->committed_height();
        m_core->Step(m);
        Drain();
        // A commit frees room in the pipeline: propose what is waiting right away.
        if (m_core->committed_height() != committed) {
            MaybePropose();
            Drain();
        }
    });
}

void Node::ScheduleTick() {
    m_tick_timer->expires_after(std::chrono::milliseconds(m_config.consensus().tick_ms()));
    m_tick_timer->async_wait([this](const boost::system::error_code& ec) {
        if (ec || m_stopping.load()) return;
        OnTick();
        ScheduleTick();
    });
}

void Node::OnTick() {
    m_core->Tick();
    // Corrupt blocks not repaired yet: ask the next peer about once a second.
    if (!m_repairs.empty() &&
        ++m_repair_ticks >= std::max<uint32_t>(1, 1000 / m_config.consensus().tick_ms())) {
        m_repair_ticks = 0;
        for (const auto& [height, attempts] : m_repairs) RequestRepair(height);
    }
    MaybePropose();
    Drain();
    // glibc keeps freed memory inside its arenas, so RSS drifts up towards the largest heap
    // the node ever had (a memtable being written out, a burst of gossip). Handing the free
    // pages back now and then keeps RSS close to what is in use. On a background thread: the
    // walk takes each arena's lock for a moment.
    const auto now = std::chrono::steady_clock::now();
    if (now - m_last_trim >= kTrimInterval) {
        m_last_trim = now;
        m_pool->Post(base::WorkPool::Priority::kBackground, [] { malloc_trim(0); });
    }
}

void Node::MaybePropose() {
    const auto& cc = m_config.consensus();
    // Work is a transaction that could be proposed now (in flight counts; one waiting behind a
    // nonce gap does not, or a client's gap would make the primary look faulty forever).
    const bool has_txs = !m_mempool->Batch(1, SIZE_MAX, {}).empty();
    m_core->SetPendingWork(has_txs);
    if (!has_txs) {
        m_has_first_pending = false;
        return;
    }
    const auto now = std::chrono::steady_clock::now();
    if (!m_has_first_pending) {
        m_has_first_pending = true;
        m_first_pending = now;
    }
    if (!m_core->CanPropose()) return;
    // A partial batch waits for the batch delay, for room in the pipeline and, when this
    // node is overloaded, for more transactions (node/daemon/proposal_policy.h): blocks then
    // grow with the load instead of staying small.
    const bool delay_over =
        now - m_first_pending >= std::chrono::milliseconds(cc.max_batch_delay_ms());
    const uint64_t heights_in_flight = m_core->InFlightHeights();
    PartialBatch partial;
    partial.validators = m_validators.size();
    partial.heights_in_flight = heights_in_flight;
    partial.delay_over = delay_over;
    partial.gossip_backlog = m_gossip_backlog.load();
    partial.busy_wait_over = now - m_first_pending >= kBusyMaxDelay;
    auto partial_may_go = [&](size_t txs) {
        partial.txs = txs;
        return PartialBatchMayGo(partial);
    };
    // Decide from counts first: building a batch copies up to max_block_txs transactions,
    // and this runs after every gossip chunk, tick and commit.
    const size_t pending = m_mempool->size();
    const size_t in_flight_txs = m_core->InFlightTxCount();
    const size_t waiting = pending > in_flight_txs ? pending - in_flight_txs : 0;
    if (waiting < cc.max_block_txs() && !partial_may_go(waiting)) {
        // Only the batch delay holds this batch back: propose the moment it ends rather than
        // on the next tick, which would add up to a tick to every light-load commit.
        if (!delay_over && PipelineHasRoom(heights_in_flight, waiting, partial.validators)) {
            ArmBatchTimer(m_first_pending + std::chrono::milliseconds(cc.max_batch_delay_ms()));
        }
        return;
    }
    const auto in_flight = m_core->InFlightTxHashes();
    auto batch = m_mempool->Batch(cc.max_block_txs(), kMaxBatchBytes, in_flight);
    if (batch.empty()) return;
    const bool full = batch.size() >= cc.max_block_txs();
    if (!full && !partial_may_go(batch.size())) return;
    const size_t count = batch.size();
    Status s = m_core->Propose(std::move(batch), WallMs());
    m_has_first_pending = false;
    if (!s.ok()) {
        // Only a transaction whose nonce was committed meanwhile (in another block) can make
        // an admitted batch invalid; drop those. Anything else is retried on the next tick,
        // and if this primary keeps failing, the view change replaces it: a transaction is
        // never dropped on a guess. Retried on every tick, so the warning is rate-limited.
        ++m_refusals_unlogged;
        if (now - m_last_refusal_log >= kRefusalLogInterval) {
            m_last_refusal_log = now;
            MC_LOG(kWarn, "node",
                   "own proposal refused; the batch is retried, and a primary that keeps "
                   "failing is replaced by a view change")("txs", count)("reason", s.message())(
                "refusals_since_last_log", m_refusals_unlogged);
            m_refusals_unlogged = 0;
        }
        auto retry = m_mempool->Batch(cc.max_block_txs(), kMaxBatchBytes, in_flight);
        std::vector<chain::Transaction> stale;
        for (const auto& tx : retry) {
            auto body = chain::TxBody::Parse(tx.body);
            if (!body.ok() || body->nonce <= m_executor->CommittedNonce(body->sender)) {
                stale.push_back(tx);
            }
        }
        if (!stale.empty()) m_mempool->RemoveCommitted(stale);
    }
}

void Node::ArmBatchTimer(std::chrono::steady_clock::time_point when) {
    // Without a consensus thread there are no timers: the owner's next Tick proposes.
    if (!m_batch_timer || m_batch_timer_armed) return;
    m_batch_timer_armed = true;
    m_batch_timer->expires_at(when);
    m_batch_timer->async_wait([this](const boost::system::error_code& ec) {
        m_batch_timer_armed = false;
        if (ec || m_stopping.load()) return;
        MaybePropose();
        Drain();
    });
}

class Node::ReadySteps final : public consensus::ReadyHandler {
public:
    explicit ReadySteps(Node& node) : m_node(node) {}
    void Persist(std::vector<consensus::DurableWrite> writes, bool sync) override {
        m_node.Persist(std::move(writes), sync);
    }
    void Apply(const chain::Block& block) override { m_node.ApplyCommitted(block); }
    void Send(consensus::Outbound out) override { m_node.SendOut(out); }
    void Serve(const consensus::ServeRequest& request) override { m_node.Serve(request); }

private:
    Node& m_node;
};

void Node::Drain() {
    ReadySteps steps(*this);
    consensus::DrainReady(*m_core, steps);
    PublishSnapshot();
}

void Node::Persist(std::vector<consensus::DurableWrite> writes, bool sync) {
    std::vector<std::pair<std::string, std::optional<Bytes>>> records;
    records.reserve(writes.size());
    for (auto& w : writes) {
        records.emplace_back(std::string(kDurablePrefix) + w.key, std::move(w.value));
    }
    // All lazy (a commit's deletion of its height's record): no need to wait for the disk. In
    // a commit's Ready the block's synced append right after takes it along.
    Status s = m_store->WriteMeta(records, sync);
    if (!s.ok()) {
        // Sending votes that were not persisted could make a restarted node contradict
        // itself; stopping is the only safe answer.
        ExitOnStorageFailure("cannot persist consensus state", s);
    }
}

void Node::SendOut(const consensus::Outbound& out) {
    if (out.to == consensus::Outbound::kBroadcast) {
        m_messenger->Broadcast(out.message, m_validators.size());
    } else {
        m_messenger->Send(static_cast<uint32_t>(out.to), out.message);
    }
}

void Node::ApplyCommitted(const chain::Block& block) {
    auto receipts = m_executor->Commit(block);
    if (!receipts.ok()) {
        if (receipts.status().code() == StatusCode::kIoError) {
            ExitOnStorageFailure("cannot store committed block " +
                                     std::to_string(block.header.height),
                                 receipts.status());
        }
        MC_LOG(kError, "executor", "cannot store committed block")(
            "height", block.header.height)("error", receipts.status().ToString());
        std::abort();  // the certificate says it is final: the stored state is broken
    }
    m_mempool->RemoveCommitted(block.transactions);
    WriteCommittedMark(block.header.height);
    if (m_lost_to != 0 && block.header.height >= m_lost_to) {
        MC_LOG(kWarn, "storage", "re-fetched the committed blocks the store had lost")(
            "from", m_lost_from)("to", m_lost_to)("blocks", m_lost_to - m_lost_from + 1);
        m_lost_to = 0;
    }
    m_committed_blocks->Add();
    m_committed_txs->Add(block.transactions.size());
    // Proposal (the primary's timestamp) to commit on this node.
    const uint64_t now_ms = WallMs();
    m_round_latency->Observe(
        static_cast<double>(now_ms > block.header.timestamp_ms ? now_ms - block.header.timestamp_ms : 0) /
        1000.0);
    size_t failed = 0;
    for (const auto& r : *receipts) failed += r.code != 0 ? 1 : 0;
    MC_LOG(kInfo, "consensus", "committed block")("height", block.header.height)(
        "txs", block.transactions.size())("failed", failed)("view", block.certificate.view)(
        "hash", ToHex(block.Hash()).substr(0, 16));
    {
        // Taking the lock orders the tip update before a waiter's predicate check, so a
        // WaitForHeight that just checked cannot miss this notification.
        std::lock_guard lock(m_height_mutex);
    }
    m_height_cv.notify_all();
    if (m_client_service) m_client_service->OnCommitted(block);
    if (m_delivery) m_delivery->OnCommitted();  // [contracts] wakes owner-side delivery
    if (m_gateway) m_gateway->OnCommitted(block);
}

void Node::Serve(const consensus::ServeRequest& request) {
    const auto tip = m_store->Tip();
    consensus::BlockResponse response;
    response.from = m_self;
    response.tip_height = tip.height;
    const uint64_t last = std::min({request.to_height, tip.height,
                                    request.from_height + kMaxBlocksPerResponse - 1});
    size_t bytes = 0;
    for (uint64_t h = std::max<uint64_t>(request.from_height, 1); h <= last; ++h) {
        if (bytes > kMaxResponseBytes) break;  // the requester asks again for the rest
        auto block = m_store->GetBlock(h);
        if (!block.ok()) {
            if (block.status().code() == StatusCode::kCorruption) {
                ReportCorruptBlock(h, block.status());
            }
            break;
        }
        for (const auto& tx : block->transactions) bytes += tx.body.size() + tx.signature.size();
        response.blocks.push_back(std::move(*block));
    }
    if (!response.blocks.empty()) m_messenger->Send(request.to, response);
}

void Node::PublishSnapshot() {
    const auto tip = m_store->Tip();
    uint32_t lead = Gossip::kNoLead;
    {
        std::lock_guard lock(m_snapshot_mutex);
        m_snapshot.height = tip.height;
        m_snapshot.tip_hash = tip.block_hash;
        m_snapshot.state_root = tip.state_root;
        m_snapshot.view = m_core->view();
        m_snapshot.in_view_change = m_core->in_view_change();
        m_snapshot.primary = m_core->Primary(m_core->view());
        m_is_primary.store(m_snapshot.primary == m_self && !m_snapshot.in_view_change);
        if (!m_snapshot.in_view_change) lead = static_cast<uint32_t>(m_snapshot.primary);
    }
    m_view_changes.store(m_core->counters().view_changes, std::memory_order_relaxed);
    m_ahead_height.store(m_core->ahead_height(), std::memory_order_relaxed);
    m_snapshot_cv.notify_all();
    // Gossip hurries only to the validator that proposes next (see Gossip::SetLead);
    // while the view changes, nobody knows who that is, so it hurries to everyone. Outside
    // the snapshot lock: sending what was gathered asks the mempool what is still needed.
    if (m_gossip) m_gossip->SetLead(lead);
}

uint64_t Node::peer_frames_sent() const {
    return m_transport ? m_transport->counters().frames_sent.load() : 0;
}

uint64_t Node::peer_frames_received() const {
    return m_transport ? m_transport->counters().frames_received.load() : 0;
}

NodeSnapshot Node::Snapshot() const {
    NodeSnapshot s;
    {
        std::lock_guard lock(m_snapshot_mutex);
        s = m_snapshot;
    }
    s.mempool_size = m_mempool->size();
    if (m_transport) s.connected = m_transport->Connected();
    return s;
}

uint64_t Node::WaitForHeight(uint64_t seen_height,
                             std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(m_height_mutex);
    m_height_cv.wait_until(lock, deadline, [&] {
        return m_stopping.load() || m_store->Tip().height > seen_height;
    });
    return m_store->Tip().height;
}

}  // namespace meterchain::node
