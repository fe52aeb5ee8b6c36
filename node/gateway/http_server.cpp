#include "node/gateway/http_server.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <map>
#include <optional>
#include <thread>
#include <vector>

#include "node/base/log.h"
#include "node/base/thread_name.h"

namespace meterchain::gateway {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr uint32_t kHeaderLimit = 8192;
// How long a closing connection is drained after the last answer (so that the client reads
// the answer instead of a reset caused by its own unread bytes).
constexpr auto kLinger = std::chrono::milliseconds(1000);
// Connections being refused with 503 at once; beyond this, newcomers are closed unanswered.
constexpr size_t kMaxRejecting = 64;

// The status codes counted per code; any other is counted as "other".
constexpr unsigned kCountedCodes[] = {200, 400, 401, 403, 404, 405, 408, 413, 431, 500, 503};

}  // namespace

// State every connection shares; it lives as long as the last connection.
struct Shared {
    ServerOptions opt;
    const Router& router;
    const Authenticator& auth;
    std::atomic<size_t> open{0};
    std::atomic<size_t> rejecting{0};
    std::map<unsigned, metrics::Counter*> responses;  // read-only after construction
    metrics::Counter* other_responses = nullptr;
    metrics::Counter* refused = nullptr;
    metrics::Gauge* open_gauge = nullptr;
    metrics::Histogram* latency = nullptr;

    Shared(ServerOptions o, const Router& r, const Authenticator& a) : opt(std::move(o)), router(r), auth(a) {}

    void Count(unsigned status, double seconds) {
        auto it = responses.find(status);
        metrics::Counter* c = it != responses.end() ? it->second : other_responses;
        if (c != nullptr) c->Add();
        if (latency != nullptr) latency->Observe(seconds);
    }
};

namespace {

template <bool kTls>
using StreamOf = std::conditional_t<kTls, beast::ssl_stream<beast::tcp_stream>, beast::tcp_stream>;

// The DER encoding of the verified peer certificate, or "" when the client sent none.
std::string PeerCertificateDer(SSL* ssl) {
    X509* cert = SSL_get1_peer_certificate(ssl);
    if (cert == nullptr) return {};
    std::string der;
    const int len = i2d_X509(cert, nullptr);
    if (len > 0 && SSL_get_verify_result(ssl) == X509_V_OK) {
        der.resize(static_cast<size_t>(len));
        auto* p = reinterpret_cast<unsigned char*>(der.data());
        i2d_X509(cert, &p);
    }
    X509_free(cert);
    return der;
}

template <bool kTls>
class Session : public std::enable_shared_from_this<Session<kTls>> {
public:
    // A session counted in shared->open (reject = false) or in shared->rejecting (true: it
    // answers 503 to whatever arrives and closes).
    Session(tcp::socket&& socket, ssl::context* ctx, std::shared_ptr<Shared> shared, bool reject)
        : m_stream(MakeStream(std::move(socket), ctx)),
          m_timer(m_stream.get_executor()),
          m_shared(std::move(shared)),
          m_reject(reject) {}

    ~Session() {
        if (m_reject) {
            m_shared->rejecting.fetch_sub(1);
        } else {
            const size_t now = m_shared->open.fetch_sub(1) - 1;
            if (m_shared->open_gauge != nullptr) m_shared->open_gauge->Set(static_cast<double>(now));
        }
    }

    void Run() {
        if constexpr (kTls) {
            Lowest().expires_after(std::chrono::milliseconds(m_shared->opt.request_timeout_ms));
            m_stream.async_handshake(ssl::stream_base::server,
                                     [self = this->shared_from_this()](beast::error_code ec) {
                                         self->OnHandshake(ec);
                                     });
        } else {
            Begin();
        }
    }

private:
    static StreamOf<kTls> MakeStream(tcp::socket&& socket, ssl::context* ctx) {
        if constexpr (kTls) {
            return StreamOf<kTls>(std::move(socket), *ctx);
        } else {
            (void)ctx;
            return StreamOf<kTls>(std::move(socket));
        }
    }

    beast::tcp_stream& Lowest() { return beast::get_lowest_layer(m_stream); }

    void OnHandshake(beast::error_code ec) {
        if (ec) return;  // not TLS, a foreign certificate, or too slow: nothing to answer over
        Lowest().expires_never();
        if constexpr (kTls) {
            const std::string der = PeerCertificateDer(m_stream.native_handle());
            if (auto org = m_shared->auth.ByCertificateDer(der)) m_cert_org = *org;
        }
        Begin();
    }

