// quic/: usbhop's transport. QUIC v1 (ngtcp2) with TLS 1.3 (GnuTLS) on one
// UDP socket of the process loop; both ends prove their node key (RFC 7250
// raw Ed25519 public keys), ALPN "usbhop/1".
//
// How the modes use it:
//
//   auto ep = quic::Endpoint::create(loop, key, bind_addr, config);
//
//   serve (accept):  ep->listen(trust, on_connection)
//       trust(NodeId) -> bool is asked during every handshake (so a reloaded
//       authorized_keys applies at once); an unknown client fails the
//       handshake and learns nothing (the endpoint logs the refusal once per
//       node and address, refusal_log.hpp). on_connection(Connection&) runs once the
//       peer is authenticated; set the connection's handlers there.
//   attach (connect): Connection* c = ep->connect(server_addr, expected_node, handlers)
//       handlers.on_established runs when the handshake is confirmed (only
//       then has the server accepted us); on failure on_closed says why.
//   streams:   int64_t s = c->open_stream();  c->write(s, bytes, fin)
//       write() copies what fits into the stream's send buffer and returns how
//       many bytes it took: fewer than given (0 included) means "wait for
//       on_writable(s)", which comes once room has been freed by
//       acknowledgements. Data arrives through on_stream_data(s, bytes, fin),
//       already in order; flow-control credit is given back when the callback
//       returns (or by consume(), see Config::auto_consume). reset_stream / stop_sending abort one direction with an
//       application error code.
//   datagrams: c->send_datagram(bytes) (at most max_datagram_size(); may be
//       lost, never retransmitted) and on_datagram.
//   status:    c->path() gives local/remote address, RTT and congestion state.
//   close:     c->close(code, reason); the peer's on_closed sees both, and
//       both sides log one line. After on_closed returns, the Connection is
//       gone: drop every pointer to it.
//
// Everything runs on the loop thread. Handlers may write, open, reset and
// close from inside any callback, but must not destroy the Endpoint there
// (defer that to a loop::Timer). Connections belong to their Endpoint;
// destroying the Endpoint drops them without callbacks (peers see a
// stateless reset or an idle timeout; close_all() first to tell them). No ngtcp2 or GnuTLS type leaks out.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "identity/identity.hpp"
#include "loop/address.hpp"
#include "loop/loop.hpp"
#include "util/bytes.hpp"
#include "util/result.hpp"
#include "util/time.hpp"

