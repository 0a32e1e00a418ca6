// The peer's side of the relay: registration, relayed sessions as a virtual
// path of the endpoint, punching and the one move to a direct path.
#include "quic/relay_path.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <gnutls/crypto.h>

#include <algorithm>
#include <cstring>

#include "util/log.hpp"

namespace usbhop::quic {

namespace wire = proto::relay;

namespace {

// Packets a client holds while the relay has not yet confirmed its session.
constexpr size_t kMaxPending = 32;
// A server-side session nobody has used through the relay for this long is forgotten.
constexpr Nanos kServerSessionIdle = 10 * 60 * kSecond;

template <size_t N>
std::array<std::byte, N> random_array() {
    std::array<std::byte, N> a;
    gnutls_rnd(GNUTLS_RND_NONCE, a.data(), a.size());
    return a;
}

wire::NodeKey key_of(const identity::NodeId& n) {
    wire::NodeKey k;
    std::copy(n.public_key().begin(), n.public_key().end(), k.begin());
    return k;
}

identity::NodeId node_of(const wire::NodeKey& k) {
    return identity::NodeId::from_public_key(std::span<const std::byte, identity::kPublicKeySize>(k));
}

loop::SocketAddress parse_label(std::string_view text) {
    auto a = loop::SocketAddress::parse(text);
    return a ? *a : loop::SocketAddress();
}

}  // namespace

bool is_relayed(const PathInfo& path) {
    if (path.local.family() != AF_INET) return false;
    auto* in = reinterpret_cast<const sockaddr_in*>(path.local.get());
    return (ntohl(in->sin_addr.s_addr) & 0xffffff00u) == 0xc0000200u;   // 192.0.2.0/24
}

wire::WireAddress to_wire(const loop::SocketAddress& given) {
    wire::WireAddress w;
    loop::SocketAddress a = for_family(given, AF_INET);
    if (a.family() == AF_INET6) {
        auto* in6 = reinterpret_cast<const sockaddr_in6*>(a.get());
        w.family = 6;
        std::memcpy(w.ip.data(), &in6->sin6_addr, 16);
    } else if (a.family() == AF_INET) {
        auto* in = reinterpret_cast<const sockaddr_in*>(a.get());
        w.family = 4;
        std::memcpy(w.ip.data(), &in->sin_addr, 4);
    }
    w.port = a.port();
    return w;
}

loop::SocketAddress from_wire(const wire::WireAddress& w) {
    sockaddr_storage ss{};
    if (w.family == 6) {
        auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
        in6->sin6_family = AF_INET6;
        std::memcpy(&in6->sin6_addr, w.ip.data(), 16);
        in6->sin6_port = htons(w.port);
    } else {
        auto* in = reinterpret_cast<sockaddr_in*>(&ss);
        in->sin_family = AF_INET;
        std::memcpy(&in->sin_addr, w.ip.data(), 4);
        in->sin_port = htons(w.port);
    }
    return loop::SocketAddress(reinterpret_cast<const sockaddr*>(&ss));
}

RelayPath::RelayPath(loop::Loop& loop, Endpoint& endpoint, std::unique_ptr<identity::NodeKey> owned,
                     const identity::NodeKey* key, RelayPathOptions options)
    : loop_(loop),
      endpoint_(endpoint),
      owned_key_(std::move(owned)),
      key_(owned_key_ ? *owned_key_ : *key),
      options_(std::move(options)),
      label_(parse_label(kRelayLabel)),
      punches_(kPunchesPerSecond, kPunchesPerSecond, monotonic_ns()),
      keep_alive_(options_.keep_alive),
      retry_wait_(options_.retry) {
    options_.relay = for_family(options_.relay, endpoint_.local_address().family());
    timer_ = std::make_unique<loop::Timer>(loop_, [this] { tick(); });
    endpoint_.add_virtual_path(label_, [this, alive = alive_](const loop::SocketAddress& remote, ByteSpan pkts,
                                                              size_t segment) {
        if (*alive) virtual_send(remote, pkts, segment);
    });
    endpoint_.set_other_receiver([this, alive = alive_](ByteSpan data, const loop::SocketAddress& from) {
        if (*alive) on_datagram(data, from);
    });
}

loop::SocketAddress for_family(const loop::SocketAddress& a, int family) {
    if (family == AF_INET6 && a.family() == AF_INET) {
        sockaddr_in6 in6{};
        in6.sin6_family = AF_INET6;
        in6.sin6_port = htons(a.port());
        in6.sin6_addr.s6_addr[10] = in6.sin6_addr.s6_addr[11] = 0xff;
        std::memcpy(&in6.sin6_addr.s6_addr[12], &reinterpret_cast<const sockaddr_in*>(a.get())->sin_addr, 4);
        return loop::SocketAddress(reinterpret_cast<const sockaddr*>(&in6));
    }
    if (family == AF_INET && a.family() == AF_INET6) {
        auto* in6 = reinterpret_cast<const sockaddr_in6*>(a.get());
        if (!IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) return a;
        sockaddr_in in{};
        in.sin_family = AF_INET;
        in.sin_port = in6->sin6_port;
        std::memcpy(&in.sin_addr, &in6->sin6_addr.s6_addr[12], 4);
        return loop::SocketAddress(reinterpret_cast<const sockaddr*>(&in));
    }
    return a;
}

Nanos wait_until(Nanos deadline, Nanos now) { return deadline > now + kMillisecond ? deadline - now : kMillisecond; }

Result<loop::SocketAddress> resolve_host(const std::string& host, uint16_t port) {
    std::string literal = host.find(':') != std::string::npos ? "[" + host + "]:" : host + ":";
    if (auto a = loop::SocketAddress::parse(literal + std::to_string(port))) return *a;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    addrinfo* res = nullptr;
    int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res);
    if (rc != 0 || !res)
        return make_error("cannot resolve " + host + ": " + gai_strerror(rc) + " (check the name or give an IP address)");
    loop::SocketAddress out(res->ai_addr);
    ::freeaddrinfo(res);
    return out;
}

