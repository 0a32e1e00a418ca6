// The endpoint: its sockets, the connection-ID table that routes packets to
// connections, and what a server answers before any connection exists
// (Retry, Version Negotiation, stateless reset).
#include <gnutls/crypto.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>

#include <algorithm>
#include <cinttypes>

#include "quic/internal.hpp"
#include "util/log.hpp"

namespace usbhop::quic {

namespace {
constexpr Nanos kRetryTokenLifetime = 10 * kSecond;
constexpr int kSocketBuffer = 8 << 20;
// Stateless resets: at most this many per second, in bursts of kResetBurst.
constexpr double kResetRate = 100;
constexpr double kResetBurst = 20;

// Said once per process, by a server (a client either runs as root, attach,
// or briefly, list): a receive buffer the sysctl caps (and this process may
// not force past it, loop/udp.hpp) drops packets whenever the loop falls
// behind a burst, and every loss shrinks the congestion window
// (docs/architecture.md#udp-socket-buffers).
void note_small_buffers(const loop::Udp::BufferSizes& granted) {
    static bool said = false;
    if (said || (granted.receive >= kSocketBuffer && granted.send >= kSocketBuffer)) return;
    said = true;
    log::notice("UDP socket buffers are %d KiB (receive) and %d KiB (send), not %d KiB: net.core.rmem_max and "
                "wmem_max cap them and this process may not exceed them, so bursts will drop packets and bulk "
                "transfers slow down; raise both: sysctl -w net.core.rmem_max=%d net.core.wmem_max=%d",
                granted.receive >> 10, granted.send >> 10, kSocketBuffer >> 10, kSocketBuffer, kSocketBuffer);
}

ngtcp2_cid make_cid(ByteSpan bytes) {
    ngtcp2_cid cid;
    ngtcp2_cid_init(&cid, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    return cid;
}

ngtcp2_cid random_cid() {
    uint8_t data[kCidLength];
    gnutls_rnd(GNUTLS_RND_NONCE, data, sizeof data);
    ngtcp2_cid cid;
    ngtcp2_cid_init(&cid, data, sizeof data);
    return cid;
}

ngtcp2_addr addr_of(const loop::SocketAddress& a) { return {const_cast<sockaddr*>(a.get()), a.size()}; }
}  // namespace

ngtcp2_tstamp now_ts() { return monotonic_ns(); }

std::string cid_key(const uint8_t* data, size_t len) { return std::string(reinterpret_cast<const char*>(data), len); }

// --- Endpoint (public facade) -------------------------------------------------

Endpoint::Endpoint(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Endpoint::~Endpoint() {
    // Connections go without callbacks; their timers and sockets close with them.
    impl_->dirty.clear();
    impl_->finished.clear();
    impl_->connections.clear();
}

Result<std::unique_ptr<Endpoint>> Endpoint::create(loop::Loop& loop, const identity::NodeKey& key,
                                                   const loop::SocketAddress& bind, Config config) {
    if (auto cipher = preferred_cipher(); !cipher) return cipher.error();  // a bad USBHOP_CIPHER
    auto impl = std::make_unique<Impl>(loop, config);
    impl->id = key.id();
    auto cred = Credentials::create(key);
    if (!cred) return cred.error();
    impl->credentials = std::move(*cred);
    // Stateless reset tokens come from the node key, so that a restarted
    // server can still reset connections its previous run had (RFC 9000 §10.3).
    auto sig = key.sign(as_bytes("usbhop stateless reset secret v1"));
    if (!sig) return sig.error();
    gnutls_hash_fast(GNUTLS_DIG_SHA256, sig->data(), sig->size(), impl->reset_secret.data());
    gnutls_rnd(GNUTLS_RND_RANDOM, impl->token_secret.data(), impl->token_secret.size());
    impl->defer = std::make_unique<loop::Timer>(loop, [p = impl.get()] { p->run_deferred(); });
    impl->refusal_timer = std::make_unique<loop::Timer>(loop, [p = impl.get()] { p->summarise_refusals(); });
    auto added = impl->add_socket(bind);
    if (!added) return added.error();
    return std::unique_ptr<Endpoint>(new Endpoint(std::move(impl)));
}

void Endpoint::listen(Trust trust, OnConnection on_connection) {
    impl_->trust = std::move(trust);
    impl_->on_connection = std::move(on_connection);
    impl_->listening = true;
    note_small_buffers(impl_->buffers);
}

Result<Connection*> Endpoint::connect(const loop::SocketAddress& server, const identity::NodeId& expected,
                                      Handlers handlers, const loop::SocketAddress& via) {
    Impl& ep = *impl_;
    size_t index = SIZE_MAX;
    if (!via.empty()) {
        index = ep.find_path_index(via);
        if (index == SIZE_MAX) return make_error("no local path " + via.to_string() + " on this endpoint");
    }
    for (size_t i = 0; i < ep.paths.size() && index == SIZE_MAX; ++i) {
        if (ep.paths[i].local.family() == server.family()) {
            index = i;
            break;
        }
    }
    if (index == SIZE_MAX)
        return make_error("cannot reach " + server.to_string() + " from " + ep.paths[0].local.to_string() +
                          " (address family differs)");
    Connection::Impl* c = ep.create_connection(false);
    c->expected = expected;
    c->handlers = std::move(handlers);
    ngtcp2_cid dcid = random_cid();
    ngtcp2_cid scid = random_cid();
    ngtcp2_path path{addr_of(ep.paths[index].local), addr_of(server), nullptr};
    ngtcp2_settings settings = c->make_settings();
    ngtcp2_transport_params params = c->make_params();
    int rv = ngtcp2_conn_client_new(&c->conn, &dcid, &scid, &path, NGTCP2_PROTO_VER_V1, callbacks(false), &settings,
                                    &params, nullptr, c);
    if (rv != 0) {
        c->state = Connection::Impl::State::closed;
        ep.retire(c);
        return make_error(std::string("cannot start a connection: ") + ngtcp2_strerror(rv), rv);
    }
    if (auto tls = c->setup_tls(); !tls) {
        c->state = Connection::Impl::State::closed;
        ep.retire(c);
        return tls.error();
    }
    ngtcp2_conn_set_tls_native_handle(c->conn, c->tls);
    if (ep.config.keep_alive) ngtcp2_conn_set_keep_alive_timeout(c->conn, ep.config.keep_alive);
    ep.register_cid(c, ByteSpan(reinterpret_cast<const std::byte*>(scid.data), scid.datalen));
    ep.schedule(c);
    return c->self;
}

void Endpoint::close_all(uint64_t code, std::string_view reason) {
    for (auto& c : impl_->connections) c->close(code, reason);
}

loop::SocketAddress Endpoint::local_address() const { return impl_->paths[0].local; }
const identity::NodeId& Endpoint::id() const { return impl_->id; }
size_t Endpoint::connection_count() const { return impl_->connections.size() - impl_->finished.size(); }
const EndpointStats& Endpoint::stats() const { return impl_->stats; }

void Endpoint::add_virtual_path(const loop::SocketAddress& label, VirtualSend send) {
    LocalPath p;
    p.local = label;
    p.virtual_send = std::move(send);
    impl_->paths.push_back(std::move(p));
}

void Endpoint::receive_virtual(const loop::SocketAddress& label, const loop::SocketAddress& from, ByteSpan packet) {
    size_t index = impl_->find_path_index(label);
    if (index != SIZE_MAX) impl_->on_datagram(index, packet, from);
}

void Endpoint::set_other_receiver(OnOtherDatagram receive) { impl_->other_receiver = std::move(receive); }

bool Endpoint::send_other(const loop::SocketAddress& to, ByteSpan data) {
    loop::Udp& udp = *impl_->paths[0].udp;
    if (udp.send_queue_count() != 0) return false;
    return udp.try_send(data, to) >= 0;
}

// --- Endpoint::Impl: sockets -----------------------------------------------------

Result<size_t> Endpoint::Impl::add_socket(const loop::SocketAddress& bind) {
    auto udp = std::make_unique<loop::Udp>(loop, true);
    if (auto r = udp->bind(bind); !r) return r.error();
    loop::Udp::BufferSizes granted = udp->set_buffer_sizes(kSocketBuffer, kSocketBuffer);
    if (paths.empty()) buffers = granted;
    size_t index = paths.size();
    LocalPath p;
    p.local = udp->local_address();
    if (auto r = udp->start_receiving([this, index](ByteSpan data, const loop::SocketAddress& from) {
            on_datagram(index, data, from);
        });
        !r)
        return r.error();
    p.udp = std::move(udp);
    paths.push_back(std::move(p));
    return index;
}

size_t Endpoint::Impl::find_path_index(const loop::SocketAddress& local) const {
    for (size_t i = 0; i < paths.size(); ++i)
        if (paths[i].local == local) return i;
    return SIZE_MAX;
}

LocalPath* Endpoint::Impl::find_path(const ngtcp2_addr& local) {
    size_t i = find_path_index(loop::SocketAddress(local.addr));
    return i == SIZE_MAX ? nullptr : &paths[i];
}

void Endpoint::Impl::send_packets(const ngtcp2_path& path, const uint8_t* data, size_t len, size_t segment) {
    LocalPath* lp = find_path(path.local);
    if (!lp || len == 0) return;
    loop::SocketAddress to(path.remote.addr);
    ByteSpan all(reinterpret_cast<const std::byte*>(data), len);
    if (segment == 0 || segment > len) segment = len;
    if (lp->virtual_send) {
        lp->virtual_send(to, all, segment);
        return;
    }
    loop::Udp& udp = *lp->udp;
    if (config.gso && len > segment && udp.send_queue_count() == 0) {
        int n = udp.try_send_segments(all, segment, to);
        if (n >= 0) return;
        if (n == UV_EIO || n == UV_EINVAL || n == UV_ENOTSUP) {
            log::info("UDP segmentation offload is not available here; sending packets one by one");
            config.gso = false;
        } else if (n != UV_EAGAIN) {
            return;   // unreachable and the like: the packets count as lost
        }
    }
    for (size_t off = 0; off < len; off += segment) {
        ByteSpan pkt = all.subspan(off, std::min(segment, len - off));
        if (udp.send_queue_count() == 0) {
            int n = udp.try_send(pkt, to);
            if (n >= 0 || n != UV_EAGAIN) continue;
        }
        // The kernel is full: queue the rest and stop writing until it drains.
        sockets_blocked = true;
        udp.send(pkt, to, [this, &udp](int) {
            if (udp.send_queue_count() != 0 || !sockets_blocked) return;
            sockets_blocked = false;
            for (auto& c : connections) schedule(&c->impl());
        });
    }
}

void Endpoint::Impl::send_raw(size_t path_index, const loop::SocketAddress& to, ByteSpan data) {
    LocalPath& lp = paths[path_index];
    if (lp.virtual_send) lp.virtual_send(to, data, data.size());
    else if (lp.udp->send_queue_count() == 0) lp.udp->try_send(data, to);
}

// --- Endpoint::Impl: receiving ------------------------------------------------------

void Endpoint::Impl::on_datagram(size_t path_index, ByteSpan data, const loop::SocketAddress& from) {
    ++stats.datagrams_received;
    if (!data.empty() && std::to_integer<uint8_t>(data[0]) < 0x40 && paths[path_index].udp) {
        if (other_receiver) other_receiver(data, from);
        else ++stats.datagrams_dropped;
        return;
    }
    auto* pkt = reinterpret_cast<const uint8_t*>(data.data());
    ngtcp2_version_cid vc;
    int rv = ngtcp2_pkt_decode_version_cid(&vc, pkt, data.size(), kCidLength);
    if (rv == NGTCP2_ERR_VERSION_NEGOTIATION) {
        send_version_negotiation(path_index, vc, from);
        return;
    }
    if (rv != 0) {
        ++stats.datagrams_dropped;
        return;
    }
    auto it = by_cid.find(cid_key(vc.dcid, vc.dcidlen));
    if (it != by_cid.end()) {
        const loop::SocketAddress& local = paths[path_index].local;
        ngtcp2_path path{addr_of(local), addr_of(from), nullptr};
        it->second->on_packet(path, data);
        return;
    }
    if (vc.version == 0) {
        // A stateless reset carries no connection ID of ours: offer it to
        // the connections on that remote address; ngtcp2 checks the token.
        for (auto& conn : connections) {
            Connection::Impl& c = conn->impl();
            if (!c.conn || c.state == Connection::Impl::State::closed) continue;
            const ngtcp2_path* cur = ngtcp2_conn_get_path(c.conn);
            if (loop::SocketAddress(cur->remote.addr) == from) {
                const loop::SocketAddress& local = paths[path_index].local;
                ngtcp2_path path{addr_of(local), addr_of(from), nullptr};
                c.on_packet(path, data);
                return;
            }
        }
        // A short-header packet for a connection we do not know: tell the
        // peer it is gone (RFC 9000 §10.3), so it need not wait for a timeout.
        send_stateless_reset(path_index, ByteSpan(reinterpret_cast<const std::byte*>(vc.dcid), vc.dcidlen),
                             data.size(), from);
        return;
    }
    accept(path_index, data, from);
}

void Endpoint::Impl::accept(size_t path_index, ByteSpan data, const loop::SocketAddress& from) {
    auto* pkt = reinterpret_cast<const uint8_t*>(data.data());
    ngtcp2_pkt_hd hd;
    if (!listening || ngtcp2_accept(&hd, pkt, data.size()) != 0 || hd.type != NGTCP2_PKT_INITIAL ||
        connections.size() >= config.max_connections) {
        ++stats.datagrams_dropped;
        return;
    }
    ngtcp2_cid odcid = hd.dcid;
    bool retried = false;
    if (config.require_retry) {
        if (hd.tokenlen == 0 || hd.token[0] != NGTCP2_CRYPTO_TOKEN_MAGIC_RETRY) {
            send_retry(path_index, hd, from);
            return;
        }
        if (ngtcp2_crypto_verify_retry_token(&odcid, hd.token, hd.tokenlen, token_secret.data(), token_secret.size(),
                                             hd.version, from.get(), from.size(), &hd.dcid, kRetryTokenLifetime,
                                             now_ts()) != 0) {
            ++stats.datagrams_dropped;
            return;
        }
        retried = true;
    }
    // Only now, with the address proven by Retry (when required), so that
    // spoofed Initials cannot use up another address's share.
    std::string source = from.host_string();   // every port of a host is one source
    if (!half_open_allowed(source)) {
        ++stats.datagrams_dropped;
        ++stats.handshakes_shed;
        return;
    }
    Connection::Impl* c = create_connection(true);
    if (half_open > config.max_half_open / 2)
        c->handshake_timeout = std::min(config.handshake_timeout, config.busy_handshake_timeout);
    start_half_open(c, std::move(source));
    ngtcp2_settings settings = c->make_settings();
    if (retried) {
        settings.token = hd.token;
        settings.tokenlen = hd.tokenlen;
        settings.token_type = NGTCP2_TOKEN_TYPE_RETRY;   // without it, Retry silently breaks
    }
    ngtcp2_transport_params params = c->make_params();
    params.original_dcid = odcid;
    params.original_dcid_present = 1;   // Debian's 1.11 asserts without it
    if (retried) {
        params.retry_scid = hd.dcid;
        params.retry_scid_present = 1;
    }
    ngtcp2_cid scid = random_cid();
    params.stateless_reset_token_present = 1;
    ngtcp2_crypto_generate_stateless_reset_token(params.stateless_reset_token, reset_secret.data(),
                                                 reset_secret.size(), &scid);
    const loop::SocketAddress& local = paths[path_index].local;
    ngtcp2_path path{addr_of(local), addr_of(from), nullptr};
    int rv = ngtcp2_conn_server_new(&c->conn, &hd.scid, &scid, &path, hd.version, callbacks(true), &settings, &params,
                                    nullptr, c);
    if (rv != 0 || !c->setup_tls()) {
        c->state = Connection::Impl::State::closed;
        retire(c);
        ++stats.datagrams_dropped;
        return;
    }
    ngtcp2_conn_set_tls_native_handle(c->conn, c->tls);
    if (config.keep_alive) ngtcp2_conn_set_keep_alive_timeout(c->conn, config.keep_alive);
    register_cid(c, ByteSpan(reinterpret_cast<const std::byte*>(scid.data), scid.datalen));
    // Initials the client sends before it learns our ID still carry its own choice.
    register_cid(c, ByteSpan(reinterpret_cast<const std::byte*>(hd.dcid.data), hd.dcid.datalen));
    c->on_packet(path, data);
}

void Endpoint::Impl::send_retry(size_t path_index, const ngtcp2_pkt_hd& hd, const loop::SocketAddress& from) {
    ngtcp2_cid scid = random_cid();
    uint8_t token[NGTCP2_CRYPTO_MAX_RETRY_TOKENLEN];
    ngtcp2_ssize tokenlen = ngtcp2_crypto_generate_retry_token(token, token_secret.data(), token_secret.size(),
                                                               hd.version, from.get(), from.size(), &scid, &hd.dcid,
                                                               now_ts());
    if (tokenlen < 0) return;
    uint8_t buf[1280];
    ngtcp2_ssize n = ngtcp2_crypto_write_retry(buf, sizeof buf, hd.version, &hd.scid, &scid, &hd.dcid, token,
                                               static_cast<size_t>(tokenlen));
    if (n < 0) return;
    ++stats.retries_sent;
    send_raw(path_index, from, ByteSpan(reinterpret_cast<const std::byte*>(buf), static_cast<size_t>(n)));
}

void Endpoint::Impl::send_stateless_reset(size_t path_index, ByteSpan dcid, size_t received,
                                          const loop::SocketAddress& from) {
    // Smaller than what triggered it, so two endpoints cannot loop
    // (RFC 9000 §10.3.3); too small a trigger gets no answer at all.
    constexpr size_t kMinTrigger = 1 + kCidLength + NGTCP2_MIN_STATELESS_RESET_RANDLEN + NGTCP2_STATELESS_RESET_TOKENLEN + 1;
    if (received < kMinTrigger || dcid.size() != kCidLength) {
        ++stats.datagrams_dropped;
        return;
    }
    Nanos now = monotonic_ns();
    reset_tokens = std::min(kResetBurst, reset_tokens + static_cast<double>(now - reset_refill) / kSecond * kResetRate);
    reset_refill = now;
    if (reset_tokens < 1) {
        ++stats.datagrams_dropped;
        return;
    }
    reset_tokens -= 1;
    ngtcp2_cid cid = make_cid(dcid);
    uint8_t token[NGTCP2_STATELESS_RESET_TOKENLEN];
    if (ngtcp2_crypto_generate_stateless_reset_token(token, reset_secret.data(), reset_secret.size(), &cid) != 0)
        return;
    size_t total = std::min<size_t>(received - 1, 1 + kCidLength + 22 + NGTCP2_STATELESS_RESET_TOKENLEN);
    uint8_t rand[64];
    size_t randlen = total - NGTCP2_STATELESS_RESET_TOKENLEN;
    gnutls_rnd(GNUTLS_RND_NONCE, rand, randlen);
    uint8_t buf[128];
    ngtcp2_ssize n = ngtcp2_pkt_write_stateless_reset(buf, sizeof buf, token, rand, randlen);
    if (n < 0) return;
    ++stats.stateless_resets_sent;
    send_raw(path_index, from, ByteSpan(reinterpret_cast<const std::byte*>(buf), static_cast<size_t>(n)));
}

void Endpoint::Impl::send_version_negotiation(size_t path_index, const ngtcp2_version_cid& vc,
                                              const loop::SocketAddress& from) {
    // Only to a full-size Initial (no amplification), and only as a server.
    ++stats.datagrams_dropped;
    if (!listening) return;
    uint32_t versions[] = {NGTCP2_PROTO_VER_V1};
    uint8_t unused;
    gnutls_rnd(GNUTLS_RND_NONCE, &unused, 1);
    uint8_t buf[256];
    ngtcp2_ssize n = ngtcp2_pkt_write_version_negotiation(buf, sizeof buf, unused, vc.scid, vc.scidlen, vc.dcid,
                                                          vc.dcidlen, versions, 1);
    if (n > 0) send_raw(path_index, from, ByteSpan(reinterpret_cast<const std::byte*>(buf), static_cast<size_t>(n)));
}

// --- Endpoint::Impl: connection bookkeeping ----------------------------------------------

Connection::Impl* Endpoint::Impl::create_connection(bool server) {
    auto impl = std::make_unique<Connection::Impl>(*this, server);
    Connection::Impl* raw = impl.get();
    connections.push_back(std::make_unique<Connection>(std::move(impl)));
    return raw;
}

void Endpoint::on_refused(OnRefused callback) { impl_->on_refused = std::move(callback); }

void Endpoint::Impl::note_refusal(const identity::NodeId& node, const loop::SocketAddress& from) {
    if (on_refused) on_refused(node, from);
    if (refusals.refused(node, from, monotonic_ns()) == RefusalLog::Verdict::log) {
        std::string id = node.to_string();
        std::string address = from.to_string();
        log::write(log::Level::warning, {{"USBHOP_PEER", id}, {"USBHOP_ADDRESS", address}},
                   "refused node %s from %s: not in authorized_keys (to let it in: usbhop trust %s)", id.c_str(),
                   address.c_str(), id.c_str());
    }
    if (!refusal_timer->active()) refusal_timer->start(RefusalLog::kWindow, RefusalLog::kWindow);
}

void Endpoint::Impl::summarise_refusals() {
    constexpr size_t kMaxLines = 16;   // per window; the rest in one line
    auto summaries = refusals.tick(monotonic_ns());
    uint64_t rest = 0;
    for (size_t i = 0; i < summaries.size(); ++i) {
        const RefusalLog::Summary& s = summaries[i];
        if (i >= kMaxLines) {
            rest += s.count;
        } else if (!s.node.empty()) {
            log::write(log::Level::notice, {{"USBHOP_PEER", s.node}, {"USBHOP_ADDRESS", s.source}},
                       "refused node %s from %s %" PRIu64 " more time(s) in the last minute", s.node.c_str(),
                       s.source.c_str(), s.count);
        } else if (!s.source.empty()) {
            log::write(log::Level::notice, {{"USBHOP_ADDRESS", s.source}},
                       "refused %" PRIu64 " more handshake(s) from %s in the last minute, of nodes not named here",
                       s.count, s.source.c_str());
        } else {
            rest += s.count;
        }
    }
    if (rest > 0) log::notice("refused %" PRIu64 " more handshake(s) in the last minute from other addresses", rest);
    if (refusals.empty()) refusal_timer->stop();
}

bool Endpoint::Impl::half_open_allowed(const std::string& source) const {
    if (half_open >= config.max_half_open) return false;
    auto it = half_open_by_source.find(source);
    return it == half_open_by_source.end() || it->second < config.max_half_open_per_source;
}

void Endpoint::Impl::start_half_open(Connection::Impl* c, std::string source) {
    ++half_open;
    ++half_open_by_source[source];
    c->half_open_source = std::move(source);
}

void Endpoint::Impl::end_half_open(Connection::Impl* c) {
    if (c->half_open_source.empty()) return;
    --half_open;
    auto it = half_open_by_source.find(c->half_open_source);
    if (--it->second == 0) half_open_by_source.erase(it);
    c->half_open_source.clear();
}

void Endpoint::Impl::register_cid(Connection::Impl* c, ByteSpan cid) {
    std::string key(as_chars(cid));
    by_cid[key] = c;
    c->cids.push_back(std::move(key));
}

void Endpoint::Impl::unregister_cid(ByteSpan cid) {
    auto it = by_cid.find(std::string(as_chars(cid)));
    if (it == by_cid.end()) return;
    auto& list = it->second->cids;
    list.erase(std::remove(list.begin(), list.end(), it->first), list.end());
    by_cid.erase(it);
}

void Endpoint::Impl::schedule(Connection::Impl* c) {
    if (c->dirty) return;
    c->dirty = true;
    dirty.push_back(c);
    if (!defer->active()) defer->start(0);
}

void Endpoint::Impl::retire(Connection::Impl* c) {
    end_half_open(c);
    for (const std::string& key : c->cids) {
        auto it = by_cid.find(key);
        if (it != by_cid.end() && it->second == c) by_cid.erase(it);
    }
    c->cids.clear();
    finished.push_back(c);
    if (!defer->active()) defer->start(0);
}

void Endpoint::Impl::run_deferred() {
    std::vector<Connection::Impl*> batch;
    batch.swap(dirty);
    for (Connection::Impl* c : batch) {
        c->dirty = false;
        c->flush();
    }
    if (finished.empty()) return;
    std::vector<Connection::Impl*> gone;
    gone.swap(finished);
    for (Connection::Impl* c : gone) {
        dirty.erase(std::remove(dirty.begin(), dirty.end(), c), dirty.end());
        connections.erase(std::remove_if(connections.begin(), connections.end(),
                                         [c](const std::unique_ptr<Connection>& p) { return &p->impl() == c; }),
                          connections.end());
    }
}

}  // namespace usbhop::quic
