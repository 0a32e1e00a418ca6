// Connection behaviour a mode relies on: idle timeout and keep-alive, close
// codes, stream resets, back-pressure, datagrams, and a server that shrugs
// off garbage.
#include <random>
#include <set>

#include "harness.hpp"

using namespace usbhop;
using namespace usbhop::test;

namespace {

struct Side {
    bool up = false;
    bool closed = false;
    quic::CloseInfo info;
};

quic::Handlers watch(Side& s, quic::Handlers h = {}) {
    h.on_established = [&s] { s.up = true; };
    h.on_closed = [&s](const quic::CloseInfo& i) {
        s.closed = true;
        s.info = i;
    };
    return h;
}

// Connects p's client to its server; returns the client connection.
quic::Connection* connect(Pair& p, Side& client, Side& server, quic::Handlers client_handlers = {}) {
    p.server_handlers = watch(server, p.server_handlers);
    auto c = p.client->connect(p.server->local_address(), p.server_key.id(), watch(client, client_handlers));
    REQUIRE(c);
    REQUIRE(p.run_until([&] { return client.up && p.accepted; }));
    return *c;
}

}  // namespace

TEST_CASE("an idle connection is closed on both ends after the idle timeout") {
    quic::Config cfg;
    cfg.idle_timeout = 1 * kSecond;
    cfg.keep_alive = 0;
    Pair p(cfg, cfg);
    Side client, server;
    StderrCapture cap;
    connect(p, client, server);
    Nanos start = monotonic_ns();
    REQUIRE(p.run_until([&] { return client.closed && server.closed; }, 5 * kSecond));
    Nanos took = monotonic_ns() - start;
    CHECK(took >= 900 * kMillisecond);
    CHECK(took < 3 * kSecond);
    CHECK(client.info.kind == quic::CloseInfo::Kind::idle);
    CHECK(server.info.kind == quic::CloseInfo::Kind::idle);
    CHECK(cap.text().find("closed: idle for 1s") != std::string::npos);
}

TEST_CASE("keep-alive keeps an idle connection open past the idle timeout") {
    quic::Config cfg;
    cfg.idle_timeout = 1 * kSecond;
    cfg.keep_alive = 300 * kMillisecond;
    quic::Config quiet = cfg;
    quiet.keep_alive = 0;   // only the client pings
    Pair p(quiet, cfg);
    Side client, server;
    connect(p, client, server);
    p.run_until([&] { return client.closed || server.closed; }, 3 * kSecond);
    CHECK_FALSE(client.closed);
    CHECK_FALSE(server.closed);
}

TEST_CASE("a graceful close carries the application code and reason, logged on both sides") {
    Pair p;
    Side client, server;
    StderrCapture cap;
    quic::Connection* c = connect(p, client, server);
    c->close(7, "user detached");
    REQUIRE(p.run_until([&] { return client.closed && server.closed; }));
    std::string log = cap.text();
    CHECK(client.info.kind == quic::CloseInfo::Kind::local);
    CHECK(server.info.kind == quic::CloseInfo::Kind::peer);
    CHECK(server.info.application);
    CHECK(server.info.code == 7);
    CHECK(server.info.reason == "user detached");
    CHECK(log.find("closing connection to " + p.server_key.id().short_string() + "…: code 7 (user detached)") !=
          std::string::npos);
    CHECK(log.find("peer " + p.client_key.id().short_string() + "… closed the connection: code 7 (user detached)") !=
          std::string::npos);
    p.run_until([&] { return p.server->connection_count() == 0 && p.client->connection_count() == 0; });
    CHECK(p.server->connection_count() == 0);
    CHECK(p.client->connection_count() == 0);
}

TEST_CASE("streams carry data both ways and either side can open them") {
    Pair p;
    Side client, server;
    std::string at_server, at_client;
    bool server_fin = false, client_fin = false;
    p.server_handlers.on_stream_data = [&](int64_t id, ByteSpan d, bool fin) {
        at_server += as_chars(d);
        if (fin) {
            server_fin = true;
            // Echo on the same stream, then open one of our own.
            p.accepted->write(id, as_bytes("echo:" + at_server), true);
            auto s = p.accepted->open_stream();
            REQUIRE(s);
            p.accepted->write(*s, as_bytes("from server"), true);
        }
    };
    quic::Handlers ch;
    std::map<int64_t, std::string> got;
    ch.on_stream_data = [&](int64_t id, ByteSpan d, bool fin) {
        got[id] += as_chars(d);
        if (fin && got.size() == 2) client_fin = true;
    };
    quic::Connection* c = connect(p, client, server, ch);
    auto s = c->open_stream();
    REQUIRE(s);
    CHECK(c->write(*s, as_bytes("hello"), true) == 5);
    REQUIRE(p.run_until([&] { return server_fin && client_fin; }));
    CHECK(at_server == "hello");
    CHECK(got[*s] == "echo:hello");
    bool found = false;
    for (auto& [id, text] : got) found |= (id != *s && text == "from server");
    CHECK(found);
}