namespace usbhop::quic {

constexpr std::string_view kAlpn = "usbhop/1";
constexpr uint16_t kDefaultPort = 7575;

struct Config {
    Nanos idle_timeout = 60 * kSecond;   // both ends: the smaller one wins
    Nanos keep_alive = 15 * kSecond;     // 0: never send PINGs just to stay alive
    // While stream data waits for acknowledgement, a PING after this long with
    // nothing sent, so that a path back from a cut is found at once instead of
    // at the next PTO, whose backoff grows to seconds (0: off; connection.cpp).
    Nanos stall_probe = 500 * kMillisecond;
    Nanos handshake_timeout = 10 * kSecond;
    bool require_retry = true;           // server: validate client addresses with Retry (RFC 9000 §8.1)
    size_t max_udp_payload = 1452;       // what fits in a 1500-byte Ethernet path over IPv6
    bool gso = true;                     // several packets per sendmsg (UDP_SEGMENT)
    bool bbr = false;                    // congestion control: CUBIC unless set
    uint64_t stream_window = 1 << 20;        // initial per-stream receive window
    uint64_t max_stream_window = 16 << 20;   // auto-tuned up to this
    uint64_t connection_window = 4 << 20;
    uint64_t max_connection_window = 64 << 20;
    uint64_t max_streams = 1024;             // concurrent streams the peer may open
    size_t stream_send_buffer = 4 << 20;     // unacknowledged bytes a stream may hold
    size_t max_datagram_frame_size = 1400;   // 0: refuse DATAGRAM frames
    size_t datagram_queue = 256;             // datagrams waiting to be sent
    size_t max_connections = 4096;           // server
    // Server: handshakes not finished yet ("half-open"), counted apart from
    // established connections, per source IP and in all. An Initial over
    // either cap gets no state (dropped after Retry). Once more than half of
    // max_half_open are in use, new handshakes must finish within
    // busy_handshake_timeout instead of handshake_timeout.
    size_t max_half_open = 512;
    size_t max_half_open_per_source = 64;
    Nanos busy_handshake_timeout = 2 * kSecond;
    // Receive credit: given back as soon as on_stream_data returns, or, when
    // false, only as the application calls Connection::consume() (so a slow
    // consumer pushes back on the sender instead of buffering).
    bool auto_consume = true;
};

struct PathInfo {
    loop::SocketAddress local;
    loop::SocketAddress remote;
    Nanos smoothed_rtt = 0;
    Nanos min_rtt = 0;
    Nanos rtt_variance = 0;
    uint64_t congestion_window = 0;
    uint64_t bytes_in_flight = 0;
    uint64_t bytes_sent = 0;       // UDP payload bytes, this connection
    uint64_t bytes_received = 0;
    uint64_t packets_sent = 0;     // QUIC packets (a GSO batch counts each)
    uint64_t packets_received = 0; // UDP datagrams
    uint64_t packets_lost = 0;     // packets with stream data declared lost (may include spurious losses)
    std::string cipher;            // "aes-128-gcm", "chacha20-poly1305"; empty until established
};

struct CloseInfo {
    enum class Kind {
        local,              // close() was called here
        peer,               // the peer sent CONNECTION_CLOSE
        idle,               // idle timeout
        handshake_failed,   // refused key, wrong node, handshake timeout
        stateless_reset,    // the peer has lost the connection state
        error,              // protocol or internal error
    };
    Kind kind = Kind::error;
    bool application = false;   // code is an application code (else a QUIC transport code)
    uint64_t code = 0;
    std::string reason;         // reason phrase from the closing side
    std::string message;        // the one line that was logged
};

struct Handlers {
    std::function<void()> on_established;
    std::function<void(int64_t stream)> on_stream_opened;   // by the peer
    std::function<void(int64_t stream, ByteSpan data, bool fin)> on_stream_data;
    std::function<void(int64_t stream)> on_writable;
    std::function<void(int64_t stream, uint64_t code)> on_stream_reset;    // peer aborted its sending side
    // The peer stopped reading (STOP_SENDING): writes to the stream are refused
    // from now on; the transport has answered with RESET_STREAM, whose code
    // (the one the peer gave) reaches the peer's on_stream_reset.
    std::function<void(int64_t stream)> on_stop_sending;
    std::function<void(int64_t stream)> on_stream_closed;                  // both directions done
    std::function<void(ByteSpan data)> on_datagram;
    std::function<void(const PathInfo&)> on_path_changed;
    std::function<void(const CloseInfo&)> on_closed;
};

class Endpoint;

class Connection {
public:
    struct Impl;
    explicit Connection(std::unique_ptr<Impl> impl);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    void set_handlers(Handlers handlers);
    const identity::NodeId& peer() const;   // valid once established
    bool established() const;
    bool is_server() const;

    // Opens a bidirectional stream; fails when the peer's stream limit is reached.
    Result<int64_t> open_stream();
    // Takes as much of data as the send buffer has room for; returns how much.
    // fin (honoured only when all of data was taken) ends the stream.
    size_t write(int64_t stream, ByteSpan data, bool fin = false);
    // Room left in the stream's send buffer, and bytes not yet acknowledged.
    size_t writable(int64_t stream) const;
    size_t unacknowledged(int64_t stream) const;
    // With Config::auto_consume off: n bytes of the stream have been used up.
    void consume(int64_t stream, size_t n);
    void reset_stream(int64_t stream, uint64_t code);
    void stop_sending(int64_t stream, uint64_t code);

    // Queues a datagram; false if it is too large or the queue is full.
    bool send_datagram(ByteSpan data);
    size_t max_datagram_size() const;

