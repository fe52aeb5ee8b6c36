#include <catch2/catch.hpp>

#include "node/base/bytes.h"
#include "node/base/codec.h"
#include "node/base/status.h"

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
