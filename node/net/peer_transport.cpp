#include "node/net/peer_transport.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>

#include <algorithm>
#include <chrono>

#include "node/base/codec.h"
#include "node/base/log.h"
#include "node/base/thread_name.h"
#include "node/crypto/sm.h"
#include "node/chain/proto_adapter.h"
#include "node/net/wire.h"
#include "proto/node.grpc.pb.h"

namespace meterchain::net {

// One outbound stream to a peer with its own queue and writer thread.
struct PeerTransport::Lane {
    std::shared_ptr<grpc::Channel> channel;  // a TLS connection of its own
    std::mutex mutex;
    std::condition_variable cv;
    std::deque<std::shared_ptr<const v1::PeerFrame>> queue;  // guarded by mutex
    size_t queued_bytes = 0;                                 // guarded by mutex
    std::atomic<bool> connected{false};
    grpc::ClientContext* live_context = nullptr;  // guarded by mutex; cancelled by Stop()
    std::thread thread;
};

struct PeerTransport::Outbound {
    uint32_t index = 0;
    std::string address;
    Lane lanes[kLanes];
};

Bytes HelloSigningBytes(const std::string& chain_id, uint32_t from, uint32_t to,
                        ByteView nonce) {
    return codec::Writer().Text("meterchain/hello/v1").Text(chain_id).U32(from).U32(to).Blob(nonce)
        .bytes();
}

// Inbound side: one Connect call per calling validator.
class PeerTransport::Service final : public v1::Peer::Service {
public:
    explicit Service(PeerTransport& t) : m_t(t) {}

    grpc::Status Connect(grpc::ServerContext* context, grpc::ServerReader<v1::PeerFrame>* reader,
                         v1::PeerAck* ack) override {
        const std::string peer = context->peer();
        v1::PeerFrame frame;
        if (!reader->Read(&frame) || !frame.has_hello()) {
            return Refuse(peer, "the first frame must be a hello");
        }
        const auto& hello = frame.hello();
        const auto& set = m_t.m_opt.validators;
        if (hello.chain_id() != m_t.m_opt.chain_id) {
            return Refuse(peer, "hello for chain '" + hello.chain_id() + "'");
        }
        if (hello.validator() >= set.size() || hello.validator() == m_t.m_opt.self) {
            return Refuse(peer, "hello from unknown validator " + std::to_string(hello.validator()));
        }
        if (hello.to() != m_t.m_opt.self) {
            return Refuse(peer, "hello addressed to validator " + std::to_string(hello.to()));
        }
        const auto& v = set.at(hello.validator());
        // The TLS layer verified the chain to the cluster CA; the certificate must also name
        // the validator the hello claims to be.
        auto cn = context->auth_context()->FindPropertyValues(GRPC_X509_CN_PROPERTY_NAME);
        if (cn.empty() || std::string(cn.front().data(), cn.front().size()) != v.name) {
            return Refuse(peer, "TLS certificate does not name validator '" + v.name + "'");
        }
        if (hello.nonce().size() != 32 ||
            !m_t.m_verifier.Verify(v.public_key,
                                   HelloSigningBytes(hello.chain_id(), hello.validator(),
                                                     hello.to(), AsBytes(hello.nonce())),
                                   AsBytes(hello.signature()))) {
            return Refuse(peer, "hello signature does not match the SM2 key of '" + v.name + "'");
        }
        const uint32_t from = hello.validator();
        // A gRPC thread serves this stream for its lifetime: named after the peer meanwhile.
        const base::ScopedThreadName name("mc-in-" + std::to_string(from));
        m_t.m_inbound_streams[from].fetch_add(1);
        MC_LOG(kInfo, "net", "peer connected")("peer", v.name)("index", from);
        while (!m_t.m_stopping.load() && reader->Read(&frame)) {
            m_t.m_counters.frames_received.fetch_add(1);
            if (frame.has_message()) {
                auto message = FromProto(frame.message());
                if (!message.ok() || consensus::Sender(*message) != from) {
                    m_t.m_counters.bad_frames.fetch_add(1);
                    MC_LOG(kWarn, "net", "bad frame")("peer", v.name)(
                        "reason", message.ok() ? "sender mismatch" : message.status().message());
                    continue;
                }
                m_t.m_on_message(from, std::move(*message));
            } else if (frame.has_forwarded_tx()) {
                std::vector<chain::Transaction> txs;
                txs.push_back(chain::FromProto(frame.forwarded_tx()));
                m_t.m_on_tx(from, std::move(txs));
            } else if (frame.has_forwarded_txs()) {
                std::vector<chain::Transaction> txs;
                txs.reserve(static_cast<size_t>(frame.forwarded_txs().transactions_size()));
                for (const auto& tx : frame.forwarded_txs().transactions()) {
                    txs.push_back(chain::FromProto(tx));
                }
                m_t.m_on_tx(from, std::move(txs));
            } else {
                m_t.m_counters.bad_frames.fetch_add(1);
            }
        }
        m_t.m_inbound_streams[from].fetch_sub(1);
        MC_LOG(kInfo, "net", "peer disconnected")("peer", v.name)("index", from);
        ack->set_reason("closed");
        return grpc::Status::OK;
    }

private:
    grpc::Status Refuse(const std::string& peer, const std::string& reason) {
        m_t.m_counters.peers_refused.fetch_add(1);
        MC_LOG(kWarn, "net", "peer refused")("addr", peer)("reason", reason);
        return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, reason);
    }

