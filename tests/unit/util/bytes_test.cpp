#include <doctest/doctest.h>

#include "util/bytes.hpp"

using namespace usbhop;

TEST_CASE("ByteWriter and ByteReader round-trip big-endian integers") {
    Bytes b;
    ByteWriter w(b);
    w.put_u8(0x12);
    w.put_u16(0x3456);
    w.put_u32(0x789abcde);
    w.put_u64(0x0102030405060708ull);
    w.put_i32(-71);
    w.put_u16_le(0xbeef);
    CHECK(b.size() == 1 + 2 + 4 + 8 + 4 + 2);
    CHECK(to_hex(ByteSpan(b).first(3)) == "123456");

    ByteReader r(b);
    uint8_t a; uint16_t c; uint32_t d; uint64_t e; int32_t f; uint16_t g;
    CHECK(r.get_u8(a)); CHECK(a == 0x12);
    CHECK(r.get_u16(c)); CHECK(c == 0x3456);
    CHECK(r.get_u32(d)); CHECK(d == 0x789abcde);
    CHECK(r.get_u64(e)); CHECK(e == 0x0102030405060708ull);
    CHECK(r.get_i32(f)); CHECK(f == -71);
    CHECK(r.get_u16_le(g)); CHECK(g == 0xbeef);
    CHECK(r.remaining() == 0);
    CHECK(r.ok());
}

TEST_CASE("ByteReader fails on short input and stays failed") {
    Bytes b = {std::byte{1}, std::byte{2}, std::byte{3}};
    ByteReader r(b);
    uint32_t v = 7;
    CHECK_FALSE(r.get_u32(v));
    CHECK(v == 7);
    CHECK_FALSE(r.ok());
    uint8_t x;
    CHECK_FALSE(r.get_u8(x));  // sticky: a later small read fails too
    CHECK(r.remaining() == 0);

    ByteReader r2(b);
    ByteSpan s;
    CHECK_FALSE(r2.get_span(4, s));
    ByteReader r3(b);
    CHECK(r3.get_span(3, s));
    CHECK(s.size() == 3);
    CHECK_FALSE(r3.skip(1));
}

TEST_CASE("take_line takes lines off the front, the last with or without its newline") {
    std::string_view text = "a=1\n\nlast";
    CHECK(take_line(text) == "a=1");
    CHECK(take_line(text) == "");
    CHECK(text == "last");
    CHECK(take_line(text) == "last");
    CHECK(text.empty());
    std::string_view one = "x\n";
    CHECK(take_line(one) == "x");
    CHECK(one.empty());
}
