// quic/relay_path: the peer's side of `usbhop relay` (docs/relay.md), on the
// peer's own QUIC endpoint and socket (one NAT mapping for relay and direct).
//
//   auto rp = std::make_unique<quic::RelayPath>(loop, *endpoint, key, options);
//   rp->start();                       // registers, keeps registered
//   serve:  nothing more: sessions the relay opens to this node reach
//           ep->listen()'s callback like any connection.
//   attach: Connection* c = rp->connect(server_node, handlers);
//
// Registration is a challenge-response: the relay signs what it saw (our
// address, our nonce) with its key, which we check against the configured
// relay node ID; we sign its single-use nonce with our node key. Keep-alives
// every ~25 s keep the NAT mapping and notice a relay restart or a new
// address of ours; either way we register again and re-open relayed sessions
// under the same session id, so a relayed connection survives. While we
// forward through the relay and hear nothing back for `retry`, a keep-alive
// goes at once, so that a restart is noticed in seconds, not a keep-alive
// interval later.
//
// Frames from the relay are believed only while registered and only with the
// registration tag the relay gave us (docs/relay.md): a sender who can forge
// the relay's address cannot open sessions here nor make us punch anyone.
// Responder sessions are capped (kMaxResponderSessions) and punches, sent
// and answered, are rate-limited in total (kPunchesPerSecond).
//
// The relayed path is a virtual path of the endpoint labelled kRelayLabel
// (ngtcp2 refuses a migration to the local address in use,
// docs/architecture.md#ngtcp2-on-a-relayed-path).
// Once a session is open both ends send PUNCH frames to the other's public
// address; when the client hears one it migrates the connection to the
// direct path (once), and after ngtcp2 has validated it, tells the relay to
// RELEASE the session. If punching never works (symmetric NAT) traffic stays
// on the relay. The QUIC session is the same end-to-end TLS 1.3 session
// either way; the relay sees only ciphertext.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "identity/identity.hpp"
#include "loop/address.hpp"
#include "loop/loop.hpp"
#include "proto/relay_frames.hpp"
#include "quic/endpoint.hpp"
#include "util/token_bucket.hpp"

namespace usbhop::quic {

// TEST-NET-1 (RFC 5737): never a real local address.
constexpr std::string_view kRelayLabel = "192.0.2.1:7575";
// Sessions the relay may open to us at once (serve's side); more are dropped.
constexpr size_t kMaxResponderSessions = 64;
// PUNCH frames we send a second, all sessions and answers together.
constexpr double kPunchesPerSecond = 100;

// True when a connection's path goes through a relay (its local address is a
// relay label): what `usbhop status` shows as "relayed" rather than "direct".
bool is_relayed(const PathInfo& path);

// An IPv4-mapped IPv6 address goes on the wire as IPv4.
proto::relay::WireAddress to_wire(const loop::SocketAddress& a);
loop::SocketAddress from_wire(const proto::relay::WireAddress& w);
// An address in the form a socket of `family` sends to: IPv4 becomes
// IPv4-mapped IPv6 for a dual-stack socket, and back for an IPv4 one.
loop::SocketAddress for_family(const loop::SocketAddress& a, int family);
// How long a timer waits for deadline: at least 1 ms, and 1 ms when the
// deadline has already passed (Nanos is unsigned: deadline - now would wrap
// to centuries, which once silently stopped punching and keep-alives).
Nanos wait_until(Nanos deadline, Nanos now);
// A relay's host (name or literal) and port, resolved (getaddrinfo).
Result<loop::SocketAddress> resolve_host(const std::string& host, uint16_t port);

struct RelayPathOptions {
    loop::SocketAddress relay;        // resolved, same family as the endpoint's socket
    identity::NodeId relay_node;      // checked against the relay's signature
    bool punch = true;                // try a direct path (false: stay relayed)
    Nanos punch_interval = 50 * kMillisecond;
    Nanos punch_duration = 10 * kSecond;
    Nanos keep_alive = 10 * kSecond;  // at most this (the relay asks for 25 s); also how soon a relay restart is noticed
    Nanos retry = 1 * kSecond;        // HELLO / CONNECT / keep-alive answer wait
    // Called with a line a user can read when the relay refuses us or
    // registration state changes; optional.
    std::function<void(bool registered, const std::string& why)> on_registration;
};

// One relayed session as this side sees it.
struct RelaySessionInfo {
    uint64_t id = 0;
    identity::NodeId peer;
    bool initiator = false;
    bool open = false;                 // the relay has confirmed it
    bool direct = false;               // validated direct path, relay released
    loop::SocketAddress peer_public;   // the other end's address as the relay saw it
};

struct RelayPathStats {
    uint64_t frames_sent = 0;
    uint64_t bytes_to_relay = 0;       // FORWARD payloads through the relay
    uint64_t bytes_from_relay = 0;
    uint64_t punches_sent = 0;
    uint64_t punches_received = 0;
    uint64_t registrations = 0;        // successful, counting re-registrations
    uint64_t frames_ignored = 0;       // from the relay's address without our tag, or over a cap
};

class RelayPath {
public:
    // key must outlive the RelayPath; the second form keeps its own.
    RelayPath(loop::Loop& loop, Endpoint& endpoint, const identity::NodeKey& key, RelayPathOptions options);
    RelayPath(loop::Loop& loop, Endpoint& endpoint, identity::NodeKey&& key, RelayPathOptions options);
    ~RelayPath();
    RelayPath(const RelayPath&) = delete;
    RelayPath& operator=(const RelayPath&) = delete;

