#include <doctest/doctest.h>

#include <numeric>

#include "quic/send_buffer.hpp"

using namespace usbhop;
using namespace usbhop::quic;

namespace {
Bytes sequence(size_t n, uint8_t start = 0) {
    Bytes b(n);
    for (size_t i = 0; i < n; ++i) b[i] = static_cast<std::byte>(start + i);
    return b;
}

Bytes unsent_bytes(const SendBuffer& buf) {
    ByteSpan pieces[64];
    size_t n = buf.peek(pieces);
    Bytes out;
    for (size_t i = 0; i < n; ++i) out.insert(out.end(), pieces[i].begin(), pieces[i].end());
    return out;
}
}  // namespace

TEST_CASE("append takes only what the limit leaves room for") {
    SendBuffer buf(16);
    CHECK(buf.append(sequence(10), 25) == 10);
    CHECK(buf.append(sequence(30), 25) == 15);
    CHECK(buf.buffered() == 25);
    CHECK(buf.append(sequence(1), 25) == 0);
    CHECK(buf.unsent() == 25);
    CHECK(buf.end_offset() == 25);
}

TEST_CASE("peek returns the unsent bytes in order across blocks") {
    SendBuffer buf(16);
    Bytes data = sequence(50);
    REQUIRE(buf.append(data, 1000) == 50);
    CHECK(unsent_bytes(buf) == data);
    buf.mark_sent(20);
    CHECK(unsent_bytes(buf) == Bytes(data.begin() + 20, data.end()));
    buf.mark_sent(30);
    CHECK(buf.unsent() == 0);
    ByteSpan pieces[4];
    CHECK(buf.peek(pieces) == 0);
}

TEST_CASE("bytes handed out stay at the same address until acknowledged") {
    SendBuffer buf(16);
    REQUIRE(buf.append(sequence(10), 1000) == 10);
    ByteSpan first[4];
    REQUIRE(buf.peek(first) == 1);
    const std::byte* where = first[0].data();
    buf.mark_sent(10);
    // More appends fill the same block and then new ones; nothing moves.
    REQUIRE(buf.append(sequence(100, 10), 1000) == 100);
    CHECK(where[0] == std::byte{0});
    CHECK(where[9] == std::byte{9});
    CHECK(unsent_bytes(buf) == sequence(100, 10));
}

TEST_CASE("acknowledgements free room; partial and repeated ones are harmless") {
    SendBuffer buf(16);
    REQUIRE(buf.append(sequence(64), 64) == 64);
    buf.mark_sent(64);
    CHECK(buf.append(sequence(1), 64) == 0);
    buf.acknowledge(0, 10);
    CHECK(buf.buffered() == 54);
    buf.acknowledge(0, 5);   // already acknowledged
    CHECK(buf.buffered() == 54);
    buf.acknowledge(10, 30);
    CHECK(buf.buffered() == 24);
    CHECK(buf.append(sequence(100), 64) == 40);
    CHECK(unsent_bytes(buf) == sequence(40));
    buf.acknowledge(40, 1000);   // beyond what was sent: clamped
    CHECK(buf.buffered() == 40);
}

TEST_CASE("a fully acknowledged buffer starts fresh blocks at the right offset") {
    SendBuffer buf(8);
    REQUIRE(buf.append(sequence(5), 100) == 5);
    buf.mark_sent(5);
    buf.acknowledge(0, 5);
    CHECK(buf.buffered() == 0);
    REQUIRE(buf.append(sequence(12, 5), 100) == 12);
    CHECK(unsent_bytes(buf) == sequence(12, 5));
    buf.mark_sent(12);
    buf.acknowledge(5, 12);
    CHECK(buf.buffered() == 0);
    CHECK(buf.end_offset() == 17);
}

TEST_CASE("clear drops everything and keeps the offset") {
    SendBuffer buf(8);
    REQUIRE(buf.append(sequence(20), 100) == 20);
    buf.mark_sent(3);
    buf.clear();
    CHECK(buf.buffered() == 0);
    CHECK(buf.unsent() == 0);
    CHECK(buf.end_offset() == 20);
}
