#include <doctest/doctest.h>

#include "../usbip/hex.hpp"
#include "proto/messages.hpp"
#include "samples.hpp"

using namespace usbhop;
using namespace usbhop::proto;
using test::from_hex;

namespace {

Result<std::optional<Message>> decode_hex(MsgType type, std::string_view payload_hex) {
    return decode(Frame{static_cast<uint16_t>(type), 0, from_hex(payload_hex)});
}

Frame frame_of(const Message& m) {
    Bytes wire = encode(m);
    FrameDecoder d(kMaxUrbPayload);
    d.feed(wire);
    auto f = d.next();
    REQUIRE(f.ok());
    REQUIRE(f->has_value());
    return **f;
}

std::string name_of(const Message& m) { return type_name(static_cast<uint16_t>(type_of(m))); }

}  // namespace

TEST_CASE("every message survives encode and decode unchanged") {
    for (const Message& m : test::sample_messages()) {
        CAPTURE(name_of(m));
        auto decoded = decode(frame_of(m));
        REQUIRE_MESSAGE(decoded.ok(), (decoded.ok() ? "" : decoded.error().message));
        REQUIRE(decoded->has_value());
        CHECK(**decoded == m);
    }
}

TEST_CASE("golden vectors pin the byte layout docs/protocol.md gives") {
    Hello hello;
    hello.capabilities = kCapResume | kCapIso | kCapHotplug;
    hello.software = "t";
    Submit get_descriptor = std::get<Submit>(test::sample_messages()[20]);
    Submit bulk_out = std::get<Submit>(test::sample_messages()[21]);
    Complete iso = std::get<Complete>(test::sample_messages()[25]);
    struct Case {
        const char* name;
        Message m;
        const char* hex;
    };
    const Case cases[] = {
        {"Hello", hello,
         "0001 0000 0000001f"
         "0001 0001 0000000000000007 00000000000000000000000000000000 0001 74"},
        {"Submit GET_DESCRIPTOR(DEVICE)", get_descriptor,
         "0041 0000 0000001c"
         "0000000000000001 80 00 0000 00000012 00000000 8006000100001200"},
        {"Submit bulk OUT with ZERO_PACKET", bulk_out,
         "0041 0000 00000018"
         "0000000000000002 02 02 0002 00000004 00000000 deadbeef"},
        {"Complete iso IN, two packets", iso,
         "0042 0000 0000002f"
         "0000000000000003 00 000000 00000003 00000000 00000002"
         "00 000000 00000002  08 000000 00000001"
         "00000003 aabbcc"},
        {"Ack", Ack{{{1, 3}, {7, 1}}},
         "0045 0000 0000001c"
         "00000002 0000000000000001 00000003 0000000000000007 00000001"},
        {"Unlink", Unlink{5}, "0043 0000 00000008 0000000000000005"},
        {"UnlinkResult", UnlinkResult{5, UnlinkOutcome::kCompleted}, "0044 0000 00000009 0000000000000005 01"},
        {"Bind", Bind{1, 0x81, TransferType::kBulk}, "0040 0000 00000006 00000001 81 02"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.name);
        CHECK(to_hex(encode(c.m)) == to_hex(from_hex(c.hex)));
    }
}

TEST_CASE("every truncation of every message is refused") {
    for (const Message& m : test::sample_messages()) {
        CAPTURE(name_of(m));
        Frame f = frame_of(m);
        for (size_t n = 0; n < f.payload.size(); ++n) {
            CAPTURE(n);
            Frame cut{f.type, f.flags, Bytes(f.payload.begin(), f.payload.begin() + static_cast<std::ptrdiff_t>(n))};
            auto r = decode(cut);
            REQUIRE_FALSE(r.ok());
            CHECK(r.error().message.rfind(std::string("proto: ") + name_of(m) + ": ", 0) == 0);
        }
    }
}

TEST_CASE("bytes after the defined fields are ignored") {
    for (const Message& m : test::sample_messages()) {
        CAPTURE(name_of(m));
        Frame f = frame_of(m);
        f.payload.push_back(std::byte{0xee});
        auto r = decode(f);
        REQUIRE(r.ok());
        CHECK(**r == m);
    }
}

TEST_CASE("unknown message types: skipped when optional, an error otherwise") {
    auto optional = decode(Frame{0x0999, kFlagOptional, from_hex("0102")});
    REQUIRE(optional.ok());
    CHECK_FALSE(optional->has_value());
    auto mandatory = decode(Frame{0x0999, 0, from_hex("0102")});
    REQUIRE_FALSE(mandatory.ok());
    CHECK(mandatory.error().message ==
          "proto: unknown message type 0x0999 not marked optional; the peer speaks a protocol we do not");
    // a known type is decoded whatever its flags say
    auto ping = decode(Frame{static_cast<uint16_t>(MsgType::kPing), kFlagOptional, from_hex("0000000000000001")});
    REQUIRE(ping.ok());
    CHECK(std::get<Ping>(**ping).nonce == 1);
}

