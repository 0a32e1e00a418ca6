#include <doctest/doctest.h>

#include "quic/refusal_log.hpp"

using namespace usbhop;
using quic::RefusalLog;

namespace {
identity::NodeId node(int n) {
    std::array<std::byte, identity::kPublicKeySize> key{};
    key[0] = std::byte(n);
    key[1] = std::byte(n >> 8);
    return identity::NodeId::from_public_key(key);
}
loop::SocketAddress at(const char* text) { return *loop::SocketAddress::parse(text); }
}  // namespace

TEST_CASE("a refused node is logged once per address; its repeats are counted and summarised per window") {
    RefusalLog r;
    Nanos t = 1000 * kSecond;
    CHECK(r.refused(node(1), at("192.0.2.7:4000"), t) == RefusalLog::Verdict::log);
    // Another port of the same address is the same source.
    CHECK(r.refused(node(1), at("192.0.2.7:4001"), t + 1) == RefusalLog::Verdict::counted);
    CHECK(r.refused(node(1), at("192.0.2.7:4002"), t + 2) == RefusalLog::Verdict::counted);
    // Another address is named again.
    CHECK(r.refused(node(1), at("192.0.2.8:4000"), t + 3) == RefusalLog::Verdict::log);
    auto s = r.tick(t + RefusalLog::kWindow);
    REQUIRE(s.size() == 1);
    CHECK(s[0].node == node(1).to_string());
    CHECK(s[0].source == "192.0.2.7");
    CHECK(s[0].count == 2);
    // Still within a window of its last refusal: counted, not named again.
    CHECK(r.refused(node(1), at("192.0.2.7:4000"), t + RefusalLog::kWindow) == RefusalLog::Verdict::counted);
    CHECK(r.tick(t + 2 * RefusalLog::kWindow).size() == 1);
    // Quiet for a whole window: forgotten, so named again.
    CHECK(r.tick(t + 3 * RefusalLog::kWindow).empty());
    CHECK(r.refused(node(1), at("192.0.2.7:4000"), t + 3 * RefusalLog::kWindow) == RefusalLog::Verdict::log);
}

TEST_CASE("a fresh key per attempt names only a few nodes per address and window, and counts the rest") {
    RefusalLog r;
    Nanos t = 1000 * kSecond;
    size_t logged = 0;
    for (int i = 0; i < 15000; ++i)
        logged += r.refused(node(i), at("[2001:db8::1]:5000"), t) == RefusalLog::Verdict::log;
    CHECK(logged == RefusalLog::kNewPerSource);
    // Another address still gets its own lines.
    CHECK(r.refused(node(1), at("192.0.2.9:1"), t) == RefusalLog::Verdict::log);
    auto s = r.tick(t + RefusalLog::kWindow);
    REQUIRE(s.size() == 1);
    CHECK(s[0].node.empty());
    CHECK(s[0].source == "[2001:db8::1]");
    CHECK(s[0].count == 15000 - RefusalLog::kNewPerSource);
    // The next window may name new nodes again.
    CHECK(r.refused(node(20000), at("[2001:db8::1]:5000"), t + RefusalLog::kWindow) == RefusalLog::Verdict::log);
}

TEST_CASE("the table is bounded: beyond it refusals are only counted") {
    RefusalLog r;
    Nanos t = 1000 * kSecond;
    for (uint32_t i = 0; i < RefusalLog::kMaxEntries + 100; ++i)
        r.refused(node(1), loop::SocketAddress::ipv4(0x0a000000 + i, 1), t);
    auto s = r.tick(t + RefusalLog::kWindow);
    REQUIRE(s.size() == 1);
    CHECK(s[0].source.empty());
    CHECK(s[0].count == 100);
    CHECK(r.empty());   // nobody came back within the window: all forgotten
}