    PeerTransport& m_t;
};

PeerTransport::PeerTransport(TransportOptions options, const crypto::Signer& signer,
                             const crypto::Verifier& verifier, MessageHandler on_message,
                             TxHandler on_tx)
    : m_opt(std::move(options)),
      m_signer(signer),
      m_verifier(verifier),
      m_on_message(std::move(on_message)),
      m_on_tx(std::move(on_tx)),
      m_inbound_streams(m_opt.validators.size()) {}

PeerTransport::~PeerTransport() { Stop(); }

Status PeerTransport::Start() {
    if (m_opt.ca_pem.empty() || m_opt.cert_pem.empty() || m_opt.key_pem.empty()) {
        return InvalidArgument("peer transport needs the CA, certificate and key PEM");
    }
    m_service = std::make_unique<Service>(*this);
    grpc::SslServerCredentialsOptions tls(
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    tls.pem_root_certs = m_opt.ca_pem;
    tls.pem_key_cert_pairs.push_back({m_opt.key_pem, m_opt.cert_pem});
    grpc::ServerBuilder builder;
    int bound_port = 0;
    builder.AddListeningPort(m_opt.listen, grpc::SslServerCredentials(tls), &bound_port);
    builder.RegisterService(m_service.get());
    builder.SetMaxReceiveMessageSize(static_cast<int>(m_opt.max_message_bytes));
    builder.SetMaxSendMessageSize(static_cast<int>(m_opt.max_message_bytes));
    // One stream per peer holds a thread for its lifetime; leave room for reconnects.
    grpc::ResourceQuota quota("peer");
    quota.SetMaxThreads(static_cast<int>(4 * m_opt.validators.size() + 8));
    builder.SetResourceQuota(quota);
    m_server = builder.BuildAndStart();
    if (!m_server || bound_port == 0) {
        m_server.reset();
        return IoError("cannot listen for peers on " + m_opt.listen +
                       " (address in use or invalid)");
    }
    m_outbound.resize(m_opt.validators.size());
    for (uint32_t i = 0; i < m_opt.validators.size(); ++i) {
        if (i == m_opt.self) continue;
        auto peer = std::make_unique<Outbound>();
        peer->index = i;
        peer->address = m_opt.validators.at(i).address;
        m_outbound[i] = std::move(peer);
    }
    for (auto& peer : m_outbound) {
        if (!peer) continue;
        grpc::SslCredentialsOptions client_tls;
        client_tls.pem_root_certs = m_opt.ca_pem;
        client_tls.pem_private_key = m_opt.key_pem;
        client_tls.pem_cert_chain = m_opt.cert_pem;
        grpc::ChannelArguments args;
        args.SetMaxReceiveMessageSize(static_cast<int>(m_opt.max_message_bytes));
        args.SetMaxSendMessageSize(static_cast<int>(m_opt.max_message_bytes));
        args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, static_cast<int>(m_opt.backoff_min_ms));
        args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, static_cast<int>(m_opt.backoff_max_ms));
        // Without a local subchannel pool, gRPC would let both lanes share one connection.
        args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
        for (auto& lane : peer->lanes) {
            lane.channel = grpc::CreateCustomChannel(peer->address, grpc::SslCredentials(client_tls), args);
            lane.thread = std::thread([this, p = peer.get(), l = &lane] {
                // "mc-out-<peer>c" for the consensus lane, "mc-out-<peer>g" for gossip.
                base::NameThisThread("mc-out-" + std::to_string(p->index) +
                                     (l == &p->lanes[kConsensusLane] ? "c" : "g"));
                RunOutbound(*p, *l);
            });
        }
    }
    m_tx_flusher = std::thread([this] {
        base::NameThisThread("mc-gossip");
        RunTxFlusher();
    });
    m_started = true;
    MC_LOG(kInfo, "net", "listening for peers")("addr", m_opt.listen);
    return Status::Ok();
}