    void Begin() {
        if (m_reject) {
            Answer(JsonError(503, "too many open connections (" +
                                      std::to_string(m_shared->opt.max_connections) +
                                      "); retry later"),
                   false);
            return;
        }
        ReadRequest();
    }

    void ReadRequest() {
        m_parser.emplace();
        m_parser->body_limit(m_shared->opt.max_body_bytes);
        m_parser->header_limit(kHeaderLimit);
        m_started = false;
        m_timed_out = false;
        // Bytes of a pipelined next request may already be buffered: then it has started.
        if (m_buffer.size() > 0) Started();
        else Arm(std::chrono::milliseconds(m_shared->opt.idle_timeout_ms));
        ReadSome();
    }

    void Started() {
        m_started = true;
        m_request_start = Clock::now();
        Arm(std::chrono::milliseconds(m_shared->opt.request_timeout_ms));
    }

    void Arm(Clock::duration d) {
        m_timer.expires_after(d);
        m_timer.async_wait([self = this->shared_from_this()](beast::error_code ec) {
            if (ec) return;  // re-armed or cancelled
            self->m_timed_out = true;
            beast::error_code ignored;
            self->Lowest().socket().cancel(ignored);
        });
    }

    void ReadSome() {
        http::async_read_some(m_stream, m_buffer, *m_parser,
                              [self = this->shared_from_this()](beast::error_code ec, size_t) {
                                  self->OnRead(ec);
                              });
    }

    void OnRead(beast::error_code ec) {
        if (m_timed_out) {
            if (m_started || m_parser->got_some()) {
                Fail(408, "request not complete within " +
                              std::to_string(m_shared->opt.request_timeout_ms) + " ms");
            } else {
                Close();  // an idle keep-alive connection
            }
            return;
        }
        if (ec == http::error::end_of_stream || ec == net::error::eof) return Close();
        if (ec == http::error::body_limit) {
            return Fail(413, "request body larger than " +
                                 std::to_string(m_shared->opt.max_body_bytes) + " bytes");
        }
        if (ec == http::error::header_limit) {
            return Fail(431, "request headers larger than " + std::to_string(kHeaderLimit) +
                                 " bytes");
        }
        if (ec && ec.category() == http::make_error_code(http::error::bad_method).category()) {
            // Any other parse error of beast's HTTP parser.
            return Fail(400, "malformed HTTP request: " + ec.message());
        }
        if (ec) return Close();  // the connection broke
        if (!m_started && m_parser->got_some()) Started();
        if (!m_parser->is_done()) return ReadSome();
        m_timer.cancel();
        Handle();
    }

    void Handle() {
        auto& req = m_parser->get();
        HttpRequest r;
        r.method = std::string(req.method_string());
        const std::string_view target(req.target().data(), req.target().size());
        const size_t q = target.find('?');
        r.path = std::string(target.substr(0, q));
        if (q != std::string_view::npos) r.query = std::string(target.substr(q + 1));
        r.body = std::move(req.body());
        const bool keep_alive = req.keep_alive();

        unsigned status = 0;
        std::string allow;
        const Router::Route* route = m_shared->router.Find(r.method, r.path, &status, &allow);
        HttpResponse out;
        if (route == nullptr) {
            if (status == 405) {
                out = JsonError(405, "method " + r.method + " is not allowed on " + r.path +
                                         " (allowed: " + allow + ")");
                out.allow = allow;
            } else {
                out = JsonError(404, "no such path: " + r.path);
            }
        } else if (route->access == Router::Access::kOrganisation && !Authenticate(req, &r, &out)) {
            // `out` holds the 401
        } else {
            try {
                out = route->handler(r);
            } catch (const std::exception& e) {
                MC_LOG(kError, "gateway", "handler failed")("path", r.path)("error", e.what());
                out = JsonError(500, "internal error");
            }
        }
        Answer(std::move(out), keep_alive);
    }

