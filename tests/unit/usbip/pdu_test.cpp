#include <doctest/doctest.h>

#include "hex.hpp"
#include "usbip/pdu.hpp"

using namespace usbhop;
using namespace usbhop::usbip;
using test::from_hex;

namespace {

// The HID capture at the end of Documentation/usb/usbip_protocol.rst.
const char* const kCmdIntrIn =
    "00000001 00000d05 0001000f 00000001 00000001 00000200 00000040 ffffffff 00000000 00000004 00000000 00000000";
const char* const kCmdIntrOut =
    "00000001 00000d06 0001000f 00000000 00000001 00000000 00000040 ffffffff 00000000 00000004 00000000 00000000"
    "ffffffff860008a784ce5ae2123763000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "00000000000000";
const char* const kRetIntrOut =
    "00000003 00000d06 00000000 00000000 00000000 00000000 00000040 ffffffff 00000000 00000000 00000000 00000000";
const char* const kRetIntrIn =
    "00000003 00000d05 00000000 00000000 00000000 00000000 00000040 ffffffff 00000000 00000000 00000000 00000000"
    "ffffffff860011a784ce5ae2123763612891b10201000004000000000000000000000000000000000000000000000000000000000000000000"
    "00000000000000";
const char* const kOutData =
    "ffffffff860008a784ce5ae2123763000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "00000000000000";
const char* const kInData =
    "ffffffff860011a784ce5ae2123763612891b10201000004000000000000000000000000000000000000000000000000000000000000000000"
    "00000000000000";

// The unlink exchange of usbip_protocol.rst with p = 0x10, devid 0x1000f.
const char* const kCmdUnlink =
    "00000002 00000011 0001000f 00000000 00000000 00000010 00000000 00000000 00000000 00000000 00000000 00000000";
const char* const kRetUnlinkReset =
    "00000004 00000011 00000000 00000000 00000000 ffffff98 00000000 00000000 00000000 00000000 00000000 00000000";

// An iso IN submit with 2 packets of 192 bytes (a UAC capture URB) and its reply.
const char* const kCmdIsoIn =
    "00000001 00000020 00020003 00000001 00000003 00000202 00000180 00000000 00000002 00000001 00000000 00000000"
    "00000000 000000c0 00000000 00000000"
    "000000c0 000000c0 00000000 00000000";

CmdSubmit cmd_intr_in() {
    CmdSubmit c;
    c.base = {0xd05, 0x1000f, Direction::kIn, 1};
    c.transfer_flags = kUrbDirIn;
    c.transfer_buffer_length = 64;
    c.start_frame = -1;
    c.number_of_packets = 0;
    c.interval = 4;
    return c;
}

CmdSubmit cmd_intr_out() {
    CmdSubmit c = cmd_intr_in();
    c.base = {0xd06, 0x1000f, Direction::kOut, 1};
    c.transfer_flags = 0;
    c.data = from_hex(kOutData);
    return c;
}

RetSubmit ret_intr(uint32_t seqnum, Bytes data) {
    RetSubmit r;
    r.base.seqnum = seqnum;
    r.actual_length = 64;
    r.start_frame = -1;
    r.data = std::move(data);
    return r;
}

CmdSubmit cmd_iso_in() {
    CmdSubmit c;
    c.base = {0x20, 0x20003, Direction::kIn, 3};
    c.transfer_flags = kUrbDirIn | kUrbIsoAsap;
    c.transfer_buffer_length = 384;
    c.number_of_packets = 2;
    c.interval = 1;
    c.iso = {{0, 192, 0, 0}, {192, 192, 0, 0}};
    return c;
}

struct Vector {
    const char* name;
    const char* hex;
    Direction ret_direction;
    Pdu pdu;
};

}  // namespace

TEST_CASE("usbip_protocol.rst vectors decode to the expected PDU and encode back byte for byte") {
    CmdUnlink unlink;
    unlink.base = {0x11, 0x1000f, Direction::kOut, 0};
    unlink.unlink_seqnum = 0x10;
    RetUnlink ret_unlink;
    ret_unlink.base.seqnum = 0x11;
    ret_unlink.status = kEconnreset;

    const Vector vectors[] = {
        {"CmdIntrIN", kCmdIntrIn, Direction::kIn, cmd_intr_in()},
        {"CmdIntrOUT", kCmdIntrOut, Direction::kIn, cmd_intr_out()},
        {"RetIntrOut", kRetIntrOut, Direction::kOut, ret_intr(0xd06, {})},
        {"RetIntrIn", kRetIntrIn, Direction::kIn, ret_intr(0xd05, from_hex(kInData))},
        {"CMD_UNLINK", kCmdUnlink, Direction::kIn, unlink},
        {"RET_UNLINK -ECONNRESET", kRetUnlinkReset, Direction::kIn, ret_unlink},
        {"CMD_SUBMIT iso IN", kCmdIsoIn, Direction::kIn, cmd_iso_in()},
    };
    for (const Vector& v : vectors) {
        CAPTURE(v.name);
        Bytes wire = from_hex(v.hex);
        auto decoded = decode_pdu(wire, v.ret_direction);
        REQUIRE_MESSAGE(decoded.ok(), (decoded.ok() ? "" : decoded.error().message));
        CHECK(*decoded == v.pdu);
        Bytes encoded;
        encode(v.pdu, encoded);
        CHECK(to_hex(encoded) == to_hex(wire));
    }
}