RelayPath::RelayPath(loop::Loop& loop, Endpoint& endpoint, identity::NodeKey&& key, RelayPathOptions options)
    : RelayPath(loop, endpoint, std::make_unique<identity::NodeKey>(std::move(key)), nullptr, std::move(options)) {}

RelayPath::RelayPath(loop::Loop& loop, Endpoint& endpoint, const identity::NodeKey& key, RelayPathOptions options)
    : RelayPath(loop, endpoint, nullptr, &key, std::move(options)) {}

RelayPath::~RelayPath() {
    *alive_ = false;
    endpoint_.set_other_receiver({});
    for (auto& [id, s] : sessions_)
        if (s.open && !s.direct && s.initiator) send_relay(wire::Release{id, tag_});
}

void RelayPath::start() {
    send_hello();
    arm();
}

// --- registration ------------------------------------------------------------------

void RelayPath::send_relay(const wire::Frame& frame) {
    ++stats_.frames_sent;
    endpoint_.send_other(options_.relay, wire::encode(frame));
}

void RelayPath::send_hello() {
    hello_nonce_ = random_array<wire::kNonceSize>();
    state_ = State::hello_sent;
    send_relay(wire::Hello{key_of(key_.id()), hello_nonce_});
    Nanos now = monotonic_ns();
    answer_due_ = now + retry_wait_;
    next_send_ = answer_due_;
}

void RelayPath::became_registered(const wire::Registered& r) {
    bool first = state_ != State::registered;
    state_ = State::registered;
    observed_ = from_wire(r.observed);
    tag_ = r.tag;
    Nanos asked = static_cast<Nanos>(r.keep_alive_seconds) * kSecond;
    keep_alive_ = asked > 0 ? std::min(options_.keep_alive, asked) : options_.keep_alive;
    answer_due_ = 0;
    next_send_ = monotonic_ns() + keep_alive_;
    retry_wait_ = options_.retry;
    ++stats_.registrations;
    if (first) {
        log::info("registered with relay %s… at %s as %s", options_.relay_node.short_string().c_str(),
                  options_.relay.to_string().c_str(), observed_.to_string().c_str());
        if (options_.on_registration) options_.on_registration(true, "registered as " + observed_.to_string());
    }
    // Relayed sessions of ours survive a relay restart: open them again
    // under the same id (the server end registers again by itself).
    for (auto& [id, s] : sessions_)
        if (s.initiator && !s.direct) {
            s.open = false;
            send_connect(s);
        }
}

