#include "node/base/codec.h"

namespace meterchain::codec {

Writer& Writer::U8(uint8_t v) {
    m_out.push_back(v);
    return *this;
}

Writer& Writer::U32(uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) m_out.push_back(static_cast<uint8_t>(v >> shift));
    return *this;
}

Writer& Writer::U64(uint64_t v) {
    for (int shift = 56; shift >= 0; shift -= 8) m_out.push_back(static_cast<uint8_t>(v >> shift));
    return *this;
}

Writer& Writer::Blob(ByteView v) {
    U32(static_cast<uint32_t>(v.size()));
    m_out.insert(m_out.end(), v.begin(), v.end());
    return *this;
}

Writer& Writer::Digest(const Hash256& h) {
    m_out.insert(m_out.end(), h.begin(), h.end());
    return *this;
}

bool Reader::Need(size_t n) {
    if (!m_ok || m_in.size() - m_pos < n) {
        m_ok = false;
        return false;
    }
    return true;
}

bool Reader::U8(uint8_t& v) {
    if (!Need(1)) return false;
    v = m_in[m_pos++];
    return true;
}

bool Reader::U32(uint32_t& v) {
    if (!Need(4)) return false;
    v = 0;
    for (int i = 0; i < 4; ++i) v = v << 8 | m_in[m_pos++];
    return true;
}

bool Reader::U64(uint64_t& v) {
    if (!Need(8)) return false;
    v = 0;
    for (int i = 0; i < 8; ++i) v = v << 8 | m_in[m_pos++];
    return true;
}

bool Reader::Blob(Bytes& v, size_t max_len) {
    uint32_t len = 0;
    if (!U32(len)) return false;
    if (len > max_len || !Need(len)) {
        m_ok = false;
        return false;
    }
    v.assign(m_in.begin() + m_pos, m_in.begin() + m_pos + len);
    m_pos += len;
    return true;
}

bool Reader::Text(std::string& v, size_t max_len) {
    Bytes b;
    if (!Blob(b, max_len)) return false;
    v.assign(b.begin(), b.end());
    return true;
}

bool Reader::Digest(Hash256& h) {
    if (!Need(32)) return false;
    for (auto& x : h) x = m_in[m_pos++];
    return true;
}

bool Reader::Expect(std::string_view tag) {
    std::string got;
    if (!Text(got, 256)) return false;
    if (got != tag) m_ok = false;
    return m_ok;
}

Bytes EncodeU64(uint64_t v) { return Writer().U64(v).bytes(); }

uint64_t DecodeU64(ByteView b) {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = v << 8 | b[i];
    return v;
}

}  // namespace meterchain::codec
