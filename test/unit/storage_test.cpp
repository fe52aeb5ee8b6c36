#include <fcntl.h>
#include <leveldb/db.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <optional>
#include <random>
#include <string>

#include "node/base/codec.h"
#include "node/chain/merkle.h"
#include "node/chain/proto_adapter.h"
#include "node/chain/state.h"
#include "node/storage/chain_store.h"
#include "node/storage/kv_store.h"

using namespace meterchain;
using namespace meterchain::storage;
using chain::Block;
using chain::Receipt;
using chain::Transaction;
using chain::WriteSet;

namespace {

// ---- fixtures ----

// A fresh directory under the system temp dir, removed with everything in it at scope end.
class TempDir {
public:
    TempDir() {
        std::random_device rd;
        std::uniform_int_distribution<uint64_t> dist;
        char suffix[17];
        std::snprintf(suffix, sizeof(suffix), "%016llx", static_cast<unsigned long long>(dist(rd)));
        m_path =
            std::filesystem::temp_directory_path() / ("mc_storage_test_" + std::string(suffix));
        std::filesystem::create_directories(m_path);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(m_path, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    // The LevelDB directory inside (LevelDB creates it).
    std::string Db() const { return (m_path / "db").string(); }

private:
    std::filesystem::path m_path;
};

// Counts Write calls on the way through, to prove a rejected append wrote nothing.
class CountingKv final : public KvStore {
public:
    CountingKv(std::unique_ptr<KvStore> inner, std::shared_ptr<std::atomic<int>> writes)
        : m_inner(std::move(inner)), m_writes(std::move(writes)) {}
    Result<std::optional<Bytes>> Get(std::string_view key) const override {
        return m_inner->Get(key);
    }
    Status Write(const KvBatch& batch, bool sync) override {
        ++*m_writes;
        return m_inner->Write(batch, sync);
    }
    Status Scan(std::string_view prefix,
                const std::function<bool(std::string_view, ByteView)>& fn) const override {
        return m_inner->Scan(prefix, fn);
    }
    Status ScanFrom(std::string_view prefix, std::string_view start,
                    const std::function<bool(std::string_view, ByteView)>& fn) const override {
        return m_inner->ScanFrom(prefix, start, fn);
    }

private:
    std::unique_ptr<KvStore> m_inner;
    std::shared_ptr<std::atomic<int>> m_writes;
};

// Raw keys, as documented in chain_store.h, for tests that reach under the ChainStore.
std::string RawKey(char prefix, ByteView suffix) {
    std::string key(1, prefix);
    key.append(suffix.begin(), suffix.end());
    return key;
}
std::string RawBlockKey(uint64_t height) { return RawKey('b', codec::EncodeU64(height)); }
std::string RawHashKey(const Hash256& hash) { return RawKey('h', hash); }
std::string RawTxKey(const Hash256& hash) { return RawKey('t', hash); }

// A block that passes every check AppendBlock makes on top of `tip`. Transactions are
// arbitrary bytes: the store does not verify signatures.
Block MakeNextBlock(const ChainTip& tip, std::vector<Transaction> txs, const WriteSet& writes) {
    Block b;
    b.header.chain_id = "storage-test";
    b.header.height = tip.empty ? 0 : tip.height + 1;
    b.header.prev_hash = tip.empty ? Hash256{} : tip.block_hash;
    b.header.view = 1;
    b.header.timestamp_ms = 1700000000000 + b.header.height * 1000;
    b.transactions = std::move(txs);
    b.header.tx_root = chain::MerkleRoot(b.TxHashes());
    b.header.state_root = chain::NextStateRoot(tip.state_root, writes);
    b.certificate.height = b.header.height;
    b.certificate.view = 1;
    b.certificate.block_hash = b.Hash();
    b.certificate.signatures.push_back({0, ToBytes("not-checked-here")});
    return b;
}

// Deterministic content of block `height`, so a checker can recompute what the block at any
// height holds (including the one a killed writer was in the middle of).
std::string Pad(uint64_t v) {
    char buf[24];
    std::snprintf(buf, sizeof(buf), "%010llu", static_cast<unsigned long long>(v));
    return buf;
}
constexpr size_t kTxsPerBlock = 3;
std::vector<Transaction> TxsFor(uint64_t height, size_t n = kTxsPerBlock) {
    std::vector<Transaction> txs;
    for (size_t i = 0; i < n; ++i) {
        txs.push_back(
            Transaction{ToBytes("tx/" + Pad(height) + "/" + std::to_string(i)), ToBytes("sig")});
    }
    return txs;
}
std::vector<Receipt> ReceiptsFor(uint64_t height, size_t n = kTxsPerBlock) {
    std::vector<Receipt> receipts;
    for (size_t i = 0; i < n; ++i) {
        receipts.push_back(Receipt{static_cast<uint32_t>(i), "receipt " + Pad(height)});
    }
    return receipts;
}
// acc/<h>/<i> stays forever, latest is overwritten, tmp/<h> replaces (deletes) tmp/<h-1>.
std::string AccKey(uint64_t height, size_t i) {
    return "acc/" + Pad(height) + "/" + std::to_string(i);
}
WriteSet WritesFor(uint64_t height) {
    WriteSet w;
    for (size_t i = 0; i < kTxsPerBlock; ++i) w[AccKey(height, i)] = codec::EncodeU64(height);
    w["latest"] = codec::EncodeU64(height);
    w["tmp/" + Pad(height)] = codec::EncodeU64(height);
    if (height > 0) w["tmp/" + Pad(height - 1)] = std::nullopt;
    return w;
}
Status AppendStandard(ChainStore& store) {
    const ChainTip tip = store.Tip();
    const uint64_t h = tip.empty ? 0 : tip.height + 1;
    WriteSet writes = WritesFor(h);
    return store.AppendBlock(MakeNextBlock(tip, TxsFor(h), writes), ReceiptsFor(h), writes);
}

std::unique_ptr<KvStore> MustOpenLevelDb(const std::string& path) {
    auto kv = OpenLevelDb(path);
    INFO(kv.status().ToString());
    REQUIRE(kv.ok());
    return std::move(*kv);
}
std::unique_ptr<ChainStore> MustOpenStore(std::unique_ptr<KvStore> kv,
                                          const ChainStoreOptions& options = {}) {
    auto store = ChainStore::Open(std::move(kv), options);
    INFO(store.status().ToString());
    REQUIRE(store.ok());
    return std::move(*store);
}

// Checks every height <= tip holds the standard content (block, hash index, tx index with
// receipts, state writes) and that the deletes and overwrites of later blocks took effect.
void CheckStandardChain(const ChainStore& store) {
    const ChainTip tip = store.Tip();
    REQUIRE_FALSE(tip.empty);
    for (uint64_t h = 0; h <= tip.height; ++h) {
        INFO("height " << h);
        auto block = store.GetBlock(h);
        REQUIRE(block.ok());
        REQUIRE(block->header.height == h);
        REQUIRE(block->transactions == TxsFor(h));
        auto by_hash = store.GetBlockByHash(block->Hash());
        REQUIRE(by_hash.ok());
        REQUIRE(*by_hash == *block);
        const auto receipts = ReceiptsFor(h);
        for (size_t i = 0; i < kTxsPerBlock; ++i) {
            auto loc = store.FindTransaction(block->transactions[i].Hash());
            REQUIRE(loc.ok());
            REQUIRE(loc->height == h);
            REQUIRE(loc->index == i);
            REQUIRE(loc->receipt == receipts[i]);
            auto value = store.GetState(AccKey(h, i));
            REQUIRE(value.ok());
            REQUIRE(*value == std::optional<Bytes>(codec::EncodeU64(h)));
        }
        if (h == tip.height) REQUIRE(block->Hash() == tip.block_hash);
    }
    auto latest = store.GetState("latest");
    REQUIRE(latest.ok());
    REQUIRE(*latest == std::optional<Bytes>(codec::EncodeU64(tip.height)));
    std::vector<std::string> tmp_keys;
    REQUIRE(store
                .ScanState("tmp/",
                           [&](std::string_view key, ByteView) {
                               tmp_keys.emplace_back(key);
                               return true;
                           })
                .ok());
    REQUIRE(tmp_keys == std::vector<std::string>{"tmp/" + Pad(tip.height)});
}

// Nothing of block tip+1 may be in the key/value store: no block, tx index or state key.
void CheckNothingAbove(const KvStore& kv, uint64_t tip_height) {
    const uint64_t next = tip_height + 1;
    auto block = kv.Get(RawBlockKey(next));
    REQUIRE(block.ok());
    CHECK_FALSE(block->has_value());
    for (const auto& tx : TxsFor(next)) {
        auto entry = kv.Get(RawTxKey(tx.Hash()));
        REQUIRE(entry.ok());
        CHECK_FALSE(entry->has_value());
    }
    for (size_t i = 0; i < kTxsPerBlock; ++i) {
        auto state = kv.Get("s" + AccKey(next, i));
        REQUIRE(state.ok());
        CHECK_FALSE(state->has_value());
    }
    auto tmp = kv.Get("stmp/" + Pad(next));
    REQUIRE(tmp.ok());
    CHECK_FALSE(tmp->has_value());
}

// Reads up to `n` bytes, waiting at most until `deadline`. Returns the bytes read; fewer than
// `n` means EOF or the deadline. With a past deadline it drains what is already readable.
std::string ReadWithDeadline(int fd, size_t n, std::chrono::steady_clock::time_point deadline) {
    std::string out;
    while (out.size() < n) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        pollfd p{fd, POLLIN, 0};
        // A deadline in the past still takes what is already there.
        int r = poll(&p, 1, static_cast<int>(std::max<int64_t>(left.count(), 0)));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        char buf[4096];
        ssize_t got = read(fd, buf, std::min(sizeof(buf), n - out.size()));
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        out.append(buf, static_cast<size_t>(got));
    }
    return out;
}

double Seconds(std::chrono::steady_clock::duration d) {
    return std::chrono::duration<double>(d).count();
}

struct StoreKind {
    const char* name;
    bool leveldb;
};

}  // namespace

// ---- 1 + 3: the basic contract, on both stores ----

TEST_CASE("blocks, indexes and state read back after append and after reopen", "[storage]") {
    const StoreKind kind = GENERATE(StoreKind{"leveldb", true}, StoreKind{"memory", false});
    INFO("store: " << kind.name);
    TempDir dir;
    auto open_kv = [&] { return kind.leveldb ? MustOpenLevelDb(dir.Db()) : NewMemKv(); };

    auto store = MustOpenStore(open_kv());
    CHECK(store->Tip().empty);
    CHECK(store->GetBlock(0).status().code() == StatusCode::kNotFound);

    for (int i = 0; i < 5; ++i) REQUIRE(AppendStandard(*store).ok());
    const ChainTip tip = store->Tip();
    CHECK_FALSE(tip.empty);
    CHECK(tip.height == 4);
    CheckStandardChain(*store);

    // Deletes in the write set: tmp/<h-1> was deleted by block h.
    auto deleted = store->GetState("tmp/" + Pad(3));
    REQUIRE(deleted.ok());
    CHECK_FALSE(deleted->has_value());

    // Scan visits exactly the prefix, in key order, and stops when asked.
    std::vector<std::string> keys;
    REQUIRE(store
                ->ScanState("acc/" + Pad(2) + "/",
                            [&](std::string_view key, ByteView) {
                                keys.emplace_back(key);
                                return true;
                            })
                .ok());
    CHECK(keys == std::vector<std::string>{AccKey(2, 0), AccKey(2, 1), AccKey(2, 2)});
    int visited = 0;
    REQUIRE(
        store->ScanState("acc/", [&](std::string_view, ByteView) { return ++visited < 4; }).ok());
    CHECK(visited == 4);

    // Absent things are kNotFound, not errors of the store.
    CHECK(store->GetBlock(5).status().code() == StatusCode::kNotFound);
    CHECK(store->GetBlockByHash(Hash256{1}).status().code() == StatusCode::kNotFound);
    CHECK(store->FindTransaction(Hash256{1}).status().code() == StatusCode::kNotFound);

    // Metadata records, and the tip record is not one of them.
    REQUIRE(store->PutMeta("pbft/vote", ToBytes("v7")).ok());
    CHECK(store->PutMeta("tip", ToBytes("x")).code() == StatusCode::kInvalidArgument);
    auto meta = store->GetMeta("pbft/vote");
    REQUIRE(meta.ok());
    CHECK(*meta == std::optional<Bytes>(ToBytes("v7")));

    if (kind.leveldb) {
        LevelDbOptions no_create;
        no_create.create_if_missing = false;
        CHECK(OpenLevelDb(dir.Db() + "-absent", no_create).status().code() ==
              StatusCode::kNotFound);

        store.reset();  // closes LevelDB and releases the directory lock
        auto reopened = MustOpenStore(MustOpenLevelDb(dir.Db()));
        const ChainTip again = reopened->Tip();
        CHECK(again.height == tip.height);
        CHECK(again.block_hash == tip.block_hash);
        CHECK(again.state_root == tip.state_root);
        CheckStandardChain(*reopened);
        auto meta_again = reopened->GetMeta("pbft/vote");
        REQUIRE(meta_again.ok());
        CHECK(*meta_again == std::optional<Bytes>(ToBytes("v7")));
        REQUIRE(AppendStandard(*reopened).ok());  // and the chain continues
        CHECK(reopened->Tip().height == 5);
    }
}

// ---- 2: rejections write nothing ----

TEST_CASE("a rejected append writes nothing and leaves the tip alone", "[storage]") {
    const StoreKind kind = GENERATE(StoreKind{"leveldb", true}, StoreKind{"memory", false});
    INFO("store: " << kind.name);
    TempDir dir;
    auto writes_seen = std::make_shared<std::atomic<int>>(0);
    auto store = MustOpenStore(std::make_unique<CountingKv>(
        kind.leveldb ? MustOpenLevelDb(dir.Db()) : NewMemKv(), writes_seen));
    for (int i = 0; i < 3; ++i) REQUIRE(AppendStandard(*store).ok());
    const ChainTip tip = store->Tip();
    const int writes_before = *writes_seen;

    const uint64_t h = tip.height + 1;
    const WriteSet writes = WritesFor(h);
    const Block good = MakeNextBlock(tip, TxsFor(h), writes);
    const auto receipts = ReceiptsFor(h);

    auto expect_rejected = [&](const Block& block, const std::vector<Receipt>& r, const WriteSet& w,
                               const std::string& reason) {
        Status s = store->AppendBlock(block, r, w);
        INFO(s.ToString());
        CHECK(s.code() == StatusCode::kInvalidArgument);
        CHECK(s.message().find(reason) != std::string::npos);
        CHECK(*writes_seen == writes_before);
        CHECK(store->Tip().block_hash == tip.block_hash);
        CHECK(store->GetBlock(h).status().code() == StatusCode::kNotFound);
        CHECK(store->FindTransaction(good.transactions[0].Hash()).status().code() ==
              StatusCode::kNotFound);
        auto state = store->GetState(AccKey(h, 0));
        REQUIRE(state.ok());
        CHECK_FALSE(state->has_value());
    };

    SECTION("wrong height") {
        ChainTip skipped = tip;
        skipped.height += 1;  // builds a block at tip+2 that links to the tip
        Block b = MakeNextBlock(skipped, TxsFor(h), writes);
        expect_rejected(b, receipts, writes, "expected height");
        // Re-appending the tip's own height is just as wrong.
        ChainTip below = tip;
        below.height -= 1;
        expect_rejected(MakeNextBlock(below, TxsFor(h), writes), receipts, writes,
                        "expected height");
    }
    SECTION("wrong prev hash") {
        ChainTip forked = tip;
        forked.block_hash[0] ^= 1;
        expect_rejected(MakeNextBlock(forked, TxsFor(h), writes), receipts, writes, "prev_hash");
    }
    SECTION("receipt count mismatch") {
        auto fewer = receipts;
        fewer.pop_back();
        expect_rejected(good, fewer, writes, "receipts for");
    }
    SECTION("state root mismatch") {
        WriteSet other = writes;
        other["extra"] = ToBytes("x");
        expect_rejected(good, receipts, other, "state_root");
    }
    SECTION("state root mismatch through a sealed write set") {
        WriteSet other = writes;
        other["extra"] = ToBytes("x");
        Status s = store->AppendBlock(good, receipts, chain::SealedWriteSet(other));
        INFO(s.ToString());
        CHECK(s.code() == StatusCode::kInvalidArgument);
        CHECK(s.message().find("state_root") != std::string::npos);
        CHECK(*writes_seen == writes_before);
        CHECK(store->Tip().block_hash == tip.block_hash);
    }
    SECTION("tx_root mismatch") {
        Block b = good;
        b.transactions.push_back(Transaction{ToBytes("smuggled"), ToBytes("sig")});
        expect_rejected(b, ReceiptsFor(h, kTxsPerBlock + 1), writes, "tx_root");
    }
    SECTION("certificate names another block") {
        Block b = good;
        b.certificate.block_hash[0] ^= 1;
        expect_rejected(b, receipts, writes, "certificate");
    }

    // After any rejection the correct block still goes in (through the sealed write set the
    // executor hands over; the plain overload above seals its argument the same way).
    REQUIRE(store->AppendBlock(good, receipts, chain::SealedWriteSet(writes)).ok());
    CHECK(store->Tip().height == h);
}

// ---- 4: corruption found on open ----

TEST_CASE("open detects damaged blocks, broken links, blocks above the tip and a lost tip",
          "[storage]") {
    TempDir dir;
    constexpr uint64_t kTip = 19;
    {
        auto store = MustOpenStore(MustOpenLevelDb(dir.Db()));
        for (uint64_t i = 0; i <= kTip; ++i) REQUIRE(AppendStandard(*store).ok());
        REQUIRE(store->Tip().height == kTip);
    }
    auto open_store = [&](uint64_t depth = 64) {
        ChainStoreOptions options;
        options.verify_depth = depth;
        return ChainStore::Open(MustOpenLevelDb(dir.Db()), options);
    };
    auto expect_corruption = [&](const std::string& prefix, const std::string& detail) {
        auto store = open_store();
        INFO(store.status().ToString());
        REQUIRE_FALSE(store.ok());
        CHECK(store.status().code() == StatusCode::kCorruption);
        CHECK(store.status().message().rfind(prefix, 0) == 0);
        CHECK(store.status().message().find(detail) != std::string::npos);
    };
    // Each section edits the store under the ChainStore, as a disk fault or a bug would.
    auto raw = [&](const std::function<void(leveldb::DB&)>& edit) {
        leveldb::DB* db = nullptr;
        leveldb::Options options;
        REQUIRE(leveldb::DB::Open(options, dir.Db(), &db).ok());
        std::unique_ptr<leveldb::DB> owned(db);
        edit(*owned);
    };
    auto read_block = [](leveldb::DB& db, uint64_t height) {
        std::string bytes;
        REQUIRE(db.Get({}, RawBlockKey(height), &bytes).ok());
        auto block = chain::ParseBlock(AsBytes(bytes));
        REQUIRE(block.ok());
        return *block;
    };
    auto put_block = [](leveldb::DB& db, const Block& block) {
        Bytes bytes = chain::SerializeBlock(block);
        REQUIRE(db.Put({}, RawBlockKey(block.header.height), ToString(bytes)).ok());
    };

    SECTION("garbage block bytes at tip-3") {
        raw([&](leveldb::DB& db) {
            REQUIRE(db.Put({}, RawBlockKey(kTip - 3), std::string(64, '\xff')).ok());
        });
        expect_corruption("block 16:", "do not parse");
        // Below the verification window it is not found at open, but reading it reports it.
        auto shallow = open_store(2);
        REQUIRE(shallow.ok());
        CHECK((*shallow)->GetBlock(kTip - 3).status().code() == StatusCode::kCorruption);
    }
    SECTION("a block replaced by another self-consistent block breaks the hash link") {
        raw([&](leveldb::DB& db) {
            Block b = read_block(db, kTip - 5);
            b.header.timestamp_ms += 1;
            b.certificate.block_hash = b.Hash();
            put_block(db, b);
            REQUIRE(db.Put({}, RawHashKey(b.Hash()), ToString(codec::EncodeU64(kTip - 5))).ok());
        });
        expect_corruption("block 15:", "prev_hash does not link to block 14");
    }
    SECTION("a hash index entry that no longer points to its block") {
        raw([&](leveldb::DB& db) {
            Block b = read_block(db, kTip - 2);
            REQUIRE(db.Delete({}, RawHashKey(b.Hash())).ok());
        });
        expect_corruption("block 17:", "hash index");
    }
    SECTION("a missing transaction index entry") {
        raw([&](leveldb::DB& db) {
            Block b = read_block(db, kTip - 1);
            REQUIRE(db.Delete({}, RawTxKey(b.transactions[1].Hash())).ok());
        });
        expect_corruption("block 18:", "transaction index entry of transaction 1");
    }
    SECTION("a block stored above the tip") {
        raw([&](leveldb::DB& db) {
            Block tip_block = read_block(db, kTip);
            ChainTip tip{kTip, tip_block.Hash(), tip_block.header.state_root, false};
            put_block(db, MakeNextBlock(tip, TxsFor(kTip + 1), WritesFor(kTip + 1)));
        });
        expect_corruption("block 20:", "stored above the tip 19");
    }
    SECTION("m:tip missing while blocks exist") {
        raw([&](leveldb::DB& db) { REQUIRE(db.Delete({}, "m:tip").ok()); });
        expect_corruption("m:tip", "missing");
    }
    SECTION("the tip record names another block") {
        raw([&](leveldb::DB& db) {
            std::string tip;
            REQUIRE(db.Get({}, "m:tip", &tip).ok());
            tip[8] ^= 1;  // first byte of the block hash
            REQUIRE(db.Put({}, "m:tip", tip).ok());
        });
        expect_corruption("block 19:", "hash differs from m:tip");
    }
}

// ---- 5: a data dir in use ----

TEST_CASE("a data dir held by another process or already open is reported as locked", "[storage]") {
    TempDir dir;
    const std::string path = dir.Db();

    // The child is forked before this process opens the store: LevelDB's in-process lock
    // table would otherwise be copied into the child, and the child would fail on that table
    // instead of on the file lock we want to exercise.
    int go[2], result[2];
    REQUIRE(pipe(go) == 0);
    REQUIRE(pipe(result) == 0);
    pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        close(go[1]);
        close(result[0]);
        char byte;
        if (read(go[0], &byte, 1) != 1) _exit(10);
        auto kv = OpenLevelDb(path);
        if (kv.ok()) _exit(11);
        std::string report = kv.status().message();
        if (write(result[1], report.data(), report.size()) < 0) _exit(12);
        _exit(static_cast<int>(kv.status().code()));
    }
    close(go[0]);
    close(result[1]);

