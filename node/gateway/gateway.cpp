#include "node/gateway/gateway.h"

#include "node/base/log.h"
#include "node/config/config.h"
#include "node/config/files.h"

namespace meterchain::gateway {

Result<std::unique_ptr<Gateway>> Gateway::Create(const v1::NodeConfig& config,
                                                 const storage::ChainStore& store,
                                                 metrics::Registry& metrics,
                                                 ReadinessFn readiness) {
    const v1::GatewayConfig& g = config.gateway();
    std::unique_ptr<Gateway> gw(new Gateway(config, metrics, std::move(readiness)));
    auto auth = Authenticator::Create(g);
    if (!auth.ok()) return auth.status();
    gw->m_auth = std::move(*auth);

    ServerOptions& o = gw->m_server_options;
    o.listen = g.listen();
    o.tls = g.tls();
    o.max_connections = g.max_connections();
    o.max_body_bytes = g.max_body_bytes();
    o.request_timeout_ms = g.request_timeout_ms();
    o.idle_timeout_ms = g.idle_timeout_ms();
    o.threads = g.threads();
    if (o.tls) {
        auto cert = config::ReadFileToString(config.tls().cert_file());
        if (!cert.ok()) return cert.status();
        auto key = config::ReadFileToString(config.tls().key_file());
        if (!key.ok()) return key.status();
        o.cert_pem = std::move(*cert);
        o.key_pem = std::move(*key);
        if (!g.client_ca_file().empty()) {
            auto ca = config::ReadFileToString(g.client_ca_file());
            if (!ca.ok()) return ca.status();
            o.client_ca_pem = std::move(*ca);
        }
    }

    auto sm2 = config::LoadSm2KeyFile(config.key_file());
    if (!sm2.ok()) return sm2.status();
    VerificationQueryOptions qo;
    qo.chain_id = config.chain_id();
    qo.org = config.name();
    qo.offchain_dir = std::filesystem::path(config.data_dir()) / "offchain";
    gw->m_query = std::make_unique<VerificationQuery>(std::move(qo), store, std::move(*sm2), &metrics);

    Gateway* self = gw.get();
    gw->m_router.Add("POST", "/api/verification/query", Router::Access::kOrganisation,
                     [self](const HttpRequest& r) { return self->m_query->Handle(r); });
    gw->m_router.Add("GET", "/metrics", Router::Access::kPublic, [self](const HttpRequest&) {
        HttpResponse r;
        r.content_type = "text/plain; version=0.0.4; charset=utf-8";
        r.body = self->m_metrics.Render();
        return r;
    });
    gw->m_router.Add("GET", "/healthz", Router::Access::kPublic,
                     [self](const HttpRequest&) { return self->Health(); });
    gw->m_router.Add("GET", "/readyz", Router::Access::kPublic,
                     [self](const HttpRequest&) { return self->Ready(); });
    return gw;
}

Gateway::Gateway(const v1::NodeConfig& config, metrics::Registry& metrics, ReadinessFn readiness)
    : m_config(config), m_metrics(metrics), m_readiness(std::move(readiness)) {}

Gateway::~Gateway() { Stop(); }

Status Gateway::Start() {
    if (m_server) return Status::Ok();
    m_server = std::make_unique<HttpServer>(m_server_options, m_router, m_auth, &m_metrics);
    if (Status s = m_server->Start(); !s.ok()) {
        m_server.reset();
        return s;
    }
    MC_LOG(kInfo, "gateway", "listening")("address", m_server_options.listen)(
        "port", m_server->port())("tls", m_server_options.tls)(
        "credentials", m_config.gateway().credentials_size());
    return Status::Ok();
}

void Gateway::Stop() {
    if (m_server) m_server->Stop();
}

void Gateway::OnCommitted(const chain::Block& block) {
    m_last_commit_height.store(block.header.height, std::memory_order_relaxed);
}

HttpResponse Gateway::Health() const {
    return JsonEnvelope(200,
                        "{\"status\":\"alive\",\"height\":" +
                            std::to_string(m_last_commit_height.load(std::memory_order_relaxed)) +
                            "}",
                        kSuccessMsg);
}

HttpResponse Gateway::Ready() const {
    const Readiness r = m_readiness ? m_readiness() : Readiness{};
    const uint64_t lag_allowed = m_config.gateway().ready_max_lag();
    std::string reason;
    if (r.in_view_change) {
        reason = "view change in progress";
    } else if (r.peers_connected < r.quorum_peers) {
        reason = "connected to " + std::to_string(r.peers_connected) + " of " +
                 std::to_string(r.peers) + " peers; a quorum needs " +
                 std::to_string(r.quorum_peers);
    } else if (r.peers_height > r.height + lag_allowed) {
        reason = "behind the peers: height " + std::to_string(r.height) + ", peers at " +
                 std::to_string(r.peers_height);
    }
    const std::string data = "{\"ready\":" + std::string(reason.empty() ? "true" : "false") +
                             ",\"height\":" + std::to_string(r.height) +
                             ",\"peersHeight\":" + std::to_string(r.peers_height) +
                             ",\"peersConnected\":" + std::to_string(r.peers_connected) +
                             ",\"peers\":" + std::to_string(r.peers) +
                             ",\"inViewChange\":" + (r.in_view_change ? "true" : "false") + "}";
    if (!reason.empty()) return JsonEnvelope(503, data, "not ready: " + reason);
    return JsonEnvelope(200, data, kSuccessMsg);
}

}  // namespace meterchain::gateway