    bool Authenticate(const http::request<http::string_body>& req, HttpRequest* r,
                      HttpResponse* out) {
        const auto header = req[http::field::authorization];
        if (!header.empty()) {
            const auto token = Authenticator::BearerToken(std::string_view(header.data(), header.size()));
            if (!token) {
                *out = JsonError(401, "Authorization must be \"Bearer <token>\"");
                return false;
            }
            auto org = m_shared->auth.ByToken(*token);
            if (!org) {
                *out = JsonError(401, "unknown API token");
                return false;
            }
            r->organisation = std::move(*org);
            return true;
        }
        if (!m_cert_org.empty()) {
            r->organisation = m_cert_org;
            return true;
        }
        *out = JsonError(401, "authentication required: \"Authorization: Bearer <token>\" or a "
                              "registered client certificate");
        return false;
    }

    // Answers and closes: the rest of the stream cannot be trusted.
    void Fail(unsigned status, std::string msg) { Answer(JsonError(status, msg), false); }

    void Answer(HttpResponse out, bool keep_alive) {
        const double seconds =
            m_started ? std::chrono::duration<double>(Clock::now() - m_request_start).count() : 0;
        m_shared->Count(out.status, seconds);
        m_res = {};
        m_res.version(11);
        m_res.result(out.status);
        m_res.set(http::field::server, "meterchaind");
        m_res.set(http::field::content_type, out.content_type);
        if (!out.allow.empty()) m_res.set(http::field::allow, out.allow);
        if (out.status == 401) m_res.set(http::field::www_authenticate, "Bearer");
        m_res.body() = std::move(out.body);
        m_res.keep_alive(keep_alive);
        m_res.prepare_payload();
        // A client that does not read its answer is dropped after the request timeout.
        Lowest().expires_after(std::chrono::milliseconds(m_shared->opt.request_timeout_ms));
        http::async_write(m_stream, m_res,
                          [self = this->shared_from_this(), keep_alive](beast::error_code ec, size_t) {
                              self->OnWrite(ec, keep_alive);
                          });
    }

    void OnWrite(beast::error_code ec, bool keep_alive) {
        if (ec) return;  // broken or too slow: the socket closes with the session
        Lowest().expires_never();
        if (!keep_alive) return Close();
        ReadRequest();
    }

    // Half-closes and drains what the client still sends for a moment, so that it reads the
    // answer rather than a reset; the socket closes with the session.
    void Close() {
        m_timer.cancel();
        beast::error_code ignored;
        Lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
        Lowest().expires_after(kLinger);
        Drain();
    }

    void Drain() {
        Lowest().async_read_some(net::buffer(m_scratch),
                                 [self = this->shared_from_this()](beast::error_code ec, size_t) {
                                     if (!ec) self->Drain();
                                 });
    }

    StreamOf<kTls> m_stream;
    net::steady_timer m_timer;
    std::shared_ptr<Shared> m_shared;
    const bool m_reject;
    beast::flat_buffer m_buffer;
    std::optional<http::request_parser<http::string_body>> m_parser;
    http::response<http::string_body> m_res;
    std::string m_cert_org;  // the organisation of the client certificate, if any
    bool m_started = false;
    bool m_timed_out = false;
    Clock::time_point m_request_start{};
    std::array<char, 4096> m_scratch{};
};

}  // namespace

class HttpServer::Impl {
public:
    Impl(ServerOptions options, const Router& router, const Authenticator& auth,
         metrics::Registry* metrics)
        : m_shared(std::make_shared<Shared>(std::move(options), router, auth)), m_acceptor(m_io) {
        if (metrics != nullptr) {
            for (unsigned code : kCountedCodes) {
                m_shared->responses[code] = &metrics->AddCounter(
                    "meterchain_gateway_responses_total", "HTTP answers of the gateway by status code",
                    "code=\"" + std::to_string(code) + "\"");
            }
            m_shared->other_responses = &metrics->AddCounter(
                "meterchain_gateway_responses_total", "HTTP answers of the gateway by status code",
                "code=\"other\"");
            m_shared->open_gauge = &metrics->AddGauge("meterchain_gateway_open_connections",
                                                      "HTTP connections open now");
            m_shared->refused = &metrics->AddCounter(
                "meterchain_gateway_refused_connections_total",
                "connections refused (503 or closed) because max_connections were open");
            m_shared->latency = &metrics->AddHistogram(
                "meterchain_gateway_request_seconds",
                "time from a request's first byte to its answer being ready",
                {0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1});
        }
    }