    auto held = MustOpenLevelDb(path);
    REQUIRE(write(go[1], "g", 1) == 1);
    close(go[1]);
    const std::string message = ReadWithDeadline(
        result[0], 4096, std::chrono::steady_clock::now() + std::chrono::seconds(30));
    close(result[0]);
    int wstatus = 0;
    REQUIRE(waitpid(child, &wstatus, 0) == child);
    REQUIRE(WIFEXITED(wstatus));
    INFO("child message: " << message);
    CHECK(WEXITSTATUS(wstatus) == static_cast<int>(StatusCode::kLocked));
    CHECK(message ==
          "data dir " + path + " is in use by another process (is another meterchaind running?)");

    // In the same process LevelDB refuses too (its own lock table); the message says so.
    auto again = OpenLevelDb(path);
    INFO(again.status().ToString());
    REQUIRE_FALSE(again.ok());
    CHECK(again.status().code() == StatusCode::kLocked);
    CHECK(again.status().message() == "data dir " + path + " is already open in this process");

    // Closing releases it.
    held.reset();
    CHECK(OpenLevelDb(path).ok());
}

// ---- 6: crash consistency ----

// Not a test on its own: the crash test runs this in a fresh child process (exec of this
// binary) and kills it at random moments. Exec rather than a bare fork: after fork the child
// would inherit LevelDB's process-wide Env with its background thread marked as started but
// not running, so compactions would never happen in the child.
TEST_CASE("crash child: append blocks until killed", "[.][storage-crash-child]") {
    const char* dir = std::getenv("MC_STORAGE_CRASH_DIR");
    const char* fd_text = std::getenv("MC_STORAGE_CRASH_FD");
    if (dir == nullptr || fd_text == nullptr) return;  // run by hand: nothing to do
    const int fd = std::atoi(fd_text);
    auto kv = OpenLevelDb(dir);
    if (!kv.ok()) {
        std::fprintf(stderr, "crash child: %s\n", kv.status().ToString().c_str());
        _exit(2);
    }
    auto store = ChainStore::Open(std::move(*kv));  // options.sync = true: durable appends
    if (!store.ok()) {
        std::fprintf(stderr, "crash child: %s\n", store.status().ToString().c_str());
        _exit(3);
    }
    for (;;) {
        Status s = AppendStandard(**store);
        if (!s.ok()) {
            std::fprintf(stderr, "crash child: %s\n", s.ToString().c_str());
            _exit(4);
        }
        // Reported only after AppendBlock returned, i.e. after the synced write.
        uint64_t height = (*store)->Tip().height;
        if (write(fd, &height, sizeof(height)) != sizeof(height)) _exit(5);
    }
}

