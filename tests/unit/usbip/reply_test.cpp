#include <doctest/doctest.h>

#include "hex.hpp"
#include "usbip/reply.hpp"
#include "usbip/stream_decoder.hpp"

using namespace usbhop;
using namespace usbhop::usbip;

namespace {

SubmittedUrb bulk_in(uint32_t length) {
    SubmittedUrb u;
    u.seqnum = 42;
    u.direction = Direction::kIn;
    u.ep = 1;
    u.transfer_buffer_length = length;
    return u;
}

// An iso IN URB as snd-usb-audio submits it: 3 packets of 100 bytes at fixed offsets.
SubmittedUrb iso_in() {
    SubmittedUrb u;
    u.seqnum = 43;
    u.direction = Direction::kIn;
    u.ep = 3;
    u.transfer_buffer_length = 300;
    u.number_of_packets = 3;
    u.iso = {{0, 100, 0, 0}, {100, 100, 0, 0}, {200, 100, 0, 0}};
    return u;
}

Bytes filled(size_t n, uint8_t v) { return Bytes(n, std::byte{v}); }

// What vhci would do with the reply: decode it as a stream of replies.
Result<Pdu> through_kernel_decoder(const SubmittedUrb& urb, const RetSubmit& r) {
    StreamDecoder d = StreamDecoder::for_replies([&](uint32_t) { return std::optional<Direction>{urb.direction}; });
    d.feed(encode(r));
    auto pdu = d.next();
    if (!pdu) return pdu.error();
    if (!*pdu) return make_error("incomplete");
    return std::move(**pdu);
}

}  // namespace

TEST_CASE("submitted_urb keeps what the reply needs and drops the data") {
    CmdSubmit c;
    c.base = {9, 0x10002, Direction::kOut, 5};
    c.transfer_buffer_length = 20;
    c.number_of_packets = 2;
    c.data = filled(20, 1);
    c.iso = {{0, 10, 3, -18}, {10, 10, 0, 0}};
    SubmittedUrb u = submitted_urb(c);
    CHECK(u.seqnum == 9);
    CHECK(u.direction == Direction::kOut);
    CHECK(u.ep == 5);
    CHECK(u.transfer_buffer_length == 20);
    CHECK(u.number_of_packets == 2);
    CHECK(u.iso == std::vector<IsoPacket>{{0, 10, 0, 0}, {10, 10, 0, 0}});
}

TEST_CASE("iso OUT data is gathered from the packets' offsets") {
    CmdSubmit c;
    c.base = {9, 0, Direction::kOut, 5};
    c.transfer_buffer_length = 8;
    c.number_of_packets = 2;
    c.data = test::from_hex("0102 ffff 0304 0506");
    c.iso = {{0, 2, 0, 0}, {4, 4, 0, 0}};
    CHECK(to_hex(gather_iso_out(c)) == "010203040506");
}

TEST_CASE("a bulk IN reply carries exactly the data and passes the kernel's checks") {
    Bytes data = filled(10, 0xab);
    auto r = make_ret_submit(bulk_in(64), 0, 10, data);
    REQUIRE(r.ok());
    CHECK(r->base.seqnum == 42);
    CHECK(r->base.devid == 0);
    CHECK(r->actual_length == 10);
    CHECK(r->data == data);
    auto decoded = through_kernel_decoder(bulk_in(64), *r);
    REQUIRE(decoded.ok());
    CHECK(std::get<RetSubmit>(*decoded) == *r);
}

TEST_CASE("non-iso replies that the kernel would refuse are not built") {
    SubmittedUrb out = bulk_in(64);
    out.direction = Direction::kOut;
    Bytes ten = filled(10, 1);
    struct Case {
        const char* name;
        SubmittedUrb urb;
        uint32_t actual_length;
        ByteSpan data;
        const char* message;
    };
    const Case cases[] = {
        {"IN data longer than the buffer", bulk_in(8), 10, ten, "exceeds the 8-byte buffer"},
        {"IN data shorter than actual_length", bulk_in(64), 11, ten, "has 10 data bytes, expected 11"},
        {"OUT reply with data", out, 10, ten, "has 10 data bytes, expected 0"},
        {"OUT actual_length beyond the buffer", out, 65, {}, "actual_length 65 exceeds"},
        {"iso URB without packet results", iso_in(), 0, {}, "needs per-packet results"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.name);
        auto r = make_ret_submit(c.urb, 0, c.actual_length, c.data);
        REQUIRE_FALSE(r.ok());
        CHECK_MESSAGE(r.error().message.find(c.message) != std::string::npos, r.error().message);
    }
    auto ok_out = make_ret_submit(out, 0, 64, {});
    REQUIRE(ok_out.ok());
    CHECK(ok_out->actual_length == 64);
    CHECK(ok_out->data.empty());
}

