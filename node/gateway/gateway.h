// The node's HTTP gateway (docs/GATEWAY.md): the Appendix B query for organisations, Prometheus
// metrics, liveness and readiness, on an HttpServer of its own threads.
//
// The node hands it read-only views (committed state, its metrics registry, a readiness
// probe) and tells it about committed blocks through OnCommitted, like its other commit
// subscribers; consensus never calls it and it never waits on consensus. More JSON routes are
// added with router().Add before Start.
//
// Thread-safety: Create/Start/Stop from one thread; OnCommitted from any thread (cheap,
// non-blocking); the handlers run on the server's threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "node/base/status.h"
#include "node/chain/types.h"
#include "node/gateway/auth.h"
#include "node/gateway/http_server.h"
#include "node/gateway/router.h"
#include "node/gateway/verification_query.h"
#include "node/metrics/metrics.h"
#include "node/storage/chain_store.h"
#include "proto/config.pb.h"

namespace meterchain::gateway {

// What /readyz needs from the node; filled by the node on any thread.
struct Readiness {
    uint64_t height = 0;        // committed height
    uint64_t peers_height = 0;  // highest committed height a peer reported (0 if none)
    bool in_view_change = false;
    size_t peers_connected = 0;
    size_t peers = 0;            // other validators
    size_t quorum_peers = 0;     // peers needed besides this node for a quorum
};
using ReadinessFn = std::function<Readiness()>;

class Gateway {
public:
    // Reads the TLS files (when gateway.tls) and the node's SM2 key; `store`, `metrics` and
    // whatever `readiness` uses must outlive the gateway. Errors name the file or field.
    static Result<std::unique_ptr<Gateway>> Create(const v1::NodeConfig& config,
                                                   const storage::ChainStore& store,
                                                   metrics::Registry& metrics,
                                                   ReadinessFn readiness);
    ~Gateway();  // Stop()

    Router& router() { return m_router; }
    // Binds gateway.listen and serves. kIoError when the address is taken.
    Status Start();
    void Stop();
    uint16_t port() const { return m_server ? m_server->port() : 0; }

    // A block was committed (any thread, after it is stored).
    void OnCommitted(const chain::Block& block);

private:
    Gateway(const v1::NodeConfig& config, metrics::Registry& metrics, ReadinessFn readiness);
    HttpResponse Ready() const;
    HttpResponse Health() const;

    const v1::NodeConfig m_config;
    metrics::Registry& m_metrics;
    const ReadinessFn m_readiness;
    Router m_router;
    Authenticator m_auth;
    std::unique_ptr<VerificationQuery> m_query;
    ServerOptions m_server_options;
    std::unique_ptr<HttpServer> m_server;
    std::atomic<uint64_t> m_last_commit_height{0};
};

}  // namespace meterchain::gateway
