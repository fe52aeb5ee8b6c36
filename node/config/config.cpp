#include "node/config/config.h"

#include <arpa/inet.h>
#include <google/protobuf/util/json_util.h>
#include <openssl/crypto.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <map>
#include <thread>

#include "node/base/bytes.h"
#include "node/config/files.h"
#include "node/config/gateway_config.h"

namespace meterchain::config {
namespace {

namespace fs = std::filesystem;

// Raw uncompressed SM2 point: 0x04 || X || Y, hex encoded.
constexpr size_t kPublicKeyHexChars = 130;
// GB/T 32918 stores the distinguishing ID's length in bits in 16 bits.
constexpr size_t kMaxSm2IdBytes = 8191;

// Collects the message for the first invalid field: "config <label>: <field>: <problem>".
class FieldError {
public:
    explicit FieldError(const std::string& label) : m_prefix("config " + label + ": ") {}
    Status operator()(const std::string& field, const std::string& problem) const {
        return InvalidArgument(m_prefix + field + ": " + problem);
    }

private:
    std::string m_prefix;
};

bool Contains(const auto& list, std::string_view value) {
    return std::find(std::begin(list), std::end(list), value) != std::end(list);
}

std::string JoinList(const auto& list) {
    std::string out;
    for (const auto& item : list) {
        if (!out.empty()) out += ", ";
        out += item;
    }
    return out;
}

}  // namespace

bool IsValidHostName(std::string_view host) {
    if (host.empty() || host.size() > 253) return false;
    size_t label = 0;
    char previous = '.';
    for (const char c : host) {
        if (c == '.') {
            if (label == 0 || previous == '-') return false;
            label = 0;
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '-') {
            if (label == 0 && c == '-') return false;
            if (++label > 63) return false;
        } else {
            return false;
        }
        previous = c;
    }
    return previous != '-';
}

namespace {

bool IsAllDigitsAndDots(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c == '.' || (c >= '0' && c <= '9'); });
}

// Makes a relative path absolute against `base`; empty stays empty so that validation can
// report it as missing.
void Resolve(std::string* path, const fs::path& base) {
    if (path->empty()) return;
    const fs::path p(*path);
    if (p.is_relative()) *path = (base / p).lexically_normal().string();
}

Status ValidatePublicKeyHex(const FieldError& error, const std::string& field,
                            const std::string& hex) {
    if (hex.empty()) return error(field, "missing");
    if (hex.size() != kPublicKeyHexChars) {
        return error(field, "expected " + std::to_string(kPublicKeyHexChars) +
                                " hex characters (04 || x || y), got " +
                                std::to_string(hex.size()));
    }
    const auto raw = FromHex(hex);
    if (!raw) return error(field, "not a hex string");
    if (hex.compare(0, 2, "04") != 0) {
        return error(field, "must start with 04 (an uncompressed point)");
    }
    const auto key = crypto::Sm2PublicKey::FromRaw(*raw);
    if (!key.ok()) return error(field, "not a valid SM2 public key: " + key.status().message());
    return Status::Ok();
}

Status ValidateAddress(const FieldError& error, const std::string& field,
                       const std::string& address) {
    if (address.empty()) return error(field, "missing");
    const Status status = CheckHostPort(address);
    if (!status.ok()) return error(field, status.message());
    return Status::Ok();
}

}  // namespace

Status CheckHostPort(std::string_view address) {
    const std::string quoted = "\"" + std::string(address) + "\"";
    const size_t colon = address.rfind(':');
    if (colon == std::string_view::npos) {
        return InvalidArgument(quoted + " is not host:port (no port)");
    }
    const std::string_view host = address.substr(0, colon);
    const std::string_view port = address.substr(colon + 1);
    if (host.empty()) return InvalidArgument(quoted + " is not host:port (no host)");
    if (host.front() == '[') {
        if (host.back() != ']') return InvalidArgument(quoted + ": unterminated [IPv6] address");
        const std::string ip(host.substr(1, host.size() - 2));
        in6_addr v6{};
        if (inet_pton(AF_INET6, ip.c_str(), &v6) != 1) {
            return InvalidArgument(quoted + ": \"" + ip + "\" is not an IPv6 address");
        }
    } else if (host.find(':') != std::string_view::npos) {
        return InvalidArgument(quoted + ": an IPv6 host must be written in brackets ([::1]:port)");
    } else if (IsAllDigitsAndDots(host)) {
        const std::string ip(host);
        in_addr v4{};
        if (inet_pton(AF_INET, ip.c_str(), &v4) != 1) {
            return InvalidArgument(quoted + ": \"" + ip + "\" is not an IPv4 address");
        }
    } else if (!IsValidHostName(host)) {
        return InvalidArgument(quoted + ": \"" + std::string(host) + "\" is not a valid host name");
    }
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value == 0 ||
        value > 65535) {
        return InvalidArgument(quoted + ": port must be a number from 1 to 65535");
    }
    return Status::Ok();
}