TEST_CASE("a stream reset and a stop-sending reach the other side with their codes") {
    Pair p;
    Side client, server;
    std::map<int64_t, uint64_t> resets;   // at the server
    p.server_handlers.on_stream_reset = [&](int64_t id, uint64_t code) { resets[id] = code; };
    std::set<int64_t> data_streams;
    p.server_handlers.on_stream_data = [&](int64_t id, ByteSpan, bool) { data_streams.insert(id); };
    quic::Handlers ch;
    int64_t stopped_id = -1;
    ch.on_stop_sending = [&](int64_t id) { stopped_id = id; };
    quic::Connection* c = connect(p, client, server, ch);

    // The client abandons a stream: the server sees RESET_STREAM with code 5.
    auto a = c->open_stream();
    REQUIRE(a);
    c->write(*a, as_bytes("partial"));
    REQUIRE(p.run_until([&] { return c->unacknowledged(*a) == 0; }));
    c->reset_stream(*a, 5);
    REQUIRE(p.run_until([&] { return resets.count(*a) == 1; }));
    CHECK(resets[*a] == 5);
    CHECK(c->write(*a, as_bytes("more")) == 0);

    // The server stops reading a stream: the client's writes are refused and
    // the server gets the stream reset with its own code 9.
    auto b = c->open_stream();
    REQUIRE(b);
    c->write(*b, as_bytes("please stop"));
    REQUIRE(p.run_until([&] { return data_streams.count(*b) == 1; }));
    p.accepted->stop_sending(*b, 9);
    REQUIRE(p.run_until([&] { return resets.count(*b) == 1; }));
    CHECK(resets[*b] == 9);
    c->write(*b, as_bytes("more"));
    REQUIRE(p.run_until([&] { return stopped_id == *b; }));
    CHECK(c->write(*b, as_bytes("again")) == 0);
    CHECK_FALSE(client.closed);
}

TEST_CASE("a full send buffer pushes back and on_writable says when to go on") {
    quic::Config cfg;
    cfg.stream_send_buffer = 256 * 1024;
    Pair p(cfg, cfg);
    Side client, server;
    uint64_t arrived = 0;
    p.server_handlers.on_stream_data = [&](int64_t, ByteSpan d, bool) { arrived += d.size(); };
    int writable_calls = 0;
    quic::Handlers ch;
    ch.on_writable = [&](int64_t) { ++writable_calls; };
    quic::Connection* c = connect(p, client, server, ch);
    auto s = c->open_stream();
    REQUIRE(s);
    Bytes big(1 << 20, std::byte{1});
    size_t took = c->write(*s, big);
    CHECK(took == cfg.stream_send_buffer);
    CHECK(c->writable(*s) == 0);
    CHECK(c->write(*s, big) == 0);
    REQUIRE(p.run_until([&] { return writable_calls > 0; }));
    CHECK(c->writable(*s) >= cfg.stream_send_buffer / 2);
    CHECK(c->write(*s, ByteSpan(big).first(1000)) == 1000);
    REQUIRE(p.run_until([&] { return arrived == took + 1000; }));
}

TEST_CASE("datagrams arrive as sent, and an oversized one is refused up front") {
    Pair p;
    Side client, server;
    std::vector<std::string> got;
    p.server_handlers.on_datagram = [&](ByteSpan d) { got.emplace_back(as_chars(d)); };
    quic::Connection* c = connect(p, client, server);
    size_t max = c->max_datagram_size();
    CHECK(max >= 1000);
    CHECK(max < 1452);
    CHECK(c->send_datagram(as_bytes("iso frame 1")));
    CHECK(c->send_datagram(as_bytes(std::string(max, 'z'))));
    CHECK_FALSE(c->send_datagram(as_bytes(std::string(max + 1, 'z'))));
    REQUIRE(p.run_until([&] { return got.size() == 2; }));
    CHECK(got[0] == "iso frame 1");
    CHECK(got[1].size() == max);
}

