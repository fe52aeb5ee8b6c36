// meterctl's output helpers: local ISO 8601 times with the zone, JSON strings.
#include "node/tools/meterctl_format.h"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <ctime>
#include <optional>
#include <string>

using meterchain::tools::JsonString;
using meterchain::tools::LocalIsoTime;

namespace {

// Sets TZ for the scope (POSIX zone strings: no tzdata needed), restoring it afterwards.
class ScopedTz {
public:
    explicit ScopedTz(const char* tz) {
        if (const char* old = std::getenv("TZ")) m_old = old;
        setenv("TZ", tz, 1);
        tzset();
    }
    ~ScopedTz() {
        if (m_old) {
            setenv("TZ", m_old->c_str(), 1);
        } else {
            unsetenv("TZ");
        }
        tzset();
    }

private:
    std::optional<std::string> m_old;
};

}  // namespace

TEST_CASE("LocalIsoTime prints local time with milliseconds and the zone offset", "[tools]") {
    {
        const ScopedTz tz("CST-8");  // UTC+8, as in Tianjin
        CHECK(LocalIsoTime(0) == "1970-01-01T08:00:00.000+08:00");
        CHECK(LocalIsoTime(1796603109250) == "2026-12-07T08:25:09.250+08:00");
    }
    {
        const ScopedTz tz("UTC0");
        CHECK(LocalIsoTime(1796603109250) == "2026-12-07T00:25:09.250+00:00");
    }
    {
        const ScopedTz tz("NST+3:30");  // west of Greenwich: a negative offset with minutes
        CHECK(LocalIsoTime(1796603109007) == "2026-12-06T20:55:09.007-03:30");
    }
}

TEST_CASE("JsonString quotes and escapes what JSON requires", "[tools]") {
    CHECK(JsonString("plain") == "\"plain\"");
    CHECK(JsonString("a\"b\\c\nd") == "\"a\\\"b\\\\c\\nd\"");
    CHECK(JsonString(std::string("\x01", 1)) == "\"\\u0001\"");
    CHECK(JsonString("友谊路") == "\"友谊路\"");
}
