#include <catch2/catch.hpp>

#include "node/base/bytes.h"
#include "node/base/codec.h"
#include "node/base/status.h"
#include "node/base/work_pool.h"

#include <atomic>
#include <condition_variable>
#include <mutex>
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