TEST_CASE("the peer's stream limit is enforced and reported") {
    quic::Config server_cfg;
    server_cfg.max_streams = 2;
    Pair p(server_cfg, {});
    Side client, server;
    quic::Connection* c = connect(p, client, server);
    CHECK(c->open_stream());
    CHECK(c->open_stream());
    auto third = c->open_stream();
    REQUIRE_FALSE(third);
    CHECK(third.error().message.find("no more streams") != std::string::npos);
}

TEST_CASE("a peer that opens and abandons streams never holds more than max_streams, and the connection works on") {
    // Each stream the client opens and resets at once (RESET_STREAM and
    // STOP_SENDING, no data) closes at the server; the server must give back
    // exactly one stream of credit for it (RFC 9000 §4.6), not more, or a
    // peer repeating this grows its limit, and the server's streams, without
    // bound.
    quic::Config server_cfg;
    server_cfg.max_streams = 4;
    Pair p(server_cfg, {});
    Side client, server;
    std::set<int64_t> seen;
    std::string got;
    p.server_handlers.on_stream_opened = [&](int64_t id) { seen.insert(id); };
    p.server_handlers.on_stream_data = [&](int64_t, ByteSpan d, bool) { got += as_chars(d); };
    quic::Connection* c = connect(p, client, server);
    auto open_all = [&] {
        std::vector<int64_t> ids;
        while (ids.size() < 64) {
            auto s = c->open_stream();
            if (!s) break;
            ids.push_back(*s);
        }
        return ids;
    };
    for (int round = 0; round < 8; ++round) {
        auto ids = open_all();
        REQUIRE(ids.size() <= 4);
        for (int64_t id : ids) {
            c->reset_stream(id, 1);
            c->stop_sending(id, 1);
        }
        p.run_until([&] { return false; }, 100 * kMillisecond);  // MAX_STREAMS comes back
    }
    auto ids = open_all();
    CHECK(ids.size() == 4);  // the credit came back, and no more than that
    REQUIRE_FALSE(ids.empty());
    CHECK(c->write(ids[0], as_bytes("still here"), true) == 10);
    REQUIRE(p.run_until([&] { return got == "still here"; }));
    CHECK_FALSE(client.closed);
    CHECK_FALSE(server.closed);
}

TEST_CASE("random and malformed datagrams at the server neither crash it nor disturb a live transfer") {
    Pair p;
    Side client, server;
    uint64_t arrived = 0;
    bool fin = false;
    Received rx;
    p.server_handlers.on_stream_data = [&](int64_t, ByteSpan d, bool end) {
        rx.add(d, end);
        arrived += d.size();
        fin |= end;
    };
    quic::Handlers ch;
    std::unique_ptr<StreamSender> sender;
    ch.on_writable = [&](int64_t) { sender->pump(); };
    quic::Connection* c = connect(p, client, server, ch);
    auto s = c->open_stream();
    REQUIRE(s);
    sender = std::make_unique<StreamSender>(c, *s, 32 << 20, 99);
    sender->pump();

    // Garbage from another socket while the transfer runs: random bytes,
    // long headers with random versions and CIDs, truncated and bit-flipped
    // Initials, and short headers naming a live connection ID of this pair.
    loop::Udp attacker(p.loop);
    REQUIRE(attacker.bind(addr("127.0.0.1:0")));
    std::mt19937_64 rng(1234);
    auto random_bytes = [&](size_t n) {
        Bytes b(n);
        for (auto& x : b) x = static_cast<std::byte>(rng());
        return b;
    };
    int sent = 0;
    loop::Timer spray(p.loop, [&] {
        for (int i = 0; i < 50; ++i, ++sent) {
            size_t n = 1 + rng() % 1500;
            Bytes pkt = random_bytes(n);
            switch (i % 5) {
            case 0: break;
            case 1: pkt[0] = std::byte{0xc0}; break;                                             // long header, random version
            case 2: if (n > 5) { pkt[0] = std::byte{0xc0}; pkt[1] = pkt[2] = pkt[3] = std::byte{0}; pkt[4] = std::byte{1}; } break;   // "Initial" v1 junk
            case 3: pkt[0] = std::byte{0x40}; break;                                             // short header
            case 4: pkt.resize(1 + rng() % 8); break;                                            // runts
            }
            attacker.try_send(pkt, p.server->local_address());
        }
    });
    spray.start(kMillisecond, 5 * kMillisecond);
    REQUIRE(p.run_until([&] { return fin; }, 60 * kSecond));
    spray.stop();
    CHECK(rx.bytes == 32u << 20);
    CHECK(rx.digest == sender->hash.hex());
    CHECK(sent > 100);
    CHECK(p.server->stats().datagrams_dropped > 0);
    CHECK_FALSE(server.closed);
    CHECK_FALSE(client.closed);
    // And it still accepts new connections.
    Side again;
    REQUIRE(p.client->connect(p.server->local_address(), p.server_key.id(), watch(again)));
    REQUIRE(p.run_until([&] { return again.up; }));
}

