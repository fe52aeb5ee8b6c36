// Requests, responses and routing of the HTTP gateway, independent of the HTTP library.
//
// A route is (method, path, access, handler). Handlers take a parsed request and return a
// response; they run on the server's threads, so they must be thread-safe, and they should be
// quick (no waiting on consensus). New JSON routes (a dashboard's) are one Router::Add each.
//
// Every JSON answer, success or error, uses the envelope of the specification's Appendix B:
//   {"code":<number>,"data":<JSON or null>,"msg":"<text>"}
// with `code` equal to the HTTP status.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>
#include "node/base/json.h"

namespace meterchain::gateway {

struct HttpRequest {
    std::string method;        // "GET", "POST", ...
    std::string path;          // the target without its query string
    std::string query;         // after '?', undecoded ("" when none)
    std::string body;
    std::string organisation;  // the authenticated caller; "" for an anonymous call
};

struct HttpResponse {
    unsigned status = 200;
    std::string content_type = "application/json; charset=utf-8";
    std::string body;
    std::string allow;  // for 405: the methods the path accepts
};

inline constexpr std::string_view kSuccessMsg = "成功!";

using meterchain::JsonString;
// {"code":status,"data":data_json,"msg":msg}; `data_json` must be JSON ("null" when empty).
HttpResponse JsonEnvelope(unsigned status, std::string_view data_json, std::string_view msg);
// An error in the envelope: data null.
HttpResponse JsonError(unsigned status, std::string_view msg);

class Router {
public:
    enum class Access {
        kPublic,        // anyone (health, readiness, metrics)
        kOrganisation,  // an authenticated organisation only; others get 401 before the handler
    };
    using Handler = std::function<HttpResponse(const HttpRequest&)>;

    struct Route {
        std::string method;
        std::string path;
        Access access = Access::kPublic;
        Handler handler;
    };

    // Adds a route; a later route for the same (method, path) replaces the earlier one. Not
    // thread-safe: add every route before the server starts.
    void Add(std::string method, std::string path, Access access, Handler handler);

    // The route for (method, path), or nullptr with `*status` 404 (no such path) or 405 (the
    // path exists with other methods, listed in `*allow`).
    const Route* Find(std::string_view method, std::string_view path, unsigned* status,
                      std::string* allow) const;

private:
    std::vector<Route> m_routes;
};

}  // namespace meterchain::gateway
