// The gateway's HTTP/1.1 server (Boost.Beast over Boost.Asio), plain or TLS.
//
// Every answer is produced here or by a Router handler; a bad request is answered, never
// crashed on:
//   - a path no route has: 404; a known path with another method: 405 (Allow header);
//   - a route for organisations without a valid credential: 401 (WWW-Authenticate: Bearer);
//   - a body over max_body_bytes: 413; headers over 8 KiB: 431; unparsable HTTP: 400;
//   - a request started but not complete within request_timeout_ms: 408, then closed;
//   - more than max_connections open: 503 to the newcomer, then closed;
//   - a handler that throws: 500.
// A keep-alive connection idle for idle_timeout_ms is closed without an answer. Errors after
// 400/408/413/431 close the connection (the stream position is unknown).
//
// Authentication: "Authorization: Bearer <token>", or with TLS a client certificate signed by
// client_ca_file (its SHA-256 fingerprint in the credentials). The request's `organisation` is
// set before the handler runs.
//
// Threads: `threads` threads run one io_context; each connection runs on its own strand, so a
// handler of one connection never runs concurrently with itself, while handlers of different
// connections may. Stop() closes the listener and every connection and joins the threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "node/base/status.h"
#include "node/gateway/auth.h"
#include "node/gateway/router.h"
#include "node/metrics/metrics.h"

namespace meterchain::gateway {

struct ServerOptions {
    std::string listen;  // host:port (port 0: an ephemeral port, see HttpServer::port)
    bool tls = false;
    std::string cert_pem, key_pem;  // the node's certificate and key (tls)
    std::string client_ca_pem;      // CA for client certificates (tls; "" = none asked)
    uint32_t max_connections = 1024;
    uint32_t max_body_bytes = 8192;
    uint32_t request_timeout_ms = 5000;
    uint32_t idle_timeout_ms = 30000;
    uint32_t threads = 1;
};

class HttpServer {
public:
    // `router` and `auth` must outlive the server; `metrics` (may be null) too. Registers
    // meterchain_gateway_* metrics.
    HttpServer(ServerOptions options, const Router& router, const Authenticator& auth,
               metrics::Registry* metrics);
    ~HttpServer();  // Stop()
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    // Binds and starts serving. kInvalidArgument for a bad address or TLS material, kIoError
    // when the address cannot be bound.
    Status Start();
    // Idempotent.
    void Stop();
    // The bound port (after Start).
    uint16_t port() const { return m_port; }
    size_t open_connections() const;

    class Impl;

private:
    std::unique_ptr<Impl> m_impl;
    uint16_t m_port = 0;
};

}  // namespace meterchain::gateway