TEST_CASE("close_all tells every peer before the endpoint goes") {
    Pair p;
    Side a, b, server;
    p.server_handlers = watch(server);
    REQUIRE(p.client->connect(p.server->local_address(), p.server_key.id(), watch(a)));
    REQUIRE(p.client->connect(p.server->local_address(), p.server_key.id(), watch(b)));
    REQUIRE(p.run_until([&] { return a.up && b.up && p.server->connection_count() == 2; }));
    p.server->close_all(0, "server shutting down");
    REQUIRE(p.run_until([&] { return a.closed && b.closed && p.server->connection_count() == 0; }));
    CHECK(a.info.kind == quic::CloseInfo::Kind::peer);
    CHECK(a.info.reason == "server shutting down");
    CHECK(b.info.reason == "server shutting down");
}

TEST_CASE("a receiver that does not consume pushes back on the sender until it does") {
    quic::Config server_cfg;
    server_cfg.auto_consume = false;
    server_cfg.stream_window = 64 * 1024;
    server_cfg.max_stream_window = 64 * 1024;
    quic::Config client_cfg;
    client_cfg.stream_send_buffer = 256 * 1024;
    Pair p(server_cfg, client_cfg);
    Side client, server;
    uint64_t arrived = 0;
    int64_t sid = -1;
    p.server_handlers.on_stream_data = [&](int64_t id, ByteSpan d, bool) {
        arrived += d.size();
        sid = id;
    };
    quic::Connection* c = connect(p, client, server);
    auto s = c->open_stream();
    REQUIRE(s);
    Bytes data(1 << 20, std::byte{3});
    size_t took = c->write(*s, data);
    CHECK(took == client_cfg.stream_send_buffer);
    p.run_until([] { return false; }, 300 * kMillisecond);
    CHECK(arrived == server_cfg.stream_window);   // exactly one window, then nothing
    p.accepted->consume(sid, arrived);
    REQUIRE(p.run_until([&] { return arrived == 2 * server_cfg.stream_window; }));
}

TEST_CASE("a connection made over a virtual path (a relay) moves to the direct path") {
    Pair p;
    // The "relay": a socket that carries the client's packets to the server
    // and the server's answers back to the client endpoint.
    loop::Udp relay(p.loop);
    REQUIRE(relay.bind(addr("127.0.0.1:0")));
    loop::SocketAddress label = addr("192.0.2.1:7575");
    uint64_t relayed = 0;
    p.client->add_virtual_path(label, [&](const loop::SocketAddress& to, ByteSpan pkts, size_t segment) {
        for (size_t off = 0; off < pkts.size(); off += segment) {
            relay.try_send(pkts.subspan(off, std::min(segment, pkts.size() - off)), to);
            ++relayed;
        }
    });
    REQUIRE(relay.start_receiving([&](ByteSpan d, const loop::SocketAddress& from) {
        p.client->receive_virtual(label, from, d);
    }));
    Side client, server;
    p.server_handlers = watch(server);
    auto c = p.client->connect(p.server->local_address(), p.server_key.id(), watch(client), label);
    REQUIRE(c);
    REQUIRE(p.run_until([&] { return client.up && p.accepted; }));
    CHECK((*c)->path().local == label);
    CHECK(p.accepted->path().remote == relay.local_address());
    uint64_t before = relayed;
    CHECK(before > 0);
    REQUIRE((*c)->migrate(p.client->local_address()));
    auto s = (*c)->open_stream();
    REQUIRE(s);
    std::string got;
    p.server_handlers.on_stream_data = [&](int64_t, ByteSpan d, bool) { got += as_chars(d); };
    p.accepted->set_handlers(p.server_handlers);
    (*c)->write(*s, as_bytes("direct now"), true);
    REQUIRE(p.run_until([&] { return got == "direct now" && p.accepted->path().remote == p.client->local_address(); }));
    CHECK((*c)->path().local == p.client->local_address());
}
