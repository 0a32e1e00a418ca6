// The client's side of one usbhop/1 session with a server (docs/protocol.md
// §4-§6, §11): the QUIC connection, the control stream, the URB streams and
// their send queues, and reconnecting with backoff.
//
//   idle ─start()─► connecting ─established─► hello ─HelloAck─► ready
//                      ▲                                         │
//                      └──── backoff ◄── connection lost ◄───────┘
//
// Every connection begins with Hello carrying the last session token, so a
// reconnect within the server's grace period resumes the session; whoever
// owns the session (the attach command, `list`) learns from on_ready
// whether it did. Messages are checked against §3 (framing, placement); a
// server that breaks the protocol is disconnected with the reason logged,
// and the session reconnects. Nothing here knows about vhci or attachments.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "config/config.hpp"
#include "identity/identity.hpp"
#include "loop/loop.hpp"
#include "proto/messages.hpp"
#include "quic/endpoint.hpp"
#include "quic/relay_path.hpp"
#include "util/log.hpp"

namespace usbhop::client {

// The server's address: [peer] address or node-id@host:port, resolved (DNS)
// now. Fails with a message that says what to give instead.
Result<loop::SocketAddress> resolve_server(const config::PeerTarget& target);

// Reconnect delays: 0.25 s doubling up to max (config [client] reconnect_max).
Nanos backoff_delay(unsigned attempt, Nanos max);

class Session {
public:
    class Owner {
    public:
        virtual ~Owner() = default;
        // HelloAck arrived. resumed: our attachments are still there (§11).
        virtual void on_ready(const proto::HelloAck& ack, bool resumed) = 0;
        // Any other control message.
        virtual void on_control(proto::Message&& m) = 0;
        // A message on a URB stream (Complete, UnlinkResult, Error).
        virtual void on_urb(int64_t stream, proto::Message&& m) = 0;
        // The server ended a URB stream (FIN or reset); no more arrives on it.
        virtual void on_urb_stream_ended(int64_t stream) = 0;
        // A URB stream can take more after having been full.
        virtual void on_urb_writable(int64_t stream) = 0;
        // The connection is gone (with every stream); a reconnect follows
        // after `retry_in` unless stop() was called.
        virtual void on_disconnected(const std::string& why, Nanos retry_in) = 0;
    };

    enum class State { kIdle, kConnecting, kHello, kReady, kBackoff, kStopped };

    struct Options {
        identity::NodeId server_node;
        std::string peer_name;                   // the [peer] name, if it came from one (USBHOP_PEER_NAME=)
        loop::SocketAddress server_address;      // the relay's, when relay_node is set
        identity::NodeId relay_node;             // valid: reach the server through this relay
        config::ClientSettings settings;
        bool reconnect = true;                // false: a lost connection ends the session (list)
        Nanos handshake_timeout = 5 * kSecond;
    };

    Session(loop::Loop& loop, const identity::NodeKey& key, Options options, Owner& owner);
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    Result<void> start();
    // Closes the connection (SHUTTING_DOWN) and stays down.
    void stop(const std::string& why, proto::Reason reason = proto::Reason::kShuttingDown);

    State state() const { return state_; }
    bool ready() const { return state_ == State::kReady; }
    const proto::HelloAck& hello_ack() const { return ack_; }
    const std::string& server_name() const { return server_name_; }
    // The server's journal fields: full node ID, [peer] name, address (when direct).
    const log::Fields& log_fields() const { return fields_; }
    quic::Connection* connection() { return conn_; }
    // The relay this session goes through (a bare node ID or a ticket), else null.
    const quic::RelayPath* relay() const { return relay_.get(); }

    void send_control(const proto::Message& m);
    // Opens a URB stream and sends its Bind; fails when not ready.
    Result<int64_t> open_urb_stream(const proto::Bind& bind);
    void send_urb(int64_t stream, const proto::Message& m);
    // Bytes a URB stream holds that QUIC has not taken yet.
    size_t queued_bytes(int64_t stream) const;

    // The server broke the protocol: tell it (Error{PROTOCOL, fatal}), close
    // the connection with code PROTOCOL and the reason, and reconnect.
    void protocol_error(const std::string& why);

private:
    struct Outgoing {
        std::deque<Bytes> chunks;
        size_t head_offset = 0;  // bytes of chunks.front() already written
        size_t bytes = 0;
        bool fin = false;
    };
    struct Incoming {
        proto::FrameDecoder decoder;
        bool urb = true;
    };

    void connect();
    void schedule_reconnect(const std::string& why);
    void on_established();
    void on_stream_data(int64_t stream, ByteSpan data, bool fin);
    void on_writable(int64_t stream);
    void on_closed(const quic::CloseInfo& info);
    void dispatch(int64_t stream, bool control, proto::Message&& m);
    void write_frame(int64_t stream, Bytes frame, bool fin = false);
    void flush(int64_t stream);
    void send_ping();

    loop::Loop& loop_;
    const identity::NodeKey& key_;
    Options options_;
    Owner& owner_;
    std::string server_name_;
    log::Fields fields_;
    std::unique_ptr<quic::Endpoint> endpoint_;
    std::unique_ptr<quic::RelayPath> relay_;   // destroyed before endpoint_
    quic::Connection* conn_ = nullptr;
    State state_ = State::kIdle;
    int64_t control_ = -1;
    std::map<int64_t, Incoming> incoming_;
    std::map<int64_t, Outgoing> outgoing_;
    proto::Token token_{};
    proto::HelloAck ack_;
    unsigned attempt_ = 0;
    uint64_t ping_nonce_ = 0;
    loop::Timer reconnect_timer_;
    loop::Timer ping_timer_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

const char* session_state_name(Session::State s);

}  // namespace usbhop::client