    void start();
    bool registered() const { return state_ == State::registered; }
    // Our address as the relay sees it (empty until registered).
    const loop::SocketAddress& public_address() const { return observed_; }

    // Client: a connection to node through the relay; moves to a direct path
    // when punching works. handlers are the caller's; on_closed and
    // on_path_changed are passed on after the relay path has seen them.
    Result<Connection*> connect(const identity::NodeId& node, Handlers handlers);

    // One datagram that is no QUIC packet, as if it had come on the
    // endpoint's socket from `from` (the endpoint calls this; the fuzz target
    // tests/fuzz/relay/relay_path.cpp too).
    void receive(ByteSpan datagram, const loop::SocketAddress& from) { on_datagram(datagram, from); }

    std::vector<RelaySessionInfo> sessions() const;
    const RelayPathStats& stats() const { return stats_; }
    const loop::SocketAddress& relay_address() const { return options_.relay; }

private:
    RelayPath(loop::Loop& loop, Endpoint& endpoint, std::unique_ptr<identity::NodeKey> owned,
              const identity::NodeKey* key, RelayPathOptions options);

    enum class State { idle, hello_sent, register_sent, registered, refused };

    struct Session {
        uint64_t id = 0;
        identity::NodeId peer;
        bool initiator = false;
        bool open = false;
        bool migrated = false;
        bool direct = false;
        loop::SocketAddress remote;        // the remote QUIC sees on the relayed path
        loop::SocketAddress peer_public;
        loop::SocketAddress candidate;     // where a punch came from
        Nanos punch_until = 0;
        Nanos next_punch = 0;
        Nanos next_connect = 0;
        Nanos last_relayed = 0;
        std::deque<Bytes> pending;         // client packets before the session opened
        Connection* conn = nullptr;        // client side only
        proto::relay::Nonce punch_nonce{};
        int refusal = 0;                   // the last REFUSED reason logged
    };

    void on_datagram(ByteSpan data, const loop::SocketAddress& from);
    void on_relay_frame(const proto::relay::Frame& frame);
    void on_punch(const proto::relay::Punch& p, const loop::SocketAddress& from);
    void virtual_send(const loop::SocketAddress& remote, ByteSpan packets, size_t segment);
    void send_relay(const proto::relay::Frame& frame);
    void send_hello();
    void became_registered(const proto::relay::Registered& r);
    void lost_registration(const std::string& why);
    void send_connect(Session& s);
    void send_punch(const loop::SocketAddress& to, const proto::relay::Punch& punch);
    void tick();
    void arm();
    void on_closed(uint64_t id);
    void on_path_changed(uint64_t id, const PathInfo& path);
    Session* find(uint64_t id);
    Session* find_by_remote(const loop::SocketAddress& remote);

    loop::Loop& loop_;
    Endpoint& endpoint_;
    std::unique_ptr<identity::NodeKey> owned_key_;
    const identity::NodeKey& key_;
    RelayPathOptions options_;
    loop::SocketAddress label_;
    State state_ = State::idle;
    proto::relay::Nonce hello_nonce_{};
    proto::relay::Nonce relay_nonce_{};
    proto::relay::Tag tag_{};          // this registration's, from REGISTERED
    TokenBucket punches_;
    loop::SocketAddress observed_;
    Nanos keep_alive_;
    Nanos next_send_ = 0;              // next HELLO retry or keep-alive
    Nanos answer_due_ = 0;             // 0: no answer awaited
    Nanos retry_wait_;
    Nanos last_heard_ = 0;             // the relay's last frame
    uint64_t to_relay_when_heard_ = 0; // stats_.bytes_to_relay then
    std::map<uint64_t, Session> sessions_;
    uint16_t next_remote_port_ = 1;
    RelayPathStats stats_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
    std::unique_ptr<loop::Timer> timer_;
};

}  // namespace usbhop::quic