TEST_CASE("an iso IN reply is compacted and its descriptors add up") {
    Bytes p0 = filled(100, 1), p2 = filled(40, 3);
    const IsoPacketResult packets[] = {{0, 100, p0}, {kExdev, 0, {}}, {0, 40, p2}};
    auto r = make_iso_ret_submit(iso_in(), 0, packets);
    REQUIRE(r.ok());
    CHECK(r->actual_length == 140);
    CHECK(r->data.size() == 140);
    CHECK(r->data[99] == std::byte{1});
    CHECK(r->data[100] == std::byte{3});  // packet 2 follows packet 0 with no gap
    CHECK(r->error_count == 1);
    CHECK(r->number_of_packets == 3);
    CHECK(r->iso == std::vector<IsoPacket>{{0, 100, 100, 0}, {100, 100, 0, kExdev}, {200, 100, 40, 0}});
    auto decoded = through_kernel_decoder(iso_in(), *r);
    REQUIRE_MESSAGE(decoded.ok(), (decoded.ok() ? "" : decoded.error().message));
    CHECK(std::get<RetSubmit>(*decoded) == *r);
}

TEST_CASE("iso replies that the kernel would refuse are not built") {
    Bytes p100 = filled(100, 1), p101 = filled(101, 1), p5 = filled(5, 1);
    SubmittedUrb out = iso_in();
    out.direction = Direction::kOut;
    SubmittedUrb small = iso_in();
    small.transfer_buffer_length = 150;
    struct Case {
        const char* name;
        SubmittedUrb urb;
        std::vector<IsoPacketResult> packets;
        const char* message;
    };
    const Case cases[] = {
        {"too few packets", iso_in(), {{0, 100, p100}}, "1 packet results for 3 packets"},
        {"packet data differs from its actual_length",
         iso_in(),
         {{0, 100, p5}, {0, 0, {}}, {0, 0, {}}},
         "has 5 data bytes, expected 100"},
        {"packet longer than submitted",
         iso_in(),
         {{0, 101, p101}, {0, 0, {}}, {0, 0, {}}},
         "actual_length 101 exceeds its length 100"},
        {"packets exceed the buffer",
         small,
         {{0, 100, p100}, {0, 100, p100}, {0, 0, {}}},
         "exceed the 150-byte buffer"},
        {"OUT packet with data", out, {{0, 5, p5}, {0, 0, {}}, {0, 0, {}}}, "has 5 data bytes, expected 0"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.name);
        auto r = make_iso_ret_submit(c.urb, 0, c.packets);
        REQUIRE_FALSE(r.ok());
        CHECK_MESSAGE(r.error().message.find(c.message) != std::string::npos, r.error().message);
    }
    const IsoPacketResult sent[] = {{0, 100, {}}, {0, 60, {}}, {kEproto, 0, {}}};
    auto r = make_iso_ret_submit(out, 0, sent);
    REQUIRE(r.ok());
    CHECK(r->actual_length == 160);
    CHECK(r->data.empty());
}

TEST_CASE("error replies always pass the kernel's checks") {
    for (const SubmittedUrb& urb : {bulk_in(64), iso_in()}) {
        RetSubmit r = error_ret_submit(urb, kEnodev);
        CHECK(check_ret_submit(urb, r).ok());
        CHECK(r.status == kEnodev);
        CHECK(r.actual_length == 0);
        CHECK(r.error_count == urb.iso.size());
        CHECK(through_kernel_decoder(urb, r).ok());
    }
}

TEST_CASE("RET_UNLINK answers the CMD_UNLINK's own seqnum") {
    RetUnlink r = make_ret_unlink(17, kEconnreset);
    CHECK(to_hex(encode(r)) ==
          "00000004"
          "00000011"
          "00000000"
          "00000000"
          "00000000"
          "ffffff98"
          "000000000000000000000000000000000000000000000000");
}
