#include "contracts/common.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <cstdio>

#include "node/crypto/sm.h"

namespace meterchain::contracts {

Bytes SerializeProto(const google::protobuf::Message& message) {
    std::string out;
    {
        google::protobuf::io::StringOutputStream stream(&out);
        google::protobuf::io::CodedOutputStream coded(&stream);
        coded.SetSerializationDeterministic(true);
        message.SerializeToCodedStream(&coded);
    }
    return ToBytes(out);
}

Status ParseProto(ByteView data, google::protobuf::Message* out, std::string_view what) {
    if (data.size() > static_cast<size_t>(INT32_MAX) ||
        !out->ParseFromArray(data.data(), static_cast<int>(data.size()))) {
        return InvalidArgument(std::string(what) + ": not a valid " + out->GetTypeName());
    }
    return Status::Ok();
}

Result<bool> ReadProto(const StateView& state, std::string_view key,
                       google::protobuf::Message* out) {
    auto value = state.Get(key);
    if (!value) return false;
    if (!out->ParseFromArray(value->data(), static_cast<int>(value->size()))) {
        return Corruption("state value at '" + std::string(key) + "' is not a valid " +
                          out->GetTypeName());
    }
    return true;
}

void WriteProto(StateView& state, std::string_view key, const google::protobuf::Message& message) {
    state.Put(key, SerializeProto(message));
}

std::string DigestHex(std::string_view text) {
    Hash256 h = crypto::Sm3(text);
    return ToHex(h);
}

std::string TypeKey(uint32_t type) {
    char buf[16];
    std::snprintf(buf, sizeof(buf), "%02u", type);
    return buf;
}

bool IsSimpleName(std::string_view name) {
    if (name.empty() || name.size() > kMaxIdLength) return false;
    for (char c : name) {
        if (c < 0x21 || c > 0x7e || c == '/') return false;
    }
    return true;
}

std::optional<Bytes> OverlayState::Get(std::string_view key) const {
    auto it = m_writes.find(key);
    if (it != m_writes.end()) return it->second;
    return m_base.Get(key);
}

void OverlayState::Put(std::string_view key, ByteView value) {
    m_writes.insert_or_assign(std::string(key), Bytes(value.begin(), value.end()));
}

void OverlayState::Delete(std::string_view key) {
    m_writes.insert_or_assign(std::string(key), std::nullopt);
}

void OverlayState::Scan(std::string_view prefix,
                        const std::function<bool(std::string_view, ByteView)>& fn) const {
    // Merge the base (already in key order) with the overlay's writes under the prefix.
    std::map<std::string, Bytes, std::less<>> merged;
    m_base.Scan(prefix, [&](std::string_view key, ByteView value) {
        merged.emplace(std::string(key), Bytes(value.begin(), value.end()));
        return true;
    });
    for (auto it = m_writes.lower_bound(prefix); it != m_writes.end(); ++it) {
        if (it->first.compare(0, prefix.size(), prefix) != 0) break;
        if (it->second) {
            merged.insert_or_assign(it->first, *it->second);
        } else {
            merged.erase(it->first);
        }
    }
    for (const auto& [key, value] : merged) {
        if (!fn(key, value)) break;
    }
}

}  // namespace meterchain::contracts
