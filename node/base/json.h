// JSON string literals for the hand-written JSON that meterctl, the gateway and the audit export
// print. Thread-safe (pure functions).
#pragma once

#include <string>
#include <string_view>

namespace meterchain {

// `text` as a JSON string literal, quotes included: '"' and '\' escaped, control characters as
// \n, \r, \t or \u00XX; other bytes pass through unchanged (the text is UTF-8).
std::string JsonString(std::string_view text);

}  // namespace meterchain
