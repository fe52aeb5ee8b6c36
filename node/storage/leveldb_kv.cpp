#include <fcntl.h>
#include <leveldb/cache.h>
#include <leveldb/db.h>
#include <leveldb/env.h>
#include <leveldb/filter_policy.h>
#include <leveldb/iterator.h>
#include <leveldb/options.h>
#include <leveldb/write_batch.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "node/storage/kv_store.h"

namespace meterchain::storage {

namespace {

constexpr int kBloomBitsPerKey = 10;  // ~1% false positives, LevelDB's recommended setting
// Each table LevelDB keeps open holds one descriptor (PreadFile) plus its index and filter in
// memory, roughly 55 KiB per 2 MiB table (estimated from heaptrack), so that memory grows
// with the chain up to this bound: LevelDB keeps up to kMaxOpenFiles - 10 tables open. At 500
// that came to ~26 MiB more once a node held 1 GB; at 100 it is ~5 MiB. Reopening an evicted
// table costs a few reads: with only 30 tables allowed, a node under 300 tx/s for 10 minutes
// opened 1-2 tables a second, compactions' new tables included.
constexpr int kMaxOpenFiles = 100;
// Every open table keeps its index block in memory, one entry per data block, for as long as
// the table is open; with LevelDB's 4 KiB blocks that came to ~30 KiB per 2 MiB table, and
// the node's RSS grew with the data written (0.84 MiB of index blocks after five minutes at
// 150 tx/s, heaptrack). 16 KiB blocks make the index a quarter of that. Reads are few (state
// of recent blocks, the occasional block or transaction lookup), and the bloom filter keeps
// misses from reading blocks at all.
constexpr size_t kBlockBytes = 16u << 10;

// A table file read with pread(2). LevelDB's default on 64-bit Linux maps up to 1000 table
// files into memory instead; every page a read or a compaction touches then counts towards
// the node's RSS, which swings by the size of the files being compacted. Reads through the
// page cache cost the same and keep RSS to what the node allocates.
class PreadFile final : public leveldb::RandomAccessFile {
public:
    PreadFile(std::string name, int fd) : m_name(std::move(name)), m_fd(fd) {}
    ~PreadFile() override { ::close(m_fd); }
    PreadFile(const PreadFile&) = delete;
    PreadFile& operator=(const PreadFile&) = delete;

