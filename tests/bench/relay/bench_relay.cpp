// bench-relay: the same transfer and the same round trips through `usbhop
// relay` and over the direct path that punching finds, in one run on
// loopback. The relay runs in its own process (as it would on a VPS) with no
// byte-rate limit; server and client share this process's loop.
//
//   bench-relay [SIZE]      SIZE like 64M, 1G (default 256M)
//
// Prints, for each path: throughput of one stream of SIZE bytes, and the
// round-trip time of 8-byte echoes on a stream (p50/p99 of 500) beside
// ngtcp2's smoothed RTT.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "quic/relay_path.hpp"
#include "relay/relay.hpp"
#include "util/log.hpp"

using namespace usbhop;

namespace {

uint64_t parse_size(const char* s) {
    char* end = nullptr;
    double v = strtod(s, &end);
    switch (*end) {
        case 'G': case 'g': v *= 1 << 30; break;
        case 'M': case 'm': v *= 1 << 20; break;
        case 'K': case 'k': v *= 1 << 10; break;
        default: break;
    }
    return static_cast<uint64_t>(v);
}

loop::SocketAddress addr(const char* t) { return *loop::SocketAddress::parse(t); }

struct Figures {
    double mbytes_per_s = 0;
    double rtt_p50_us = 0, rtt_p99_us = 0, smoothed_us = 0;
    bool relayed = false;
};

struct Run {
    loop::Loop loop;
    const identity::NodeKey& server_key;
    const identity::NodeKey& client_key;
    std::unique_ptr<quic::Endpoint> server, client;
    std::unique_ptr<quic::RelayPath> server_path, client_path;
    quic::Connection* accepted = nullptr;
    quic::Connection* conn = nullptr;
    uint64_t received = 0;
    bool fin = false;
    int64_t echo_stream = -1;
    uint64_t echoes = 0;
    std::function<void()> writable;

    Run(const identity::NodeKey& sk, const identity::NodeKey& ck, quic::RelayPathOptions o) : server_key(sk), client_key(ck) {
        server = std::move(quic::Endpoint::create(loop, sk, addr("127.0.0.2:0")).value());
        client = std::move(quic::Endpoint::create(loop, ck, addr("127.0.0.3:0")).value());
        server->listen([&](const identity::NodeId& n) { return n == ck.id(); }, [this](quic::Connection& c) {
            accepted = &c;
            quic::Handlers h;
            h.on_stream_data = [this](int64_t s, ByteSpan d, bool end) {
                if (s == echo_stream || (echo_stream < 0 && d.size() == 8 && !end)) {
                    echo_stream = s;
                    accepted->write(s, d);
                    return;
                }
                received += d.size();
                fin = fin || end;
            };
            c.set_handlers(std::move(h));
        });
        server_path = std::make_unique<quic::RelayPath>(loop, *server, sk, o);
        client_path = std::make_unique<quic::RelayPath>(loop, *client, ck, o);
        server_path->start();
        client_path->start();
    }
    ~Run() {
        client_path.reset();
        server_path.reset();
        client.reset();
        server.reset();
    }

    bool connect(bool want_direct) {
        if (!loop.run_until([&] { return server_path->registered() && client_path->registered(); }, 10 * kSecond))
            return false;
        bool up = false;
        quic::Handlers h;
        h.on_established = [&up] { up = true; };
        h.on_writable = [this](int64_t) {
            if (writable) writable();
        };
        h.on_stream_data = [this](int64_t, ByteSpan d, bool) { echoes += d.size() / 8; };
        auto c = client_path->connect(server_key.id(), std::move(h));
        if (!c) return false;
        conn = *c;
        if (!loop.run_until([&] { return up && accepted; }, 15 * kSecond)) return false;
        if (want_direct)
            return loop.run_until([&] { return !quic::is_relayed(conn->path()); }, 15 * kSecond) &&
                   loop.run_until([] { return false; }, 500 * kMillisecond) == false;
        return true;
    }

