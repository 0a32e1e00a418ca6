// relay_peer: one end of a relayed QUIC session as its own process, for
// trying the relay across real NATs (network namespaces) without USB:
//
//   relay_peer server BIND RELAY RELAY_ID KEY PEER_ID
//   relay_peer client RELAY RELAY_ID KEY SERVER_ID MIB [SECONDS]
//
// The server accepts PEER_ID and counts what arrives; the client connects to
// SERVER_ID through RELAY, then sends MIB MiB spread over SECONDS (default
// 10) and prints, once a second, whether its path is relayed or direct and
// what it has sent through the relay. Exit status 0 when the client's data
// all arrived (the server prints "received N bytes" on each FIN).
#include <cstdio>
#include <cstdlib>
#include <string>

#include "quic/relay_path.hpp"
#include "util/log.hpp"

using namespace usbhop;

namespace {

int usage() {
    std::fprintf(stderr,
                 "usage: relay_peer server BIND RELAY RELAY_ID KEY PEER_ID\n"
                 "       relay_peer client RELAY RELAY_ID KEY SERVER_ID MIB [SECONDS]\n");
    return 2;
}

template <typename T>
T must(Result<T> r, const char* what) {
    if (!r) {
        std::fprintf(stderr, "relay_peer: %s: %s\n", what, r.error().message.c_str());
        std::exit(1);
    }
    return std::move(*r);
}

}  // namespace

int main(int argc, char** argv) {
    log::set_threshold(getenv("RELAY_PEER_DEBUG") ? log::Level::debug : log::Level::info);
    if (argc < 2) return usage();
    std::string mode = argv[1];
    bool server = mode == "server";
    if ((server && argc != 7) || (!server && (mode != "client" || argc < 7 || argc > 8))) return usage();
    int a = server ? 3 : 2;
    loop::Loop loop;
    quic::RelayPathOptions o;
    o.relay = must(loop::SocketAddress::parse(argv[a]), "relay address");
    o.relay_node = must(identity::NodeId::parse(argv[a + 1]), "relay node ID");
    auto key = must(identity::NodeKey::load_or_create(argv[a + 2]), "key");
    identity::NodeId peer = must(identity::NodeId::parse(argv[a + 3]), "peer node ID");
    auto bind = must(loop::SocketAddress::parse(server ? argv[2] : "0.0.0.0:0"), "bind address");
    auto ep = must(quic::Endpoint::create(loop, key, bind), "endpoint");
    quic::RelayPath rp(loop, *ep, key, o);
    uint64_t received = 0;
    if (server) {
        ep->listen([&](const identity::NodeId& n) { return n == peer; }, [&](quic::Connection& c) {
            quic::Handlers h;
            h.on_stream_data = [&](int64_t, ByteSpan d, bool fin) {
                received += d.size();
                if (fin) std::printf("received %llu bytes\n", static_cast<unsigned long long>(received));
                std::fflush(stdout);
            };
            c.set_handlers(std::move(h));
        });
        rp.start();
        loop.run();
        return 0;
    }
    uint64_t total = std::strtoull(argv[6], nullptr, 10) << 20;
    double seconds = argc > 7 ? std::strtod(argv[7], nullptr) : 10;
    rp.start();
    if (!loop.run_until([&] { return rp.registered(); }, 30 * kSecond)) {
        std::fprintf(stderr, "relay_peer: not registered\n");
        return 1;
    }
    bool up = false, closed = false;
    quic::Handlers h;
    h.on_established = [&] { up = true; };
    h.on_closed = [&](const quic::CloseInfo& i) {
        closed = true;
        std::fprintf(stderr, "relay_peer: closed: %s\n", i.message.c_str());
    };
    quic::Connection* c = must(rp.connect(peer, std::move(h)), "connect");
    if (!loop.run_until([&] { return up || closed; }, 30 * kSecond) || closed) return 1;
    auto s = must(c->open_stream(), "stream");
    Bytes chunk(64 * 1024, std::byte{0x5a});
    uint64_t sent = 0;
    Nanos start = monotonic_ns();
    Nanos next_report = start;
    while (!closed) {
        Nanos now = monotonic_ns();
        uint64_t due = std::min<uint64_t>(total, static_cast<uint64_t>(static_cast<double>(total) *
                                                                      static_cast<double>(now - start) / 1e9 / seconds));
        while (sent < due) {
            size_t n = static_cast<size_t>(std::min<uint64_t>(chunk.size(), due - sent));
            size_t took = c->write(s, ByteSpan(chunk).first(n), sent + n == total);
            sent += took;
            if (took < n) break;
        }
        if (now >= next_report) {
            quic::PathInfo p = c->path();
            std::printf("t=%.1fs %s %s -> %s sent=%llu to_relay=%llu punches=%llu/%llu\n",
                        static_cast<double>(now - start) / 1e9, quic::is_relayed(p) ? "relayed" : "direct",
                        p.local.to_string().c_str(), p.remote.to_string().c_str(),
                        static_cast<unsigned long long>(sent),
                        static_cast<unsigned long long>(rp.stats().bytes_to_relay),
                        static_cast<unsigned long long>(rp.stats().punches_sent),
                        static_cast<unsigned long long>(rp.stats().punches_received));
            std::fflush(stdout);
            next_report += kSecond;
        }
        if (sent == total && c->unacknowledged(s) == 0) break;
        loop.run_until([] { return false; }, 20 * kMillisecond);
    }
    std::printf("done: %s, %llu bytes through the relay\n", quic::is_relayed(c->path()) ? "relayed" : "direct",
                static_cast<unsigned long long>(rp.stats().bytes_to_relay));
    return closed ? 1 : 0;
}
