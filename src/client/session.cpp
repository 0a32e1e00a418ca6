#include "client/session.hpp"

#include <netdb.h>

#include "usbhop_config.h"
#include "util/log.hpp"
#include "util/printable.hpp"

namespace usbhop::client {

namespace {

constexpr uint64_t kProtocolErrorCode = static_cast<uint64_t>(proto::Reason::kProtocol);
constexpr uint64_t kMaxServerStreams = 4;  // see Session::start

bool is_zero(const proto::Token& t) {
    for (std::byte b : t)
        if (b != std::byte{0}) return false;
    return true;
}

}  // namespace

const char* session_state_name(Session::State s) {
    switch (s) {
    case Session::State::kIdle: return "idle";
    case Session::State::kConnecting: return "connecting";
    case Session::State::kHello: return "hello";
    case Session::State::kReady: return "ready";
    case Session::State::kBackoff: return "waiting to reconnect";
    case Session::State::kStopped: return "stopped";
    }
    return "?";
}

Result<loop::SocketAddress> resolve_server(const config::PeerTarget& target) {
    if (!target.address)
        return make_error("no address for peer " + target.node.short_string() +
                          ": usbhop attach connects directly; give node-id@host:port or add 'address = host:port' to "
                          "its [peer] section");
    const config::Address& a = *target.address;
    if (auto literal = loop::SocketAddress::parse(a.to_string())) return *literal;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    addrinfo* res = nullptr;
    std::string port = std::to_string(a.port);
    int rc = ::getaddrinfo(a.host.c_str(), port.c_str(), &hints, &res);
    if (rc != 0 || !res)
        return make_error("cannot resolve " + a.host + ": " + gai_strerror(rc) + " (check the name or give an IP address)");
    loop::SocketAddress out(res->ai_addr);
    ::freeaddrinfo(res);
    return out;
}

Nanos backoff_delay(unsigned attempt, Nanos max) {
    Nanos d = 250 * kMillisecond;
    for (unsigned i = 0; i < attempt && d < max; ++i) d *= 2;
    return d < max ? d : max;
}

Session::Session(loop::Loop& loop, const identity::NodeKey& key, Options options, Owner& owner)
    : loop_(loop),
      key_(key),
      options_(std::move(options)),
      owner_(owner),
      server_name_(options_.server_node.short_string() + "@" + options_.server_address.to_string()),
      fields_(log::Fields().peer(options_.server_node.to_string(), options_.peer_name)),
      reconnect_timer_(loop, [this] { connect(); }),
      ping_timer_(loop, [this] { send_ping(); }) {
    // Through a relay, server_address is the relay's: the server's own is not known here.
    if (!options_.relay_node.valid()) fields_.address(options_.server_address.to_string());
}

Session::~Session() {
    *alive_ = false;
    // The endpoint drops its connections without callbacks.
    conn_ = nullptr;
    relay_.reset();
    endpoint_.reset();
}

Result<void> Session::start() {
    quic::Config qc;
    qc.idle_timeout = options_.settings.idle_timeout;
    qc.keep_alive = options_.settings.keep_alive;
    qc.max_udp_payload = options_.settings.max_udp_payload;
    qc.handshake_timeout = options_.handshake_timeout;
    // A server never opens a stream (protocol.md §1): the few it may open at
    // once are refused one by one (on_stream_opened), and cost no more than this.
    qc.max_streams = kMaxServerStreams;
    const char* any = options_.server_address.family() == AF_INET6 ? "[::]:0" : "0.0.0.0:0";
    auto bind = loop::SocketAddress::parse(any);
    if (!bind) return bind.error();
    auto ep = quic::Endpoint::create(loop_, key_, *bind, qc);
    if (!ep) return make_error("cannot open a UDP socket: " + ep.error().message);
    endpoint_ = std::move(*ep);
    if (options_.relay_node.valid()) {   // a bare node ID or a ticket: through the relay (docs/relay.md)
        relay_ = std::make_unique<quic::RelayPath>(loop_, *endpoint_, key_,
                                                   quic::RelayPathOptions{options_.server_address, options_.relay_node});
        relay_->start();
    }
    connect();
    return {};
}

void Session::connect() {
    if (state_ == State::kStopped) return;
    quic::Handlers h;
    h.on_established = [this] { on_established(); };
    h.on_stream_opened = [this](int64_t s) {
        // §1: a server never opens a stream in version 1.
        if (conn_) {
            conn_->stop_sending(s, kProtocolErrorCode);
            conn_->reset_stream(s, kProtocolErrorCode);
        }
    };
    h.on_stream_data = [this](int64_t s, ByteSpan d, bool fin) { on_stream_data(s, d, fin); };
    h.on_writable = [this](int64_t s) { on_writable(s); };
    h.on_stream_reset = [this](int64_t s, uint64_t) {
        if (s != control_ && incoming_.erase(s)) owner_.on_urb_stream_ended(s);
    };
    h.on_closed = [this](const quic::CloseInfo& info) { on_closed(info); };
    state_ = State::kConnecting;
    auto c = relay_ ? relay_->connect(options_.server_node, std::move(h))
                    : endpoint_->connect(options_.server_address, options_.server_node, std::move(h));
    if (!c) {
        schedule_reconnect("cannot connect to " + server_name_ + ": " + c.error().message);
        return;
    }
    conn_ = *c;
    log::write(log::Level::debug, fields_, "connecting to %s", server_name_.c_str());
}

void Session::on_established() {
    auto s = conn_->open_stream();
    if (!s) {
        protocol_error("cannot open the control stream: " + s.error().message);
        return;
    }
    control_ = *s;
    incoming_.emplace(control_, Incoming{proto::FrameDecoder(proto::kMaxControlPayload), false});
    state_ = State::kHello;
    proto::Hello hello;
    hello.capabilities = proto::kCapsThisBuild;
    hello.resume_token = token_;
    hello.software = "usbhop " USBHOP_VERSION;
    send_control(hello);
}

void Session::on_stream_data(int64_t stream, ByteSpan data, bool fin) {
    auto it = incoming_.find(stream);
    if (it == incoming_.end() || !conn_) return;
    const bool control = !it->second.urb;
    it->second.decoder.feed(data);
    std::shared_ptr<bool> alive = alive_;
    for (;;) {
        auto it2 = incoming_.find(stream);
        if (it2 == incoming_.end()) return;
        auto frame = it2->second.decoder.next();
        if (!frame) return protocol_error(frame.error().message);
        if (!frame->has_value()) break;
        auto msg = proto::decode(**frame);
        if (!msg) return protocol_error(msg.error().message);
        if (!msg->has_value()) continue;  // optional and unknown: skipped (§3 rule 2)
        proto::Message m = std::move(**msg);
        auto allowed = proto::check_allowed(m, control ? proto::StreamKind::kControl : proto::StreamKind::kUrb,
                                            proto::Sender::kServer);
        if (!allowed) return protocol_error(allowed.error().message);
        dispatch(stream, control, std::move(m));
        if (!*alive || !conn_ || state_ == State::kStopped) return;
    }
    if (fin) {
        if (control) return protocol_error("the server closed the control stream");
        incoming_.erase(stream);
        owner_.on_urb_stream_ended(stream);
    }
}

void Session::dispatch(int64_t stream, bool control, proto::Message&& m) {
    if (auto* ping = std::get_if<proto::Ping>(&m)) {
        write_frame(stream, proto::encode(proto::Pong{ping->nonce}));
        return;
    }
    if (std::holds_alternative<proto::Pong>(m)) return;
    if (!control) {
        owner_.on_urb(stream, std::move(m));
        return;
    }
    if (auto* ack = std::get_if<proto::HelloAck>(&m)) {
        if (state_ != State::kHello) return protocol_error("HelloAck outside the handshake");
        if (ack->version != 1) return protocol_error("HelloAck chose version " + std::to_string(ack->version) + ", we asked for 1");
        const bool resumed = ack->resumed && !is_zero(token_) && ack->session_token == token_;
        if (ack->resumed && !resumed) return protocol_error("HelloAck resumed a session we did not ask for");
        ack_ = *ack;
        token_ = ack->session_token;
        attempt_ = 0;
        state_ = State::kReady;
        if (options_.settings.keep_alive > 0) ping_timer_.start(options_.settings.keep_alive, options_.settings.keep_alive);
        log::write(log::Level::info, fields_, "connected to %s (%s, grace %u ms%s)", server_name_.c_str(),
                   util::printable(ack->software).c_str(), ack->grace_ms, resumed ? ", session resumed" : "");
        owner_.on_ready(ack_, resumed);
        return;
    }
    if (state_ != State::kReady) {
        if (auto* e = std::get_if<proto::ErrorMsg>(&m)) {
            owner_.on_control(std::move(m));
            (void)e;
            return;
        }
        return protocol_error(std::string(proto::type_name(static_cast<uint16_t>(proto::type_of(m)))) + " before HelloAck");
    }
    owner_.on_control(std::move(m));
}

void Session::send_control(const proto::Message& m) {
    if (!conn_ || control_ < 0) return;
    write_frame(control_, proto::encode(m));
}

Result<int64_t> Session::open_urb_stream(const proto::Bind& bind) {
    if (!conn_ || state_ != State::kReady) return make_error("not connected");
    auto s = conn_->open_stream();
    if (!s) return s.error();
    incoming_.emplace(*s, Incoming{proto::FrameDecoder(proto::kMaxUrbPayload), true});
    write_frame(*s, proto::encode(bind));
    return *s;
}

void Session::send_urb(int64_t stream, const proto::Message& m) {
    if (!conn_) return;
    write_frame(stream, proto::encode(m));
}

size_t Session::queued_bytes(int64_t stream) const {
    auto it = outgoing_.find(stream);
    return it == outgoing_.end() ? 0 : it->second.bytes;
}

void Session::write_frame(int64_t stream, Bytes frame, bool fin) {
    Outgoing& o = outgoing_[stream];
    o.bytes += frame.size();
    o.chunks.push_back(std::move(frame));
    if (fin) o.fin = true;
    if (o.chunks.size() == 1) flush(stream);
}

void Session::flush(int64_t stream) {
    auto it = outgoing_.find(stream);
    if (it == outgoing_.end() || !conn_) return;
    Outgoing& o = it->second;
    while (!o.chunks.empty()) {
        const Bytes& head = o.chunks.front();
        ByteSpan rest = ByteSpan(head).subspan(o.head_offset);
        size_t took = conn_->write(stream, rest);
        o.bytes -= took;
        if (took < rest.size()) {
            o.head_offset += took;
            return;  // on_writable brings us back
        }
        o.chunks.pop_front();
        o.head_offset = 0;
    }
    if (o.fin) {
        conn_->write(stream, {}, true);
        outgoing_.erase(it);
    }
}

void Session::on_writable(int64_t stream) {
    flush(stream);
    if (stream != control_) owner_.on_urb_writable(stream);
}

void Session::send_ping() {
    if (state_ == State::kReady) send_control(proto::Ping{++ping_nonce_});
}

void Session::protocol_error(const std::string& why) {
    if (!conn_) return;
    log::write(log::Level::warning, fields_, "server %s broke the usbhop protocol: %s; disconnecting",
               server_name_.c_str(), why.c_str());
    if (control_ >= 0) send_control(proto::ErrorMsg{proto::Reason::kProtocol, true, 0, why});
    conn_->close(kProtocolErrorCode, why);
    // Nothing more is read from this connection.
    incoming_.clear();
}

void Session::stop(const std::string& why, proto::Reason reason) {
    const bool had = conn_ != nullptr;
    state_ = State::kStopped;
    reconnect_timer_.stop();
    ping_timer_.stop();
    if (had) conn_->close(static_cast<uint64_t>(reason), why);
}

void Session::on_closed(const quic::CloseInfo& info) {
    conn_ = nullptr;
    control_ = -1;
    incoming_.clear();
    outgoing_.clear();
    ping_timer_.stop();
    std::string why = info.message.empty() ? "connection closed" : info.message;
    if (info.kind == quic::CloseInfo::Kind::peer && info.application && !info.reason.empty())
        why = "the server closed the connection: " + util::printable(info.reason);
    if (state_ == State::kStopped) {
        owner_.on_disconnected(why, 0);
        return;
    }
    if (!options_.reconnect) {
        state_ = State::kStopped;
        owner_.on_disconnected(why, 0);
        return;
    }
    schedule_reconnect(why);
}

void Session::schedule_reconnect(const std::string& why) {
    Nanos delay = backoff_delay(attempt_++, options_.settings.reconnect_max);
    state_ = State::kBackoff;
    reconnect_timer_.start(delay);
    owner_.on_disconnected(why, delay);
}

}  // namespace usbhop::client