TEST_CASE("a writer killed at random moments leaves whole blocks only", "[storage]") {
    TempDir dir;
    std::mt19937_64 rng(std::random_device{}());
    const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
    std::optional<uint64_t> last_reported;
    int in_flight_survived = 0;  // rounds where the block being appended at the kill got in

    for (int round = 0; round < 5; ++round) {
        INFO("round " << round);
        int report[2];
        REQUIRE(pipe(report) == 0);
        pid_t child = fork();
        REQUIRE(child >= 0);
        if (child == 0) {
            close(report[0]);
            setenv("MC_STORAGE_CRASH_DIR", dir.Db().c_str(), 1);
            setenv("MC_STORAGE_CRASH_FD", std::to_string(report[1]).c_str(), 1);
            execl(self.c_str(), self.c_str(), "crash child: append blocks until killed", "--out",
                  "/dev/null", static_cast<char*>(nullptr));
            _exit(127);
        }
        close(report[1]);

        // Wait until the child has durably appended a random number of blocks, then kill it
        // after a random spin so the kill lands at different points of the next append.
        const uint64_t wanted = std::uniform_int_distribution<uint64_t>(1, 40)(rng);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        std::string got = ReadWithDeadline(report[0], wanted * 8, deadline);
        const auto spin_until =
            std::chrono::steady_clock::now() +
            std::chrono::microseconds(std::uniform_int_distribution<int>(0, 3000)(rng));
        while (std::chrono::steady_clock::now() < spin_until) {
        }
        kill(child, SIGKILL);
        int wstatus = 0;
        REQUIRE(waitpid(child, &wstatus, 0) == child);
        INFO("child status " << wstatus << ", reported " << got.size() / 8 << " of " << wanted);
        REQUIRE(got.size() == wanted * 8);  // otherwise the child died or stalled on its own
        REQUIRE((WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL));
        // Reports written before the kill are still in the pipe.
        got += ReadWithDeadline(report[0], 1 << 20, std::chrono::steady_clock::now());
        close(report[0]);
        uint64_t reported = 0;
        std::memcpy(&reported, got.data() + got.size() - 8, 8);
        if (last_reported) REQUIRE(reported > *last_reported);

        {
            ChainStoreOptions options;
            options.verify_depth = std::numeric_limits<uint64_t>::max();  // check all of it
            auto store = MustOpenStore(MustOpenLevelDb(dir.Db()), options);
            const ChainTip tip = store->Tip();
            INFO("tip " << tip.height << ", last reported " << reported);
            // Every reported block was durable; at most the one in flight may also be there.
            REQUIRE(tip.height >= reported);
            REQUIRE(tip.height <= reported + 1);
            CheckStandardChain(*store);
            if (tip.height == reported + 1) ++in_flight_survived;
            last_reported = tip.height;
        }
        CheckNothingAbove(*MustOpenLevelDb(dir.Db()), *last_reported);
    }
    std::printf("crash: 5 kills, final tip %llu, in-flight block present after %d of them\n",
                static_cast<unsigned long long>(*last_reported), in_flight_survived);
}