void RelayPath::lost_registration(const std::string& why) {
    if (state_ == State::registered) {
        log::notice("relay %s: %s; registering again", options_.relay.to_string().c_str(), why.c_str());
        if (options_.on_registration) options_.on_registration(false, why);
    }
    send_hello();
}

void RelayPath::on_datagram(ByteSpan data, const loop::SocketAddress& from) {
    auto f = wire::decode(data);
    if (!f) return;
    if (auto* p = std::get_if<wire::Punch>(&*f)) {
        on_punch(*p, from);
        return;
    }
    if (!(from == options_.relay)) return;   // relay frames come from the relay only
    if (auto* fw = std::get_if<wire::Forward>(&*f)) {
        Session* s = find(fw->session_id);
        if (!s) return;
        // Packets only under our tag: from the relay's address alone, a
        // forger could keep a dead relayed path looking alive.
        if (state_ != State::registered || !wire::same_tag(fw->tag, tag_)) {
            ++stats_.frames_ignored;
            return;
        }
        last_heard_ = monotonic_ns();
        to_relay_when_heard_ = stats_.bytes_to_relay;
        stats_.bytes_from_relay += fw->packet.size();
        s->last_relayed = monotonic_ns();
        endpoint_.receive_virtual(label_, s->remote, fw->packet);
        return;
    }
    last_heard_ = monotonic_ns();
    to_relay_when_heard_ = stats_.bytes_to_relay;
    on_relay_frame(*f);
}

