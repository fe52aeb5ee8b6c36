#include "node/gateway/router.h"

#include <cstdio>

namespace meterchain::gateway {

std::string JsonString(std::string_view s) {
    std::string out;
    out.reserve(s.size() + 2);
    out += '"';
    for (char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (c < 0x20) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", c);
                    out += buf;
                } else {
                    out += ch;
                }
        }
    }
    out += '"';
    return out;
}

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