void PeerTransport::Stop() {
    if (m_stopping.exchange(true)) return;
    {
        // The flusher checks m_stopping under this lock: taking it here means it is either
        // waiting (and woken below) or sees the flag.
        std::lock_guard lock(m_tx_mutex);
    }
    m_tx_cv.notify_all();
    if (m_tx_flusher.joinable()) m_tx_flusher.join();
    for (auto& peer : m_outbound) {
        if (!peer) continue;
        for (auto& lane : peer->lanes) {
            std::lock_guard lock(lane.mutex);
            if (lane.live_context) lane.live_context->TryCancel();
            lane.cv.notify_all();
        }
    }
    for (auto& peer : m_outbound) {
        if (!peer) continue;
        for (auto& lane : peer->lanes) {
            if (lane.thread.joinable()) lane.thread.join();
        }
    }
    if (m_server) {
        // Inbound streams never end on their own: cancel them now rather than wait them out.
        m_server->Shutdown(std::chrono::system_clock::now());
        m_server.reset();
    }
}

void PeerTransport::RunOutbound(Outbound& peer, Lane& lane) {
    auto stub = v1::Peer::NewStub(lane.channel);
    uint32_t backoff = m_opt.backoff_min_ms;
    const std::string& name = m_opt.validators.at(peer.index).name;

    while (!m_stopping.load()) {
        grpc::ClientContext context;
        context.set_wait_for_ready(false);
        {
            std::lock_guard lock(lane.mutex);
            lane.live_context = &context;
        }
        v1::PeerAck ack;
        auto writer = stub->Connect(&context, &ack);
        v1::PeerFrame hello_frame;
        auto* hello = hello_frame.mutable_hello();
        hello->set_chain_id(m_opt.chain_id);
        hello->set_validator(m_opt.self);
        hello->set_to(peer.index);
        const Bytes nonce = crypto::RandomBytes(32);
        hello->set_nonce(ToString(nonce));
        hello->set_signature(ToString(
            m_signer.Sign(HelloSigningBytes(m_opt.chain_id, m_opt.self, peer.index, nonce))));
        bool ok = writer->Write(hello_frame);
        if (ok) {
            lane.connected.store(true);
            backoff = m_opt.backoff_min_ms;
            MC_LOG(kDebug, "net", "stream open")("peer", name);
        }
        // gRPC keeps part of every write's bookkeeping in the call's arena until the call
        // ends, so a stream that lived forever would grow without bound (a few hundred bytes
        // a frame). After frames_per_stream frames the stream is closed and a fresh one opened
        // at once; Finish() returns only after the peer has read everything, so no frame is
        // lost or overtaken.
        uint64_t frames_on_stream = 0;
        while (ok && !m_stopping.load() && frames_on_stream < m_opt.frames_per_stream) {
            std::shared_ptr<const v1::PeerFrame> frame;
            {
                std::unique_lock lock(lane.mutex);
                lane.cv.wait_for(lock, std::chrono::milliseconds(500), [&] {
                    return m_stopping.load() || !lane.queue.empty();
                });
                if (m_stopping.load()) break;
                if (lane.queue.empty()) continue;
                frame = std::move(lane.queue.front());
                lane.queue.pop_front();
                lane.queued_bytes -= frame->ByteSizeLong();
            }
            ok = writer->Write(*frame);
            if (ok) {
                m_counters.frames_sent.fetch_add(1);
                ++frames_on_stream;
            } else {
                // Not written: keep it for the next stream rather than lose it.
                std::lock_guard lock(lane.mutex);
                lane.queued_bytes += frame->ByteSizeLong();
                lane.queue.push_front(std::move(frame));
            }
        }
        const bool rotate = ok && frames_on_stream >= m_opt.frames_per_stream;
        writer->WritesDone();
        grpc::Status status = writer->Finish();
        {
            std::lock_guard lock(lane.mutex);
            lane.live_context = nullptr;
        }
        const bool replaced = rotate && status.ok();
        if (!replaced) lane.connected.store(false);
        if (m_stopping.load()) break;
        if (replaced) {
            m_counters.streams_rotated.fetch_add(1);
            continue;  // reopen at once; the lane stays up
        }
        MC_LOG(kDebug, "net", "stream to peer closed")("peer", name)(
            "reason", status.error_message())("retry_ms", backoff);
        if (status.error_code() == grpc::StatusCode::PERMISSION_DENIED) {
            MC_LOG(kWarn, "net", "peer refused us")("peer", name)("reason", status.error_message());
        }
        std::unique_lock lock(lane.mutex);
        lane.cv.wait_for(lock, std::chrono::milliseconds(backoff),
                         [&] { return m_stopping.load(); });
        backoff = std::min(backoff * 2, m_opt.backoff_max_ms);
    }
}

