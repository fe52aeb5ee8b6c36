// The canonical binary encoding used for everything that is hashed or signed.
//
// Rules (docs/ENCODING.md has the full description):
//   - integers are fixed width, big-endian (u8, u32, u64);
//   - a byte string or text is a u32 length followed by the bytes;
//   - a digest is its 32 bytes, no length;
//   - a sequence is a u32 count followed by its elements;
//   - fields are written in the order the encoder of each type documents; nothing is optional
//     and there is no padding, so one value has exactly one encoding;
//   - every signed or hashed object starts with a domain tag (a length-prefixed ASCII string
//     such as "meterchain/header/v1") so that bytes signed for one purpose never verify for
//     another.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "node/base/bytes.h"

namespace meterchain::codec {

class Writer {
public:
    Writer& U8(uint8_t v);
    Writer& U32(uint32_t v);
    Writer& U64(uint64_t v);
    Writer& Blob(ByteView v);  // u32 length + bytes
    Writer& Text(std::string_view v) { return Blob(AsBytes(v)); }
    Writer& Digest(const Hash256& h);  // 32 raw bytes

    const Bytes& bytes() const& { return m_out; }
    Bytes Take() && { return std::move(m_out); }

private:
    Bytes m_out;
};

// Reads a canonical encoding. Every read returns false (and leaves the reader failed) when the
// input is too short; callers check ok() and AtEnd() once at the end.
class Reader {
public:
    explicit Reader(ByteView in) : m_in(in) {}

    bool U8(uint8_t& v);
    bool U32(uint32_t& v);
    bool U64(uint64_t& v);
    // Rejects a declared length above max_len (defends against huge allocations).
    bool Blob(Bytes& v, size_t max_len = 64u << 20);
    bool Text(std::string& v, size_t max_len = 64u << 20);
    bool Digest(Hash256& h);
    // True when a domain tag equal to `tag` comes next (and consumes it).
    bool Expect(std::string_view tag);

    bool ok() const { return m_ok; }
    bool AtEnd() const { return m_ok && m_pos == m_in.size(); }
    size_t remaining() const { return m_in.size() - m_pos; }

private:
    bool Need(size_t n);
    ByteView m_in;
    size_t m_pos = 0;
    bool m_ok = true;
};

// Big-endian fixed-width keys, so that LevelDB's byte order is numeric order.
Bytes EncodeU64(uint64_t v);
uint64_t DecodeU64(ByteView b);  // requires b.size() >= 8

}  // namespace meterchain::codec
