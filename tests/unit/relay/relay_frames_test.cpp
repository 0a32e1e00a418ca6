// The relay framing (proto/relay_frames): every frame round-trips, every
// malformed datagram is refused with a reason, and nothing the relay answers
// an unverified address is larger than what it was sent.
#include <doctest/doctest.h>

#include "proto/relay_frames.hpp"

using namespace usbhop;
using namespace usbhop::proto::relay;

namespace {

template <size_t N>
std::array<std::byte, N> filled(uint8_t v) {
    std::array<std::byte, N> a;
    a.fill(std::byte{v});
    return a;
}

WireAddress v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port) {
    WireAddress w;
    w.family = 4;
    w.ip[0] = std::byte{a};
    w.ip[1] = std::byte{b};
    w.ip[2] = std::byte{c};
    w.ip[3] = std::byte{d};
    w.port = port;
    return w;
}

WireAddress v6(uint16_t port) {
    WireAddress w;
    w.family = 6;
    w.ip = filled<16>(0x20);
    w.port = port;
    return w;
}

Bytes packet_bytes() { return Bytes(1200, std::byte{0xc3}); }

std::vector<Frame> samples() {
    static Bytes pkt = packet_bytes();
    return {
        Hello{filled<32>(1), filled<16>(2)},
        Challenge{filled<16>(2), filled<16>(3), v4(203, 0, 113, 7, 40000), filled<64>(4)},
        Challenge{filled<16>(2), filled<16>(3), v6(1), filled<64>(4)},
        RegisterNode{filled<32>(1), filled<16>(3), filled<64>(5)},
        Registered{v4(198, 51, 100, 1, 7575), 25, filled<16>(10)},
        Refused{RefuseReason::target_unknown, 0x1122334455667788, filled<16>(10)},
        Refused{RefuseReason::not_trusted, 0, filled<16>(3)},
        Connect{42, filled<16>(10), filled<32>(6)},
        Session{42, filled<16>(10), filled<32>(6), v6(7575), true},
        Session{43, filled<16>(11), filled<32>(7), v4(10, 0, 0, 1, 1), false},
        Forward{42, filled<16>(10), ByteSpan(pkt)},
        Punch{42, true, filled<16>(9)},
        Release{42, filled<16>(10)},
        KeepAlive{filled<32>(1), filled<16>(10)},
        KeepAliveAck{v4(192, 0, 2, 9, 9), filled<16>(10)},
    };
}

bool same(const Frame& a, const Frame& b) {
    if (a.index() != b.index()) return false;
    return encode(a) == encode(b);
}

}  // namespace

TEST_CASE("every relay frame round-trips and starts below the QUIC fixed bit") {
    for (const Frame& f : samples()) {
        Bytes wire = encode(f);
        CAPTURE(f.index());
        REQUIRE(!wire.empty());
        CHECK(std::to_integer<uint8_t>(wire[0]) < kFirstQuicByte);
        CHECK(is_relay_frame(wire));
        CHECK(wire.size() <= kMaxDatagram);
        auto back = decode(wire);
        REQUIRE(back);
        CHECK(same(*back, f));
    }
}

TEST_CASE("a forwarded packet is carried byte for byte behind a 25-byte header with the tag") {
    Bytes pkt = packet_bytes();
    Bytes wire;
    encode_forward(wire, 0xabcdef, filled<16>(10), pkt);
    CHECK(wire.size() == pkt.size() + kForwardHeaderSize);
    CHECK(kForwardHeaderSize == 25);
    CHECK(forward_session(wire) == 0xabcdefu);
    CHECK(forward_tag(wire) == filled<16>(10));
    // The largest QUIC packet a peer sends by default (1452) fits the relay's 1500.
    CHECK(1452 + kForwardHeaderSize <= kMaxDatagram);
    auto f = decode(wire);
    REQUIRE(f);
    auto& fw = std::get<Forward>(*f);
    CHECK(fw.session_id == 0xabcdefu);
    CHECK(fw.tag == filled<16>(10));
    CHECK(Bytes(fw.packet.begin(), fw.packet.end()) == pkt);
}

TEST_CASE("no answer to an unverified address is larger than the HELLO that asked") {
    Hello h{filled<32>(1), filled<16>(2)};
    Bytes hello = encode(h);
    CHECK(hello.size() == kMinHelloSize);
    // The largest CHALLENGE: an IPv6 address.
    Bytes challenge = encode(Challenge{filled<16>(2), filled<16>(3), v6(65535), filled<64>(4)});
    CHECK(challenge.size() < hello.size());
    Bytes refused = encode(Refused{RefuseReason::stale_nonce, 0});
    CHECK(refused.size() < encode(KeepAlive{filled<32>(1)}).size());
    // A short HELLO (not padded) is refused, so it can never draw a CHALLENGE.
    Bytes short_hello(hello.begin(), hello.begin() + 49);
    auto r = decode(short_hello);
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("padded") != std::string::npos);
}

