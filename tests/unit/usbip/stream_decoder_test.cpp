#include <doctest/doctest.h>

#include <map>

#include "hex.hpp"
#include "usbip/stream_decoder.hpp"

using namespace usbhop;
using namespace usbhop::usbip;

namespace {

std::vector<Pdu> sample_commands() {
    CmdSubmit in;
    in.base = {1, 0x10002, Direction::kIn, 0};
    in.transfer_buffer_length = 18;
    in.setup = {std::byte{0x80}, std::byte{0x06}, std::byte{0x00}, std::byte{0x01},
                std::byte{0x00}, std::byte{0x00}, std::byte{0x12}, std::byte{0x00}};
    CmdSubmit out;
    out.base = {2, 0x10002, Direction::kOut, 2};
    out.transfer_buffer_length = 31;
    out.transfer_flags = kUrbZeroPacket | kUrbDmaMapSg;
    for (int i = 0; i < 31; ++i) out.data.push_back(static_cast<std::byte>(i * 7));
    CmdSubmit iso_out;
    iso_out.base = {3, 0x10002, Direction::kOut, 4};
    iso_out.transfer_buffer_length = 40;
    iso_out.number_of_packets = 3;
    iso_out.data.assign(40, std::byte{0x5a});
    iso_out.iso = {{0, 10, 0, 0}, {16, 10, 0, 0}, {32, 8, 0, 0}};
    CmdSubmit empty_out;  // a zero-length OUT, e.g. a ZLP
    empty_out.base = {4, 0x10002, Direction::kOut, 2};
    empty_out.number_of_packets = kNoIsoPackets;
    CmdUnlink unlink;
    unlink.base = {5, 0x10002, Direction::kOut, 0};
    unlink.unlink_seqnum = 2;
    return {in, out, iso_out, empty_out, unlink};
}

Bytes concat(const std::vector<Pdu>& pdus) {
    Bytes out;
    for (const Pdu& p : pdus) encode(p, out);
    return out;
}

std::vector<Pdu> drain(StreamDecoder& d) {
    std::vector<Pdu> got;
    for (;;) {
        auto r = d.next();
        REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
        if (!*r) break;
        got.push_back(std::move(**r));
    }
    return got;
}

}  // namespace

TEST_CASE("PDUs split at every byte boundary come out whole and in order") {
    const std::vector<Pdu> pdus = sample_commands();
    const Bytes stream = concat(pdus);
    for (size_t split = 0; split <= stream.size(); ++split) {
        CAPTURE(split);
        StreamDecoder d = StreamDecoder::for_commands();
        std::vector<Pdu> got;
        d.feed(ByteSpan(stream).first(split));
        for (Pdu& p : drain(d)) got.push_back(std::move(p));
        d.feed(ByteSpan(stream).subspan(split));
        for (Pdu& p : drain(d)) got.push_back(std::move(p));
        CHECK(got == pdus);
        CHECK(d.buffered() == 0);
    }
}

TEST_CASE("PDUs fed one byte at a time come out whole") {
    const std::vector<Pdu> pdus = sample_commands();
    const Bytes stream = concat(pdus);
    StreamDecoder d = StreamDecoder::for_commands();
    std::vector<Pdu> got;
    for (std::byte b : stream) {
        d.feed(ByteSpan(&b, 1));
        for (Pdu& p : drain(d)) got.push_back(std::move(p));
    }
    CHECK(got == pdus);
}