void RelayPath::on_relay_frame(const wire::Frame& frame) {
    if (auto* c = std::get_if<wire::Challenge>(&frame)) {
        if (state_ != State::hello_sent || c->peer_nonce != hello_nonce_) return;
        Bytes signed_bytes = wire::challenge_signed_bytes(*c, key_of(key_.id()));
        if (!identity::verify(options_.relay_node, signed_bytes,
                              ByteSpan(c->relay_signature.data(), c->relay_signature.size()))) {
            log::warning("relay at %s did not prove it is %s… (bad signature); check [relay] in usbhop.conf",
                         options_.relay.to_string().c_str(), options_.relay_node.short_string().c_str());
            return;
        }
        relay_nonce_ = c->relay_nonce;
        auto sig = key_.sign(wire::register_signed_bytes(key_of(options_.relay_node), relay_nonce_, key_of(key_.id())));
        if (!sig) return;
        wire::RegisterNode r{key_of(key_.id()), relay_nonce_, {}};
        std::copy(sig->begin(), sig->end(), r.signature.begin());
        state_ = State::register_sent;
        send_relay(r);
        return;
    }
    if (auto* r = std::get_if<wire::Registered>(&frame)) {
        if (state_ == State::register_sent || state_ == State::registered) became_registered(*r);
        return;
    }
    if (auto* ack = std::get_if<wire::KeepAliveAck>(&frame)) {
        if (state_ != State::registered || !wire::same_tag(ack->tag, tag_)) return;
        answer_due_ = 0;
        loop::SocketAddress seen = from_wire(ack->observed);
        if (!(seen == observed_)) lost_registration("our address changed to " + seen.to_string());
        return;
    }
    if (auto* no = std::get_if<wire::Refused>(&frame)) {
        std::string why(wire::to_string(no->reason));
        if (no->session_id != 0) {
            // A refused CONNECT echoes its tag, which is ours.
            if (state_ != State::registered || !wire::same_tag(no->echo, tag_)) {
                ++stats_.frames_ignored;
                return;
            }
            Session* s = find(no->session_id);
            if (!s || s->refusal == static_cast<int>(no->reason)) return;   // said once per reason
            s->refusal = static_cast<int>(no->reason);
            log::write(log::Level::info, log::Fields().peer(s->peer.to_string()), "relay refused session to %s…: %s%s",
                       s->peer.short_string().c_str(), why.c_str(),
                       no->reason == wire::RefuseReason::target_unknown ? " (retrying)" : "");
            return;   // CONNECT is repeated; the QUIC handshake timeout decides
        }
        // A refused REGISTER echoes the relay nonce it carried (from the
        // CHALLENGE, which only reached us and the relay).
        if (state_ != State::register_sent || !wire::same_tag(no->echo, relay_nonce_)) {
            ++stats_.frames_ignored;
            return;
        }
        if (no->reason == wire::RefuseReason::stale_nonce) {
            send_hello();
            return;
        }
        state_ = State::refused;
        log::error("relay %s refused this node (%s): %s", options_.relay.to_string().c_str(),
                   key_.id().to_string().c_str(), why.c_str());
        if (options_.on_registration) options_.on_registration(false, "refused by the relay: " + why);
        // Try again now and then: the operator may trust us later.
        answer_due_ = 0;
        next_send_ = monotonic_ns() + 30 * kSecond;
        return;
    }
    if (auto* s = std::get_if<wire::Session>(&frame)) {
        // Only the relay we are registered with knows our tag: anything else
        // from its address (spoofed) would open sessions and aim our punches.
        if (state_ != State::registered || !wire::same_tag(s->tag, tag_)) {
            ++stats_.frames_ignored;
            return;
        }
        Nanos now = monotonic_ns();
        Session* mine = find(s->session_id);
        if (s->initiator) {
            if (!mine || !mine->initiator) return;
        } else {
            if (!mine) {
                size_t responders = 0;
                for (auto& [id, other] : sessions_) responders += other.initiator ? 0 : 1;
                if (responders >= kMaxResponderSessions) {
                    ++stats_.frames_ignored;
                    return;
                }
                Session fresh;
                fresh.id = s->session_id;
                fresh.peer = node_of(s->peer);
                fresh.initiator = false;
                mine = &sessions_.emplace(s->session_id, std::move(fresh)).first->second;
                log::write(log::Level::info,
                           log::Fields().peer(mine->peer.to_string()).address(from_wire(s->peer_address).to_string()),
                           "relay session %016llx from %s… at %s", static_cast<unsigned long long>(s->session_id),
                           mine->peer.short_string().c_str(), from_wire(s->peer_address).to_string().c_str());
            }
            if (mine->peer != node_of(s->peer)) return;
            // The server's QUIC sees the client at its public address on the relay label.
            mine->remote = from_wire(s->peer_address);
            mine->last_relayed = now;
        }
        mine->peer_public = for_family(from_wire(s->peer_address), endpoint_.local_address().family());
        bool was_open = mine->open;
        mine->open = true;
        if (!was_open && options_.punch && !mine->direct) {
            mine->punch_until = now + options_.punch_duration;
            mine->next_punch = now;
            mine->punch_nonce = random_array<wire::kNonceSize>();
        }
        // Packets that waited for the session.
        while (!mine->pending.empty()) {
            Bytes pkt = std::move(mine->pending.front());
            mine->pending.pop_front();
            Bytes out;
            wire::encode_forward(out, mine->id, tag_, pkt);
            stats_.bytes_to_relay += pkt.size();
            ++stats_.frames_sent;
            endpoint_.send_other(options_.relay, out);
        }
        arm();
    }
}

// --- sessions --------------------------------------------------------------------------

RelayPath::Session* RelayPath::find(uint64_t id) {
    auto it = sessions_.find(id);
    return it == sessions_.end() ? nullptr : &it->second;
}

RelayPath::Session* RelayPath::find_by_remote(const loop::SocketAddress& remote) {
    Session* found = nullptr;
    for (auto& [id, s] : sessions_)
        if (s.remote == remote && (!found || s.last_relayed > found->last_relayed)) found = &s;
    return found;
}

