#include <doctest/doctest.h>
#include <sys/socket.h>

#include <fstream>
#include <set>
#include <string>

#include "loop/udp.hpp"

using namespace usbhop;
using namespace usbhop::loop;

TEST_CASE("socket addresses parse and print IPv4 and IPv6, and bad ones say why") {
    auto v4 = SocketAddress::parse("127.0.0.1:7575");
    REQUIRE(v4);
    CHECK(v4->family() == AF_INET);
    CHECK(v4->port() == 7575);
    CHECK(v4->to_string() == "127.0.0.1:7575");
    auto v6 = SocketAddress::parse("[::1]:80");
    REQUIRE(v6);
    CHECK(v6->family() == AF_INET6);
    CHECK(v6->to_string() == "[::1]:80");
    CHECK(v4->host_string() == "127.0.0.1");
    CHECK(v6->host_string() == "[::1]");
    CHECK(*v4 == SocketAddress::ipv4(0x7f000001, 7575));
    CHECK_FALSE(*v4 == *v6);
    const char* bad[] = {"127.0.0.1", "127.0.0.1:99999", "::1:80", "[::1]80", "host.example:80", "1.2.3.4:x", ""};
    for (const char* text : bad) {
        auto r = SocketAddress::parse(text);
        INFO(text);
        REQUIRE_FALSE(r);
        CHECK(r.error().message.find("address '") != std::string::npos);
    }
}

TEST_CASE("udp sockets exchange datagrams over IPv4 and IPv6 loopback, batched receives included") {
    for (const char* any : {"127.0.0.1:0", "[::1]:0"}) {
        INFO(any);
        Loop loop;
        Udp a(loop), b(loop);
        REQUIRE(a.bind(*SocketAddress::parse(any)));
        REQUIRE(b.bind(*SocketAddress::parse(any)));
        SocketAddress to = b.local_address();
        CHECK(to.port() != 0);
        std::set<std::string> got;
        SocketAddress from;
        REQUIRE(b.start_receiving([&](ByteSpan data, const SocketAddress& src) {
            got.insert(std::string(as_chars(data)));
            from = src;
        }));
        for (int i = 0; i < 50; ++i) CHECK(a.try_send(as_bytes("msg" + std::to_string(i)), to) > 0);
        bool queued_done = false;
        a.send(as_bytes("queued"), to, [&](int status) { queued_done = status == 0; });
        CHECK(loop.run_until([&] { return got.size() == 51 && queued_done; }, 2 * kSecond));
        CHECK(got.count("msg49") == 1);
        CHECK(from == a.local_address());
    }
}

TEST_CASE("a GSO send arrives as separate datagrams of the segment size") {
    Loop loop;
    Udp a(loop), b(loop);
    REQUIRE(a.bind(*SocketAddress::parse("127.0.0.1:0")));
    REQUIRE(b.bind(*SocketAddress::parse("127.0.0.1:0")));
    std::vector<size_t> sizes;
    REQUIRE(b.start_receiving([&](ByteSpan data, const SocketAddress&) { sizes.push_back(data.size()); }));
    Bytes batch(1200 * 4 + 500, std::byte{7});
    int n = a.try_send_segments(batch, 1200, b.local_address());
    REQUIRE(n == static_cast<int>(batch.size()));
    CHECK(loop.run_until([&] { return sizes.size() == 5; }, 2 * kSecond));
    CHECK(sizes == std::vector<size_t>{1200, 1200, 1200, 1200, 500});
}

namespace {

long read_long(const char* path) {
    std::ifstream in(path);
    long v = -1;
    in >> v;
    return v;
}

// Whether this process holds CAP_NET_ADMIN (bit 12 of CapEff), which lets
// SO_RCVBUFFORCE/SO_SNDBUFFORCE pass net.core.rmem_max/wmem_max.
bool may_force_buffers() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("CapEff:", 0) == 0) return (std::stoull(line.substr(7), nullptr, 16) >> 12) & 1;
    return false;
}

int granted(int fd, int option) {
    int value = 0;
    socklen_t len = sizeof value;
    REQUIRE(getsockopt(fd, SOL_SOCKET, option, &value, &len) == 0);
    return value / 2;
}

}  // namespace

// Issue 13: with the default cap (212992 bytes) a receive buffer holds three
// 64 KiB datagrams, and a loop that falls behind a burst drops the rest.
TEST_CASE("socket buffers asked for past the sysctl cap are forced there when the process may, and reported as granted") {
    const long rmem_max = read_long("/proc/sys/net/core/rmem_max");
    const long wmem_max = read_long("/proc/sys/net/core/wmem_max");
    REQUIRE(rmem_max > 0);
    REQUIRE(wmem_max > 0);
    // Past both caps, so that only forcing reaches it.
    const int want = static_cast<int>(std::min<long>(2 * std::max(rmem_max, wmem_max), 1L << 28));
    Loop loop;
    Udp u(loop);
    REQUIRE(u.bind(*SocketAddress::parse("127.0.0.1:0")));
    Udp::BufferSizes got = u.set_buffer_sizes(want, want);
    CHECK(got.receive == granted(u.fd(), SO_RCVBUF));
    CHECK(got.send == granted(u.fd(), SO_SNDBUF));
    if (may_force_buffers()) {
        CHECK(granted(u.fd(), SO_RCVBUF) >= want);
        CHECK(granted(u.fd(), SO_SNDBUF) >= want);
    } else {
        MESSAGE("no CAP_NET_ADMIN here: the buffers stay at the sysctl caps");
        CHECK(granted(u.fd(), SO_RCVBUF) == std::min<long>(want, rmem_max));
        CHECK(granted(u.fd(), SO_SNDBUF) == std::min<long>(want, wmem_max));
    }
}

TEST_CASE("binding an address in use fails with a readable error") {
    Loop loop;
    Udp a(loop), b(loop);
    REQUIRE(a.bind(*SocketAddress::parse("127.0.0.1:0")));
    auto r = b.bind(a.local_address());
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("address already in use") != std::string::npos);
}

TEST_CASE("a socket destroyed with sends queued does not call their completions") {
    Loop loop;
    Udp b(loop);
    REQUIRE(b.bind(*SocketAddress::parse("127.0.0.1:0")));
    bool called = false;
    {
        Udp a(loop);
        REQUIRE(a.bind(*SocketAddress::parse("127.0.0.1:0")));
        for (int i = 0; i < 10; ++i) a.send(as_bytes("x"), b.local_address(), [&](int) { called = true; });
    }
    Timer wait(loop, [] {});
    wait.start(10 * kMillisecond);
    loop.run_until([] { return false; }, 20 * kMillisecond);
    CHECK_FALSE(called);
}
