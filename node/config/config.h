// Loading, defaulting and validating the node configuration file (JSON in the proto3 JSON
// mapping of meterchain.v1.NodeConfig, proto/config.proto), and the key files it names.
//
// This is the edge where configuration is parsed; the core takes plain structs built from the
// returned message (BuildValidatorSet, and the daemon's own options structs).
// Thread-safety: every function is safe to call concurrently.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "node/base/status.h"
#include "node/chain/validators.h"
#include "node/crypto/sm.h"
#include "proto/config.pb.h"

namespace meterchain::config {

// Defaults applied to fields left at zero / empty (proto3 has no presence for scalars, so an
// explicit 0 also means "default").
inline constexpr uint32_t kDefaultTickMs = 10;
inline constexpr uint32_t kDefaultViewChangeTimeoutMs = 2000;
inline constexpr uint32_t kDefaultCheckpointInterval = 16;
inline constexpr uint32_t kDefaultWindow = 8;
inline constexpr uint32_t kDefaultMaxBlockTxs = 1000;
inline constexpr uint32_t kDefaultMaxBatchDelayMs = 5;
inline constexpr uint32_t kDefaultMaxClockSkewMs = 30000;
inline constexpr uint32_t kDefaultMempoolMaxTxs = 100000;
inline constexpr std::string_view kDefaultLogLevel = "info";

// The roles a validator may have, and the log levels.
inline constexpr std::string_view kRoles[] = {"utility", "regulator", "third-party", "institute",
                                              "main-chain"};
inline constexpr std::string_view kLogLevels[] = {"debug", "info", "warn", "error"};

// Reads, parses, defaults, resolves and validates the configuration at `path`.
//  - kNotFound / kIoError when the file is missing or unreadable (the message names the path);
//  - kInvalidArgument for malformed JSON or an unknown field (the parser's message, prefixed
//    with the path) and for any invalid value. Every message has the form
//    "config <path>: <json path of the field>: <problem>", e.g.
//    "config node0.json: validators[2].public_key: expected 130 hex characters".
// On success the returned message has every default filled in (verify_threads = the number of
// hardware threads) and key_file, data_dir, tls.* and genesis_file are absolute, resolved
// against the directory of the configuration file when they were relative.
Result<v1::NodeConfig> LoadNodeConfig(const std::string& path);

// The parts of LoadNodeConfig after parsing, for configurations built in memory (meterctl).
// `label` prefixes every error message ("config <label>: ..."). ApplyDefaults never fails.
void ApplyDefaults(v1::NodeConfig& config);
Status ValidateNodeConfig(const v1::NodeConfig& config, const std::string& label);

// The validator set in configuration order (index i = validators[i]). Fails with
// kInvalidArgument if a public key does not decode (not possible after LoadNodeConfig).
Result<chain::ValidatorSet> BuildValidatorSet(const v1::NodeConfig& config);

// Index of `config.name` in config.validators, or -1 (not possible after LoadNodeConfig).
int SelfIndex(const v1::NodeConfig& config);

// "host:port" where host is a DNS name, an IPv4 address or a bracketed IPv6 address
// ("[::1]:7000") and port is 1..65535. kInvalidArgument with the reason otherwise (the
// message does not name a field; callers add that).
Status CheckHostPort(std::string_view address);
// A DNS host name: dot-separated labels of letters, digits and inner hyphens, at most 253
// characters. No wildcards, no trailing dot.
bool IsValidHostName(std::string_view host);

// Warnings the daemon should log at startup; empty when there is nothing to say:
//  - fewer than four validators ("n=3 validators tolerate no faulty node (need n >= 4)");
//  - key_file or tls.key_file accessible by group or others (CheckPrivateFileMode's message).
// Reads the two key files' modes; never their contents.
std::vector<std::string> ConfigWarnings(const v1::NodeConfig& config);
// The fault-tolerance warning for n validators, or "" when n >= 4.
std::string FaultToleranceWarning(size_t validators);

// Reads an SM2 private key from an unencrypted PKCS#8 PEM file. kNotFound/kIoError when
// unreadable, kInvalidArgument when the contents are not an SM2 key; messages name the path
// and never include file contents. Does not check the file mode: call CheckPrivateFileMode
// (node/config/files.h) and log its message as a warning.
Result<crypto::Sm2PrivateKey> LoadSm2KeyFile(const std::string& path);

// Writes `key` as PKCS#8 PEM to a new file with mode 0600. kAlreadyExists if `path` exists
// (a key is never silently replaced), kIoError on failure (the partial file is removed).
Status WriteSm2KeyFile(const std::string& path, const crypto::Sm2PrivateKey& key);

}  // namespace meterchain::config
