// The relay's state: who is registered where, which sessions join whom, and
// the checks every datagram passes before the relay answers or forwards it.
#include "relay/relay.hpp"

#include <gnutls/crypto.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>

#include "loop/udp.hpp"
#include "proto/relay_frames.hpp"
#include "quic/relay_path.hpp"
#include "util/log.hpp"
#include "util/token_bucket.hpp"

namespace usbhop::relay {

namespace wire = proto::relay;

namespace {

constexpr size_t kCookieMacSize = 8;
constexpr int kSocketBuffer = 8 << 20;

// The bytes of an address that identify a source: family, port, IP.
std::string addr_key(const loop::SocketAddress& a) {
    wire::WireAddress w = quic::to_wire(a);
    std::string k(1, static_cast<char>(w.family));
    k.push_back(static_cast<char>(w.port >> 8));
    k.push_back(static_cast<char>(w.port & 0xff));
    k.append(reinterpret_cast<const char*>(w.ip.data()), w.family == 4 ? 4 : 16);
    return k;
}

// The IP alone, for the per-address registration cap.
std::string ip_key(const loop::SocketAddress& a) { return addr_key(a).erase(1, 2); }

identity::NodeId node_of(const wire::NodeKey& k) {
    return identity::NodeId::from_public_key(std::span<const std::byte, identity::kPublicKeySize>(k));
}

std::string format_bytes(uint64_t n) {
    char buf[32];
    if (n >= 10'000'000) snprintf(buf, sizeof buf, "%.1f MB", static_cast<double>(n) / 1e6);
    else if (n >= 10'000) snprintf(buf, sizeof buf, "%.1f kB", static_cast<double>(n) / 1e3);
    else snprintf(buf, sizeof buf, "%llu bytes", static_cast<unsigned long long>(n));
    return buf;
}

}  // namespace

struct Relay::Impl {
    struct Registration {
        loop::SocketAddress address;
        Nanos last_seen = 0;
        wire::Tag tag{};             // new for each registration; later frames carry it
        TokenBucket connects;        // CONNECTs answered
    };
    struct Session {
        SessionStats stats;
        TokenBucket bytes;           // bytes_per_second: forwarded packets and SESSION answers
        Nanos last_active = 0;
    };

    loop::Loop& loop;
    const identity::NodeKey& key;
    Options options;
    loop::Udp udp;
    std::array<uint8_t, 32> cookie_secret{};
    std::map<identity::NodeId, Registration> nodes;
    std::map<std::string, identity::NodeId> by_address;
    std::map<std::string, uint32_t> per_ip;
    std::map<uint64_t, Session> sessions;
    std::map<identity::NodeId, uint32_t> sessions_per_node;
    std::map<std::string, Nanos> used_nonces;   // single use until they expire anyway
    std::set<std::string> refusals_logged;
    Stats stats;
    TokenBucket challenges;                // in total: signing costs CPU
    KeyedTokenBuckets challenges_per_source;
    std::unique_ptr<loop::Timer> sweep_timer;
    Bytes out;

    Impl(loop::Loop& l, const identity::NodeKey& k, Options o)
        : loop(l),
          key(k),
          options(std::move(o)),
          udp(l, true),
          challenges(options.limits.challenges_per_second, options.limits.challenges_per_second, monotonic_ns()),
          challenges_per_source(options.limits.challenges_per_source, options.limits.challenges_per_source,
                                options.limits.challenge_sources) {}

    bool trusted(const identity::NodeId& n) const { return options.trust && options.trust(n); }

    void send(const loop::SocketAddress& to, ByteSpan data) {
        stats.bytes_sent += data.size();
        if (udp.send_queue_count() == 0 && udp.try_send(data, to) >= 0) return;
        udp.send(data, to);
    }
    void send_frame(const loop::SocketAddress& to, const wire::Frame& f) { send(to, wire::encode(f)); }
    void drop() { ++stats.dropped; }

    void on_datagram(ByteSpan data, const loop::SocketAddress& from);
    void on_hello(const wire::Hello& h, const loop::SocketAddress& from);
    void on_register(const wire::RegisterNode& r, const loop::SocketAddress& from);
    void on_keep_alive(const wire::KeepAlive& k, const loop::SocketAddress& from);
    void on_connect(const wire::Connect& c, const loop::SocketAddress& from);
    void on_forward(uint64_t id, ByteSpan datagram, const loop::SocketAddress& from);
    void on_release(const wire::Release& r, const loop::SocketAddress& from);
    // echo: what the refused frame carried (REGISTER's relay nonce, CONNECT's
    // tag), the node's proof that the refusal answers its own frame.
    void refuse(const loop::SocketAddress& to, wire::RefuseReason reason, const wire::Tag& echo, uint64_t session = 0);

