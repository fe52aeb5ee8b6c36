// Read-only access to the chain a node stored, record by record, for tools that must not
// trust what they read (replay, export). storage::ChainStore checks its records as it opens
// them and refuses a store whose tip is damaged; an auditor needs to read exactly such a
// store and find the first record that is wrong, so this reader decodes the records of the
// key layout documented in node/storage/chain_store.h without judging them.
//
// Thread-safety: every method may be called concurrently (the KvStore serves concurrent
// reads). The reader does not own the store, which must outlive it.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "node/base/bytes.h"
#include "node/base/status.h"
#include "node/chain/types.h"
#include "node/storage/kv_store.h"

namespace meterchain::audit {

// The "m:tip" record.
struct StoredTip {
    uint64_t height = 0;
    Hash256 block_hash{};
    Hash256 state_root{};
};

// A "t" record: where the store says a transaction is, and its receipt.
struct StoredTxRecord {
    uint64_t height = 0;
    uint32_t index = 0;
    chain::Receipt receipt;
};

class ChainReader {
public:
    explicit ChainReader(const storage::KvStore& kv) : m_kv(kv) {}

    // nullopt when the store holds no tip record (an empty store); kCorruption when the
    // record is malformed; kIoError from the store.
    Result<std::optional<StoredTip>> Tip() const;
    // The raw bytes stored for height `h` (nullopt when absent).
    Result<std::optional<Bytes>> BlockBytes(uint64_t h) const;
    // The height the hash index names for `hash` (nullopt when absent or malformed).
    Result<std::optional<uint64_t>> HeightOfHash(const Hash256& hash) const;
    // The transaction index record of `tx_hash` (nullopt when absent or malformed).
    Result<std::optional<StoredTxRecord>> TxRecord(const Hash256& tx_hash) const;
    // One state value (nullopt when absent).
    Result<std::optional<Bytes>> State(std::string_view key) const;
    // Visits every state entry whose key starts with `prefix`, in key order, until `fn`
    // returns false. Keys are given without the storage prefix.
    Status ScanState(std::string_view prefix,
                     const std::function<bool(std::string_view, ByteView)>& fn) const;
    // The lowest stored block height at or above `h`, if any.
    Result<std::optional<uint64_t>> FirstBlockAtOrAbove(uint64_t h) const;

    // Key encodings of the layout (exposed for tests that tamper with a store).
    static std::string BlockKey(uint64_t h);
    static std::string HashKey(const Hash256& hash);
    static std::string TxKey(const Hash256& hash);
    static std::string StateKey(std::string_view key);
    static constexpr std::string_view kTipKey = "m:tip";

private:
    const storage::KvStore& m_kv;
};

}  // namespace meterchain::audit
