// Errors are values: Status for operations without a result, Result<T> for those with one.
// A Status carries a code the caller can branch on and a message meant for a human.
#pragma once

#include <cstdlib>
#include <string>
#include <utility>
#include <variant>

namespace meterchain {

enum class StatusCode {
    kOk = 0,
    kInvalidArgument,  // the input is malformed or violates a rule
    kNotFound,
    kAlreadyExists,
    kCorruption,        // stored data fails its integrity checks
    kIoError,           // the operating system or LevelDB failed
    kLocked,            // a resource (data dir) is held by another process
    kUnauthenticated,   // a signature or identity does not check out
    kPermissionDenied,  // authenticated, but not allowed
    kResourceExhausted, // a bounded queue or pool is full
    kFailedPrecondition,
    kInternal,
};

const char* StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
public:
    Status() = default;
    Status(StatusCode code, std::string message) : m_code(code), m_message(std::move(message)) {}

    static Status Ok() { return {}; }

    bool ok() const { return m_code == StatusCode::kOk; }
    StatusCode code() const { return m_code; }
    const std::string& message() const { return m_message; }
    // "CODE: message", or "OK".
    std::string ToString() const;

private:
    StatusCode m_code = StatusCode::kOk;
    std::string m_message;
};

inline Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status Corruption(std::string m) { return {StatusCode::kCorruption, std::move(m)}; }
inline Status IoError(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
inline Status Unauthenticated(std::string m) { return {StatusCode::kUnauthenticated, std::move(m)}; }
inline Status FailedPrecondition(std::string m) {
    return {StatusCode::kFailedPrecondition, std::move(m)};
}
inline Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

// Either a value or a non-OK Status. Accessing the value of an error aborts: that is a
// programming error, not a runtime condition.
template <typename T>
class [[nodiscard]] Result {
public:
    Result(T value) : m_v(std::move(value)) {}
    Result(Status status) : m_v(std::move(status)) {
        if (std::get<Status>(m_v).ok()) std::abort();  // an error Result needs an error
    }

    bool ok() const { return std::holds_alternative<T>(m_v); }
    const Status& status() const {
        static const Status kOkStatus;
        return ok() ? kOkStatus : std::get<Status>(m_v);
    }
    T& value() & { return Checked(); }
    const T& value() const& { return const_cast<Result*>(this)->Checked(); }
    T&& value() && { return std::move(Checked()); }
    T& operator*() & { return Checked(); }
    const T& operator*() const& { return const_cast<Result*>(this)->Checked(); }
    T* operator->() { return &Checked(); }
    const T* operator->() const { return &const_cast<Result*>(this)->Checked(); }

private:
    T& Checked() {
        if (!ok()) std::abort();
        return std::get<T>(m_v);
    }
    std::variant<T, Status> m_v;
};

}  // namespace meterchain

// Returns early from the enclosing function when `expr` yields a non-OK Status.
#define MC_RETURN_IF_ERROR(expr)                \
    do {                                        \
        ::meterchain::Status mc_status_ = (expr); \
        if (!mc_status_.ok()) return mc_status_; \
    } while (0)