TEST_CASE("the header says how many bytes follow") {
    struct Case {
        const char* name;
        const char* hex;
        Direction ret_direction;
        size_t body;
    };
    const Case cases[] = {
        {"CMD_SUBMIT IN carries no data", kCmdIntrIn, Direction::kIn, 0},
        {"CMD_SUBMIT OUT carries transfer_buffer_length", kCmdIntrOut, Direction::kIn, 64},
        {"RET_SUBMIT of an IN URB carries actual_length", kRetIntrIn, Direction::kIn, 64},
        {"RET_SUBMIT of an OUT URB carries nothing", kRetIntrOut, Direction::kOut, 0},
        {"iso CMD_SUBMIT IN carries its descriptors", kCmdIsoIn, Direction::kIn, 32},
        {"CMD_UNLINK is header only", kCmdUnlink, Direction::kIn, 0},
    };
    for (const Case& c : cases) {
        CAPTURE(c.name);
        auto h = decode_header(from_hex(c.hex));
        REQUIRE(h.ok());
        CHECK(body_length(*h, c.ret_direction) == c.body);
    }
}

TEST_CASE("number_of_packets 0xffffffff means no iso descriptors") {
    CmdSubmit c = cmd_intr_in();
    c.number_of_packets = kNoIsoPackets;
    Bytes wire = encode(c);
    CHECK(wire.size() == kHeaderSize);
    auto decoded = decode_pdu(wire);
    REQUIRE(decoded.ok());
    CHECK(std::get<CmdSubmit>(*decoded) == c);
}

TEST_CASE("malformed PDUs are refused with a message naming the field") {
    struct Case {
        const char* name;
        std::string hex;
        Direction ret_direction;
        const char* message;
    };
    const std::string intr_in = kCmdIntrIn;
    auto patch = [](std::string hex, size_t word, const char* value) {
        // words are 8 hex digits followed by a space
        hex.replace(word * 9, 8, value);
        return hex;
    };
    const Case cases[] = {
        {"truncated header", intr_in.substr(0, 9 * 11), Direction::kIn, "truncated header"},
        {"unknown command", patch(intr_in, 0, "00008003"), Direction::kIn, "unknown command 0x00008003"},
        {"command 0", patch(intr_in, 0, "00000000"), Direction::kIn, "unknown command"},
        {"direction 2", patch(intr_in, 3, "00000002"), Direction::kIn, "direction 2"},
        {"endpoint 16", patch(intr_in, 4, "00000010"), Direction::kIn, "endpoint 16"},
        {"endpoint 0x80 (direction bit is not part of ep)", patch(intr_in, 4, "00000081"), Direction::kIn,
         "endpoint 129"},
        {"transfer_buffer_length over 16 MiB", patch(intr_in, 6, "01000001"), Direction::kIn,
         "transfer_buffer_length 16777217 exceeds"},
        {"transfer_buffer_length 4 GiB", patch(intr_in, 6, "ffffffff"), Direction::kIn, "exceeds the 16 MiB limit"},
        {"too many iso packets", patch(intr_in, 8, "00000401"), Direction::kIn, "number_of_packets 1025"},
        {"huge iso packet count", patch(intr_in, 8, "7fffffff"), Direction::kIn, "number_of_packets"},
        {"RET_SUBMIT actual_length over 16 MiB", patch(kRetIntrOut, 6, "02000000"), Direction::kOut,
         "actual_length 33554432"},
        {"OUT data missing", std::string(kCmdIntrOut).substr(0, 9 * 12 - 1 + 10), Direction::kIn, "expected 112 bytes"},
        {"trailing garbage", std::string(kCmdIntrIn) + "00", Direction::kIn, "expected 48 bytes, got 49"},
        {"iso packet outside the buffer",
         std::string(kCmdIsoIn).substr(0, std::string(kCmdIsoIn).size() - 35) + "00000100 000000c0 00000000 00000000",
         Direction::kIn, "iso packet 1 (offset 256, length 192) lies outside the 384-byte buffer"},
        {"iso packets that overlap",
         std::string(kCmdIsoIn).substr(0, std::string(kCmdIsoIn).size() - 35) + "00000000 00000100 00000000 00000000",
         Direction::kIn, "lengths add up to 448, more than the 384-byte buffer"},
        {"iso reply whose packets do not add up",
         "00000003 00000020 00000000 00000000 00000000 00000000 00000004 00000000 00000002 00000000 00000000 00000000"
         "01020304"
         "00000000 000000c0 00000003 00000000"
         "000000c0 000000c0 00000000 00000000",
         Direction::kIn, "add up to 3, not actual_length 4"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.name);
        auto decoded = decode_pdu(from_hex(c.hex), c.ret_direction);
        REQUIRE_FALSE(decoded.ok());
        CHECK_MESSAGE(decoded.error().message.find(c.message) != std::string::npos, decoded.error().message);
        CHECK(decoded.error().message.rfind("usbip: ", 0) == 0);
    }
}

TEST_CASE("the setup packet is copied raw, never byte-swapped") {
    CmdSubmit c;
    c.base = {1, 0x10002, Direction::kIn, 0};
    c.transfer_buffer_length = 18;
    // GET_DESCRIPTOR(DEVICE), wValue 0x0100, wLength 18, little-endian on the wire
    c.setup = {std::byte{0x80}, std::byte{0x06}, std::byte{0x00}, std::byte{0x01},
               std::byte{0x00}, std::byte{0x00}, std::byte{0x12}, std::byte{0x00}};
    Bytes wire = encode(c);
    CHECK(to_hex(ByteSpan(wire).subspan(0x28, 8)) == "8006000100001200");
    auto decoded = decode_pdu(wire);
    REQUIRE(decoded.ok());
    CHECK(std::get<CmdSubmit>(*decoded).setup == c.setup);
}
