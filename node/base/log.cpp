#include "node/base/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace meterchain {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::mutex g_write_mutex;  // keeps lines whole when threads log at once

const char* LevelName(LogLevel level) {
    switch (level) {
        case LogLevel::kDebug: return "debug";
        case LogLevel::kInfo: return "info";
        case LogLevel::kWarn: return "warn";
        case LogLevel::kError: return "error";
    }
    return "info";
}

bool NeedsQuotes(std::string_view v) {
    if (v.empty()) return true;
    for (char c : v) {
        if (c == ' ' || c == '"' || c == '=' || c == '\n' || c == '\\') return true;
    }
    return false;
}

void AppendQuoted(std::string& out, std::string_view v) {
    out += '"';
    for (char c : v) {
        if (c == '"' || c == '\\') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    out += '"';
}

}  // namespace

bool ParseLogLevel(std::string_view text, LogLevel& out) {
    for (LogLevel l : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError}) {
        if (text == LevelName(l)) {
            out = l;
            return true;
        }
    }
    return false;
}

void SetLogLevel(LogLevel level) { g_level.store(static_cast<int>(level)); }

bool LogEnabled(LogLevel level) { return static_cast<int>(level) >= g_level.load(); }

void LogLine(LogLevel level, std::string_view component, std::string_view message,
             std::string_view fields) {
    using namespace std::chrono;
    const auto now = system_clock::now();
    const auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
    const std::time_t secs = system_clock::to_time_t(now);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char stamp[64];
    std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(ms));
    std::string line = stamp;
    line += " level=";
    line += LevelName(level);
    line += " comp=";
    line += component;
    line += " msg=";
    AppendQuoted(line, message);
    line += fields;
    line += '\n';
    std::lock_guard lock(g_write_mutex);
    std::fwrite(line.data(), 1, line.size(), stderr);
}

LogEvent& LogEvent::operator()(std::string_view key, std::string_view value) {
    m_fields << ' ' << key << '=';
    if (NeedsQuotes(value)) {
        std::string quoted;
        AppendQuoted(quoted, value);
        m_fields << quoted;
    } else {
        m_fields << value;
    }
    return *this;
}

}  // namespace meterchain
