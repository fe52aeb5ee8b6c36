// Byte strings and their hex form.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace meterchain {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;

// A 32-byte digest (SM3 output): block hashes, tx hashes, Merkle nodes, state roots.
using Hash256 = std::array<uint8_t, 32>;

inline ByteView AsBytes(std::string_view s) {
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline Bytes ToBytes(std::string_view s) { return Bytes(s.begin(), s.end()); }
inline std::string ToString(ByteView b) { return std::string(b.begin(), b.end()); }
inline Bytes ToBytes(const Hash256& h) { return Bytes(h.begin(), h.end()); }

// Lower-case hex, two characters per byte.
std::string ToHex(ByteView data);
// Parses hex (either case, even length); nullopt on any other character or odd length.
std::optional<Bytes> FromHex(std::string_view hex);
// Parses exactly 64 hex characters into a digest; nullopt otherwise.
std::optional<Hash256> HashFromHex(std::string_view hex);
// Copies a 32-byte view into a digest; nullopt when the size differs.
std::optional<Hash256> HashFromBytes(ByteView data);

}  // namespace meterchain