TEST_CASE("malformed messages are refused with the message and field named") {
    struct Case {
        const char* name;
        MsgType type;
        std::string hex;
        const char* message;
    };
    const std::string seq = "0000000000000001";
    const Case cases[] = {
        {"Hello with an empty version range", MsgType::kHello,
         "0002 0001 0000000000000000 00000000000000000000000000000000 0000",
         "proto: Hello: version range 2..1 is empty"},
        {"Hello with version 0", MsgType::kHello, "0000 0001 0000000000000000 00000000000000000000000000000000 0000",
         "version range 0..1 is empty"},
        {"Hello with a string over the limit", MsgType::kHello,
         "0001 0001 0000000000000000 00000000000000000000000000000000 0401", "software is 1025 bytes long"},
        {"HelloAck with resumed = 2", MsgType::kHelloAck,
         "0001 0000000000000000 00000000000000000000000000000000 02 00007530 0000", "resumed is 2, not 0 or 1"},
        {"Submit with seqnum 0", MsgType::kSubmit, "0000000000000000 81 02 0000 00000040 00000000",
         "seqnum 0 is never used"},
        {"Submit with transfer type 4", MsgType::kSubmit, seq + "81 04 0000 00000040 00000000",
         "unknown transfer type 4"},
        {"Submit over 16 MiB", MsgType::kSubmit, seq + "81 02 0000 01000001 00000000",
         "length 16777217 exceeds the 16 MiB limit"},
        {"Submit with reserved endpoint bits", MsgType::kSubmit, seq + "91 02 0000 00000040 00000000", "reserved bits"},
        {"Submit OUT missing data", MsgType::kSubmit, seq + "02 02 0000 00000004 00000000 dead", "truncated at data"},
        {"Submit control missing setup", MsgType::kSubmit, seq + "80 00 0000 00000012 00000000 8006",
         "truncated at setup"},
        {"Submit iso with too many packets", MsgType::kSubmit, seq + "83 01 0000 00000000 00000001 00000401",
         "1025 iso packets, over the limit of 1024"},
        {"Submit iso whose packets do not add up", MsgType::kSubmit,
         seq + "83 01 0000 00000180 00000001 00000002 000000c0 000000bf", "add up to 383, not length 384"},
        {"Complete over 16 MiB", MsgType::kComplete, seq + "00 000000 01000001 00000000 00000000 00000000",
         "actual_length 16777217 exceeds"},
        {"Complete whose data is not actual_length", MsgType::kComplete,
         seq + "00 000000 00000004 00000000 00000000 00000002 aabb", "data_length 2 is neither 0 nor actual_length 4"},
        {"Complete whose iso packets do not add up", MsgType::kComplete,
         seq + "00 000000 00000004 00000000 00000001 00000000 00000003 00000000",
         "iso packets add up to 3, not actual_length 4"},
        {"Complete with too many packets", MsgType::kComplete, seq + "00 000000 00000000 00000000 ffffffff",
         "4294967295 iso packets"},
        {"Unlink of seqnum 0", MsgType::kUnlink, "0000000000000000", "seqnum 0 is never used"},
        {"UnlinkResult with outcome 3", MsgType::kUnlinkResult, seq + "03", "unknown outcome 3"},
        {"Ack with an empty range", MsgType::kAck, "00000001 0000000000000005 00000000", "range 0 is empty"},
        {"Ack with overlapping ranges", MsgType::kAck, "00000002 0000000000000005 00000003 0000000000000007 00000001",
         "range 1 starting at 7 is out of order or overlaps"},
        {"Ack with descending ranges", MsgType::kAck, "00000002 0000000000000009 00000001 0000000000000005 00000001",
         "out of order"},
        {"Ack with seqnum 0", MsgType::kAck, "00000001 0000000000000000 00000001", "out of order"},
        {"Ack running past 2^64", MsgType::kAck, "00000001 ffffffffffffffff 00000002", "runs past the largest seqnum"},
        {"Ack with too many ranges", MsgType::kAck, "00010001", "65537 ranges"},
        {"Resume with too many ranges", MsgType::kResume, "00000001 ffffffff", "pending: 4294967295 ranges"},
        {"Bind with transfer type 7", MsgType::kBind, "00000001 81 07", "unknown transfer type 7"},
        {"Bind of a control endpoint with a direction", MsgType::kBind, "00000001 80 00", "bound by number"},
        {"DeviceList over the device limit", MsgType::kDeviceList, "01 00000401", "1025 devices"},
        {"DeviceList with last = 5", MsgType::kDeviceList, "05 00000000", "last is 5"},
        {"Error with fatal = 9", MsgType::kError, "0001 09 0000000000000000 0000", "fatal is 9"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.name);
        auto r = decode_hex(c.type, c.hex);
        REQUIRE_FALSE(r.ok());
        CHECK_MESSAGE(r.error().message.find(c.message) != std::string::npos, r.error().message);
        CHECK(r.error().message.rfind("proto: ", 0) == 0);
    }
}

