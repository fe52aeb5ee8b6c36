// The gateway's HTTP server in one process, on an ephemeral loopback port, with test routes:
// routing, authentication, and every malformed, oversized, slow or excess request answered
// with its code in the JSON envelope. The Appendix B query itself runs against a real cluster
// in test/e2e/gateway_test.cpp.
#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "node/gateway/auth.h"
#include "node/gateway/http_server.h"
#include "node/gateway/router.h"
#include "node/metrics/metrics.h"
#include "test/support/http_test_client.h"

using namespace meterchain;
using namespace meterchain::gateway;
using meterchain::testing::HttpConnection;
using meterchain::testing::HttpCall;

namespace {

const std::string kToken = "test-token-regulator-0123456789";

struct Fixture {
    explicit Fixture(ServerOptions o = {}) {
        v1::GatewayConfig g;
        auto* c = g.add_credentials();
        c->set_organisation("regulator");
        c->set_token_sm3(Authenticator::TokenHash(kToken));
        auth = *Authenticator::Create(g);
        router.Add("GET", "/open", Router::Access::kPublic,
                   [](const HttpRequest&) { return JsonEnvelope(200, "{\"x\":1}", kSuccessMsg); });
        router.Add("POST", "/who", Router::Access::kOrganisation, [](const HttpRequest& r) {
            return JsonEnvelope(200, JsonString(r.organisation), kSuccessMsg);
        });
        router.Add("POST", "/throws", Router::Access::kPublic,
                   [](const HttpRequest&) -> HttpResponse { throw std::runtime_error("boom"); });
        o.listen = "127.0.0.1:0";
        server = std::make_unique<HttpServer>(o, router, auth, &metrics);
        REQUIRE(server->Start().ok());
        port = server->port();
    }
    Router router;
    Authenticator auth = *Authenticator::Create(v1::GatewayConfig{});
    metrics::Registry metrics;
    std::unique_ptr<HttpServer> server;
    uint16_t port = 0;
};

std::map<std::string, std::string> Bearer(const std::string& token) {
    return {{"Authorization", "Bearer " + token}};
}

}  // namespace

TEST_CASE("gateway http: a known route answers in the Appendix B envelope", "[gateway]") {
    Fixture f;
    auto r = HttpCall(f.port, "GET", "/open");
    REQUIRE(r.status == 200);
    CHECK(r.body == "{\"code\":200,\"data\":{\"x\":1},\"msg\":\"成功!\"}");
    CHECK(r.headers["Content-Type"].find("application/json") == 0);
}

TEST_CASE("gateway http: an unknown path is 404 and a wrong method 405 with Allow", "[gateway]") {
    Fixture f;
    auto missing = HttpCall(f.port, "GET", "/nowhere");
    CHECK(missing.status == 404);
    CHECK(missing.body.find("\"code\":404") != std::string::npos);
    CHECK(missing.body.find("no such path") != std::string::npos);
    auto wrong = HttpCall(f.port, "GET", "/who");
    CHECK(wrong.status == 405);
    CHECK(wrong.headers["Allow"] == "POST");
    CHECK(wrong.body.find("\"code\":405") != std::string::npos);
}

TEST_CASE("gateway http: an organisation route without a valid token is 401 and shows no data",
          "[gateway]") {
    Fixture f;
    auto none = HttpCall(f.port, "POST", "/who", "{}");
    CHECK(none.status == 401);
    CHECK(none.headers["WWW-Authenticate"] == "Bearer");
    CHECK(none.body.find("\"data\":null") != std::string::npos);
    auto wrong = HttpCall(f.port, "POST", "/who", "{}", Bearer("not-the-token"));
    CHECK(wrong.status == 401);
    CHECK(wrong.body.find("unknown API token") != std::string::npos);
    auto basic = HttpCall(f.port, "POST", "/who", "{}", {{"Authorization", "Basic abc"}});
    CHECK(basic.status == 401);
    auto ok = HttpCall(f.port, "POST", "/who", "{}", Bearer(kToken));
    CHECK(ok.status == 200);
    CHECK(ok.body.find("\"data\":\"regulator\"") != std::string::npos);
}

TEST_CASE("gateway http: a body over the limit is 413 and the connection closes", "[gateway]") {
    ServerOptions o;
    o.max_body_bytes = 1024;
    Fixture f(o);
    HttpConnection c(f.port);
    REQUIRE(c.connected());
    auto r = c.Call("POST", "/who", std::string(4096, 'x'), Bearer(kToken));
    CHECK(r.status == 413);
    CHECK(r.body.find("\"code\":413") != std::string::npos);
    CHECK(c.WaitClosed());
}