Result<Connection*> RelayPath::connect(const identity::NodeId& node, Handlers handlers) {
    Session s;
    s.id = 0;
    while (s.id == 0 || sessions_.count(s.id)) gnutls_rnd(GNUTLS_RND_NONCE, &s.id, sizeof s.id);
    s.peer = node;
    s.initiator = true;
    // A remote only the relay path uses: QUIC's "server address" on the relayed path.
    s.remote = loop::SocketAddress::ipv4(0xc0000200u | 2u, next_remote_port_++);
    if (next_remote_port_ == 0) next_remote_port_ = 1;
    uint64_t id = s.id;
    Session& mine = sessions_.emplace(id, std::move(s)).first->second;
    auto on_closed = std::move(handlers.on_closed);
    handlers.on_closed = [this, alive = alive_, id, on_closed](const CloseInfo& info) {
        if (*alive) this->on_closed(id);
        if (on_closed) on_closed(info);
    };
    auto on_path = std::move(handlers.on_path_changed);
    handlers.on_path_changed = [this, alive = alive_, id, on_path](const PathInfo& p) {
        if (*alive) on_path_changed(id, p);
        if (on_path) on_path(p);
    };
    auto c = endpoint_.connect(mine.remote, node, std::move(handlers), label_);
    if (!c) {
        sessions_.erase(id);
        return c.error();
    }
    mine.conn = *c;
    send_connect(mine);
    arm();
    return *c;
}

void RelayPath::send_connect(Session& s) {
    s.next_connect = monotonic_ns() + options_.retry;
    if (state_ != State::registered) return;   // sent once registered
    send_relay(wire::Connect{s.id, tag_, key_of(s.peer)});
}

void RelayPath::on_closed(uint64_t id) {
    Session* s = find(id);
    if (!s) return;
    if (s->open && !s->direct) send_relay(wire::Release{id, tag_});
    sessions_.erase(id);
}

void RelayPath::on_path_changed(uint64_t id, const PathInfo& path) {
    Session* s = find(id);
    if (!s || s->direct || is_relayed(path)) return;
    // ngtcp2 has validated the direct path: the relay can let go.
    s->direct = true;
    log::write(log::Level::notice, log::Fields().peer(s->peer.to_string()).address(path.remote.to_string()),
               "connection to %s… is direct now (%s -> %s, rtt %s); relay released", s->peer.short_string().c_str(),
               path.local.to_string().c_str(), path.remote.to_string().c_str(),
               format_duration(path.smoothed_rtt).c_str());
    send_relay(wire::Release{id, tag_});
}

void RelayPath::virtual_send(const loop::SocketAddress& remote, ByteSpan packets, size_t segment) {
    Session* s = find_by_remote(remote);
    if (!s) return;
    Bytes out;
    for (size_t off = 0; off < packets.size(); off += segment) {
        ByteSpan pkt = packets.subspan(off, std::min(segment, packets.size() - off));
        if (!s->open) {
            if (s->pending.size() < kMaxPending) s->pending.emplace_back(pkt.begin(), pkt.end());
            continue;
        }
        out.clear();
        wire::encode_forward(out, s->id, tag_, pkt);
        stats_.bytes_to_relay += pkt.size();
        ++stats_.frames_sent;
        endpoint_.send_other(options_.relay, out);
    }
}

// --- punching ------------------------------------------------------------------------------

void RelayPath::on_punch(const wire::Punch& p, const loop::SocketAddress& from) {
    Session* s = find(p.session_id);
    if (!s || !options_.punch) return;
    ++stats_.punches_received;
    if (!p.reply) {
        // Same size as what came: a punch never amplifies.
        send_punch(from, wire::Punch{p.session_id, true, p.nonce});
    }
    if (!s->initiator || s->migrated || s->direct) return;
    if (s->candidate.empty()) {
        log::write(log::Level::info, log::Fields().peer(s->peer.to_string()).address(from.to_string()),
                   "punch from %s… at %s got through", s->peer.short_string().c_str(), from.to_string().c_str());
        s->candidate = from;
    }
    arm();
}