    Status Start(uint16_t* port) {
        const ServerOptions& o = m_shared->opt;
        if (o.tls) {
            try {
                m_ssl.emplace(ssl::context::tls_server);
                m_ssl->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                                   ssl::context::no_tlsv1_1);
                m_ssl->use_certificate_chain(net::buffer(o.cert_pem));
                m_ssl->use_private_key(net::buffer(o.key_pem), ssl::context::pem);
                if (!o.client_ca_pem.empty()) {
                    m_ssl->add_certificate_authority(net::buffer(o.client_ca_pem));
                    m_ssl->set_verify_mode(ssl::verify_peer);  // a certificate is optional
                }
            } catch (const boost::system::system_error& e) {
                return InvalidArgument(std::string("gateway TLS: ") + e.what());
            }
        }
        const size_t colon = o.listen.rfind(':');
        if (colon == std::string::npos) return InvalidArgument("gateway.listen: no port");
        std::string host = o.listen.substr(0, colon);
        if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
            host = host.substr(1, host.size() - 2);
        }
        const std::string service = o.listen.substr(colon + 1);
        beast::error_code ec;
        tcp::resolver resolver(m_io);
        auto results = resolver.resolve(host, service, tcp::resolver::passive, ec);
        if (ec || results.empty()) {
            return InvalidArgument("gateway.listen " + o.listen + ": " + ec.message());
        }
        const tcp::endpoint endpoint = results.begin()->endpoint();
        m_acceptor.open(endpoint.protocol(), ec);
        if (!ec) m_acceptor.set_option(net::socket_base::reuse_address(true), ec);
        if (!ec) m_acceptor.bind(endpoint, ec);
        if (!ec) m_acceptor.listen(net::socket_base::max_listen_connections, ec);
        if (ec) return IoError("gateway cannot listen on " + o.listen + ": " + ec.message());
        *port = m_acceptor.local_endpoint().port();
        Accept();
        for (uint32_t i = 0; i < std::max<uint32_t>(1, o.threads); ++i) {
            m_threads.emplace_back([this] {
                base::NameThisThread("mc-gateway");
                m_io.run();
            });
        }
        return Status::Ok();
    }

    void Stop() {
        net::post(m_io, [this] {
            beast::error_code ignored;
            m_acceptor.close(ignored);
        });
        m_io.stop();
        for (auto& t : m_threads) {
            if (t.joinable()) t.join();
        }
        m_threads.clear();
    }

    size_t open() const { return m_shared->open.load(); }

private:
    void Accept() {
        m_acceptor.async_accept(net::make_strand(m_io), [this](beast::error_code ec,
                                                               tcp::socket socket) {
            if (ec) {
                if (ec == net::error::operation_aborted || !m_acceptor.is_open()) return;
                // Out of descriptors or similar: keep listening.
                MC_LOG(kWarn, "gateway", "accept failed")("error", ec.message());
                Accept();
                return;
            }
            OnAccepted(std::move(socket));
            Accept();
        });
    }

    void OnAccepted(tcp::socket socket) {
        bool reject = false;
        const size_t max = m_shared->opt.max_connections;
        if (m_shared->open.load() >= max) {
            if (m_shared->refused != nullptr) m_shared->refused->Add();
            if (m_shared->rejecting.fetch_add(1) >= kMaxRejecting) {
                m_shared->rejecting.fetch_sub(1);
                return;  // the socket closes unanswered
            }
            reject = true;
        } else {
            const size_t now = m_shared->open.fetch_add(1) + 1;
            if (m_shared->open_gauge != nullptr) m_shared->open_gauge->Set(static_cast<double>(now));
        }
        beast::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        if (m_ssl) {
            std::make_shared<Session<true>>(std::move(socket), &*m_ssl, m_shared, reject)->Run();
        } else {
            std::make_shared<Session<false>>(std::move(socket), nullptr, m_shared, reject)->Run();
        }
    }

    std::shared_ptr<Shared> m_shared;
    std::optional<ssl::context> m_ssl;  // before m_io: sessions use it until m_io is destroyed
    net::io_context m_io;
    tcp::acceptor m_acceptor;
    std::vector<std::thread> m_threads;
};

HttpServer::HttpServer(ServerOptions options, const Router& router, const Authenticator& auth,
                       metrics::Registry* metrics)
    : m_impl(std::make_unique<Impl>(std::move(options), router, auth, metrics)) {}

HttpServer::~HttpServer() { Stop(); }

Status HttpServer::Start() { return m_impl->Start(&m_port); }

void HttpServer::Stop() {
    if (m_impl) m_impl->Stop();
}

size_t HttpServer::open_connections() const { return m_impl->open(); }

}  // namespace meterchain::gateway