TEST_CASE("replies are cut using the direction of the URB they answer") {
    std::map<uint32_t, Direction> pending = {{7, Direction::kIn}, {8, Direction::kOut}};
    RetSubmit in;
    in.base.seqnum = 7;
    in.actual_length = 3;
    in.data = {std::byte{1}, std::byte{2}, std::byte{3}};
    RetSubmit out;
    out.base.seqnum = 8;
    out.actual_length = 512;  // OUT: the length is reported, no data follows
    RetUnlink unlink;
    unlink.base.seqnum = 9;
    const std::vector<Pdu> pdus = {in, out, unlink};
    const Bytes stream = concat(pdus);
    for (size_t split = 0; split <= stream.size(); ++split) {
        CAPTURE(split);
        StreamDecoder d = StreamDecoder::for_replies([&](uint32_t s) -> std::optional<Direction> {
            auto it = pending.find(s);
            if (it == pending.end()) return std::nullopt;
            return it->second;
        });
        std::vector<Pdu> got;
        d.feed(ByteSpan(stream).first(split));
        for (Pdu& p : drain(d)) got.push_back(std::move(p));
        d.feed(ByteSpan(stream).subspan(split));
        for (Pdu& p : drain(d)) got.push_back(std::move(p));
        CHECK(got == pdus);
    }
}

TEST_CASE("stream errors are final and name the cause") {
    struct Case {
        const char* name;
        Bytes stream;
        bool commands;
        const char* message;
    };
    CmdSubmit huge;
    huge.base = {1, 0, Direction::kOut, 1};
    Bytes huge_wire = encode(huge);
    huge_wire[0x18] = std::byte{0x40};  // transfer_buffer_length 0x40000000
    RetUnlink reply;
    reply.base.seqnum = 3;
    RetSubmit unknown;
    unknown.base.seqnum = 99;
    CmdUnlink cmd;
    cmd.base.seqnum = 4;
    Bytes garbage = encode(cmd);
    garbage[3] = std::byte{0x09};

    const Case cases[] = {
        {"a reply on the command stream", encode(reply), true,
         "unexpected RET_UNLINK (seqnum 3) on a stream of commands"},
        {"a command on the reply stream", encode(cmd), false, "unexpected CMD_UNLINK"},
        {"a reply for an unknown seqnum", encode(unknown), false, "RET_SUBMIT for unknown seqnum 99"},
        {"a 1 GiB OUT announced", huge_wire, true, "exceeds the 16 MiB limit"},
        {"garbage command", garbage, true, "unknown command 0x00000009"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.name);
        StreamDecoder d = c.commands ? StreamDecoder::for_commands()
                                     : StreamDecoder::for_replies([](uint32_t) { return std::optional<Direction>{}; });
        d.feed(c.stream);
        auto r = d.next();
        REQUIRE_FALSE(r.ok());
        CHECK_MESSAGE(r.error().message.find(c.message) != std::string::npos, r.error().message);
        CHECK(d.failed());
        CHECK(d.buffered() == 0);  // nothing held after the stream went bad
        // Sticky: more bytes do not bring it back.
        d.feed(encode(cmd));
        auto again = d.next();
        REQUIRE_FALSE(again.ok());
        CHECK(again.error().message == r.error().message);
    }
}

TEST_CASE("a header announcing a large body is refused before the body arrives") {
    CmdSubmit c;
    c.base = {1, 0, Direction::kOut, 1};
    Bytes wire = encode(c);
    wire[0x18] = std::byte{0x01};
    wire[0x1b] = std::byte{0x01};  // 16 MiB + 1
    StreamDecoder d = StreamDecoder::for_commands();
    d.feed(ByteSpan(wire).first(kHeaderSize));
    CHECK_FALSE(d.next().ok());
}

TEST_CASE("an incomplete PDU waits for more bytes") {
    CmdSubmit c;
    c.base = {1, 0, Direction::kOut, 1};
    c.transfer_buffer_length = 1000;
    c.data.assign(1000, std::byte{1});
    Bytes wire = encode(c);
    StreamDecoder d = StreamDecoder::for_commands();
    d.feed(ByteSpan(wire).first(wire.size() - 1));
    auto r = d.next();
    REQUIRE(r.ok());
    CHECK_FALSE(r->has_value());
    CHECK(d.buffered() == wire.size() - 1);
    d.feed(ByteSpan(wire).last(1));
    auto r2 = d.next();
    REQUIRE(r2.ok());
    REQUIRE(r2->has_value());
    CHECK(std::get<CmdSubmit>(**r2) == c);
}
