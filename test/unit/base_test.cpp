#include <catch2/catch.hpp>

#include "node/base/bytes.h"
#include "node/base/codec.h"
#include "node/base/fixed_key_set.h"
#include "node/base/rpc_code.h"
#include "node/base/status.h"
#include "node/base/thread_name.h"
#include "node/base/work_pool.h"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace meterchain;

TEST_CASE("hex round trip and rejection of bad input", "[base]") {
    Bytes data = {0x00, 0x01, 0xab, 0xff};
    CHECK(ToHex(data) == "0001abff");
    CHECK(FromHex("0001ABff") == data);
    CHECK_FALSE(FromHex("abc").has_value());
    CHECK_FALSE(FromHex("zz").has_value());
    CHECK_FALSE(HashFromHex("00").has_value());
}

TEST_CASE("canonical codec is big-endian, length-prefixed and bounds-checked", "[base]") {
    codec::Writer w;
    w.Text("tag").U8(7).U32(0x01020304).U64(0x0102030405060708ULL).Blob(ToBytes("xy"));
    Bytes enc = w.bytes();
    CHECK(ToHex(enc) == "00000003746167" "07" "01020304" "0102030405060708" "000000027879");

    codec::Reader r(enc);
    uint8_t a = 0;
    uint32_t b = 0;
    uint64_t c = 0;
    Bytes d;
    REQUIRE(r.Expect("tag"));
    REQUIRE(r.U8(a));
    REQUIRE(r.U32(b));
    REQUIRE(r.U64(c));
    REQUIRE(r.Blob(d));
    CHECK(r.AtEnd());
    CHECK(a == 7);
    CHECK(b == 0x01020304u);
    CHECK(c == 0x0102030405060708ULL);
    CHECK(d == ToBytes("xy"));

    // A declared length beyond the input fails instead of reading past the end.
    Bytes truncated(enc.begin(), enc.end() - 1);
    codec::Reader r2(truncated);
    REQUIRE(r2.Expect("tag"));
    r2.U8(a);
    r2.U32(b);
    r2.U64(c);
    CHECK_FALSE(r2.Blob(d));
    CHECK_FALSE(r2.ok());

    codec::Reader r3(enc);
    CHECK_FALSE(r3.Expect("other"));
}

TEST_CASE("Result holds a value or an error status", "[base]") {
    Result<int> good(5);
    REQUIRE(good.ok());
    CHECK(*good == 5);
    Result<int> bad(NotFound("no block at height 9"));
    CHECK_FALSE(bad.ok());
    CHECK(bad.status().code() == StatusCode::kNotFound);
    CHECK(bad.status().ToString() == "NOT_FOUND: no block at height 9");
}

TEST_CASE("WorkPool::ParallelFor runs every index once, also from inside a pool job", "[base]") {
    base::WorkPool pool(2);
    std::vector<std::atomic<int>> hits(1000);
    pool.ParallelFor(hits.size(), [&](size_t i) { hits[i].fetch_add(1); });
    for (const auto& h : hits) REQUIRE(h.load() == 1);

    // Nested: a background job that itself fans out (the caller takes its share, so this
    // cannot wait on a pool whose threads are all busy).
    std::mutex m;
    std::condition_variable cv;
    bool done = false;
    std::atomic<int> inner{0};
    pool.Post(base::WorkPool::Priority::kBackground, [&] {
        pool.ParallelFor(64, [&](size_t) { inner.fetch_add(1); });
        std::lock_guard lock(m);
        done = true;
        cv.notify_all();
    });
    std::unique_lock lock(m);
    REQUIRE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return done; }));
    REQUIRE(inner.load() == 64);
}

TEST_CASE("WorkPool::Stop finishes urgent work and drops background work", "[base]") {
    std::atomic<int> urgent{0};
    {
        base::WorkPool pool(1);
        for (int i = 0; i < 50; ++i) {
            pool.Post(base::WorkPool::Priority::kUrgent, [&] { urgent.fetch_add(1); });
        }
        pool.Stop();
        pool.Post(base::WorkPool::Priority::kUrgent, [&] { urgent.fetch_add(100); });  // ignored
        pool.Stop();  // idempotent
    }
    REQUIRE(urgent.load() == 50);
}

namespace {
Hash256 Key(uint32_t i) {
    Hash256 k{};
    for (int b = 0; b < 4; ++b) k[static_cast<size_t>(b)] = static_cast<uint8_t>(i >> (8 * b));
    return k;
}
}  // namespace

