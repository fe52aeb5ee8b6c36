// The block store and state store of one node, on top of a KvStore.
//
// Key layout (one prefix per kind of record; numbers big-endian so order is numeric):
//   "b" height(8)            -> serialized block (chain::SerializeBlock)
//   "h" block hash(32)       -> height(8)
//   "t" tx hash(32)          -> height(8) index(4) receipt code(4) receipt message
//   "s" state key            -> state value
//   "m:tip"                  -> height(8) block hash(32) state root(32)
//   "m:" name                -> small metadata records (consensus persistence etc.)
//
// AppendBlock writes the block, its index entries, receipts, state writes and the new tip in
// ONE synced WriteBatch: after a crash a block is either completely there or not at all.
//
// Thread-safety: reads may run concurrently with each other and with one writer; appends
// must be serialised by the caller (the node has a single committing thread).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "node/base/bytes.h"
#include "node/base/status.h"
#include "node/chain/state.h"
#include "node/chain/types.h"
#include "node/storage/kv_store.h"

namespace meterchain::storage {

struct ChainTip {
    uint64_t height = 0;  // meaningful only when !empty
    Hash256 block_hash{};
    Hash256 state_root{};  // zero before genesis
    bool empty = true;     // no block stored yet
};

struct TxLocation {
    uint64_t height = 0;
    uint32_t index = 0;
    chain::Receipt receipt;
};

struct ChainStoreOptions {
    // How many blocks below the tip Open() re-reads and checks (hash links, tx roots,
    // certificate hashes, index entries). The tip block is always checked, even with 0.
    uint64_t verify_depth = 64;
    // Synced appends (durable on return). Only tools that rebuild a store from scratch may
    // turn this off.
    bool sync = true;
};

class ChainStore {
public:
    // Takes ownership of `kv`, reads the tip and verifies the last verify_depth blocks.
    // Errors: kCorruption naming the first bad height (e.g. "block 1042: prev_hash does not
    // link to block 1041").
    static Result<std::unique_ptr<ChainStore>> Open(std::unique_ptr<KvStore> kv,
                                                    const ChainStoreOptions& options = {});

    ChainTip Tip() const;

    // Appends block at height Tip().height + 1 (0 for an empty store) whose prev_hash is the
    // tip's hash, with the receipts (one per transaction, same order) and the state writes.
    // The block's header.state_root must equal chain::NextStateRoot(tip.state_root, writes).
    // Errors: kInvalidArgument (wrong height, broken link, receipt count, state root mismatch,
    // integrity failure), kIoError from the store. On error nothing is written.
    Status AppendBlock(const chain::Block& block, const std::vector<chain::Receipt>& receipts,
                       const chain::WriteSet& writes);
    // The same with the write set's digest already computed (the executor's, which derived the
    // header's state root from it): the check then does not hash the records again.
    Status AppendBlock(const chain::Block& block, const std::vector<chain::Receipt>& receipts,
                       const chain::SealedWriteSet& writes);

    Result<chain::Block> GetBlock(uint64_t height) const;          // kNotFound beyond the tip
    // Replaces the stored copy of the committed block at block.header.height (a copy that no
    // longer reads back: kCorruption from GetBlock) with `block`, which must be the very block
    // this store committed there: its hash is the one the store's hash index holds for that
    // height, and its transactions match its header (chain::CheckBlockIntegrity). Synced.
    // kInvalidArgument when it is not (nothing written), kIoError from the store. Like
    // AppendBlock, must not run concurrently with another writer.
    Status RepairBlock(const chain::Block& block);
    Result<chain::Block> GetBlockByHash(const Hash256& hash) const;
    Result<TxLocation> FindTransaction(const Hash256& tx_hash) const;  // kNotFound if absent
    Result<std::optional<Bytes>> GetState(std::string_view key) const;
    // Visits state entries whose key starts with `prefix`, in key order. `fn` must not call
    // back into this store (see KvStore::Scan).
    Status ScanState(std::string_view prefix,
                     const std::function<bool(std::string_view, ByteView)>& fn) const;

    // Small durable records outside the chain (e.g. the consensus engine's last vote).
    // Synced, whatever options.sync says. kInvalidArgument for an empty name or
    // "tip" (the tip record is written only by AppendBlock).
    Status PutMeta(std::string_view name, ByteView value);
    Result<std::optional<Bytes>> GetMeta(std::string_view name) const;
    // Several metadata writes (nullopt value = delete) in one batch, synced unless `sync` is
    // false (for records whose loss in a crash is harmless: LevelDB's log then only reaches
    // the disk with the next synced write).
    Status WriteMeta(const std::vector<std::pair<std::string, std::optional<Bytes>>>& records,
                     bool sync = true);
    // Every metadata record whose name starts with `prefix`, by name (prefix included).
    Result<std::map<std::string, Bytes>> ScanMeta(std::string_view prefix) const;

private:
    ChainStore(std::unique_ptr<KvStore> kv, ChainStoreOptions options);
    Status LoadAndVerifyTip();

    std::unique_ptr<KvStore> m_kv;
    ChainStoreOptions m_options;
    mutable std::mutex m_tip_mutex;
    ChainTip m_tip;  // guarded by m_tip_mutex
};

}  // namespace meterchain::storage