    wire::Nonce make_cookie(Nanos now, const wire::NodeKey& node, const loop::SocketAddress& from) const;
    bool check_cookie(const wire::Nonce& nonce, const wire::NodeKey& node, const loop::SocketAddress& from,
                      Nanos now) const;
    const identity::NodeId* node_at(const loop::SocketAddress& from) const;
    const identity::NodeId* node_at(const loop::SocketAddress& from, const wire::Tag& tag) const;
    double session_burst() const {
        return static_cast<double>(std::max<uint64_t>(options.limits.bytes_per_second / 4, 16 * wire::kMaxDatagram));
    }
    void unregister(const identity::NodeId& node, const char* why);
    void end_session(uint64_t id, const char* why);
    void sweep();
};

wire::Nonce Relay::Impl::make_cookie(Nanos now, const wire::NodeKey& node, const loop::SocketAddress& from) const {
    // Stateless until REGISTER: time || MAC(secret, time || node || address).
    wire::Nonce n{};
    uint64_t ms = static_cast<uint64_t>(now / kMillisecond);
    Bytes msg;
    ByteWriter w(msg);
    w.put_u64(ms);
    w.put_bytes(ByteSpan(node.data(), node.size()));
    w.put_bytes(as_bytes(addr_key(from)));
    uint8_t mac[32];
    gnutls_hmac_fast(GNUTLS_MAC_SHA256, cookie_secret.data(), cookie_secret.size(), msg.data(), msg.size(), mac);
    std::memcpy(n.data(), msg.data(), 8);
    std::memcpy(n.data() + 8, mac, kCookieMacSize);
    return n;
}

bool Relay::Impl::check_cookie(const wire::Nonce& nonce, const wire::NodeKey& node, const loop::SocketAddress& from,
                               Nanos now) const {
    ByteReader r(ByteSpan(nonce.data(), 8));
    uint64_t ms = 0;
    r.get_u64(ms);
    Nanos issued = static_cast<Nanos>(ms) * kMillisecond;
    if (issued > now || now - issued > options.limits.challenge_lifetime) return false;
    wire::Nonce expect = make_cookie(issued, node, from);
    return gnutls_memcmp(expect.data(), nonce.data(), nonce.size()) == 0;
}

const identity::NodeId* Relay::Impl::node_at(const loop::SocketAddress& from) const {
    auto it = by_address.find(addr_key(from));
    return it == by_address.end() ? nullptr : &it->second;
}

// The node registered at `from`, if the frame carries its registration tag:
// a sender that can only forge the source address is not that node.
const identity::NodeId* Relay::Impl::node_at(const loop::SocketAddress& from, const wire::Tag& tag) const {
    const identity::NodeId* n = node_at(from);
    if (!n) return nullptr;
    auto it = nodes.find(*n);
    return it != nodes.end() && wire::same_tag(it->second.tag, tag) ? n : nullptr;
}

void Relay::Impl::on_datagram(ByteSpan data, const loop::SocketAddress& from) {
    stats.bytes_received += data.size();
    if (auto id = wire::forward_session(data)) {
        on_forward(*id, data, from);
        return;
    }
    auto f = wire::decode(data);
    if (!f) {
        drop();
        return;
    }
    std::visit(
        [&](const auto& frame) {
            using T = std::decay_t<decltype(frame)>;
            if constexpr (std::is_same_v<T, wire::Hello>) on_hello(frame, from);
            else if constexpr (std::is_same_v<T, wire::RegisterNode>) on_register(frame, from);
            else if constexpr (std::is_same_v<T, wire::KeepAlive>) on_keep_alive(frame, from);
            else if constexpr (std::is_same_v<T, wire::Connect>) on_connect(frame, from);
            else if constexpr (std::is_same_v<T, wire::Release>) on_release(frame, from);
            else drop();   // frames a relay sends, punches: not for us
        },
        *f);
}

void Relay::Impl::on_hello(const wire::Hello& h, const loop::SocketAddress& from) {
    // Anyone may ask; the answer (signed, so the node knows it reached the
    // relay it configured) is smaller than the padded HELLO. Each source IP
    // has its own bucket, so that a flood from one address spends its own
    // challenges and not those of the nodes registering meanwhile (issue 18).
    Nanos now = monotonic_ns();
    if (!challenges_per_source.take(ip_key(from), now) || !challenges.take(now)) {
        drop();
        return;
    }
    if (h.version != wire::kWireVersion) {
        // Logged at most once per address and no more often than challenges are given.
        if (refusals_logged.insert("version " + from.to_string()).second)
            log::write(log::Level::notice, {{"USBHOP_ADDRESS", from.to_string()}},
                       "relay: %s speaks relay wire version %u, this relay %u; ignored (upgrade usbhop there)",
                       from.to_string().c_str(), h.version, wire::kWireVersion);
        drop();
        return;
    }
    wire::Challenge c;
    c.peer_nonce = h.peer_nonce;
    c.relay_nonce = make_cookie(now, h.node, from);
    c.observed = quic::to_wire(from);
    auto sig = key.sign(wire::challenge_signed_bytes(c, h.node));
    if (!sig || sig->size() != wire::kSignatureSize) return;
    std::copy(sig->begin(), sig->end(), c.relay_signature.begin());
    ++stats.challenges_sent;
    send_frame(from, c);
}

void Relay::Impl::refuse(const loop::SocketAddress& to, wire::RefuseReason reason, const wire::Tag& echo,
                         uint64_t session) {
    ++stats.refused;
    send_frame(to, wire::Refused{reason, session, echo});
}

void Relay::Impl::on_register(const wire::RegisterNode& r, const loop::SocketAddress& from) {
    Nanos now = monotonic_ns();
    // An invalid or stale cookie: the source has not shown it receives. No answer.
    if (!check_cookie(r.relay_nonce, r.node, from, now)) {
        drop();
        return;
    }
    std::string nonce_key(reinterpret_cast<const char*>(r.relay_nonce.data()), r.relay_nonce.size());
    if (!used_nonces.emplace(nonce_key, now + options.limits.challenge_lifetime).second) {
        refuse(from, wire::RefuseReason::stale_nonce, r.relay_nonce);
        return;
    }
    identity::NodeId node = node_of(r.node);
    wire::NodeKey relay_key;
    std::copy(key.id().public_key().begin(), key.id().public_key().end(), relay_key.begin());
    Bytes signed_bytes = wire::register_signed_bytes(relay_key, r.relay_nonce, r.node);
    if (!node.valid() || !identity::verify(node, signed_bytes, ByteSpan(r.signature.data(), r.signature.size()))) {
        log::write(log::Level::notice, {{"USBHOP_PEER", node.to_string()}, {"USBHOP_ADDRESS", from.to_string()}},
                   "relay: a registration as %s… from %s has a bad signature; refused", node.short_string().c_str(),
                   from.to_string().c_str());
        refuse(from, wire::RefuseReason::bad_signature, r.relay_nonce);
        return;
    }
    if (!trusted(node)) {
        if (options.on_refused) options.on_refused(node, from);
        std::string k = node.to_string() + " " + from.to_string();
        if (refusals_logged.insert(k).second)
            log::write(log::Level::notice, {{"USBHOP_PEER", node.to_string()}, {"USBHOP_ADDRESS", from.to_string()}},
                       "relay: node %s at %s is not in the relay's authorized_keys; refused (to let it use this "
                       "relay: usbhop trust --relay %s)",
                       node.to_string().c_str(), from.to_string().c_str(), node.to_string().c_str());
        refuse(from, wire::RefuseReason::not_trusted, r.relay_nonce);
        return;
    }
    std::string akey = addr_key(from);
    auto existing = nodes.find(node);
    bool moved = existing != nodes.end() && !(existing->second.address == from);
    if (existing == nodes.end() || moved) {
        // A new registration (or a new address) counts against the caps.
        std::string ip = ip_key(from);
        bool same_ip = moved && ip_key(existing->second.address) == ip;
        if ((existing == nodes.end() && nodes.size() >= options.limits.max_registrations) ||
            (!same_ip && per_ip[ip] >= options.limits.max_registrations_per_address)) {
            if (per_ip[ip] == 0) per_ip.erase(ip);
            log::write(log::Level::info, {{"USBHOP_PEER", node.to_string()}, {"USBHOP_ADDRESS", from.to_string()}},
                       "relay: registration of %s… from %s refused: too many registrations",
                       node.short_string().c_str(), from.to_string().c_str());
            refuse(from, wire::RefuseReason::too_many, r.relay_nonce);
            return;
        }
        // Another node registered from this same address gives it up.
        if (auto other = by_address.find(akey); other != by_address.end() && other->second != node)
            unregister(identity::NodeId(other->second), "another node registered from its address");
        if (moved) {
            std::string old_ip = ip_key(existing->second.address);
            by_address.erase(addr_key(existing->second.address));
            if (--per_ip[old_ip] == 0) per_ip.erase(old_ip);
            log::write(log::Level::info, {{"USBHOP_PEER", node.to_string()}, {"USBHOP_ADDRESS", from.to_string()}},
                       "relay: node %s… moved from %s to %s", node.short_string().c_str(),
                       existing->second.address.to_string().c_str(), from.to_string().c_str());
        } else {
            log::write(log::Level::info, {{"USBHOP_PEER", node.to_string()}, {"USBHOP_ADDRESS", from.to_string()}},
                       "relay: node %s… registered from %s", node.short_string().c_str(), from.to_string().c_str());
        }
        ++per_ip[ip];
        by_address[akey] = node;
    }
    Registration& reg = nodes[node];
    reg.address = from;
    reg.last_seen = now;
    gnutls_rnd(GNUTLS_RND_NONCE, reg.tag.data(), reg.tag.size());
    double connects = options.limits.connects_per_second;
    reg.connects = TokenBucket(connects, connects, now);
    stats.registrations = nodes.size();
    send_frame(from, wire::Registered{quic::to_wire(from), options.limits.keep_alive_seconds, reg.tag});
}

void Relay::Impl::on_keep_alive(const wire::KeepAlive& k, const loop::SocketAddress& from) {
    const identity::NodeId* n = node_at(from, k.tag);
    if (!n || *n != node_of(k.node)) {
        drop();   // unknown source or tag: it registers again when no answer comes
        return;
    }
    Registration& reg = nodes[*n];
    reg.last_seen = monotonic_ns();
    send_frame(from, wire::KeepAliveAck{quic::to_wire(from), reg.tag});
}

void Relay::Impl::on_connect(const wire::Connect& c, const loop::SocketAddress& from) {
    const identity::NodeId* from_node = node_at(from, c.tag);
    if (!from_node) {
        drop();
        return;
    }
    identity::NodeId initiator = *from_node;
    identity::NodeId target = node_of(c.target);
    Nanos now = monotonic_ns();
    Registration& me = nodes[initiator];
    me.last_seen = now;
    // Each CONNECT draws up to two answers (and a REFUSED): a node gets a
    // few a second, enough to open and re-open its sessions.
    if (!me.connects.take(now)) {
        drop();
        return;
    }
    auto t = nodes.find(target);
    if (t == nodes.end() || target == initiator) {
        refuse(from, wire::RefuseReason::target_unknown, c.tag, c.session_id);
        return;
    }
    auto s = sessions.find(c.session_id);
    if (s != sessions.end()) {
        if (s->second.stats.initiator != initiator || s->second.stats.target != target) {
            refuse(from, wire::RefuseReason::session_in_use, c.tag, c.session_id);
            return;
        }
    } else {
        const Limits& L = options.limits;
        if (sessions.size() >= L.max_sessions || sessions_per_node[initiator] >= L.max_sessions_per_node ||
            sessions_per_node[target] >= L.max_sessions_per_node) {
            if (refusals_logged.insert("limit " + std::to_string(c.session_id)).second)
                log::write(log::Level::info,
                           {{"USBHOP_PEER", initiator.to_string()}, {"USBHOP_PEER", target.to_string()}},
                           "relay: session %s… -> %s… refused: session limit", initiator.short_string().c_str(),
                           target.short_string().c_str());
            refuse(from, wire::RefuseReason::too_many, c.tag, c.session_id);
            return;
        }
        Session fresh;
        fresh.stats.id = c.session_id;
        fresh.stats.initiator = initiator;
        fresh.stats.target = target;
        fresh.bytes = TokenBucket(static_cast<double>(L.bytes_per_second), session_burst(), now);
        s = sessions.emplace(c.session_id, fresh).first;
        ++sessions_per_node[initiator];
        ++sessions_per_node[target];
        stats.sessions = sessions.size();
        // Both nodes: `journalctl USBHOP_PEER=<id>` finds the session from either side.
        log::write(log::Level::info, {{"USBHOP_PEER", initiator.to_string()}, {"USBHOP_PEER", target.to_string()}},
                   "relay: session %016llx opened: %s… (%s) -> %s… (%s)", static_cast<unsigned long long>(c.session_id),
                   initiator.short_string().c_str(), from.to_string().c_str(), target.short_string().c_str(),
                   t->second.address.to_string().c_str());
    }
    Session& sess = s->second;
    sess.last_active = now;
    // Both ends learn the other's public address (for punching); a repeated
    // CONNECT (lost SESSION, or resuming after a restart) gets the same
    // answer. Each end's SESSION carries its own registration tag, its proof
    // that the frame comes from the relay. The answers are paid for from the
    // session's bytes_per_second like forwarded packets.
    wire::NodeKey init_key;
    std::copy(initiator.public_key().begin(), initiator.public_key().end(), init_key.begin());
    Bytes to_initiator = wire::encode(wire::Session{c.session_id, me.tag, c.target, quic::to_wire(t->second.address), true});
    Bytes to_target = wire::encode(wire::Session{c.session_id, t->second.tag, init_key, quic::to_wire(from), false});
    double cost = static_cast<double>(to_initiator.size() + to_target.size());
    if (options.limits.bytes_per_second && !sess.bytes.take(now, cost)) {
        ++sess.stats.packets_over_limit;
        drop();
        return;
    }
    sess.stats.answer_bytes += to_initiator.size() + to_target.size();
    send(from, to_initiator);
    send(t->second.address, to_target);
}

void Relay::Impl::on_forward(uint64_t id, ByteSpan datagram, const loop::SocketAddress& from) {
    auto s = sessions.find(id);
    // The sender's tag, not only its address (a forger can send from that).
    const identity::NodeId* n = s == sessions.end() ? nullptr : node_at(from, wire::forward_tag(datagram));
    if (!n || (*n != s->second.stats.initiator && *n != s->second.stats.target)) {
        drop();
        return;
    }
    const identity::NodeId& other = *n == s->second.stats.initiator ? s->second.stats.target : s->second.stats.initiator;
    auto to = nodes.find(other);
    if (to == nodes.end()) {
        drop();
        return;
    }
    Session& sess = s->second;
    Nanos now = monotonic_ns();
    if (options.limits.bytes_per_second && !sess.bytes.take(now, static_cast<double>(datagram.size()))) {
        ++sess.stats.packets_over_limit;
        drop();
        return;
    }
    sess.last_active = now;
    nodes[*n].last_seen = now;
    sess.stats.bytes_forwarded += datagram.size() - wire::kForwardHeaderSize;
    ++sess.stats.packets_forwarded;
    stats.bytes_forwarded += datagram.size() - wire::kForwardHeaderSize;
    ++stats.packets_forwarded;
    // On to the other end under its own tag.
    ByteSpan packet = datagram.subspan(wire::kForwardHeaderSize);
    Bytes tampered;
    if (options.tamper) {
        tampered.assign(packet.begin(), packet.end());
        options.tamper(tampered);
        packet = tampered;
    }
    out.clear();
    wire::encode_forward(out, id, to->second.tag, packet);
    send(to->second.address, out);
}

void Relay::Impl::on_release(const wire::Release& r, const loop::SocketAddress& from) {
    auto s = sessions.find(r.session_id);
    const identity::NodeId* n = s == sessions.end() ? nullptr : node_at(from, r.tag);
    if (!n || (*n != s->second.stats.initiator && *n != s->second.stats.target)) {
        drop();
        return;
    }
    end_session(r.session_id, "released by a peer (direct path, or closed)");
}

void Relay::Impl::end_session(uint64_t id, const char* why) {
    auto s = sessions.find(id);
    if (s == sessions.end()) return;
    const SessionStats& st = s->second.stats;
    log::write(log::Level::info, {{"USBHOP_PEER", st.initiator.to_string()}, {"USBHOP_PEER", st.target.to_string()}},
               "relay: session %016llx (%s… -> %s…) %s; %s forwarded", static_cast<unsigned long long>(id),
               st.initiator.short_string().c_str(), st.target.short_string().c_str(), why,
               format_bytes(st.bytes_forwarded).c_str());
    for (const identity::NodeId& n : {st.initiator, st.target})
        if (--sessions_per_node[n] == 0) sessions_per_node.erase(n);
    sessions.erase(s);
    stats.sessions = sessions.size();
}

void Relay::Impl::unregister(const identity::NodeId& node, const char* why) {
    auto it = nodes.find(node);
    if (it == nodes.end()) return;
    log::write(log::Level::info,
               {{"USBHOP_PEER", node.to_string()}, {"USBHOP_ADDRESS", it->second.address.to_string()}},
               "relay: node %s… at %s unregistered: %s", node.short_string().c_str(),
               it->second.address.to_string().c_str(), why);
    std::string ip = ip_key(it->second.address);
    by_address.erase(addr_key(it->second.address));
    if (--per_ip[ip] == 0) per_ip.erase(ip);
    nodes.erase(it);
    stats.registrations = nodes.size();
    std::vector<uint64_t> gone;
    for (auto& [id, s] : sessions)
        if (s.stats.initiator == node || s.stats.target == node) gone.push_back(id);
    for (uint64_t id : gone) end_session(id, "ended: a node left");
}

void Relay::Impl::sweep() {
    Nanos now = monotonic_ns();
    for (auto it = used_nonces.begin(); it != used_nonces.end();) it = it->second < now ? used_nonces.erase(it) : std::next(it);
    std::vector<identity::NodeId> stale;
    for (auto& [n, r] : nodes)
        if (now - r.last_seen > options.limits.registration_timeout) stale.push_back(n);
    for (auto& n : stale) unregister(n, "no keep-alive");
    std::vector<uint64_t> idle;
    for (auto& [id, s] : sessions)
        if (now - s.last_active > options.limits.session_idle_timeout) idle.push_back(id);
    for (uint64_t id : idle) end_session(id, "idle");
    if (refusals_logged.size() > 10000) refusals_logged.clear();
}

// --- Relay -------------------------------------------------------------------------

Relay::Relay(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Relay::~Relay() = default;

Result<std::unique_ptr<Relay>> Relay::create(loop::Loop& loop, const identity::NodeKey& key, Options options) {
    auto impl = std::make_unique<Impl>(loop, key, std::move(options));
    gnutls_rnd(GNUTLS_RND_RANDOM, impl->cookie_secret.data(), impl->cookie_secret.size());
    if (auto r = impl->udp.bind(impl->options.listen); !r)
        return make_error("cannot listen on " + impl->options.listen.to_string() + ": " + r.error().message);
    impl->udp.set_buffer_sizes(kSocketBuffer, kSocketBuffer);
    Impl* p = impl.get();
    if (auto r = impl->udp.start_receiving([p](ByteSpan d, const loop::SocketAddress& from) { p->on_datagram(d, from); });
        !r)
        return r.error();
    impl->sweep_timer = std::make_unique<loop::Timer>(loop, [p] { p->sweep(); });
    impl->sweep_timer->start(1 * kSecond, 1 * kSecond);
    return std::unique_ptr<Relay>(new Relay(std::move(impl)));
}

void Relay::set_trust(std::function<bool(const identity::NodeId&)> trust) {
    impl_->options.trust = std::move(trust);
    impl_->refusals_logged.clear();
    std::vector<identity::NodeId> gone;
    for (auto& [n, r] : impl_->nodes)
        if (!impl_->trusted(n)) gone.push_back(n);
    for (auto& n : gone) impl_->unregister(n, "no longer in authorized_keys");
}

void Relay::receive(ByteSpan datagram, const loop::SocketAddress& from) { impl_->on_datagram(datagram, from); }

loop::SocketAddress Relay::local_address() const { return impl_->udp.local_address(); }
const identity::NodeId& Relay::id() const { return impl_->key.id(); }
Stats Relay::stats() const { return impl_->stats; }

std::optional<SessionStats> Relay::session(uint64_t id) const {
    auto it = impl_->sessions.find(id);
    if (it == impl_->sessions.end()) return std::nullopt;
    return it->second.stats;
}

bool Relay::registered(const identity::NodeId& node) const { return impl_->nodes.count(node) != 0; }

std::string Relay::summary() const {
    const Stats& s = impl_->stats;
    return std::to_string(s.registrations) + (s.registrations == 1 ? " node" : " nodes") + " registered, " +
           std::to_string(s.sessions) + (s.sessions == 1 ? " session" : " sessions") + " relayed, " +
           format_bytes(s.bytes_forwarded) + " forwarded";
}

}  // namespace usbhop::relay
