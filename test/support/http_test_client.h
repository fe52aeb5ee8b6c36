// Blocking HTTP/1.1 helpers for tests of the gateway: one request per call over a fresh or a
// kept connection (Boost.Beast), and raw byte exchanges for malformed or slow requests.
// Header-only; every call has a deadline so a broken server fails a test instead of hanging it.
#pragma once

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <map>
#include <string>

namespace meterchain::testing {

struct HttpResult {
    int status = 0;  // 0: no answer (connection closed or failed)
    std::string body;
    std::map<std::string, std::string> headers;
    std::string error;
};

// One connection to 127.0.0.1:port, kept open between calls (keep-alive).
class HttpConnection {
public:
    explicit HttpConnection(uint16_t port, std::chrono::milliseconds timeout = std::chrono::seconds(10))
        : m_stream(m_io), m_timeout(timeout) {
        boost::beast::error_code ec;
        m_stream.expires_after(m_timeout);
        m_stream.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port), ec);
        m_connected = !ec;
    }
    bool connected() const { return m_connected; }

    HttpResult Call(const std::string& method, const std::string& target, const std::string& body = {},
                    const std::map<std::string, std::string>& headers = {}) {
        namespace http = boost::beast::http;
        HttpResult r;
        http::request<http::string_body> req;
        req.method_string(method);
        req.target(target);
        req.version(11);
        req.set(http::field::host, "127.0.0.1");
        for (const auto& [k, v] : headers) req.set(k, v);
        req.body() = body;
        req.keep_alive(true);
        req.prepare_payload();
        boost::beast::error_code ec;
        m_stream.expires_after(m_timeout);
        http::write(m_stream, req, ec);
        if (ec) {
            r.error = "write: " + ec.message();
            return r;
        }
        http::response<http::string_body> res;
        http::read(m_stream, m_buffer, res, ec);
        if (ec) {
            r.error = "read: " + ec.message();
            return r;
        }
        r.status = static_cast<int>(res.result_int());
        r.body = res.body();
        for (const auto& f : res) r.headers[std::string(f.name_string())] = std::string(f.value());
        return r;
    }

    // Sends raw bytes, then reads one HTTP answer (status 0 when the server closed instead).
    HttpResult Raw(const std::string& bytes) {
        namespace http = boost::beast::http;
        HttpResult r;
        boost::beast::error_code ec;
        m_stream.expires_after(m_timeout);
        if (!bytes.empty()) boost::asio::write(m_stream, boost::asio::buffer(bytes), ec);
        if (ec) {
            r.error = "write: " + ec.message();
            return r;
        }
        return ReadAnswer();
    }

    // Reads one HTTP answer without sending anything.
    HttpResult ReadAnswer() {
        namespace http = boost::beast::http;
        HttpResult r;
        boost::beast::error_code ec;
        m_stream.expires_after(m_timeout);
        http::response<http::string_body> res;
        http::read(m_stream, m_buffer, res, ec);
        if (ec) {
            r.error = "read: " + ec.message();
            return r;
        }
        r.status = static_cast<int>(res.result_int());
        r.body = res.body();
        for (const auto& f : res) r.headers[std::string(f.name_string())] = std::string(f.value());
        return r;
    }

    // True when the server closes the connection (EOF) before the deadline.
    bool WaitClosed() {
        boost::beast::error_code ec;
        char c;
        m_stream.expires_after(m_timeout);
        m_stream.read_some(boost::asio::buffer(&c, 1), ec);
        return ec == boost::asio::error::eof || ec == boost::asio::error::connection_reset;
    }

private:
    boost::asio::io_context m_io;
    boost::beast::tcp_stream m_stream;
    boost::beast::flat_buffer m_buffer;
    std::chrono::milliseconds m_timeout;
    bool m_connected = false;
};

inline HttpResult HttpCall(uint16_t port, const std::string& method, const std::string& target,
                           const std::string& body = {},
                           const std::map<std::string, std::string>& headers = {}) {
    HttpConnection c(port);
    if (!c.connected()) {
        HttpResult r;
        r.error = "cannot connect";
        return r;
    }
    return c.Call(method, target, body, headers);
}

}  // namespace meterchain::testing