void RelayPath::send_punch(const loop::SocketAddress& to, const wire::Punch& punch) {
    // Punches go to addresses the relay named: capped in total, whatever it names.
    if (!punches_.take(monotonic_ns())) return;
    endpoint_.send_other(to, wire::encode(punch));
    ++stats_.punches_sent;
}

void RelayPath::tick() {
    Nanos now = monotonic_ns();
    // Registration: HELLO retries, keep-alives, a missing answer.
    if (answer_due_ && now >= answer_due_) {
        if (state_ == State::registered) {
            lost_registration("no answer to a keep-alive (relay restarted or our address changed)");
        } else {
            retry_wait_ = std::min(retry_wait_ * 2, 8 * options_.retry);
            send_hello();
        }
    } else if (state_ == State::registered && !answer_due_ && stats_.bytes_to_relay > to_relay_when_heard_ &&
               now > last_heard_ + options_.retry) {
        // Forwarding into silence (the relay restarted?): ask now.
        send_relay(wire::KeepAlive{key_of(key_.id()), tag_});
        answer_due_ = now + options_.retry * 3;
        next_send_ = now + keep_alive_;
    } else if (now >= next_send_) {
        if (state_ == State::registered) {
            send_relay(wire::KeepAlive{key_of(key_.id()), tag_});
            if (!answer_due_) answer_due_ = now + options_.retry * 3;   // the first unanswered one counts
            next_send_ = now + keep_alive_;
        } else if (state_ == State::refused || state_ == State::idle) {
            send_hello();
        }
    }
    std::vector<uint64_t> forget;
    for (auto& [id, s] : sessions_) {
        if (s.initiator && !s.open && !s.direct && now >= s.next_connect) send_connect(s);
        if (s.open && !s.direct && s.punch_until > now && now >= s.next_punch && !s.peer_public.empty()) {
            send_punch(s.peer_public, wire::Punch{id, false, s.punch_nonce});
            s.next_punch = now + options_.punch_interval;
        }
        if (s.initiator && s.conn && !s.migrated && !s.candidate.empty() && s.conn->established()) {
            s.migrated = true;   // once: migration resets congestion control
            auto r = s.conn->migrate(endpoint_.local_address(), s.candidate);
            if (!r) log::info("cannot move to the direct path: %s; staying on the relay", r.error().message.c_str());
        }
        if (!s.initiator && now > s.last_relayed + kServerSessionIdle) forget.push_back(id);
    }
    for (uint64_t id : forget) sessions_.erase(id);
    arm();
}

void RelayPath::arm() {
    Nanos now = monotonic_ns();
    Nanos next = answer_due_ ? std::min(answer_due_, next_send_) : next_send_;
    bool relaying = false;
    for (auto& [id, s] : sessions_) {
        relaying = relaying || (s.open && !s.direct);
        if (s.initiator && !s.open && !s.direct) next = std::min(next, s.next_connect);
        if (s.open && !s.direct && s.punch_until > now) next = std::min(next, s.next_punch);
        if (s.initiator && !s.migrated && !s.candidate.empty()) next = std::min(next, now + 10 * kMillisecond);
        if (!s.initiator) next = std::min(next, s.last_relayed + kServerSessionIdle + kSecond);
    }
    // Is the relay still answering while we forward through it? (tick)
    if (relaying && state_ == State::registered && !answer_due_) next = std::min(next, now + options_.retry);
    // A punch falls due the moment a SESSION arrives, so next is often a
    // moment past by now (more than 1 ms on a slow machine).
    timer_->start(wait_until(next, now));
}

std::vector<RelaySessionInfo> RelayPath::sessions() const {
    std::vector<RelaySessionInfo> out;
    for (auto& [id, s] : sessions_) out.push_back({id, s.peer, s.initiator, s.open, s.direct, s.peer_public});
    return out;
}

}  // namespace usbhop::quic
