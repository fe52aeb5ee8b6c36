#include "node/storage/chain_store.h"

#include <algorithm>
#include <limits>

#include "node/base/codec.h"
#include "node/chain/proto_adapter.h"

namespace meterchain::storage {

namespace {

constexpr std::string_view kTipKey = "m:tip";
constexpr std::string_view kMetaPrefix = "m:";
constexpr size_t kTipRecordSize = 8 + 32 + 32;
constexpr size_t kTxRecordFixedSize = 8 + 4 + 4;

std::string Key(char prefix, ByteView suffix) {
    std::string key(1, prefix);
    key.append(suffix.begin(), suffix.end());
    return key;
}
std::string BlockKey(uint64_t height) { return Key('b', codec::EncodeU64(height)); }
std::string HashKey(const Hash256& hash) { return Key('h', hash); }
std::string TxKey(const Hash256& hash) { return Key('t', hash); }
std::string StateKey(std::string_view key) { return Key('s', AsBytes(key)); }
std::string MetaKey(std::string_view name) { return std::string(kMetaPrefix) + std::string(name); }

std::string BlockName(uint64_t height) { return "block " + std::to_string(height); }

Bytes EncodeTip(const ChainTip& tip) {
    return codec::Writer().U64(tip.height).Digest(tip.block_hash).Digest(tip.state_root).bytes();
}

std::optional<ChainTip> DecodeTip(ByteView data) {
    ChainTip tip;
    codec::Reader r(data);
    r.U64(tip.height);
    r.Digest(tip.block_hash);
    r.Digest(tip.state_root);
    if (!r.AtEnd()) return std::nullopt;
    tip.empty = false;
    return tip;
}

// The receipt message runs to the end of the record, without a length: it is the last field.
Bytes EncodeTxRecord(uint64_t height, uint32_t index, const chain::Receipt& receipt) {
    Bytes out = codec::Writer().U64(height).U32(index).U32(receipt.code).bytes();
    out.insert(out.end(), receipt.message.begin(), receipt.message.end());
    return out;
}

std::optional<TxLocation> DecodeTxRecord(ByteView data) {
    if (data.size() < kTxRecordFixedSize) return std::nullopt;
    TxLocation loc;
    codec::Reader r(data.first(kTxRecordFixedSize));
    r.U64(loc.height);
    r.U32(loc.index);
    r.U32(loc.receipt.code);
    if (!r.AtEnd()) return std::nullopt;
    loc.receipt.message = ToString(data.subspan(kTxRecordFixedSize));
    return loc;
}

std::optional<uint64_t> DecodeHeight(ByteView data) {
    if (data.size() != 8) return std::nullopt;
    return codec::DecodeU64(data);
}

// The first key starting with `prefix` at or after `start`, if any.
Result<std::optional<std::string>> FirstKey(const KvStore& kv, std::string_view prefix,
                                            std::string_view start) {
    std::optional<std::string> found;
    Status s = kv.ScanFrom(prefix, start, [&](std::string_view key, ByteView) {
        found = std::string(key);
        return false;
    });
    if (!s.ok()) return s;
    return found;
}

// Loads the block at `height` and checks what can be checked about it alone: it parses, sits
// at its own height, passes CheckBlockIntegrity, and its hash and tx index entries lead back
// to it. `tip_height` bounds where a tx index entry may point.
Result<chain::Block> LoadCheckedBlock(const KvStore& kv, uint64_t h, uint64_t tip_height) {
    const std::string name = BlockName(h);
    auto stored = kv.Get(BlockKey(h));
    if (!stored.ok()) return stored.status();
    if (!*stored) return Corruption(name + ": missing at or below the tip");
    auto block = chain::ParseBlock(**stored);
    if (!block.ok()) {
        return Corruption(name + ": stored bytes do not parse: " + block.status().message());
    }
    if (block->header.height != h) {
        return Corruption(name + ": stored block says height " +
                          std::to_string(block->header.height));
    }
    if (Status s = chain::CheckBlockIntegrity(*block); !s.ok()) return Corruption(s.message());
    auto indexed = kv.Get(HashKey(block->Hash()));
    if (!indexed.ok()) return indexed.status();
    if (!*indexed || DecodeHeight(**indexed) != h) {
        return Corruption(name + ": hash index does not point to it");
    }
    // A later block may carry the same transaction bytes again; the index then names the
    // later one, which is fine as long as it is within the chain.
    const std::vector<Hash256> tx_hashes = block->TxHashes();
    for (size_t i = 0; i < tx_hashes.size(); ++i) {
        auto record = kv.Get(TxKey(tx_hashes[i]));
        if (!record.ok()) return record.status();
        std::optional<TxLocation> loc = *record ? DecodeTxRecord(**record) : std::nullopt;
        const bool points_here = loc && loc->height == h && loc->index < tx_hashes.size() &&
                                 tx_hashes[loc->index] == tx_hashes[i];
        const bool points_later = loc && loc->height > h && loc->height <= tip_height;
        if (!points_here && !points_later) {
            return Corruption(name + ": transaction index entry of transaction " +
                              std::to_string(i) + " is missing or does not point to it");
        }
    }
    return block;
}

}  // namespace

ChainStore::ChainStore(std::unique_ptr<KvStore> kv, ChainStoreOptions options)
    : m_kv(std::move(kv)), m_options(options) {}

Result<std::unique_ptr<ChainStore>> ChainStore::Open(std::unique_ptr<KvStore> kv,
                                                     const ChainStoreOptions& options) {
    if (!kv) return InvalidArgument("ChainStore::Open needs a key/value store");
    std::unique_ptr<ChainStore> store(new ChainStore(std::move(kv), options));
    MC_RETURN_IF_ERROR(store->LoadAndVerifyTip());
    return store;
}

ChainTip ChainStore::Tip() const {
    std::lock_guard lock(m_tip_mutex);
    return m_tip;
}

Status ChainStore::LoadAndVerifyTip() {
    auto tip_record = m_kv->Get(kTipKey);
    if (!tip_record.ok()) return tip_record.status();

    if (!*tip_record) {
        // No tip means no block was ever committed: the append that writes the first block
        // writes the tip in the same batch. Chain records without a tip mean the tip was lost.
        for (std::string_view prefix : {"b", "h", "t", "s"}) {
            auto found = FirstKey(*m_kv, prefix, prefix);
            if (!found.ok()) return found.status();
            if (*found) {
                return Corruption(
                    "m:tip is missing but the store holds chain records (key prefix \"" +
                    std::string(prefix) + "\")");
            }
        }
        std::lock_guard lock(m_tip_mutex);
        m_tip = ChainTip{};
        return Status::Ok();
    }

    std::optional<ChainTip> tip = DecodeTip(**tip_record);
    if (!tip) {
        return Corruption("m:tip record is malformed (" + std::to_string((*tip_record)->size()) +
                          " bytes, expected " + std::to_string(kTipRecordSize) + ")");
    }

    // A block above the tip would be a block whose append was not committed as one batch.
    if (tip->height < std::numeric_limits<uint64_t>::max()) {
        auto above = FirstKey(*m_kv, "b", BlockKey(tip->height + 1));
        if (!above.ok()) return above.status();
        if (*above) {
            ByteView suffix = AsBytes(**above).subspan(1);
            std::string name = suffix.size() == 8 ? BlockName(codec::DecodeU64(suffix))
                                                  : "block key " + ToHex(AsBytes(**above));
            return Corruption(name + ": stored above the tip " + std::to_string(tip->height));
        }
    }

    // Walk down from the tip; at least the tip block itself is always checked.
    const uint64_t depth = std::max<uint64_t>(m_options.verify_depth, 1);
    const uint64_t lowest = tip->height >= depth - 1 ? tip->height - (depth - 1) : 0;
    std::optional<Hash256> prev_hash_above;  // prev_hash of the block at h + 1
    for (uint64_t h = tip->height;; --h) {
        const std::string name = BlockName(h);
        auto block = LoadCheckedBlock(*m_kv, h, tip->height);
        if (!block.ok()) return block.status();
        const Hash256 hash = block->Hash();
        if (h == tip->height) {
            if (hash != tip->block_hash) return Corruption(name + ": hash differs from m:tip");
            if (block->header.state_root != tip->state_root) {
                return Corruption(name + ": state root differs from m:tip");
            }
        } else if (*prev_hash_above != hash) {
            return Corruption(BlockName(h + 1) + ": prev_hash does not link to " + name);
        }
        if (h == lowest) {
            // The block below the window is not loaded; its hash index entry still has to
            // name the height below.
            const Hash256& prev = block->header.prev_hash;
            if (h == 0) {
                if (prev != Hash256{}) return Corruption(name + ": genesis prev_hash is not zero");
            } else {
                auto below = m_kv->Get(HashKey(prev));
                if (!below.ok()) return below.status();
                if (!*below || DecodeHeight(**below) != h - 1) {
                    return Corruption(name + ": prev_hash does not link to " + BlockName(h - 1));
                }
            }
            break;
        }
        prev_hash_above = block->header.prev_hash;
    }

    std::lock_guard lock(m_tip_mutex);
    m_tip = *tip;
    return Status::Ok();
}

Status ChainStore::AppendBlock(const chain::Block& block,
                               const std::vector<chain::Receipt>& receipts,
                               const chain::WriteSet& writes) {
    return AppendBlock(block, receipts, chain::SealedWriteSet(writes));
}

Status ChainStore::AppendBlock(const chain::Block& block,
                               const std::vector<chain::Receipt>& receipts,
                               const chain::SealedWriteSet& sealed) {
    const chain::WriteSet& writes = sealed.writes();
    const ChainTip tip = Tip();
    const uint64_t height = block.header.height;
    const std::string name = BlockName(height);
    const uint64_t expected_height = tip.empty ? 0 : tip.height + 1;
    if (height != expected_height) {
        return InvalidArgument(name + ": expected height " + std::to_string(expected_height));
    }
    const Hash256 expected_prev = tip.empty ? Hash256{} : tip.block_hash;
    if (block.header.prev_hash != expected_prev) {
        return InvalidArgument(name + ": prev_hash does not match the tip's hash");
    }
    if (receipts.size() != block.transactions.size()) {
        return InvalidArgument(name + ": " + std::to_string(receipts.size()) + " receipts for " +
                               std::to_string(block.transactions.size()) + " transactions");
    }
    // Integrity failures are corruption when read back, but here they are a bad argument.
    if (Status s = chain::CheckBlockIntegrity(block); !s.ok()) return InvalidArgument(s.message());
    const Hash256 state_root = chain::NextStateRoot(tip.state_root, sealed);
    if (block.header.state_root != state_root) {
        return InvalidArgument(name + ": header state_root does not match the write set");
    }

    const Hash256 hash = block.Hash();
    KvBatch batch;
    batch.Put(BlockKey(height), chain::SerializeBlock(block));
    batch.Put(HashKey(hash), codec::EncodeU64(height));
    const std::vector<Hash256> tx_hashes = block.TxHashes();
    for (size_t i = 0; i < tx_hashes.size(); ++i) {
        batch.Put(TxKey(tx_hashes[i]),
                  EncodeTxRecord(height, static_cast<uint32_t>(i), receipts[i]));
    }
    for (const auto& [key, value] : writes) {
        if (value) {
            batch.Put(StateKey(key), *value);
        } else {
            batch.Delete(StateKey(key));
        }
    }
    ChainTip next{height, hash, state_root, false};
    batch.Put(std::string(kTipKey), EncodeTip(next));
    MC_RETURN_IF_ERROR(m_kv->Write(batch, m_options.sync));

    std::lock_guard lock(m_tip_mutex);
    m_tip = next;
    return Status::Ok();
}

Result<chain::Block> ChainStore::GetBlock(uint64_t height) const {
    const ChainTip tip = Tip();
    // Gated by the in-memory tip so a reader never sees a block whose append has not returned.
    if (tip.empty || height > tip.height) {
        return NotFound(BlockName(height) + " is beyond the tip");
    }
    auto stored = m_kv->Get(BlockKey(height));
    if (!stored.ok()) return stored.status();
    if (!*stored) return Corruption(BlockName(height) + ": missing below the tip");
    auto block = chain::ParseBlock(**stored);
    if (!block.ok()) {
        return Corruption(BlockName(height) +
                          ": stored bytes do not parse: " + block.status().message());
    }
    if (block->header.height != height) {
        return Corruption(BlockName(height) + ": stored block says height " +
                          std::to_string(block->header.height));
    }
    return block;
}

Status ChainStore::RepairBlock(const chain::Block& block) {
    const uint64_t height = block.header.height;
    const ChainTip tip = Tip();
    if (tip.empty || height > tip.height) {
        return InvalidArgument(BlockName(height) + " is beyond the tip: nothing to repair");
    }
    const Hash256 hash = block.Hash();
    auto indexed = m_kv->Get(HashKey(hash));
    if (!indexed.ok()) return indexed.status();
    if (!*indexed || DecodeHeight(**indexed) != std::optional<uint64_t>(height)) {
        return InvalidArgument(BlockName(height) + ": " + ToHex(hash).substr(0, 16) +
                               " is not the block this store committed at that height");
    }
    if (Status s = chain::CheckBlockIntegrity(block); !s.ok()) {
        return InvalidArgument(BlockName(height) + ": " + s.message());
    }
    KvBatch batch;
    batch.Put(BlockKey(height), chain::SerializeBlock(block));
    return m_kv->Write(batch, /*sync=*/true);
}

Result<chain::Block> ChainStore::GetBlockByHash(const Hash256& hash) const {
    auto indexed = m_kv->Get(HashKey(hash));
    if (!indexed.ok()) return indexed.status();
    if (!*indexed) return NotFound("no block with hash " + ToHex(hash));
    std::optional<uint64_t> height = DecodeHeight(**indexed);
    if (!height) return Corruption("hash index entry of " + ToHex(hash) + " is malformed");
    auto block = GetBlock(*height);
    if (!block.ok()) {
        // An index entry above the tip belongs to an append still in flight.
        if (block.status().code() == StatusCode::kNotFound) {
            return NotFound("no block with hash " + ToHex(hash));
        }
        return block.status();
    }
    if (block->Hash() != hash) {
        return Corruption(BlockName(*height) + ": hash index entry of " + ToHex(hash) +
                          " names a different block");
    }
    return block;
}

Result<TxLocation> ChainStore::FindTransaction(const Hash256& tx_hash) const {
    auto record = m_kv->Get(TxKey(tx_hash));
    if (!record.ok()) return record.status();
    if (!*record) return NotFound("transaction " + ToHex(tx_hash) + " not found");
    std::optional<TxLocation> loc = DecodeTxRecord(**record);
    if (!loc) return Corruption("transaction index entry of " + ToHex(tx_hash) + " is malformed");
    const ChainTip tip = Tip();
    if (tip.empty || loc->height > tip.height) {
        return NotFound("transaction " + ToHex(tx_hash) + " not found");
    }
    return *loc;
}

Result<std::optional<Bytes>> ChainStore::GetState(std::string_view key) const {
    return m_kv->Get(StateKey(key));
}

Status ChainStore::ScanState(std::string_view prefix,
                             const std::function<bool(std::string_view, ByteView)>& fn) const {
    return m_kv->Scan(StateKey(prefix), [&](std::string_view key, ByteView value) {
        return fn(key.substr(1), value);
    });
}

Status ChainStore::PutMeta(std::string_view name, ByteView value) {
    return WriteMeta({{std::string(name), Bytes(value.begin(), value.end())}});
}

Result<std::optional<Bytes>> ChainStore::GetMeta(std::string_view name) const {
    return m_kv->Get(MetaKey(name));
}

Status ChainStore::WriteMeta(
    const std::vector<std::pair<std::string, std::optional<Bytes>>>& records, bool sync) {
    // Synced by default, whatever options.sync says: these records (a consensus vote) are
    // what keeps a restarted node from contradicting itself.
    KvBatch batch;
    for (const auto& [name, value] : records) {
        if (name.empty() || name == kTipKey.substr(kMetaPrefix.size())) {
            return InvalidArgument("metadata name \"" + name + "\" is reserved");
        }
        if (value) {
            batch.Put(MetaKey(name), *value);
        } else {
            batch.Delete(MetaKey(name));
        }
    }
    return m_kv->Write(batch, sync);
}

Result<std::map<std::string, Bytes>> ChainStore::ScanMeta(std::string_view prefix) const {
    std::map<std::string, Bytes> out;
    const std::string full = MetaKey(prefix);
    Status s = m_kv->Scan(full, [&](std::string_view key, ByteView value) {
        out.emplace(std::string(key.substr(kMetaPrefix.size())), Bytes(value.begin(), value.end()));
        return true;
    });
    if (!s.ok()) return s;
    return out;
}

}  // namespace meterchain::storage
