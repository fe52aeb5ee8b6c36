#include "node/tools/meterctl_format.h"

#include <cstdio>
#include <ctime>

namespace meterchain::tools {

std::string LocalIsoTime(uint64_t unix_ms) {
    const std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
    std::tm local{};
    if (localtime_r(&secs, &local) == nullptr) return std::to_string(unix_ms) + " ms";
    char date[32];
    std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &local);
    // tm_gmtoff: the zone's offset at that instant (daylight saving included).
    const long offset_min = local.tm_gmtoff / 60;
    const long abs_min = offset_min < 0 ? -offset_min : offset_min;
    char out[64];
    std::snprintf(out, sizeof out, "%s.%03u%c%02ld:%02ld", date,
                  static_cast<unsigned>(unix_ms % 1000), offset_min < 0 ? '-' : '+', abs_min / 60,
                  abs_min % 60);
    return out;
}

}  // namespace meterchain::tools