void PeerTransport::Enqueue(uint32_t to, std::shared_ptr<const v1::PeerFrame> frame,
                            LaneIndex lane_index) {
    if (to >= m_outbound.size() || !m_outbound[to]) return;
    Lane& peer = m_outbound[to]->lanes[lane_index];
    const size_t size = frame->ByteSizeLong();
    {
        std::lock_guard lock(peer.mutex);
        while (!peer.queue.empty() && (peer.queue.size() >= m_opt.max_queue_frames ||
                                       peer.queued_bytes + size > m_opt.max_queue_bytes)) {
            peer.queued_bytes -= peer.queue.front()->ByteSizeLong();
            peer.queue.pop_front();
            m_counters.frames_dropped.fetch_add(1);
        }
        peer.queue.push_back(std::move(frame));
        peer.queued_bytes += size;
    }
    peer.cv.notify_one();
}

void PeerTransport::Send(uint32_t to, const consensus::Message& message) {
    auto frame = std::make_shared<v1::PeerFrame>();
    *frame->mutable_message() = ToProto(message);
    Enqueue(to, std::move(frame), kConsensusLane);
}

void PeerTransport::Broadcast(const consensus::Message& message) {
    auto frame = std::make_shared<v1::PeerFrame>();
    *frame->mutable_message() = ToProto(message);
    for (uint32_t i = 0; i < m_outbound.size(); ++i) Enqueue(i, frame, kConsensusLane);
}

void PeerTransport::BroadcastTx(const chain::Transaction& tx, const Hash256& hash) {
    const auto now = std::chrono::steady_clock::now();
    const size_t bytes = tx.body.size() + tx.signature.size() + 16;
    TxBatch full_lead, full_lazy;
    uint32_t lead = kNoLead;
    {
        std::lock_guard lock(m_tx_mutex);
        lead = m_tx_lead;
        // Only the batch for the others is filtered (SendTxBatch), so only it keeps the hashes.
        auto add = [&](TxBatch& batch, uint32_t delay_ms, const v1::Transaction& proto,
                       bool keep_hash) {
            if (!batch.frame) {
                batch.frame = std::make_shared<v1::PeerFrame>();
                batch.due = now + std::chrono::milliseconds(delay_ms);
                m_tx_cv.notify_one();  // the flusher may be waiting for a later due time
            }
            *batch.frame->mutable_forwarded_txs()->add_transactions() = proto;
            if (keep_hash) batch.hashes.push_back(hash);
            batch.bytes += bytes;
            return batch.bytes >= m_opt.tx_batch_bytes ? TakeLocked(batch) : TxBatch{};
        };
        const v1::Transaction proto = chain::ToProto(tx);
        const bool lazy_only = lead == m_opt.self;  // this node proposes: nobody is in a hurry
        if (!lazy_only) full_lead = add(m_tx_lead_batch, m_opt.tx_batch_delay_ms, proto, false);
        if (lead != kNoLead) full_lazy = add(m_tx_lazy_batch, m_opt.tx_lazy_delay_ms, proto, true);
    }
    SendTxBatch(std::move(full_lead), true, lead);
    SendTxBatch(std::move(full_lazy), false, lead);
}

PeerTransport::TxBatch PeerTransport::TakeLocked(TxBatch& batch) {
    TxBatch out = std::move(batch);
    batch = TxBatch{};
    return out;
}

