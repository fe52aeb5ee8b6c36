// Ordered key/value storage behind a small interface, with a LevelDB implementation and an
// in-memory twin for tests and simulation.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "node/base/bytes.h"
#include "node/base/status.h"

namespace meterchain::storage {

// A group of writes applied atomically: after a crash either all of them are visible or none.
class KvBatch {
public:
    void Put(std::string key, Bytes value) { m_ops.emplace_back(std::move(key), std::move(value)); }
    void Delete(std::string key) { m_ops.emplace_back(std::move(key), std::nullopt); }
    const std::vector<std::pair<std::string, std::optional<Bytes>>>& ops() const { return m_ops; }
    bool empty() const { return m_ops.empty(); }

private:
    std::vector<std::pair<std::string, std::optional<Bytes>>> m_ops;
};

// Thread-safety: all methods may be called concurrently (LevelDB is internally synchronised;
// MemKv locks).
class KvStore {
public:
    virtual ~KvStore() = default;
    // nullopt when the key is absent; an error only when the store itself fails.
    virtual Result<std::optional<Bytes>> Get(std::string_view key) const = 0;
    // `sync` = true returns only after the batch is durable (fsync of the log).
    virtual Status Write(const KvBatch& batch, bool sync) = 0;
    // Calls `fn(key, value)` for every key starting with `prefix`, in key order, until it
    // returns false. The views are valid only during the call. `fn` must not call back into
    // the same store (MemKv holds its lock while calling it).
    virtual Status Scan(std::string_view prefix,
                        const std::function<bool(std::string_view, ByteView)>& fn) const = 0;
    // Like Scan, but starts at the first key >= `start` (keys below it are skipped), so
    // "is there anything above X" costs one seek. The default filters a full Scan; the
    // implementations here override it with a seek.
    virtual Status ScanFrom(std::string_view prefix, std::string_view start,
                            const std::function<bool(std::string_view, ByteView)>& fn) const {
        return Scan(prefix, [&](std::string_view key, ByteView value) {
            return key < start || fn(key, value);
        });
    }
};

struct LevelDbOptions {
    bool create_if_missing = true;
    // Reads are of recent blocks and hot state; older data comes through the page cache
    // (tables are read with pread), which does not count towards the node's RSS. Kept small
    // because it fills slowly: at 150 tx/s a 4 MiB cache was still filling after five
    // minutes (heaptrack), which showed as RSS growth; 1 MiB is full within the first minutes.
    size_t block_cache_bytes = 1u << 20;
    // One memtable fills to this size while the previous one is written out, so a node holds
    // up to about twice this in memtables, and its RSS swings by that much. A quarter of
    // LevelDB's default: with 4 MiB, the highest RSS sample of a 10-minute soak was up to
    // 1.7 MiB above the one at the end of the load; with 2 MiB, the memtables alone still
    // swung a node's ~35 MiB RSS by up to a tenth (heaptrack: 0 to 4 MiB). At ~1 MB/s of
    // writes a memtable now goes to disk about once a second, which LevelDB's compaction
    // keeps up with easily.
    size_t write_buffer_bytes = 1u << 20;
};

// Opens (creating if asked) a LevelDB database in `path`. The directory stays locked until
// the returned store is destroyed.
// Errors: kLocked when another process holds the directory ("data dir ... is in use by
// another process"), or when this process already has it open ("... is already open in this
// process"); kCorruption / kIoError otherwise, each naming the path; kNotFound when the
// database does not exist and create_if_missing is false.
Result<std::unique_ptr<KvStore>> OpenLevelDb(const std::string& path,
                                             const LevelDbOptions& options = {});

// In-memory twin. Data lives as long as the object.
std::unique_ptr<KvStore> NewMemKv();

}  // namespace meterchain::storage