// ---- 7: scale ----

TEST_CASE("a 100000-block store reopens, verifies and serves random reads quickly",
          "[storage][scale]") {
    TempDir dir;
    constexpr uint64_t kBlocks = 100000;
    using Clock = std::chrono::steady_clock;
    const auto start = Clock::now();
    {
        // Unsynced appends for speed: durability is covered by the crash test above; this
        // test checks that the store and its verification scale.
        ChainStoreOptions options;
        options.sync = false;
        auto store = MustOpenStore(MustOpenLevelDb(dir.Db()), options);
        for (uint64_t h = 0; h < kBlocks; ++h) {
            const ChainTip tip = store->Tip();
            WriteSet writes{{"acc/" + Pad(h), codec::EncodeU64(h)}};
            Status s = store->AppendBlock(MakeNextBlock(tip, TxsFor(h, 1), writes),
                                          ReceiptsFor(h, 1), writes);
            if (!s.ok()) FAIL(s.ToString());
        }
    }
    const auto appended = Clock::now();

    auto store = MustOpenStore(MustOpenLevelDb(dir.Db()));  // default verify_depth
    const auto reopened = Clock::now();
    REQUIRE(store->Tip().height == kBlocks - 1);

    std::mt19937_64 rng(42);
    std::uniform_int_distribution<uint64_t> pick(0, kBlocks - 1);
    constexpr int kReads = 2000;
    for (int i = 0; i < kReads; ++i) {
        const uint64_t h = pick(rng);
        auto block = store->GetBlock(h);
        REQUIRE(block.ok());
        REQUIRE(block->header.height == h);
        auto loc = store->FindTransaction(TxsFor(h, 1)[0].Hash());
        REQUIRE(loc.ok());
        REQUIRE(loc->height == h);
        REQUIRE(loc->receipt == ReceiptsFor(h, 1)[0]);
        auto state = store->GetState("acc/" + Pad(h));
        REQUIRE(state.ok());
        REQUIRE(*state == std::optional<Bytes>(codec::EncodeU64(h)));
    }
    const auto read = Clock::now();
    const double total = Seconds(read - start);
    std::printf(
        "scale: %llu unsynced appends %.2fs (%.0f/s), reopen+verify %.3fs, "
        "%d random reads %.3fs, total %.2fs\n",
        static_cast<unsigned long long>(kBlocks), Seconds(appended - start),
        kBlocks / Seconds(appended - start), Seconds(reopened - appended), kReads,
        Seconds(read - reopened), total);
    CHECK(total < 60.0);
}