TEST_CASE("QUIC packets, unknown types and malformed frames are refused with a reason") {
    struct Case {
        Bytes wire;
        std::string_view expect;
    };
    auto with = [](std::initializer_list<uint8_t> b) {
        Bytes out;
        for (uint8_t v : b) out.push_back(std::byte{v});
        return out;
    };
    Bytes over(kMaxDatagram + 1, std::byte{0x08});
    Bytes trailing = encode(Release{1});
    trailing.push_back(std::byte{0});
    Bytes bad_family = encode(Registered{v4(1, 2, 3, 4, 5), 25, {}});
    bad_family[1] = std::byte{5};
    Bytes bad_reason = encode(Refused{RefuseReason::too_many, 0});
    bad_reason[1] = std::byte{99};
    Bytes bad_role = encode(Session{1, {}, filled<32>(1), v4(1, 2, 3, 4, 5), true});
    bad_role.back() = std::byte{2};
    Bytes no_packet(kForwardHeaderSize, std::byte{0});   // session id and tag, nothing after
    no_packet[0] = std::byte{0x08};
    Bytes bad_punch = encode(Punch{1, false, filled<16>(1)});
    bad_punch[9] = std::byte{7};
    std::vector<Case> cases = {
        {{}, "empty"},
        {with({0x40, 1, 2, 3}), "QUIC"},
        {with({0xc0, 0, 0, 0, 1}), "QUIC"},
        {with({0x3f}), "unknown type"},
        {with({0x00}), "unknown type"},
        {over, "larger than"},
        {trailing, "trailing"},
        {no_packet, "no packet"},
        {with({0x08, 0, 0, 0, 0, 0, 0, 0, 1}), "truncated"},   // no tag: a version 2 FORWARD
        {with({0x08, 0, 0, 0}), "truncated"},
        {with({0x06, 0, 0}), "truncated"},
        {bad_family, "REGISTERED is truncated or malformed"},
        {bad_reason, "unknown reason"},
        {bad_role, "role"},
        {bad_punch, "kind"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.expect);
        auto r = decode(c.wire);
        REQUIRE_FALSE(r);
        CHECK(r.error().message.rfind("relay frame: ", 0) == 0);
        CHECK(r.error().message.find(c.expect) != std::string::npos);
    }
    CHECK_FALSE(forward_session(with({0x08, 0, 0, 0, 0, 0, 0, 0, 1})));
    CHECK_FALSE(forward_session(Bytes(kForwardHeaderSize, std::byte{0x08})));   // a tag, no packet
    CHECK_FALSE(forward_session(with({0x07, 0, 0, 0, 0, 0, 0, 0, 1, 2})));
    CHECK_FALSE(is_relay_frame(with({0x41})));
    CHECK_FALSE(is_relay_frame({}));
}

TEST_CASE("every truncation of every frame is refused, never read past its end") {
    for (const Frame& f : samples()) {
        Bytes wire = encode(f);
        size_t keep_ok = std::holds_alternative<Forward>(f) ? kForwardHeaderSize + 1 : wire.size();
        if (std::holds_alternative<Hello>(f)) keep_ok = kMinHelloSize;
        for (size_t n = 0; n < keep_ok; ++n) {
            Bytes cut(wire.begin(), wire.begin() + static_cast<ptrdiff_t>(n));
            CAPTURE(n);
            CHECK_FALSE(decode(cut));
        }
    }
}

TEST_CASE("what is signed binds the relay, both nonces, the node and the address") {
    Challenge c{filled<16>(2), filled<16>(3), v4(203, 0, 113, 7, 40000), {}};
    Bytes base = challenge_signed_bytes(c, filled<32>(1));
    Challenge moved = c;
    moved.observed.port = 40001;
    CHECK(challenge_signed_bytes(moved, filled<32>(1)) != base);
    CHECK(challenge_signed_bytes(c, filled<32>(9)) != base);
    Challenge renonce = c;
    renonce.peer_nonce[0] = std::byte{7};
    CHECK(challenge_signed_bytes(renonce, filled<32>(1)) != base);
    Bytes reg = register_signed_bytes(filled<32>(8), filled<16>(3), filled<32>(1));
    CHECK(reg != register_signed_bytes(filled<32>(9), filled<16>(3), filled<32>(1)));
    CHECK(reg != register_signed_bytes(filled<32>(8), filled<16>(4), filled<32>(1)));
    CHECK(reg != register_signed_bytes(filled<32>(8), filled<16>(3), filled<32>(2)));
    CHECK(reg != base);
}

TEST_CASE("HELLO carries the wire version, where version 1 had padding; tags compare whole") {
    Bytes hello = encode(Hello{filled<32>(1), filled<16>(2)});
    CHECK(std::to_integer<uint8_t>(hello[49]) == kWireVersion);
    CHECK(kWireVersion == 3);
    Bytes v1 = hello;
    v1[49] = std::byte{0};   // what a version 1 peer sends
    auto f = decode(v1);
    REQUIRE(f);
    CHECK(std::get<Hello>(*f).version == 0);
    Tag a = filled<16>(3), b = a;
    CHECK(same_tag(a, b));
    b[15] = std::byte{4};
    CHECK_FALSE(same_tag(a, b));
    CHECK_FALSE(same_tag(Tag{}, a));
}
