#include "half_open_flood.hpp"
#include "harness.hpp"
#include "quic/internal.hpp"

using namespace usbhop;
using namespace usbhop::test;

TEST_CASE("handshake succeeds when both keys are the expected ones") {
    Pair p;
    bool up = false;
    quic::Handlers h;
    h.on_established = [&] { up = true; };
    auto c = p.client->connect(p.server->local_address(), p.server_key.id(), h);
    REQUIRE(c);
    REQUIRE(p.run_until([&] { return up && p.accepted; }));
    CHECK((*c)->peer() == p.server_key.id());
    CHECK(p.accepted->peer() == p.client_key.id());
    CHECK((*c)->established());
    CHECK(p.server->stats().retries_sent == 1);   // address validated first
    auto path = (*c)->path();
    CHECK(path.remote == p.server->local_address());
    CHECK(path.smoothed_rtt > 0);
}

namespace {
struct Outcome {
    bool established = false;
    bool closed = false;
    quic::CloseInfo info;
};

quic::Handlers watch(Outcome& o) {
    quic::Handlers h;
    h.on_established = [&o] { o.established = true; };
    h.on_closed = [&o](const quic::CloseInfo& i) {
        o.closed = true;
        o.info = i;
    };
    return h;
}
}  // namespace

TEST_CASE("the server refuses a client key that is not in authorized_keys, with one line on each side") {
    Pair p;
    identity::NodeKey stranger = make_key();
    auto ep = quic::Endpoint::create(p.loop, stranger, addr("127.0.0.1:0"));
    REQUIRE(ep);
    Outcome o;
    StderrCapture cap;
    auto c = (*ep)->connect(p.server->local_address(), p.server_key.id(), watch(o));
    REQUIRE(c);
    REQUIRE(p.run_until([&] { return o.closed; }));
    std::string log = cap.text();
    CHECK_FALSE(o.established);
    CHECK(p.accepted == nullptr);
    CHECK(o.info.kind == quic::CloseInfo::Kind::handshake_failed);
    // Server side: one line with the full ID, the address, the command that trusts it, journal fields.
    std::string id = stranger.id().to_string();
    auto line = log.find("refused node " + id + " from 127.0.0.1:");
    REQUIRE(line != std::string::npos);
    std::string refusal = log.substr(line, log.find('\n', line) - line);
    CHECK(refusal.find(": not in authorized_keys (to let it in: usbhop trust " + id + ")") != std::string::npos);
    CHECK(refusal.find(" usbhop_peer=" + id + " usbhop_address=127.0.0.1:") != std::string::npos);
    CHECK(log.find("not in authorized_keys") == log.rfind("not in authorized_keys"));   // that line only
    // Client side: says the server refused our key and which ID to add.
    CHECK(o.info.message.find("refused this node's key") != std::string::npos);
    CHECK(o.info.message.find(stranger.id().to_string()) != std::string::npos);
    CHECK(log.find(o.info.message) != std::string::npos);
    CHECK(p.server->stats().handshakes_refused == 1);
    p.run_until([&] { return p.server->connection_count() == 0; }, 5 * kSecond);
    CHECK(p.server->connection_count() == 0);
}

TEST_CASE("the client refuses a server whose key is not the node ID it asked for") {
    Pair p;
    // The server at that address now has another key than the one pinned.
    identity::NodeKey impostor = make_key();
    auto fake = quic::Endpoint::create(p.loop, impostor, addr("127.0.0.1:0"));
    REQUIRE(fake);
    bool handed_over = false;
    (*fake)->listen([&](const identity::NodeId&) { return true; }, [&](quic::Connection&) { handed_over = true; });
    Outcome o;
    StderrCapture cap;
    auto c = p.client->connect((*fake)->local_address(), p.server_key.id(), watch(o));
    REQUIRE(c);
    REQUIRE(p.run_until([&] { return o.closed; }));
    p.run_until([&] { return (*fake)->connection_count() == 0; }, 5 * kSecond);
    std::string log = cap.text();
    CHECK_FALSE(o.established);
    CHECK_FALSE(handed_over);
    CHECK(o.info.kind == quic::CloseInfo::Kind::handshake_failed);
    CHECK(o.info.message.find("server key is not " + p.server_key.id().to_string()) != std::string::npos);
    CHECK(o.info.message.find(impostor.id().to_string()) != std::string::npos);
    CHECK(log.find("refused this server's key") != std::string::npos);
}

