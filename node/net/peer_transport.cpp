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
#include "proto/node.grpc.pb.h"

namespace meterchain::net {

// One outbound stream to a peer with its own queue and writer thread.
struct PeerTransport::LaneQueue {
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
    LaneQueue lanes[kLanes];
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
            return Refuse(peer, "peer is on chain '" + hello.chain_id().substr(0, 64) +
                                    "', we are on '" + m_t.m_opt.chain_id + "'");
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
        // Same chain id, another genesis (a genesis_time_ms or genesis file that differs):
        // no message of the peer would ever verify here, so say why now.
        const Hash256& genesis = m_t.m_opt.genesis_hash;
        if (genesis != Hash256{} && !hello.genesis_hash().empty() &&
            hello.genesis_hash() != ToString(genesis)) {
            return Refuse(peer, "peer " + v.name + " is on genesis " +
                                    ToHex(AsBytes(hello.genesis_hash())).substr(0, 16) +
                                    ", we are on " + ToHex(genesis).substr(0, 16) +
                                    " (compare genesis_time_ms and genesis_file)");
        }
        // A gRPC thread serves this stream for its lifetime: named after the peer meanwhile.
        const base::ScopedThreadName name("mc-in-" + std::to_string(from));
        m_t.m_inbound_streams[from].fetch_add(1);
        MC_LOG(kInfo, "net", "peer connected")("peer", v.name)("index", from);
        while (!m_t.m_stopping.load() && reader->Read(&frame)) {
            m_t.m_counters.frames_received.fetch_add(1);
            m_t.m_on_frame(from, frame);
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
                             const crypto::Verifier& verifier)
    : m_opt(std::move(options)),
      m_signer(signer),
      m_verifier(verifier),
      m_inbound_streams(m_opt.validators.size()) {}

PeerTransport::~PeerTransport() { Stop(); }

Status PeerTransport::Start(FrameHandler on_frame) {
    m_on_frame = std::move(on_frame);
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
                                     (l == &p->lanes[static_cast<size_t>(Lane::kConsensus)]
                                          ? "c"
                                          : "g"));
                RunOutbound(*p, *l);
            });
        }
    }
    MC_LOG(kInfo, "net", "listening for peers")("addr", m_opt.listen);
    return Status::Ok();
}

void PeerTransport::Stop() {
    if (m_stopping.exchange(true)) return;
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

void PeerTransport::RunOutbound(Outbound& peer, LaneQueue& lane) {
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
        if (m_opt.genesis_hash != Hash256{}) hello->set_genesis_hash(ToString(m_opt.genesis_hash));
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
            Frame frame;
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

void PeerTransport::Send(uint32_t to, Lane lane, Frame frame) {
    if (to >= m_outbound.size() || !m_outbound[to]) return;
    LaneQueue& peer = m_outbound[to]->lanes[static_cast<size_t>(lane)];
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
                up = up || (lanes[static_cast<size_t>(Lane::kConsensus)].connected.load() &&
                            lanes[static_cast<size_t>(Lane::kGossip)].connected.load());
            }
            out[i] = up;
        }
    }
    return out;
}

}  // namespace meterchain::net
