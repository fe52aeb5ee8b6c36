#include "node/audit/chain_reader.h"

#include "node/base/codec.h"

namespace meterchain::audit {

std::string ChainReader::BlockKey(uint64_t h) {
    const Bytes suffix = codec::EncodeU64(h);
    std::string key("b");
    key.append(suffix.begin(), suffix.end());
    return key;
}

std::string ChainReader::HashKey(const Hash256& hash) {
    std::string key("h");
    key.append(hash.begin(), hash.end());
    return key;
}

std::string ChainReader::TxKey(const Hash256& hash) {
    std::string key("t");
    key.append(hash.begin(), hash.end());
    return key;
}

std::string ChainReader::StateKey(std::string_view key) { return "s" + std::string(key); }

Result<std::optional<StoredTip>> ChainReader::Tip() const {
    auto record = m_kv.Get(kTipKey);
    if (!record.ok()) return record.status();
    if (!*record) return std::optional<StoredTip>();
    StoredTip tip;
    codec::Reader r(**record);
    r.U64(tip.height);
    r.Digest(tip.block_hash);
    r.Digest(tip.state_root);
    if (!r.AtEnd()) {
        return Corruption("the tip record (m:tip) is malformed: " +
                          std::to_string((*record)->size()) + " bytes, expected 72");
    }
    return std::optional<StoredTip>(tip);
}

Result<std::optional<Bytes>> ChainReader::BlockBytes(uint64_t h) const {
    return m_kv.Get(BlockKey(h));
}

Result<std::optional<uint64_t>> ChainReader::HeightOfHash(const Hash256& hash) const {
    auto record = m_kv.Get(HashKey(hash));
    if (!record.ok()) return record.status();
    if (!*record || (*record)->size() != 8) return std::optional<uint64_t>();
    return std::optional<uint64_t>(codec::DecodeU64(**record));
}

Result<std::optional<StoredTxRecord>> ChainReader::TxRecord(const Hash256& tx_hash) const {
    auto record = m_kv.Get(TxKey(tx_hash));
    if (!record.ok()) return record.status();
    constexpr size_t kFixed = 8 + 4 + 4;
    if (!*record || (*record)->size() < kFixed) return std::optional<StoredTxRecord>();
    const Bytes& data = **record;
    StoredTxRecord out;
    codec::Reader r(ByteView(data).first(kFixed));
    r.U64(out.height);
    r.U32(out.index);
    r.U32(out.receipt.code);
    // The receipt message runs to the end of the record.
    out.receipt.message = ToString(ByteView(data).subspan(kFixed));
    return std::optional<StoredTxRecord>(std::move(out));
}

Result<std::optional<Bytes>> ChainReader::State(std::string_view key) const {
    return m_kv.Get(StateKey(key));
}

Status ChainReader::ScanState(std::string_view prefix,
                              const std::function<bool(std::string_view, ByteView)>& fn) const {
    return m_kv.Scan(StateKey(prefix), [&](std::string_view key, ByteView value) {
        return fn(key.substr(1), value);
    });
}

Result<std::optional<uint64_t>> ChainReader::FirstBlockAtOrAbove(uint64_t h) const {
    std::optional<uint64_t> found;
    bool malformed = false;
    Status s = m_kv.ScanFrom("b", BlockKey(h), [&](std::string_view key, ByteView) {
        if (key.size() != 9) {
            malformed = true;
        } else {
            found = codec::DecodeU64(AsBytes(key).subspan(1));
        }
        return false;
    });
    if (!s.ok()) return s;
    if (malformed) return Corruption("a block record key is not 9 bytes long");
    return found;
}

}  // namespace meterchain::audit