void ApplyDefaults(v1::NodeConfig& config) {
    auto set_default = [](uint32_t value, uint32_t fallback) { return value ? value : fallback; };
    v1::ConsensusConfig& c = *config.mutable_consensus();
    c.set_tick_ms(set_default(c.tick_ms(), kDefaultTickMs));
    c.set_view_change_timeout_ms(
        set_default(c.view_change_timeout_ms(), kDefaultViewChangeTimeoutMs));
    c.set_checkpoint_interval(set_default(c.checkpoint_interval(), kDefaultCheckpointInterval));
    c.set_window(set_default(c.window(), kDefaultWindow));
    c.set_max_block_txs(set_default(c.max_block_txs(), kDefaultMaxBlockTxs));
    c.set_max_batch_delay_ms(set_default(c.max_batch_delay_ms(), kDefaultMaxBatchDelayMs));
    c.set_max_clock_skew_ms(set_default(c.max_clock_skew_ms(), kDefaultMaxClockSkewMs));
    v1::MempoolConfig& m = *config.mutable_mempool();
    m.set_max_txs(set_default(m.max_txs(), kDefaultMempoolMaxTxs));
    // hardware_concurrency may report 0 when it cannot tell.
    const uint32_t cores = std::max(1u, std::thread::hardware_concurrency());
    m.set_verify_threads(set_default(m.verify_threads(), cores));
    if (config.log_level().empty()) config.set_log_level(std::string(kDefaultLogLevel));
    if (config.sm2_id().empty()) config.set_sm2_id(std::string(crypto::kDefaultSm2Id));
    ApplyGatewayDefaults(config);
}