TEST_CASE("a client that expects a different node ID does not connect to the real server") {
    Pair p;
    identity::NodeId other = make_key().id();
    Outcome o;
    StderrCapture cap;
    auto c = p.client->connect(p.server->local_address(), other, watch(o));
    REQUIRE(c);
    REQUIRE(p.run_until([&] { return o.closed; }));
    std::string log = cap.text();
    CHECK_FALSE(o.established);
    CHECK(p.accepted == nullptr);
    CHECK(o.info.message.find("server key is not " + other.to_string()) != std::string::npos);
    CHECK(log.find("server key is not " + other.to_string()) != std::string::npos);
    // Exactly one line for it on the client side.
    size_t first = log.find("server key is not");
    CHECK(log.find("server key is not", first + 1) == std::string::npos);
}

TEST_CASE("trust is asked at every handshake, so a reloaded authorized_keys applies at once") {
    Pair p;
    bool trusted = false;
    p.server->listen([&](const identity::NodeId& id) { return trusted && id == p.client_key.id(); },
                     [&](quic::Connection& c) { p.accepted = &c; });
    Outcome first;
    REQUIRE(p.client->connect(p.server->local_address(), p.server_key.id(), watch(first)));
    REQUIRE(p.run_until([&] { return first.closed; }));
    CHECK_FALSE(first.established);
    trusted = true;
    Outcome second;
    REQUIRE(p.client->connect(p.server->local_address(), p.server_key.id(), watch(second)));
    REQUIRE(p.run_until([&] { return second.established; }));
}

TEST_CASE("handshakes work over IPv6 and without Retry") {
    quic::Config no_retry;
    no_retry.require_retry = false;
    Pair p(no_retry, {}, "[::1]:0");
    Outcome o;
    REQUIRE(p.client->connect(p.server->local_address(), p.server_key.id(), watch(o)));
    REQUIRE(p.run_until([&] { return o.established && p.accepted; }));
    CHECK(p.server->stats().retries_sent == 0);
    CHECK(p.accepted->path().remote.family() == AF_INET6);
}

TEST_CASE("a handshake with nobody listening times out with a clear line") {
    loop::Loop loop;
    identity::NodeKey key = make_key();
    quic::Config cfg;
    cfg.handshake_timeout = 500 * kMillisecond;
    auto ep = quic::Endpoint::create(loop, key, addr("127.0.0.1:0"), cfg);
    REQUIRE(ep);
    // A bound socket that never answers.
    loop::Udp silent(loop);
    REQUIRE(silent.bind(addr("127.0.0.1:0")));
    Outcome o;
    REQUIRE((*ep)->connect(silent.local_address(), key.id(), watch(o)));
    REQUIRE(loop.run_until([&] { return o.closed; }, 5 * kSecond));
    CHECK(o.info.kind == quic::CloseInfo::Kind::handshake_failed);
    CHECK(o.info.message.find("timed out") != std::string::npos);
}

TEST_CASE("a restarted server answers packets of a connection it lost with a stateless reset") {
    Pair p;
    Outcome o;
    auto c = p.client->connect(p.server->local_address(), p.server_key.id(), watch(o));
    REQUIRE(c);
    REQUIRE(p.run_until([&] { return o.established && p.accepted; }));
    loop::SocketAddress where = p.server->local_address();
    p.accepted = nullptr;
    p.server.reset();   // the server process "dies" without closing
    auto again = quic::Endpoint::create(p.loop, p.server_key, where);
    REQUIRE(again);
    p.server = std::move(*again);
    p.server->listen([](const identity::NodeId&) { return true; }, [](quic::Connection&) {});
    // The client sends something; the new server does not know the connection.
    auto s = (*c)->open_stream();
    REQUIRE(s);
    (*c)->write(*s, as_bytes(std::string(2000, 'x')));
    REQUIRE(p.run_until([&] { return o.closed; }, 5 * kSecond));
    CHECK(o.info.kind == quic::CloseInfo::Kind::stateless_reset);
    CHECK(p.server->stats().stateless_resets_sent >= 1);
}

