// Who is calling the gateway: the organisation bound to a presented API token or to a TLS
// client certificate (NodeConfig.gateway.credentials). The configuration holds only the SM3
// of each token, so a leaked config file reveals no token.
//
// Thread-safety: immutable after Create; lookups are safe from any thread.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "node/base/status.h"
#include "proto/config.pb.h"

namespace meterchain::gateway {

class Authenticator {
public:
    // kInvalidArgument for a malformed hash (LoadNodeConfig has checked them already).
    static Result<Authenticator> Create(const v1::GatewayConfig& config);

    // The organisation whose token this is, by the token's SM3.
    std::optional<std::string> ByToken(std::string_view token) const;
    // The organisation whose client certificate has this DER encoding (SHA-256 fingerprint).
    std::optional<std::string> ByCertificateDer(std::string_view der) const;

    // "Bearer <token>" from an Authorization header value; nullopt for any other form.
    static std::optional<std::string_view> BearerToken(std::string_view authorization);
    // Hex SM3 of a token, as `token_sm3` in the configuration holds it.
    static std::string TokenHash(std::string_view token);

private:
    std::map<std::string, std::string, std::less<>> m_tokens;  // hex SM3 (lower) -> organisation
    std::map<std::string, std::string, std::less<>> m_certs;   // hex SHA-256 (lower) -> org
};

}  // namespace meterchain::gateway