Status ValidateNodeConfig(const v1::NodeConfig& config, const std::string& label) {
    const FieldError error(label);
    if (config.chain_id().empty()) return error("chain_id", "missing");
    if (config.name().empty()) return error("name", "missing");
    if (config.key_file().empty()) return error("key_file", "missing");
    if (config.data_dir().empty()) return error("data_dir", "missing");
    MC_RETURN_IF_ERROR(ValidateAddress(error, "peer_listen", config.peer_listen()));
    MC_RETURN_IF_ERROR(ValidateAddress(error, "client_listen", config.client_listen()));
    if (config.tls().ca_file().empty()) return error("tls.ca_file", "missing");
    if (config.tls().cert_file().empty()) return error("tls.cert_file", "missing");
    if (config.tls().key_file().empty()) return error("tls.key_file", "missing");
    if (config.genesis_file().empty()) return error("genesis_file", "missing");
    // The genesis block hashes it: a default would silently make a chain of its own.
    if (config.genesis_time_ms() == 0) {
        return error("genesis_time_ms",
                     "missing (or 0); every node of a chain needs the same value, as "
                     "`meterctl init-cluster` writes it");
    }
    if (config.validators().empty()) return error("validators", "at least one validator is required");

    std::map<std::string, int> names, keys, addresses;
    for (int i = 0; i < config.validators_size(); ++i) {
        const v1::ValidatorConfig& v = config.validators(i);
        const std::string at = "validators[" + std::to_string(i) + "]";
        if (v.name().empty()) return error(at + ".name", "missing");
        if (auto [it, fresh] = names.emplace(v.name(), i); !fresh) {
            return error(at + ".name", "\"" + v.name() + "\" duplicates validators[" +
                                           std::to_string(it->second) + "].name");
        }
        if (!Contains(kRoles, v.role())) {
            return error(at + ".role", (v.role().empty() ? "missing" : "\"" + v.role() + "\" is invalid") +
                                           std::string("; expected one of ") + JoinList(kRoles));
        }
        MC_RETURN_IF_ERROR(ValidatePublicKeyHex(error, at + ".public_key", v.public_key()));
        std::string lower = v.public_key();
        std::transform(lower.begin(), lower.end(), lower.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        if (auto [it, fresh] = keys.emplace(lower, i); !fresh) {
            return error(at + ".public_key",
                         "duplicates validators[" + std::to_string(it->second) + "].public_key");
        }
        MC_RETURN_IF_ERROR(ValidateAddress(error, at + ".address", v.address()));
        if (auto [it, fresh] = addresses.emplace(v.address(), i); !fresh) {
            return error(at + ".address", "\"" + v.address() + "\" duplicates validators[" +
                                              std::to_string(it->second) + "].address");
        }
    }
    if (SelfIndex(config) < 0) {
        std::vector<std::string> all;
        for (const auto& v : config.validators()) all.push_back(v.name());
        return error("name", "\"" + config.name() + "\" is not among the validators (" +
                                 JoinList(all) + ")");
    }

    const v1::ConsensusConfig& c = config.consensus();
    if (c.view_change_timeout_ms() < c.tick_ms()) {
        return error("consensus.view_change_timeout_ms",
                     "must be at least consensus.tick_ms (" + std::to_string(c.tick_ms()) + ")");
    }
    if (!Contains(kLogLevels, config.log_level())) {
        return error("log_level", "\"" + config.log_level() + "\" is invalid; expected one of " +
                                      JoinList(kLogLevels));
    }
    if (config.sm2_id().size() > kMaxSm2IdBytes) {
        return error("sm2_id", "longer than " + std::to_string(kMaxSm2IdBytes) + " bytes");
    }
    MC_RETURN_IF_ERROR(ValidateGatewayConfig(config, label));
    return Status::Ok();
}

Result<v1::NodeConfig> LoadNodeConfig(const std::string& path) {
    auto text = ReadFileToString(path);
    if (!text.ok()) {
        return Status(text.status().code(), "config " + text.status().message());
    }
    v1::NodeConfig config;
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = false;
    const auto parsed = google::protobuf::util::JsonStringToMessage(*text, &config, options);
    if (!parsed.ok()) {
        const auto message = parsed.message();
        return InvalidArgument("config " + path + ": " +
                               std::string(message.data(), message.size()));
    }
    ApplyDefaults(config);

    std::error_code ec;
    const fs::path absolute = fs::absolute(fs::path(path), ec);
    if (ec) return IoError("config " + path + ": cannot resolve its directory: " + ec.message());
    const fs::path base = absolute.parent_path();
    Resolve(config.mutable_key_file(), base);
    Resolve(config.mutable_data_dir(), base);
    Resolve(config.mutable_genesis_file(), base);
    Resolve(config.mutable_tls()->mutable_ca_file(), base);
    Resolve(config.mutable_tls()->mutable_cert_file(), base);
    Resolve(config.mutable_tls()->mutable_key_file(), base);
    Resolve(config.mutable_gateway()->mutable_client_ca_file(), base);

    MC_RETURN_IF_ERROR(ValidateNodeConfig(config, path));
    return config;
}

Result<chain::ValidatorSet> BuildValidatorSet(const v1::NodeConfig& config) {
    std::vector<chain::Validator> validators;
    validators.reserve(static_cast<size_t>(config.validators_size()));
    for (int i = 0; i < config.validators_size(); ++i) {
        const v1::ValidatorConfig& v = config.validators(i);
        const auto raw = FromHex(v.public_key());
        if (!raw) {
            return InvalidArgument("validators[" + std::to_string(i) +
                                   "].public_key: not a hex string");
        }
        const auto key = crypto::Sm2PublicKey::FromRaw(*raw);
        if (!key.ok()) {
            return InvalidArgument("validators[" + std::to_string(i) +
                                   "].public_key: " + key.status().message());
        }
        validators.push_back(
            chain::Validator{v.name(), v.organisation(), v.role(), key->Raw(), v.address()});
    }
    return chain::ValidatorSet(std::move(validators));
}

int SelfIndex(const v1::NodeConfig& config) {
    for (int i = 0; i < config.validators_size(); ++i) {
        if (config.validators(i).name() == config.name()) return i;
    }
    return -1;
}

std::string FaultToleranceWarning(size_t validators) {
    if (validators >= 4) return {};
    return "n=" + std::to_string(validators) +
           " validators tolerate no faulty node (need n >= 4)";
}

std::vector<std::string> ConfigWarnings(const v1::NodeConfig& config) {
    std::vector<std::string> warnings;
    std::string fault = FaultToleranceWarning(static_cast<size_t>(config.validators_size()));
    if (!fault.empty()) warnings.push_back(std::move(fault));
    // A missing file is not a warning: loading it fails with its own, clearer error.
    for (const std::string* path : {&config.key_file(), &config.tls().key_file()}) {
        const Status mode = CheckPrivateFileMode(*path);
        if (mode.code() == StatusCode::kFailedPrecondition) warnings.push_back(mode.message());
    }
    return warnings;
}

Result<crypto::Sm2PrivateKey> LoadSm2KeyFile(const std::string& path) {
    auto pem = ReadFileToString(path);
    if (!pem.ok()) return Status(pem.status().code(), "key file " + pem.status().message());
    auto key = crypto::Sm2PrivateKey::FromPem(*pem);
    // The buffer held the private key; do not leave it in freed heap memory.
    OPENSSL_cleanse(pem->data(), pem->size());
    if (!key.ok()) {
        return InvalidArgument("key file " + path + ": " + key.status().message());
    }
    return key;
}

Status WriteSm2KeyFile(const std::string& path, const crypto::Sm2PrivateKey& key) {
    std::string pem = key.ToPem();
    Status status = WritePrivateFile(path, pem);
    OPENSSL_cleanse(pem.data(), pem.size());
    return status;
}

}  // namespace meterchain::config
