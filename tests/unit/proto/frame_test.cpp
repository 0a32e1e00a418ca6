#include <doctest/doctest.h>

#include "../usbip/hex.hpp"
#include "proto/frame.hpp"

using namespace usbhop;
using namespace usbhop::proto;

namespace {

std::vector<Frame> sample_frames() {
    return {
        Frame{0x0001, 0, test::from_hex("00010001")},
        Frame{0x0041, 0, Bytes(1000, std::byte{0x42})},
        Frame{0x7fff, kFlagOptional, {}},
        Frame{0x0004, 0, test::from_hex("0102030405060708")},
    };
}

std::vector<Frame> drain(FrameDecoder& d) {
    std::vector<Frame> got;
    for (;;) {
        auto r = d.next();
        REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
        if (!*r) break;
        got.push_back(std::move(**r));
    }
    return got;
}

}  // namespace

TEST_CASE("a frame is type, flags, length and payload, big-endian") {
    Bytes out;
    append_frame(out, 0x0041, kFlagOptional, test::from_hex("aabbcc"));
    CHECK(to_hex(out) ==
          "0041"
          "0001"
          "00000003"
          "aabbcc");
}

TEST_CASE("frames split at every byte boundary come out whole and in order") {
    const std::vector<Frame> frames = sample_frames();
    Bytes stream;
    for (const Frame& f : frames) append_frame(stream, f.type, f.flags, f.payload);
    for (size_t split = 0; split <= stream.size(); ++split) {
        CAPTURE(split);
        FrameDecoder d(kMaxControlPayload);
        std::vector<Frame> got;
        d.feed(ByteSpan(stream).first(split));
        for (Frame& f : drain(d)) got.push_back(std::move(f));
        d.feed(ByteSpan(stream).subspan(split));
        for (Frame& f : drain(d)) got.push_back(std::move(f));
        CHECK(got == frames);
        CHECK(d.buffered() == 0);
    }
}

TEST_CASE("frames fed one byte at a time come out whole") {
    const std::vector<Frame> frames = sample_frames();
    Bytes stream;
    for (const Frame& f : frames) append_frame(stream, f.type, f.flags, f.payload);
    FrameDecoder d(kMaxControlPayload);
    std::vector<Frame> got;
    for (std::byte b : stream) {
        d.feed(ByteSpan(&b, 1));
        for (Frame& f : drain(d)) got.push_back(std::move(f));
    }
    CHECK(got == frames);
}

TEST_CASE("a frame over the stream's limit is refused from its header alone, for good") {
    struct Case {
        const char* name;
        uint32_t limit;
        const char* header;
        bool refused;
    };
    const Case cases[] = {
        {"control frame of exactly 1 MiB", kMaxControlPayload, "0011 0000 00100000", false},
        {"control frame of 1 MiB + 1", kMaxControlPayload, "0011 0000 00100001", true},
        {"URB frame of 16 MiB + 64 KiB + 1", kMaxUrbPayload, "0042 0000 01010001", true},
        {"4 GiB frame", kMaxUrbPayload, "0042 0000 ffffffff", true},
    };
    for (const Case& c : cases) {
        CAPTURE(c.name);
        FrameDecoder d(c.limit);
        d.feed(test::from_hex(c.header));
        auto r = d.next();
        CHECK(r.ok() != c.refused);
        if (!c.refused) continue;
        CHECK(r.error().message.find("over this stream's limit") != std::string::npos);
        CHECK(d.failed());
        d.feed(test::from_hex("0004 0000 00000000"));
        CHECK_FALSE(d.next().ok());
    }
}

TEST_CASE("a partial frame waits for the rest") {
    FrameDecoder d(kMaxControlPayload);
    d.feed(test::from_hex("0004 0000 00000008 01020304"));
    auto r = d.next();
    REQUIRE(r.ok());
    CHECK_FALSE(r->has_value());
    CHECK(d.buffered() == 12);
}
