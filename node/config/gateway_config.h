// Defaults and validation of the HTTP gateway's part of the node configuration
// (NodeConfig.gateway, proto/config.proto). Called by ApplyDefaults / ValidateNodeConfig.
// Thread-safety: free functions, safe to call concurrently.
#pragma once

#include <cstdint>
#include <string>

#include "node/base/status.h"
#include "proto/config.pb.h"

namespace meterchain::config {

inline constexpr uint32_t kDefaultGatewayMaxConnections = 1024;
inline constexpr uint32_t kDefaultGatewayMaxBodyBytes = 8192;
inline constexpr uint32_t kDefaultGatewayRequestTimeoutMs = 5000;
inline constexpr uint32_t kDefaultGatewayIdleTimeoutMs = 30000;
inline constexpr uint32_t kDefaultGatewayThreads = 1;
inline constexpr uint32_t kDefaultGatewayReadyMaxLag = 2;

// When the gateway is on (listen set), fills zero fields with the defaults above;
// client_ca_file defaults to tls.ca_file.
void ApplyGatewayDefaults(v1::NodeConfig& config);

// kInvalidArgument "config <label>: gateway.<field>: <problem>" for an invalid listen address,
// a credential without organisation or without any proof, a malformed hash, a duplicate token
// or certificate, a client certificate without TLS, or an out-of-range limit. Nothing is checked
// when the gateway is off (listen empty) except that it then has no credentials.
Status ValidateGatewayConfig(const v1::NodeConfig& config, const std::string& label);

}  // namespace meterchain::config
