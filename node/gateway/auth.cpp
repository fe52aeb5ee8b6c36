#include "node/gateway/auth.h"

#include <openssl/evp.h>

#include <cctype>

#include "node/base/bytes.h"
#include "node/crypto/sm.h"

namespace meterchain::gateway {
namespace {

std::string Lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

bool IsHex64(const std::string& s) {
    if (s.size() != 64) return false;
    for (char c : s) {
        if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
    }
    return true;
}

}  // namespace

Result<Authenticator> Authenticator::Create(const v1::GatewayConfig& config) {
    Authenticator a;
    for (int i = 0; i < config.credentials_size(); ++i) {
        const auto& c = config.credentials(i);
        const std::string at = "gateway.credentials[" + std::to_string(i) + "]";
        if (!c.token_sm3().empty()) {
            if (!IsHex64(c.token_sm3())) return InvalidArgument(at + ".token_sm3: not 64 hex");
            a.m_tokens[Lower(c.token_sm3())] = c.organisation();
        }
        if (!c.client_cert_sha256().empty()) {
            if (!IsHex64(c.client_cert_sha256())) {
                return InvalidArgument(at + ".client_cert_sha256: not 64 hex");
            }
            a.m_certs[Lower(c.client_cert_sha256())] = c.organisation();
        }
    }
    return a;
}

std::string Authenticator::TokenHash(std::string_view token) {
    return ToHex(crypto::Sm3(token));
}

std::optional<std::string> Authenticator::ByToken(std::string_view token) const {
    if (token.empty() || m_tokens.empty()) return std::nullopt;
    // Looked up by hash: what is compared is SM3(token), never the secret itself.
    auto it = m_tokens.find(TokenHash(token));
    if (it == m_tokens.end()) return std::nullopt;
    return it->second;
}

std::optional<std::string> Authenticator::ByCertificateDer(std::string_view der) const {
    if (der.empty() || m_certs.empty()) return std::nullopt;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(der.data(), der.size(), md, &len, EVP_sha256(), nullptr) != 1) {
        return std::nullopt;
    }
    auto it = m_certs.find(ToHex(ByteView(md, len)));
    if (it == m_certs.end()) return std::nullopt;
    return it->second;
}

std::optional<std::string_view> Authenticator::BearerToken(std::string_view authorization) {
    constexpr std::string_view kBearer = "Bearer ";
    if (authorization.size() <= kBearer.size()) return std::nullopt;
    for (size_t i = 0; i < kBearer.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(authorization[i])) !=
            std::tolower(static_cast<unsigned char>(kBearer[i]))) {
            return std::nullopt;
        }
    }
    std::string_view token = authorization.substr(kBearer.size());
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
    while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
    if (token.empty()) return std::nullopt;
    return token;
}

}  // namespace meterchain::gateway