    Figures measure(uint64_t size) {
        Figures r;
        // Round trips first, on an idle connection.
        auto es = conn->open_stream();
        std::vector<double> rtts;
        Bytes ping(8, std::byte{1});
        for (int i = 0; i < 500; ++i) {
            uint64_t want = echoes + 1;
            Nanos t0 = monotonic_ns();
            conn->write(*es, ping);
            if (!loop.run_until([&] { return echoes >= want; }, 5 * kSecond)) break;
            rtts.push_back(static_cast<double>(monotonic_ns() - t0) / 1000.0);
        }
        std::sort(rtts.begin(), rtts.end());
        if (!rtts.empty()) {
            r.rtt_p50_us = rtts[rtts.size() / 2];
            r.rtt_p99_us = rtts[rtts.size() * 99 / 100];
        }
        // Then one stream of size bytes.
        auto s = conn->open_stream();
        Bytes chunk(256 * 1024, std::byte{0x5a});
        uint64_t sent = 0;
        auto pump = [&] {
            while (sent < size) {
                size_t n = static_cast<size_t>(std::min<uint64_t>(chunk.size(), size - sent));
                size_t took = conn->write(*s, ByteSpan(chunk).first(n), sent + n == size);
                sent += took;
                if (took < n) return;
            }
        };
        writable = pump;
        Nanos t0 = monotonic_ns();
        pump();
        loop.run_until([&] { return fin; }, 600 * kSecond);
        double secs = static_cast<double>(monotonic_ns() - t0) / 1e9;
        writable = nullptr;
        r.mbytes_per_s = fin ? static_cast<double>(received) / secs / 1e6 : 0;
        r.smoothed_us = static_cast<double>(conn->path().smoothed_rtt) / 1000.0;
        r.relayed = quic::is_relayed(conn->path());
        return r;
    }
};

}  // namespace

int main(int argc, char** argv) {
    uint64_t size = argc > 1 ? parse_size(argv[1]) : 256ull << 20;
    log::set_threshold(getenv("BENCH_RELAY_VERBOSE") ? log::Level::debug : log::Level::warning);
    auto relay_key = identity::NodeKey::generate();
    auto server_key = identity::NodeKey::generate();
    auto client_key = identity::NodeKey::generate();
    if (!relay_key || !server_key || !client_key) return 1;
    int fds[2];
    if (pipe(fds) != 0) return 1;
    pid_t child = fork();
    if (child == 0) {
        loop::Loop loop;
        relay::Options o;
        o.listen = addr("127.0.0.1:0");
        o.limits.bytes_per_second = 0;
        o.trust = [](const identity::NodeId&) { return true; };
        auto r = relay::Relay::create(loop, *relay_key, o);
        if (!r) _exit(1);
        uint16_t port = (*r)->local_address().port();
        if (write(fds[1], &port, sizeof port) != sizeof port) _exit(1);
        loop.run();
        _exit(0);
    }
    uint16_t port = 0;
    if (read(fds[0], &port, sizeof port) != sizeof port) return 1;
    quic::RelayPathOptions o;
    o.relay = loop::SocketAddress::ipv4(0x7f000001, port);
    o.relay_node = relay_key->id();

    std::printf("bench-relay: one stream of %llu MiB and 500 8-byte echoes, loopback, relay in its own process\n",
                static_cast<unsigned long long>(size >> 20));
    std::printf("%-9s %12s %12s %12s %14s\n", "path", "MB/s", "echo p50", "echo p99", "smoothed rtt");
    bool ok = true;
    for (bool direct : {false, true}) {
        o.punch = direct;
        Run run(*server_key, *client_key, o);
        if (!run.connect(direct)) {
            std::printf("%-9s could not connect\n", direct ? "direct" : "relayed");
            ok = false;
            continue;
        }
        Figures r = run.measure(size);
        bool right = r.relayed == !direct && r.mbytes_per_s > 0;
        ok = ok && right;
        std::printf("%-9s %12.1f %10.0fus %10.0fus %12.0fus%s\n", direct ? "direct" : "relayed", r.mbytes_per_s,
                    r.rtt_p50_us, r.rtt_p99_us, r.smoothed_us, right ? "" : "  (unexpected path or failed)");
    }
    kill(child, SIGTERM);
    waitpid(child, nullptr, 0);
    return ok ? 0 : 1;
}
