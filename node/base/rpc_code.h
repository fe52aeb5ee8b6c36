// The one numbering of status codes a client of meterchaind sees: gRPC status codes
// (google.rpc.Code). A refused call carries one as its gRPC status, SubmitResult.code and
// TxStatus.code carry one as a number (proto/node.proto). Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "node/base/status.h"

namespace meterchain {

// The gRPC status code for `code`. kOk is 0; codes with no client-facing meaning of their own
// (kCorruption, kIoError, kInternal) are 13 INTERNAL; kLocked is 14 UNAVAILABLE. The values are
// gRPC's wire constants, fixed by its specification; any value outside StatusCode (a receipt
// written by another version) is 13 INTERNAL.
uint32_t RpcCode(StatusCode code);

// The name gRPC gives `rpc_code` ("PERMISSION_DENIED"), or "CODE_<n>" beyond 0..16.
std::string RpcCodeName(uint32_t rpc_code);

}  // namespace meterchain