TEST_CASE("gateway http: malformed HTTP is 400", "[gateway]") {
    Fixture f;
    HttpConnection c(f.port);
    REQUIRE(c.connected());
    auto r = c.Raw("GARBAGE\r\n\r\n");
    CHECK(r.status == 400);
    CHECK(r.body.find("malformed HTTP request") != std::string::npos);
}

TEST_CASE("gateway http: a handler that throws is 500 and the server keeps serving", "[gateway]") {
    Fixture f;
    CHECK(HttpCall(f.port, "POST", "/throws").status == 500);
    CHECK(HttpCall(f.port, "GET", "/open").status == 200);
}

TEST_CASE("gateway http: a client that stops mid-request gets 408 after the request timeout",
          "[gateway]") {
    ServerOptions o;
    o.request_timeout_ms = 300;
    Fixture f(o);
    HttpConnection c(f.port);
    REQUIRE(c.connected());
    const auto start = std::chrono::steady_clock::now();
    // Headers promise 100 bytes of body; 5 arrive.
    auto r = c.Raw("POST /who HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nhello");
    CHECK(r.status == 408);
    CHECK(r.body.find("\"code\":408") != std::string::npos);
    CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(300));
    CHECK(c.WaitClosed());
}

TEST_CASE("gateway http: an idle keep-alive connection is closed without an answer",
          "[gateway]") {
    ServerOptions o;
    o.idle_timeout_ms = 200;
    Fixture f(o);
    HttpConnection c(f.port);
    REQUIRE(c.connected());
    CHECK(c.Call("GET", "/open").status == 200);
    CHECK(c.WaitClosed());
}

TEST_CASE("gateway http: keep-alive serves many requests on one connection", "[gateway]") {
    Fixture f;
    HttpConnection c(f.port);
    REQUIRE(c.connected());
    for (int i = 0; i < 50; ++i) REQUIRE(c.Call("GET", "/open").status == 200);
}

TEST_CASE("gateway http: connections beyond max_connections get 503, and room frees on close",
          "[gateway]") {
    ServerOptions o;
    o.max_connections = 4;
    Fixture f(o);
    std::vector<std::unique_ptr<HttpConnection>> held;
    for (int i = 0; i < 4; ++i) {
        held.push_back(std::make_unique<HttpConnection>(f.port));
        // A call proves the server counted this connection as open.
        REQUIRE(held.back()->Call("GET", "/open").status == 200);
    }
    HttpConnection extra(f.port);
    REQUIRE(extra.connected());
    auto r = extra.Raw("GET /open HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(r.status == 503);
    CHECK(r.body.find("too many open connections") != std::string::npos);
    held.clear();
    // The server sees the closes asynchronously: wait for the count, not for a fixed time.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (f.server->open_connections() > 0 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::yield();
    }
    CHECK(HttpCall(f.port, "GET", "/open").status == 200);
}

TEST_CASE("gateway http: answers are counted per status code in the metrics", "[gateway]") {
    Fixture f;
    HttpCall(f.port, "GET", "/open");
    HttpCall(f.port, "GET", "/nowhere");
    const std::string text = f.metrics.Render();
    CHECK(text.find("meterchain_gateway_responses_total{code=\"200\"} 1\n") != std::string::npos);
    CHECK(text.find("meterchain_gateway_responses_total{code=\"404\"} 1\n") != std::string::npos);
}

TEST_CASE("metrics: counters, gauges, callbacks and histograms render in the text format",
          "[metrics]") {
    metrics::Registry r;
    r.AddCounter("mc_things_total", "things").Add(3);
    r.AddGauge("mc_level", "a level\nwith a newline").Set(2.5);
    r.AddCallback("mc_read", "read", metrics::Type::kGauge, [] { return 7.0; });
    auto& h = r.AddHistogram("mc_seconds", "latency", {0.1, 1});
    h.Observe(0.05);
    h.Observe(0.5);
    h.Observe(5);
    CHECK(&r.AddCounter("mc_things_total", "things") == &r.AddCounter("mc_things_total", "x"));
    const std::string text = r.Render();
    CHECK(text.find("# TYPE mc_things_total counter\nmc_things_total 3\n") != std::string::npos);
    CHECK(text.find("# HELP mc_level a level\\nwith a newline\n") != std::string::npos);
    CHECK(text.find("mc_level 2.5\n") != std::string::npos);
    CHECK(text.find("mc_read 7\n") != std::string::npos);
    CHECK(text.find("mc_seconds_bucket{le=\"0.1\"} 1\n") != std::string::npos);
    CHECK(text.find("mc_seconds_bucket{le=\"1\"} 2\n") != std::string::npos);
    CHECK(text.find("mc_seconds_bucket{le=\"+Inf\"} 3\n") != std::string::npos);
    CHECK(text.find("mc_seconds_sum 5.55\n") != std::string::npos);
    CHECK(text.find("mc_seconds_count 3\n") != std::string::npos);
}
