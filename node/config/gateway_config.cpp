#include "node/config/gateway_config.h"

#include <set>

#include "node/config/config.h"

namespace meterchain::config {
namespace {

bool IsHex64(const std::string& s) {
    if (s.size() != 64) return false;
    for (char c : s) {
        if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
    }
    return true;
}

std::string Lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

}  // namespace

void ApplyGatewayDefaults(v1::NodeConfig& config) {
    if (config.gateway().listen().empty()) return;  // off: the config stays as written
    v1::GatewayConfig& g = *config.mutable_gateway();
    auto set_default = [](uint32_t v, uint32_t d) { return v == 0 ? d : v; };
    g.set_max_connections(set_default(g.max_connections(), kDefaultGatewayMaxConnections));
    g.set_max_body_bytes(set_default(g.max_body_bytes(), kDefaultGatewayMaxBodyBytes));
    g.set_request_timeout_ms(set_default(g.request_timeout_ms(), kDefaultGatewayRequestTimeoutMs));
    g.set_idle_timeout_ms(set_default(g.idle_timeout_ms(), kDefaultGatewayIdleTimeoutMs));
    g.set_threads(set_default(g.threads(), kDefaultGatewayThreads));
    g.set_ready_max_lag(set_default(g.ready_max_lag(), kDefaultGatewayReadyMaxLag));
    if (g.client_ca_file().empty()) g.set_client_ca_file(config.tls().ca_file());
}

Status ValidateGatewayConfig(const v1::NodeConfig& config, const std::string& label) {
    const v1::GatewayConfig& g = config.gateway();
    auto error = [&](const std::string& field, const std::string& problem) {
        return InvalidArgument("config " + label + ": gateway." + field + ": " + problem);
    };
    if (g.listen().empty()) {
        if (g.credentials_size() > 0) {
            return error("listen", "missing (credentials are given, but the gateway is off)");
        }
        return Status::Ok();
    }
    if (Status s = CheckHostPort(g.listen()); !s.ok()) return error("listen", s.message());
    if (g.max_connections() > 100000) return error("max_connections", "at most 100000");
    if (g.max_body_bytes() > (16u << 20)) return error("max_body_bytes", "at most 16 MiB");
    if (g.threads() > 64) return error("threads", "at most 64");
    std::set<std::string> tokens, certs;
    for (int i = 0; i < g.credentials_size(); ++i) {
        const v1::GatewayCredential& c = g.credentials(i);
        const std::string at = "credentials[" + std::to_string(i) + "]";
        if (c.organisation().empty()) return error(at + ".organisation", "missing");
        if (c.token_sm3().empty() && c.client_cert_sha256().empty()) {
            return error(at, "needs token_sm3 or client_cert_sha256");
        }
        if (!c.token_sm3().empty()) {
            if (!IsHex64(c.token_sm3())) {
                return error(at + ".token_sm3", "expected 64 hex characters (SM3 of the token)");
            }
            if (!tokens.insert(Lower(c.token_sm3())).second) {
                return error(at + ".token_sm3", "the same token is given twice");
            }
        }
        if (!c.client_cert_sha256().empty()) {
            if (!g.tls()) return error(at + ".client_cert_sha256", "needs gateway.tls");
            if (!IsHex64(c.client_cert_sha256())) {
                return error(at + ".client_cert_sha256",
                             "expected 64 hex characters (SHA-256 of the certificate's DER)");
            }
            if (!certs.insert(Lower(c.client_cert_sha256())).second) {
                return error(at + ".client_cert_sha256", "the same certificate is given twice");
            }
        }
    }
    return Status::Ok();
}

}  // namespace meterchain::config