    leveldb::Status Read(uint64_t offset, size_t n, leveldb::Slice* result,
                         char* scratch) const override {
        size_t got = 0;
        while (got < n) {
            const ssize_t r = ::pread(m_fd, scratch + got, n - got, static_cast<off_t>(offset + got));
            if (r < 0 && errno == EINTR) continue;
            if (r < 0) {
                *result = leveldb::Slice(scratch, 0);
                return leveldb::Status::IOError(m_name, std::strerror(errno));
            }
            if (r == 0) break;  // end of file: a short read, as LevelDB's own file reports
            got += static_cast<size_t>(r);
        }
        *result = leveldb::Slice(scratch, got);
        return leveldb::Status::OK();
    }

private:
    const std::string m_name;
    const int m_fd;
};

// The default environment with PreadFile for random-access reads.
class PreadEnv final : public leveldb::EnvWrapper {
public:
    PreadEnv() : leveldb::EnvWrapper(leveldb::Env::Default()) {}
    leveldb::Status NewRandomAccessFile(const std::string& name,
                                        leveldb::RandomAccessFile** result) override {
        *result = nullptr;
        const int fd = ::open(name.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            const int err = errno;
            return err == ENOENT ? leveldb::Status::NotFound(name, std::strerror(err))
                                 : leveldb::Status::IOError(name, std::strerror(err));
        }
        *result = new PreadFile(name, fd);
        return leveldb::Status::OK();
    }
};

leveldb::Env* SharedPreadEnv() {
    static PreadEnv* env = new PreadEnv();  // never destroyed: databases may outlive statics
    return env;
}

leveldb::Slice ToSlice(std::string_view s) { return {s.data(), s.size()}; }
leveldb::Slice ToSlice(ByteView b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }
ByteView ToByteView(const leveldb::Slice& s) {
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Maps a failed leveldb::Status to ours, keeping LevelDB's text (it names the file).
Status FromLevelDb(const leveldb::Status& s, const std::string& path) {
    std::string message = "leveldb at " + path + ": " + s.ToString();
    if (s.IsCorruption()) return Corruption(std::move(message));
    if (s.IsIOError()) return IoError(std::move(message));
    if (s.IsNotFound()) return NotFound(std::move(message));
    return InvalidArgument(std::move(message));
}

// LevelDB takes two locks on <path>/LOCK: an in-process table (the fcntl lock below it is per
// process, so a second open from the same process would otherwise succeed and then lose the
// lock when either handle closes) and the fcntl lock that excludes other processes. Both fail
// as an IOError "lock <path>/LOCK: ..."; there is no dedicated status code, so we recognise
// the message. Matching on the lock file name keeps an unrelated I/O error whose text
// happens to contain "lock" from being reported as a busy directory.
Status OpenError(const leveldb::Status& s, const std::string& path) {
    const std::string text = s.ToString();
    const bool lock_failed =
        s.IsIOError() && text.find("lock " + path + "/LOCK") != std::string::npos;
    if (lock_failed && text.find("already held by process") != std::string::npos) {
        return {StatusCode::kLocked, "data dir " + path + " is already open in this process"};
    }
    if (lock_failed ||
        (s.IsIOError() && text.find("Resource temporarily unavailable") != std::string::npos)) {
        std::string message = "data dir " + path + " is in use by another process";
        return {StatusCode::kLocked, message + " (is another meterchaind running?)"};
    }
    if (s.IsInvalidArgument() && text.find("does not exist") != std::string::npos) {
        return NotFound("leveldb at " + path + ": " + text);
    }
    return FromLevelDb(s, path);
}

class LevelDbKv final : public KvStore {
public:
    LevelDbKv(std::string path, std::unique_ptr<const leveldb::FilterPolicy> filter,
              std::unique_ptr<leveldb::Cache> cache, std::unique_ptr<leveldb::DB> db)
        : m_path(std::move(path)),
          m_filter(std::move(filter)),
          m_cache(std::move(cache)),
          m_db(std::move(db)) {}

    Result<std::optional<Bytes>> Get(std::string_view key) const override {
        std::string value;
        leveldb::Status s = m_db->Get(ReadOpts(), ToSlice(key), &value);
        if (s.IsNotFound()) return std::optional<Bytes>();
        if (!s.ok()) return FromLevelDb(s, m_path);
        return std::optional<Bytes>(ToBytes(value));
    }

    Status Write(const KvBatch& batch, bool sync) override {
        leveldb::WriteBatch wb;
        for (const auto& [key, value] : batch.ops()) {
            if (value) {
                wb.Put(ToSlice(key), ToSlice(ByteView(*value)));
            } else {
                wb.Delete(ToSlice(key));
            }
        }
        leveldb::WriteOptions options;
        options.sync = sync;
        leveldb::Status s = m_db->Write(options, &wb);
        if (!s.ok()) return FromLevelDb(s, m_path);
        return Status::Ok();
    }

    Status Scan(std::string_view prefix,
                const std::function<bool(std::string_view, ByteView)>& fn) const override {
        return ScanFrom(prefix, prefix, fn);
    }

    Status ScanFrom(std::string_view prefix, std::string_view start,
                    const std::function<bool(std::string_view, ByteView)>& fn) const override {
        std::unique_ptr<leveldb::Iterator> it(m_db->NewIterator(ReadOpts()));
        it->Seek(ToSlice(start < prefix ? prefix : start));
        for (; it->Valid(); it->Next()) {
            std::string_view key(it->key().data(), it->key().size());
            if (!key.starts_with(prefix)) break;
            if (!fn(key, ToByteView(it->value()))) break;
        }
        if (!it->status().ok()) return FromLevelDb(it->status(), m_path);
        return Status::Ok();
    }

private:
    static leveldb::ReadOptions ReadOpts() {
        leveldb::ReadOptions options;
        // Stored blocks are the ledger: a bad checksum must surface, not return wrong bytes.
        options.verify_checksums = true;
        return options;
    }

    std::string m_path;
    // The DB uses the filter policy and the cache until it is closed, so it is declared
    // last: members are destroyed in reverse order, the DB first.
    std::unique_ptr<const leveldb::FilterPolicy> m_filter;
    std::unique_ptr<leveldb::Cache> m_cache;
    std::unique_ptr<leveldb::DB> m_db;
};

}  // namespace

Result<std::unique_ptr<KvStore>> OpenLevelDb(const std::string& path,
                                             const LevelDbOptions& options) {
    std::unique_ptr<const leveldb::FilterPolicy> filter(
        leveldb::NewBloomFilterPolicy(kBloomBitsPerKey));
    std::unique_ptr<leveldb::Cache> cache(leveldb::NewLRUCache(options.block_cache_bytes));

    leveldb::Options db_options;
    db_options.create_if_missing = options.create_if_missing;
    db_options.write_buffer_size = options.write_buffer_bytes;
    db_options.block_cache = cache.get();
    db_options.filter_policy = filter.get();
    db_options.env = SharedPreadEnv();
    db_options.max_open_files = kMaxOpenFiles;
    db_options.block_size = kBlockBytes;
    // Fail loudly on damaged files instead of silently dropping records: a dropped log
    // record in the middle could lose one block while keeping the next. A log tail cut short
    // by a crash is not damage to LevelDB and still opens.
    db_options.paranoid_checks = true;

    leveldb::DB* raw = nullptr;
    leveldb::Status s = leveldb::DB::Open(db_options, path, &raw);
    if (!s.ok()) return OpenError(s, path);
    return std::unique_ptr<KvStore>(std::make_unique<LevelDbKv>(
        path, std::move(filter), std::move(cache), std::unique_ptr<leveldb::DB>(raw)));
}

}  // namespace meterchain::storage