    PathInfo path() const;
    // Client: move to a new local address (a new socket of the endpoint, or
    // a virtual path's label) and, when remote is given, to a new server
    // address as well (relay -> direct: docs/architecture.md#ngtcp2-on-a-relayed-path).
    Result<void> migrate(const loop::SocketAddress& local, const loop::SocketAddress& remote = {});

    // Graceful close with an application error code; the peer sees both.
    void close(uint64_t code, std::string_view reason);

    Impl& impl() { return *impl_; }

private:
    std::unique_ptr<Impl> impl_;
};

struct EndpointStats {
    uint64_t datagrams_received = 0;
    uint64_t datagrams_dropped = 0;      // malformed, unknown, refused
    uint64_t retries_sent = 0;
    uint64_t stateless_resets_sent = 0;
    uint64_t handshakes_refused = 0;
    uint64_t handshakes_shed = 0;        // Initials dropped: too many half-open handshakes
};

class Endpoint {
public:
    using Trust = std::function<bool(const identity::NodeId&)>;
    using OnConnection = std::function<void(Connection&)>;
    // Sends packets that leave through a virtual path (relay): one buffer of
    // equal-size packets (segment bytes each, the last may be shorter).
    using VirtualSend = std::function<void(const loop::SocketAddress& remote, ByteSpan packets, size_t segment)>;

    // Opens the endpoint's UDP socket on bind (port 0: any free port).
    static Result<std::unique_ptr<Endpoint>> create(loop::Loop& loop, const identity::NodeKey& key,
                                                    const loop::SocketAddress& bind, Config config = {});
    ~Endpoint();
    Endpoint(const Endpoint&) = delete;
    Endpoint& operator=(const Endpoint&) = delete;

    // Server: accept connections from clients that trust() approves.
    void listen(Trust trust, OnConnection on_connection);
    // Server: every handshake trust() refused, with where it came from (the
    // log names each node once a minute; this sees them all).
    using OnRefused = std::function<void(const identity::NodeId&, const loop::SocketAddress& from)>;
    void on_refused(OnRefused callback);
    // Client: start a handshake with the server that must be node `expected`.
    // via: leave from this local address (a virtual path's label, or a
    // socket's address); by default the first socket of the server's family.
    Result<Connection*> connect(const loop::SocketAddress& server, const identity::NodeId& expected,
                                Handlers handlers, const loop::SocketAddress& via = {});

    // Graceful shutdown: closes every connection; run the loop until
    // connection_count() is 0 (a few round trips) before destroying.
    void close_all(uint64_t code, std::string_view reason);

    loop::SocketAddress local_address() const;
    const identity::NodeId& id() const;
    size_t connection_count() const;
    const EndpointStats& stats() const;

    // A path that is not a socket of this endpoint
    // (docs/architecture.md#ngtcp2-on-a-relayed-path): packets for local
    // address `label` go to send(); packets that arrived
    // over it are handed in with receive_virtual(). `label` must differ from
    // every real local address (e.g. 192.0.2.x).
    void add_virtual_path(const loop::SocketAddress& label, VirtualSend send);
    void receive_virtual(const loop::SocketAddress& label, const loop::SocketAddress& from, ByteSpan packet);

    // Datagrams on the endpoint's sockets whose first byte is below 0x40 are
    // never QUIC v1 (the fixed bit is set while grease_quic_bit is off,
    // RFC 9287): relay frames and punch packets (docs/relay.md#wire-format) go to
    // receive; without a receiver they are dropped.
    using OnOtherDatagram = std::function<void(ByteSpan data, const loop::SocketAddress& from)>;
    void set_other_receiver(OnOtherDatagram receive);
    // Sends one such datagram as is from the endpoint's first socket, so that
    // relay frames, punches and QUIC share one NAT mapping. False if the
    // kernel did not take it (it counts as lost).
    bool send_other(const loop::SocketAddress& to, ByteSpan data);

    struct Impl;

private:
    explicit Endpoint(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace usbhop::quic