TEST_CASE("device descriptors are checked for shape") {
    struct Case {
        const char* name;
        void (*spoil)(DeviceInfo&);
        const char* message;
    };
    const Case cases[] = {
        {"short device descriptor", [](DeviceInfo& d) { d.device_descriptor.pop_back(); },
         "not an 18-byte DEVICE descriptor"},
        {"wrong descriptor type", [](DeviceInfo& d) { d.device_descriptor[1] = std::byte{2}; },
         "not an 18-byte DEVICE descriptor"},
        {"configuration shorter than wTotalLength", [](DeviceInfo& d) { d.configurations[0].pop_back(); },
         "configuration 0 is not a CONFIGURATION descriptor"},
        {"configuration of 3 bytes", [](DeviceInfo& d) { d.configurations[0].resize(3); }, "configuration 0"},
        {"interface where the configuration should be", [](DeviceInfo& d) { d.configurations[0][1] = std::byte{4}; },
         "configuration 0"},
        {"speed 7", [](DeviceInfo& d) { d.speed = static_cast<Speed>(7); }, "unknown speed 7"},
        {"state 3", [](DeviceInfo& d) { d.state = static_cast<DeviceState>(3); }, "unknown state 3"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.name);
        DeviceInfo d = test::sample_device();
        c.spoil(d);
        auto r = decode(frame_of(DeviceArrived{d}));
        REQUIRE_FALSE(r.ok());
        CHECK_MESSAGE(r.error().message.find(c.message) != std::string::npos, r.error().message);
        CHECK(r.error().message.find("device 65539") != std::string::npos);
    }
}

TEST_CASE("messages are only allowed on their stream and from their side") {
    struct Case {
        Message m;
        StreamKind stream;
        Sender from;
        bool allowed;
    };
    const Case cases[] = {
        {Hello{}, StreamKind::kControl, Sender::kClient, true},
        {Hello{}, StreamKind::kControl, Sender::kServer, false},
        {Hello{}, StreamKind::kUrb, Sender::kClient, false},
        {HelloAck{}, StreamKind::kControl, Sender::kServer, true},
        {DeviceList{}, StreamKind::kControl, Sender::kClient, false},
        {Attach{}, StreamKind::kControl, Sender::kClient, true},
        {AttachOk{}, StreamKind::kControl, Sender::kServer, true},
        {Detached{}, StreamKind::kControl, Sender::kServer, true},
        {Resume{}, StreamKind::kControl, Sender::kClient, true},
        {ResumeOk{}, StreamKind::kControl, Sender::kServer, true},
        {Submit{}, StreamKind::kUrb, Sender::kClient, true},
        {Submit{}, StreamKind::kControl, Sender::kClient, false},
        {Submit{}, StreamKind::kUrb, Sender::kServer, false},
        {Complete{}, StreamKind::kUrb, Sender::kServer, true},
        {Complete{}, StreamKind::kUrb, Sender::kClient, false},
        {Unlink{}, StreamKind::kUrb, Sender::kClient, true},
        {UnlinkResult{}, StreamKind::kUrb, Sender::kServer, true},
        {Ack{}, StreamKind::kUrb, Sender::kClient, true},
        {Ack{}, StreamKind::kControl, Sender::kClient, false},
        {Bind{}, StreamKind::kUrb, Sender::kClient, true},
        {ErrorMsg{}, StreamKind::kUrb, Sender::kServer, true},
        {ErrorMsg{}, StreamKind::kControl, Sender::kClient, true},
        {Ping{}, StreamKind::kUrb, Sender::kClient, true},
        {Pong{}, StreamKind::kControl, Sender::kServer, true},
    };
    for (const Case& c : cases) {
        CAPTURE(name_of(c.m));
        CAPTURE(static_cast<int>(c.stream));
        CAPTURE(static_cast<int>(c.from));
        CHECK(check_allowed(c.m, c.stream, c.from).ok() == c.allowed);
    }
    auto r = check_allowed(Submit{}, StreamKind::kControl, Sender::kClient);
    CHECK(r.error().message == "proto: Submit is not allowed on the control stream");
}

TEST_CASE("seqnum ranges are built minimal and looked up exactly") {
    SeqRanges r = to_ranges({9, 3, 1, 2, 3, 7, 8, 20});
    CHECK(r == SeqRanges{{1, 3}, {7, 3}, {20, 1}});
    CHECK(total_count(r) == 7);
    for (uint64_t s : {1, 2, 3, 7, 8, 9, 20}) CHECK(contains(r, s));
    for (uint64_t s : {0, 4, 6, 10, 19, 21}) CHECK_FALSE(contains(r, s));
    CHECK(to_ranges({}).empty());
    CHECK_FALSE(contains({}, 1));
}

TEST_CASE("strings over the limit are cut at a character boundary, not refused") {
    ErrorMsg e;
    e.message = std::string(1023, 'x') + "\xc3\xa9" + "tail";  // 'é' straddles byte 1024
    auto r = decode(frame_of(e));
    REQUIRE(r.ok());
    CHECK(std::get<ErrorMsg>(**r).message == std::string(1023, 'x'));
    e.message = std::string(2000, 'y');
    auto r2 = decode(frame_of(e));
    REQUIRE(r2.ok());
    CHECK(std::get<ErrorMsg>(**r2).message == std::string(1024, 'y'));
}
