#include "node/base/rpc_code.h"

#include <iterator>

namespace meterchain {

uint32_t RpcCode(StatusCode code) {
    // gRPC status codes (grpc/status.h, google/rpc/code.proto).
    switch (code) {
        case StatusCode::kOk:
            return 0;
        case StatusCode::kInvalidArgument:
            return 3;
        case StatusCode::kNotFound:
            return 5;
        case StatusCode::kAlreadyExists:
            return 6;
        case StatusCode::kPermissionDenied:
            return 7;
        case StatusCode::kResourceExhausted:
            return 8;
        case StatusCode::kFailedPrecondition:
            return 9;
        case StatusCode::kLocked:
            return 14;  // UNAVAILABLE: try again or another node
        case StatusCode::kUnauthenticated:
            return 16;
        case StatusCode::kCorruption:
        case StatusCode::kIoError:
        case StatusCode::kInternal:
            return 13;
    }
    return 13;
}

std::string RpcCodeName(uint32_t rpc_code) {
    static constexpr const char* kNames[] = {"OK",
                                             "CANCELLED",
                                             "UNKNOWN",
                                             "INVALID_ARGUMENT",
                                             "DEADLINE_EXCEEDED",
                                             "NOT_FOUND",
                                             "ALREADY_EXISTS",
                                             "PERMISSION_DENIED",
                                             "RESOURCE_EXHAUSTED",
                                             "FAILED_PRECONDITION",
                                             "ABORTED",
                                             "OUT_OF_RANGE",
                                             "UNIMPLEMENTED",
                                             "INTERNAL",
                                             "UNAVAILABLE",
                                             "DATA_LOSS",
                                             "UNAUTHENTICATED"};
    if (rpc_code < std::size(kNames)) return kNames[rpc_code];
    return "CODE_" + std::to_string(rpc_code);
}

}  // namespace meterchain
