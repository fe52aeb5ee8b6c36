#include "node/base/status.h"

namespace meterchain {

const char* StatusCodeName(StatusCode code) {
    switch (code) {
        case StatusCode::kOk: return "OK";
        case StatusCode::kInvalidArgument: return "INVALID_ARGUMENT";
        case StatusCode::kNotFound: return "NOT_FOUND";
        case StatusCode::kAlreadyExists: return "ALREADY_EXISTS";
        case StatusCode::kCorruption: return "CORRUPTION";
        case StatusCode::kIoError: return "IO_ERROR";
        case StatusCode::kLocked: return "LOCKED";
        case StatusCode::kUnauthenticated: return "UNAUTHENTICATED";
        case StatusCode::kPermissionDenied: return "PERMISSION_DENIED";
        case StatusCode::kResourceExhausted: return "RESOURCE_EXHAUSTED";
        case StatusCode::kFailedPrecondition: return "FAILED_PRECONDITION";
        case StatusCode::kInternal: return "INTERNAL";
    }
    return "UNKNOWN";
}

std::string Status::ToString() const {
    if (ok()) return "OK";
    return std::string(StatusCodeName(m_code)) + ": " + m_message;
}

}  // namespace meterchain
