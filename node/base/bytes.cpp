#include "node/base/bytes.h"

#include <algorithm>

namespace meterchain {

std::string ToHex(ByteView data) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(data.size() * 2);
    for (uint8_t b : data) {
        out.push_back(kDigits[b >> 4]);
        out.push_back(kDigits[b & 0x0f]);
    }
    return out;
}

namespace {
int HexValue(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}
}  // namespace

std::optional<Bytes> FromHex(std::string_view hex) {
    if (hex.size() % 2 != 0) return std::nullopt;
    Bytes out(hex.size() / 2);
    for (size_t i = 0; i < out.size(); ++i) {
        int hi = HexValue(hex[2 * i]);
        int lo = HexValue(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out[i] = static_cast<uint8_t>(hi << 4 | lo);
    }
    return out;
}

std::optional<Hash256> HashFromHex(std::string_view hex) {
    if (hex.size() != 64) return std::nullopt;
    auto bytes = FromHex(hex);
    if (!bytes) return std::nullopt;
    return HashFromBytes(*bytes);
}

std::optional<Hash256> HashFromBytes(ByteView data) {
    if (data.size() != 32) return std::nullopt;
    Hash256 h;
    std::copy(data.begin(), data.end(), h.begin());
    return h;
}

}  // namespace meterchain