TEST_CASE("FixedKeySet keeps the newest keys up to its capacity, first in first out", "[base]") {
    base::FixedKeySet set(3);
    CHECK(set.capacity() == 3);
    CHECK(set.Insert(Key(1)));
    CHECK(set.Insert(Key(2)));
    CHECK(set.Insert(Key(3)));
    CHECK_FALSE(set.Insert(Key(1)));  // present: not refreshed
    CHECK(set.Insert(Key(4)));        // evicts 1
    CHECK_FALSE(set.Contains(Key(1)));
    CHECK(set.Contains(Key(2)));
    CHECK(set.Contains(Key(3)));
    CHECK(set.Contains(Key(4)));
    CHECK(set.size() == 3);
    CHECK(base::FixedKeySet(0).capacity() == 1);
}

TEST_CASE("FixedKeySet agrees with a reference FIFO through many evictions", "[base]") {
    // 2000 distinct keys through 257 places: evictions all the way, probe runs and
    // backward-shift deletion in every shape.
    constexpr size_t kCapacity = 257;
    base::FixedKeySet set(kCapacity);
    std::deque<Hash256> fifo;
    std::set<Hash256> present;
    uint64_t x = 12345;
    for (int step = 0; step < 20000; ++step) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        const Hash256 k = Key(static_cast<uint32_t>(x >> 33) % 2000);
        const bool inserted = set.Insert(k);
        REQUIRE(inserted == (present.count(k) == 0));
        if (inserted) {
            fifo.push_back(k);
            present.insert(k);
            if (fifo.size() > kCapacity) {
                present.erase(fifo.front());
                fifo.pop_front();
            }
        }
        REQUIRE(set.size() == fifo.size());
        if (step % 97 == 0) {
            for (uint32_t i = 0; i < 2000; ++i) {
                REQUIRE(set.Contains(Key(i)) == (present.count(Key(i)) != 0));
            }
        }
    }
}

namespace {
// What the kernel shows for the calling thread (top -H, ps -L), read independently of the
// pthread call that NameThisThread makes.
std::string KernelThreadName() {
    std::ifstream comm("/proc/thread-self/comm");
    std::string name;
    std::getline(comm, name);
    return name;
}
}  // namespace

TEST_CASE("NameThisThread names the calling thread, cut to the kernel's 15 characters", "[base]") {
    // Catch2's assertions are not thread-safe: the thread only records, the test checks after.
    std::string short_name, long_name;
    std::thread t([&] {
        meterchain::base::NameThisThread("mc-pool");
        short_name = KernelThreadName();
        meterchain::base::NameThisThread("mc-out-12345678901234");
        long_name = KernelThreadName();
    });
    t.join();
    CHECK(short_name == "mc-pool");
    CHECK(long_name == "mc-out-12345678");
}

TEST_CASE("ScopedThreadName gives the thread its previous name back", "[base]") {
    std::string inside, after;
    std::thread t([&] {
        meterchain::base::NameThisThread("before");
        {
            const meterchain::base::ScopedThreadName name("mc-submit");
            inside = KernelThreadName();
        }
        after = KernelThreadName();
    });
    t.join();
    CHECK(inside == "mc-submit");
    CHECK(after == "before");
}

TEST_CASE("RpcCode numbers every status as the gRPC status code a client sees", "[base]") {
    // google.rpc.Code values: the numbering of refused calls, SubmitResult.code and
    // TxStatus.code alike.
    CHECK(RpcCode(StatusCode::kOk) == 0);
    CHECK(RpcCode(StatusCode::kInvalidArgument) == 3);
    CHECK(RpcCode(StatusCode::kNotFound) == 5);
    CHECK(RpcCode(StatusCode::kAlreadyExists) == 6);
    CHECK(RpcCode(StatusCode::kPermissionDenied) == 7);
    CHECK(RpcCode(StatusCode::kResourceExhausted) == 8);
    CHECK(RpcCode(StatusCode::kFailedPrecondition) == 9);
    CHECK(RpcCode(StatusCode::kInternal) == 13);
    CHECK(RpcCode(StatusCode::kCorruption) == 13);
    CHECK(RpcCode(StatusCode::kIoError) == 13);
    CHECK(RpcCode(StatusCode::kLocked) == 14);
    CHECK(RpcCode(StatusCode::kUnauthenticated) == 16);
    // A stored code from a newer version maps to INTERNAL rather than to a wrong meaning.
    CHECK(RpcCode(static_cast<StatusCode>(1000)) == 13);
    CHECK(RpcCodeName(7) == "PERMISSION_DENIED");
    CHECK(RpcCodeName(16) == "UNAUTHENTICATED");
    CHECK(RpcCodeName(17) == "CODE_17");
}