TEST_CASE("an unknown QUIC version gets Version Negotiation, but only for a full-size packet") {
    Pair p;
    loop::Udp probe(p.loop);
    REQUIRE(probe.bind(addr("127.0.0.1:0")));
    std::vector<Bytes> answers;
    REQUIRE(probe.start_receiving([&](ByteSpan d, const loop::SocketAddress&) { answers.emplace_back(d.begin(), d.end()); }));
    auto packet = [](size_t size) {
        Bytes b;
        ByteWriter w(b);
        w.put_u8(0xc0);
        w.put_u32(0x1a2a3a4a);   // a reserved version (RFC 9000 §15)
        w.put_u8(8);
        w.put_bytes(as_bytes("dcid0001"));
        w.put_u8(8);
        w.put_bytes(as_bytes("scid0001"));
        w.put_zeros(size - b.size());
        return b;
    };
    probe.try_send(packet(100), p.server->local_address());
    p.run_until([] { return false; }, 200 * kMillisecond);
    CHECK(answers.empty());   // no amplification from small packets
    probe.try_send(packet(1200), p.server->local_address());
    REQUIRE(p.run_until([&] { return !answers.empty(); }, 2 * kSecond));
    ByteReader r(answers[0]);
    uint8_t first = 0;
    uint32_t version = 1;
    r.get_u8(first);
    r.get_u32(version);
    CHECK((first & 0x80) != 0);
    CHECK(version == 0);   // Version Negotiation
    bool lists_v1 = false;
    ByteSpan rest = ByteReader(answers[0]).rest().subspan(5 + 1 + 8 + 1 + 8);
    for (size_t i = 0; i + 4 <= rest.size(); i += 4) {
        uint32_t v = 0;
        ByteReader(rest.subspan(i, 4)).get_u32(v);
        lists_v1 |= v == 1;
    }
    CHECK(lists_v1);
}

TEST_CASE("half-open handshakes are capped per source address and in total, apart from established connections") {
    quic::Config cfg;
    cfg.max_half_open = 16;
    cfg.max_half_open_per_source = 6;
    cfg.busy_handshake_timeout = cfg.handshake_timeout;   // no handshake ends during the test
    Pair p(cfg);
    identity::NodeKey stranger = make_key();
    std::vector<std::unique_ptr<HalfOpenFlood>> floods;
    for (const char* from : {"127.0.0.2:0", "127.0.0.3:0", "127.0.0.4:0", "127.0.0.5:0"}) {
        floods.push_back(std::make_unique<HalfOpenFlood>(p.loop, stranger, addr(from), p.server->local_address(),
                                                         p.server_key.id()));
        REQUIRE(floods.back()->ok());
    }
    // One source first: it gets its 6 and no more.
    floods[0]->start(40);
    size_t most = 0;
    auto watch_count = [&] {
        most = std::max(most, p.server->connection_count());
        return false;
    };
    p.run_until([&] { return watch_count() || (floods[0]->started_all() && floods[0]->retries() >= 40); }, 5 * kSecond);
    p.run_until(watch_count, 200 * kMillisecond);
    CHECK(floods[0]->retries() >= 40);
    CHECK(p.server->connection_count() == 6);
    CHECK(p.server->stats().handshakes_shed >= 34);
    // The trusted client comes from 127.0.0.1, a source of its own.
    bool up = false;
    quic::Handlers h;
    h.on_established = [&] { up = true; };
    Nanos t0 = monotonic_ns();
    REQUIRE(p.client->connect(p.server->local_address(), p.server_key.id(), h));
    REQUIRE(p.run_until([&] { return up && p.accepted; }, 1 * kSecond));
    MESSAGE("trusted handshake under the flood took " << (monotonic_ns() - t0) / kMillisecond << " ms");
    // Every source: 16 in all.
    for (size_t i = 1; i < floods.size(); ++i) floods[i]->start(40);
    p.run_until([&] {
        watch_count();
        for (auto& f : floods)
            if (!f->started_all() || f->retries() < 40) return false;
        return true;
    }, 5 * kSecond);
    p.run_until(watch_count, 200 * kMillisecond);
    CHECK(most == 16 + 1);   // the trusted client's connection included
    CHECK(p.server->connection_count() == 16 + 1);
}

TEST_CASE("a server with over half its half-open handshakes in use gives new ones the short timeout") {
    quic::Config cfg;
    cfg.max_half_open = 4;
    cfg.max_half_open_per_source = 4;
    cfg.busy_handshake_timeout = 300 * kMillisecond;
    Pair p(cfg);
    identity::NodeKey stranger = make_key();
    HalfOpenFlood flood(p.loop, stranger, addr("127.0.0.2:0"), p.server->local_address(), p.server_key.id());
    REQUIRE(flood.ok());
    StderrCapture cap;
    flood.start(4, 1);
    Nanos t0 = monotonic_ns();
    p.run_until([&] { return flood.started_all() && flood.retries() >= 4; }, 5 * kSecond);
    // The first three keep the 10 s timeout; the fourth (3 > 4/2 in use) gets 300 ms.
    p.run_until([] { return false; }, 1 * kSecond);
    std::string log = cap.text();
    CHECK(monotonic_ns() - t0 < 5 * kSecond);
    CHECK(log.find("timed out after 300ms") != std::string::npos);
    CHECK(log.find("timed out after 10s") == std::string::npos);
    CHECK(p.server->connection_count() >= 3);
}

