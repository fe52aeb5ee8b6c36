// Structured, levelled logging to stderr: one line per event,
//   2026-11-25T10:00:00.123Z level=info comp=consensus msg="committed block" height=12
// Thread-safe. Never pass secrets (private keys, plaintext of protected data) to it.
#pragma once

#include <sstream>
#include <string>
#include <string_view>

namespace meterchain {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// Parses "debug" | "info" | "warn" | "error"; false on anything else.
bool ParseLogLevel(std::string_view text, LogLevel& out);
void SetLogLevel(LogLevel level);
bool LogEnabled(LogLevel level);
// Writes one line; `fields` is already formatted as ` key=value` pairs.
void LogLine(LogLevel level, std::string_view component, std::string_view message,
             std::string_view fields);

// Collects key=value fields, then writes the line when destroyed.
class LogEvent {
public:
    LogEvent(LogLevel level, std::string_view component, std::string_view message)
        : m_level(level), m_component(component), m_message(message) {}
    ~LogEvent() { LogLine(m_level, m_component, m_message, m_fields.str()); }
    LogEvent(const LogEvent&) = delete;
    LogEvent& operator=(const LogEvent&) = delete;

    template <typename T>
    LogEvent& operator()(std::string_view key, const T& value) {
        m_fields << ' ' << key << '=' << value;
        return *this;
    }
    LogEvent& operator()(std::string_view key, std::string_view value);
    LogEvent& operator()(std::string_view key, const std::string& value) {
        return (*this)(key, std::string_view(value));
    }
    LogEvent& operator()(std::string_view key, const char* value) {
        return (*this)(key, std::string_view(value));
    }

private:
    LogLevel m_level;
    std::string m_component;
    std::string m_message;
    std::ostringstream m_fields;
};

}  // namespace meterchain

// MC_LOG(kInfo, "consensus", "committed block")("height", h)("txs", n);
#define MC_LOG(level, component, message)                              \
    if (!::meterchain::LogEnabled(::meterchain::LogLevel::level)) {    \
    } else                                                             \
        ::meterchain::LogEvent(::meterchain::LogLevel::level, component, message)