void PeerTransport::SendTxBatch(TxBatch batch, bool lead_batch, uint32_t lead) {
    if (!batch.frame) return;
    std::shared_ptr<const v1::PeerFrame> frame = std::move(batch.frame);
    if (lead == kNoLead) {
        for (uint32_t i = 0; i < m_outbound.size(); ++i) Enqueue(i, frame, kGossipLane);
        return;
    }
    if (lead_batch) {
        Enqueue(lead, std::move(frame), kGossipLane);
        return;
    }
    if (m_tx_needed) {
        // Most transactions have committed by now (the lead proposed them, and the others got
        // them in its PRE-PREPARE): only the rest still has to go, in a new frame only when
        // something was left out.
        std::vector<bool> needed(batch.hashes.size());
        size_t count = 0;
        for (size_t i = 0; i < needed.size(); ++i) {
            needed[i] = m_tx_needed(batch.hashes[i]);
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
    for (uint32_t i = 0; i < m_outbound.size(); ++i) {
        if (i != lead) Enqueue(i, frame, kGossipLane);
    }
}

void PeerTransport::FlushTxs() {
    TxBatch batch;
    uint32_t lead = kNoLead;
    {
        std::lock_guard lock(m_tx_mutex);
        batch = TakeLocked(m_tx_lead_batch);
        lead = m_tx_lead;
    }
    SendTxBatch(std::move(batch), true, lead);
}

void PeerTransport::SetTxLead(uint32_t lead) {
    if (lead != kNoLead && lead >= m_opt.validators.size()) lead = kNoLead;
    TxBatch lead_batch, lazy_batch;
    uint32_t old = kNoLead;
    {
        std::lock_guard lock(m_tx_mutex);
        if (lead == m_tx_lead) return;
        old = m_tx_lead;
        lead_batch = TakeLocked(m_tx_lead_batch);
        lazy_batch = TakeLocked(m_tx_lazy_batch);
        m_tx_lead = lead;
    }
    // What was gathered goes where it was gathered for: every transaction still needed
    // reaches every peer.
    SendTxBatch(std::move(lead_batch), true, old);
    SendTxBatch(std::move(lazy_batch), false, old);
}

// Sends each batch once it is due.
void PeerTransport::RunTxFlusher() {
    std::unique_lock lock(m_tx_mutex);
    while (!m_stopping.load()) {
        const bool lead_waiting = m_tx_lead_batch.frame != nullptr;
        const bool lazy_waiting = m_tx_lazy_batch.frame != nullptr;
        if (!lead_waiting && !lazy_waiting) {
            m_tx_cv.wait(lock);
            continue;
        }
        const auto now = std::chrono::steady_clock::now();
        TxBatch lead_batch, lazy_batch;
        if (lead_waiting && m_tx_lead_batch.due <= now) lead_batch = TakeLocked(m_tx_lead_batch);
        if (lazy_waiting && m_tx_lazy_batch.due <= now) lazy_batch = TakeLocked(m_tx_lazy_batch);
        if (!lead_batch.frame && !lazy_batch.frame) {
            auto due = lead_waiting ? m_tx_lead_batch.due : m_tx_lazy_batch.due;
            if (lead_waiting && lazy_waiting) due = std::min(due, m_tx_lazy_batch.due);
            m_tx_cv.wait_until(lock, due);
            continue;
        }
        const uint32_t lead = m_tx_lead;
        lock.unlock();
        SendTxBatch(std::move(lead_batch), true, lead);
        SendTxBatch(std::move(lazy_batch), false, lead);
        lock.lock();
    }
}

std::vector<bool> PeerTransport::Connected() const {
    std::vector<bool> out(m_opt.validators.size(), false);
    for (uint32_t i = 0; i < out.size(); ++i) {
        if (i == m_opt.self) {
            out[i] = true;
        } else {
            // Up means both lanes, in either direction.
            bool up = m_inbound_streams[i].load() >= static_cast<int>(kLanes);
            if (m_outbound.size() > i && m_outbound[i]) {
                const auto& lanes = m_outbound[i]->lanes;
                up = up || (lanes[kConsensusLane].connected.load() &&
                            lanes[kGossipLane].connected.load());
            }
            out[i] = up;
        }
    }
    return out;
}

}  // namespace meterchain::net