TEST_CASE("repeated refusals of one node from one address are logged once, then counted") {
    Pair p;
    identity::NodeKey stranger = make_key();
    auto ep = quic::Endpoint::create(p.loop, stranger, addr("127.0.0.1:0"));
    REQUIRE(ep);
    StderrCapture cap;
    for (int i = 0; i < 5; ++i) {
        Outcome o;
        REQUIRE((*ep)->connect(p.server->local_address(), p.server_key.id(), watch(o)));
        REQUIRE(p.run_until([&] { return o.closed; }));
    }
    std::string log = cap.text();
    CHECK(p.server->stats().handshakes_refused == 5);
    std::string first = "refused node " + stranger.id().to_string();
    CHECK(log.find(first) != std::string::npos);
    CHECK(log.find(first) == log.rfind(first));
}

TEST_CASE("a crafted CONNECTION_CLOSE reason from an unauthenticated client is one log line with its escapes visible") {
    Pair p;
    // The stranger's packets go out through a virtual path so that the test
    // can hold back everything it sends once the server's first flight is
    // in (its key and Finished among it): the server stays mid-handshake
    // until the crafted close arrives.
    loop::Udp wire(p.loop);
    REQUIRE(wire.bind(addr("127.0.0.1:0")));
    identity::NodeKey stranger = make_key();
    auto ep = quic::Endpoint::create(p.loop, stranger, addr("127.0.0.1:0"));
    REQUIRE(ep);
    loop::SocketAddress label = addr("192.0.2.1:1");
    bool held = false;
    (*ep)->add_virtual_path(label, [&](const loop::SocketAddress& to, ByteSpan packets, size_t segment) {
        for (size_t off = 0; off < packets.size() && !held; off += segment)
            wire.try_send(packets.subspan(off, std::min(segment, packets.size() - off)), to);
    });
    REQUIRE(wire.start_receiving([&](ByteSpan data, const loop::SocketAddress& from) {
        // Anything but a Retry (0b1111xxxx) is the server's flight.
        if ((std::to_integer<uint8_t>(data[0]) & 0xf0) != 0xf0) held = true;
        (*ep)->receive_virtual(label, from, data);
    }));
    auto c = (*ep)->connect(p.server->local_address(), p.server_key.id(), {}, label);
    REQUIRE(c);
    REQUIRE(p.run_until([&] { return held; }));
    p.run_until([] { return false; }, 100 * kMillisecond);   // the rest of the flight
    REQUIRE(p.server->connection_count() == 1);

    StderrCapture cap;
    const std::string reason = "bye\nusbhop: error: forged line\x1b[2J\x1b[31m";
    ngtcp2_ccerr err;
    ngtcp2_ccerr_default(&err);
    ngtcp2_ccerr_set_transport_error(&err, NGTCP2_PROTOCOL_VIOLATION, reinterpret_cast<const uint8_t*>(reason.data()),
                                     reason.size());
    ngtcp2_conn* conn = (*c)->impl().conn;
    ngtcp2_path_storage ps;
    ngtcp2_path_storage_zero(&ps);
    ngtcp2_pkt_info pi{};
    uint8_t buf[1500];
    ngtcp2_ssize n = ngtcp2_conn_write_connection_close(conn, &ps.path, &pi, buf, sizeof buf, &err, quic::now_ts());
    REQUIRE(n > 0);
    wire.try_send(ByteSpan(reinterpret_cast<const std::byte*>(buf), static_cast<size_t>(n)), p.server->local_address());
    p.run_until([&] { return p.server->connection_count() == 0; }, 3 * kSecond);
    std::string log = cap.text();
    CHECK(p.server->connection_count() == 0);
    // Our own client logs that it can no longer write; the server logs the close once, on one line.
    size_t server_lines = 0, forged = 0;
    for (std::string_view rest = log; !rest.empty();) {
        std::string_view line = take_line(rest);
        CHECK(line.starts_with("usbhop: warning: "));
        server_lines += line.find("handshake with client at") != std::string_view::npos;
        forged += line.find("forged") != std::string_view::npos;
    }
    CHECK(server_lines == 1);
    CHECK(forged == 1);
    CHECK(log.find("the peer closed with transport error 0xa (bye\\nusbhop: error: forged line\\x1b[2J\\x1b[31m)") !=
          std::string::npos);
    CHECK(log.find('\x1b') == std::string::npos);
    CHECK(log.find("\nusbhop: error: forged") == std::string::npos);
}
