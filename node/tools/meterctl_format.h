// Output helpers shared by meterctl's subcommands: times for people, JSON for programs.
//
// People read times as local ISO 8601 with the zone offset ("2026-12-07T21:05:09.250+08:00");
// the raw millisecond value (Unix epoch) appears only in a command's --json output, next to the
// same time in ISO form. Thread-safety: pure functions (the local zone is read through
// localtime_r, which is safe to call concurrently).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include "node/base/json.h"

namespace meterchain::tools {

// `unix_ms` (milliseconds since 1970-01-01T00:00:00Z) as local time with its UTC offset,
// milliseconds as a fraction: "YYYY-MM-DDThh:mm:ss.mmm+hh:mm".
std::string LocalIsoTime(uint64_t unix_ms);

using meterchain::JsonString;

}  // namespace meterchain::tools
