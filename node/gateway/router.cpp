#include "node/gateway/router.h"

#include <cstdio>

namespace meterchain::gateway {

HttpResponse JsonEnvelope(unsigned status, std::string_view data_json, std::string_view msg) {
    HttpResponse r;
    r.status = status;
    r.body.reserve(data_json.size() + msg.size() + 40);
    r.body += "{\"code\":";
    r.body += std::to_string(status);
    r.body += ",\"data\":";
    r.body += data_json.empty() ? std::string_view("null") : data_json;
    r.body += ",\"msg\":";
    r.body += JsonString(msg);
    r.body += '}';
    return r;
}

HttpResponse JsonError(unsigned status, std::string_view msg) {
    return JsonEnvelope(status, "null", msg);
}

void Router::Add(std::string method, std::string path, Access access, Handler handler) {
    for (auto& r : m_routes) {
        if (r.method == method && r.path == path) {
            r.access = access;
            r.handler = std::move(handler);
            return;
        }
    }
    m_routes.push_back(Route{std::move(method), std::move(path), access, std::move(handler)});
}

const Router::Route* Router::Find(std::string_view method, std::string_view path, unsigned* status,
                                  std::string* allow) const {
    allow->clear();
    for (const auto& r : m_routes) {
        if (r.path != path) continue;
        if (r.method == method) return &r;
        if (!allow->empty()) *allow += ", ";
        *allow += r.method;
    }
    *status = allow->empty() ? 404 : 405;
    return nullptr;
}

}  // namespace meterchain::gateway
