// One QUIC connection: ngtcp2 state, its TLS session, streams, datagrams,
// and the write loop that batches packets for GSO.
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>

#include <algorithm>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>

#include "quic/internal.hpp"
#include "util/log.hpp"
#include "util/printable.hpp"

namespace usbhop::quic {

namespace {

constexpr uint64_t kCryptoError = 0x100;   // RFC 9001 §4.8: 0x100 + TLS alert
constexpr uint8_t kAlertBadCertificate = 42;
constexpr size_t kMaxVecs = 16;
// Short header (1) + connection ID (at most 20) + packet number (at most 4)
// + AEAD tag (16) + DATAGRAM frame type and length (3).
constexpr size_t kDatagramOverhead = 44;

// The TLS priority of each end, for the AEAD this CPU is fast at (cipher.hpp).
// Endpoint::create has already refused a bad USBHOP_CIPHER.
const std::string& priority(bool server) {
    static const Cipher first = [] {
        auto c = preferred_cipher();
        return c ? *c : Cipher::aes_128_gcm;
    }();
    static const std::string client_priority = tls_priority(false, first), server_priority = tls_priority(true, first);
    return server ? server_priority : client_priority;
}

Connection::Impl* impl_of(void* user_data) { return static_cast<Connection::Impl*>(user_data); }

// Stream bytes sent and not yet acknowledged (what the stall probe watches).
bool awaiting_ack(const Connection::Impl::Stream& s) { return !s.write_shut && s.tx.buffered() > s.tx.unsent(); }

ngtcp2_conn* get_conn(ngtcp2_crypto_conn_ref* ref) { return impl_of(ref->user_data)->conn; }

void debug_printf(void*, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
void debug_printf(void*, const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

std::string alert_text(uint8_t alert) {
    const char* name = gnutls_alert_get_name(static_cast<gnutls_alert_description_t>(alert));
    return "TLS alert " + std::to_string(alert) + (name ? std::string(" ") + name : std::string());
}

std::string code_text(const CloseInfo& info) {
    std::string s = info.application ? "code " + std::to_string(info.code) : [&] {
        char buf[32];
        snprintf(buf, sizeof buf, "transport error 0x%" PRIx64, info.code);
        return std::string(buf);
    }();
    if (!info.reason.empty()) s += " (" + util::printable(info.reason) + ")";   // the peer chose it
    return s;
}

ngtcp2_callbacks make_callbacks(bool server) {
    ngtcp2_callbacks cb{};
    if (server) {
        cb.recv_client_initial = ngtcp2_crypto_recv_client_initial_cb;
    } else {
        cb.client_initial = ngtcp2_crypto_client_initial_cb;
        cb.recv_retry = ngtcp2_crypto_recv_retry_cb;
    }
    cb.recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb;
    cb.encrypt = ngtcp2_crypto_encrypt_cb;
    cb.decrypt = ngtcp2_crypto_decrypt_cb;
    cb.hp_mask = ngtcp2_crypto_hp_mask_cb;
    cb.update_key = ngtcp2_crypto_update_key_cb;
    cb.delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb;
    cb.delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb;
    cb.get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb;
    cb.version_negotiation = ngtcp2_crypto_version_negotiation_cb;
    cb.rand = [](uint8_t* dest, size_t len, const ngtcp2_rand_ctx*) { gnutls_rnd(GNUTLS_RND_NONCE, dest, len); };
    cb.handshake_completed = [](ngtcp2_conn*, void* u) { return impl_of(u)->on_handshake_completed(); };
    cb.handshake_confirmed = [](ngtcp2_conn*, void* u) { return impl_of(u)->on_handshake_confirmed(); };
    cb.recv_stream_data = [](ngtcp2_conn*, uint32_t flags, int64_t id, uint64_t, const uint8_t* data, size_t len,
                             void* u, void*) { return impl_of(u)->on_stream_data(flags, id, data, len); };
    cb.acked_stream_data_offset = [](ngtcp2_conn*, int64_t id, uint64_t offset, uint64_t len, void* u, void*) {
        return impl_of(u)->on_acked(id, offset, len);
    };
    cb.stream_open = [](ngtcp2_conn*, int64_t id, void* u) { return impl_of(u)->on_stream_open(id); };
    cb.stream_close = [](ngtcp2_conn*, uint32_t flags, int64_t id, uint64_t code, void* u, void*) {
        return impl_of(u)->on_stream_close(flags, id, code);
    };
    cb.stream_reset = [](ngtcp2_conn*, int64_t id, uint64_t, uint64_t code, void* u, void*) {
        return impl_of(u)->on_stream_reset(id, code);
    };
    cb.extend_max_stream_data = [](ngtcp2_conn*, int64_t id, uint64_t, void* u, void*) {
        return impl_of(u)->on_extend_max_stream_data(id);
    };
    cb.get_new_connection_id = [](ngtcp2_conn*, ngtcp2_cid* cid, uint8_t* token, size_t len, void* u) {
        return impl_of(u)->on_new_cid(cid, token, len);
    };
    cb.remove_connection_id = [](ngtcp2_conn*, const ngtcp2_cid* cid, void* u) {
        return impl_of(u)->on_remove_cid(cid);
    };
    cb.path_validation = [](ngtcp2_conn*, uint32_t flags, const ngtcp2_path* path, const ngtcp2_path*,
                            ngtcp2_path_validation_result res, void* u) {
        return impl_of(u)->on_path_validation(flags, path, res);
    };
    cb.recv_datagram = [](ngtcp2_conn*, uint32_t, const uint8_t* data, size_t len, void* u) {
        return impl_of(u)->on_datagram(data, len);
    };
    cb.recv_stateless_reset = [](ngtcp2_conn*, const ngtcp2_pkt_stateless_reset*, void* u) {
        impl_of(u)->got_stateless_reset = true;
        return 0;
    };
    return cb;
}

// The journal fields of a connection's peer (usbhop(1) JOURNAL FIELDS): its
// node (or the one a client asked for) and its current address. The name
// (authorized_keys comment) is the application's: server and client add it.
log::Fields peer_fields(const Connection::Impl& c) {
    log::Fields f;
    const identity::NodeId& node = c.peer.valid() ? c.peer : c.expected;
    if (node.valid()) f.peer(node.to_string());
    if (c.conn) f.address(loop::SocketAddress(ngtcp2_conn_get_path(c.conn)->remote.addr).to_string());
    return f;
}
}  // namespace

const ngtcp2_callbacks* callbacks(bool server) {
    static const ngtcp2_callbacks server_cb = make_callbacks(true);
    static const ngtcp2_callbacks client_cb = make_callbacks(false);
    return server ? &server_cb : &client_cb;
}

// --- Credentials -----------------------------------------------------------

Result<std::unique_ptr<Credentials>> Credentials::create(const identity::NodeKey& key) {
    std::unique_ptr<Credentials> c(new Credentials);
    if (int rc = gnutls_certificate_allocate_credentials(&c->cred_); rc < 0)
        return make_error(std::string("TLS credentials: ") + gnutls_strerror(rc), rc);
    std::string pub = key.public_key_pem();
    const std::string& priv = key.private_key_pem();
    gnutls_datum_t spki{reinterpret_cast<unsigned char*>(pub.data()), static_cast<unsigned>(pub.size())};
    gnutls_datum_t pkey{reinterpret_cast<unsigned char*>(const_cast<char*>(priv.data())),
                        static_cast<unsigned>(priv.size())};
    if (int rc = gnutls_certificate_set_rawpk_key_mem(c->cred_, &spki, &pkey, GNUTLS_X509_FMT_PEM, nullptr, 0,
                                                      nullptr, 0, 0);
        rc < 0)
        return make_error(std::string("TLS raw public key: ") + gnutls_strerror(rc), rc);
    return c;
}

Credentials::~Credentials() {
    if (cred_) gnutls_certificate_free_credentials(cred_);
}

// --- Connection (public facade) ---------------------------------------------

Connection::Connection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) { impl_->self = this; }
Connection::~Connection() = default;

void Connection::set_handlers(Handlers handlers) { impl_->handlers = std::move(handlers); }
const identity::NodeId& Connection::peer() const { return impl_->peer; }
bool Connection::established() const { return impl_->state == Impl::State::established; }
bool Connection::is_server() const { return impl_->server; }

Result<int64_t> Connection::open_stream() {
    if (impl_->state != Impl::State::established) return make_error("connection is not established");
    int64_t id = -1;
    int rv = ngtcp2_conn_open_bidi_stream(impl_->conn, &id, nullptr);
    if (rv == NGTCP2_ERR_STREAM_ID_BLOCKED) return make_error("the peer allows no more streams for now", rv);
    if (rv != 0) return make_error(std::string("cannot open stream: ") + ngtcp2_strerror(rv), rv);
    impl_->stream(id);
    return id;
}

size_t Connection::write(int64_t stream, ByteSpan data, bool fin) {
    auto it = impl_->streams.find(stream);
    if (it == impl_->streams.end() || impl_->state != Impl::State::established) return 0;
    Impl::Stream& s = it->second;
    if (s.write_shut || s.fin_wanted) return 0;
    size_t took = s.tx.append(data, impl_->ep.config.stream_send_buffer);
    if (took < data.size()) s.want_writable = true;
    else if (fin) s.fin_wanted = true;
    impl_->make_ready(stream);
    impl_->ep.schedule(impl_.get());
    return took;
}

size_t Connection::writable(int64_t stream) const {
    auto it = impl_->streams.find(stream);
    if (it == impl_->streams.end() || it->second.write_shut || it->second.fin_wanted) return 0;
    size_t cap = impl_->ep.config.stream_send_buffer;
    return cap > it->second.tx.buffered() ? cap - it->second.tx.buffered() : 0;
}

size_t Connection::unacknowledged(int64_t stream) const {
    auto it = impl_->streams.find(stream);
    return it == impl_->streams.end() ? 0 : it->second.tx.buffered();
}

void Connection::consume(int64_t stream, size_t n) {
    if (!impl_->conn || impl_->state != Impl::State::established) return;
    ngtcp2_conn_extend_max_stream_offset(impl_->conn, stream, n);
    ngtcp2_conn_extend_max_offset(impl_->conn, n);
    impl_->ep.schedule(impl_.get());
}

void Connection::reset_stream(int64_t stream, uint64_t code) {
    auto it = impl_->streams.find(stream);
    if (it == impl_->streams.end() || !impl_->conn) return;
    it->second.write_shut = true;
    it->second.reset_here = true;
    ngtcp2_conn_shutdown_stream_write(impl_->conn, 0, stream, code);
    if (impl_->stall_probing) impl_->update_stall_probe();
    impl_->ep.schedule(impl_.get());
}

void Connection::stop_sending(int64_t stream, uint64_t code) {
    if (impl_->streams.find(stream) == impl_->streams.end() || !impl_->conn) return;
    ngtcp2_conn_shutdown_stream_read(impl_->conn, 0, stream, code);
    impl_->ep.schedule(impl_.get());
}

bool Connection::send_datagram(ByteSpan data) {
    if (data.size() > max_datagram_size() || impl_->datagrams.size() >= impl_->ep.config.datagram_queue) return false;
    impl_->datagrams.emplace_back(data.begin(), data.end());
    impl_->ep.schedule(impl_.get());
    return true;
}

size_t Connection::max_datagram_size() const {
    if (impl_->state != Impl::State::established) return 0;
    const ngtcp2_transport_params* remote = ngtcp2_conn_get_remote_transport_params(impl_->conn);
    if (!remote || remote->max_datagram_frame_size == 0 || impl_->ep.config.max_datagram_frame_size == 0) return 0;
    size_t path = ngtcp2_conn_get_path_max_tx_udp_payload_size(impl_->conn);
    size_t by_path = path > kDatagramOverhead ? path - kDatagramOverhead : 0;
    size_t by_frame = remote->max_datagram_frame_size > 3 ? remote->max_datagram_frame_size - 3 : 0;
    return std::min(by_path, by_frame);
}

PathInfo Connection::path() const { return impl_->path_info(); }

Result<void> Connection::migrate(const loop::SocketAddress& local, const loop::SocketAddress& remote) {
    if (impl_->server) return make_error("only a client can move to another address");
    if (impl_->state != Impl::State::established) return make_error("connection is not established");
    size_t index = impl_->ep.find_path_index(local);
    if (index == SIZE_MAX) {
        auto added = impl_->ep.add_socket(local);
        if (!added) return added.error();
        index = *added;
    }
    const ngtcp2_path* cur = ngtcp2_conn_get_path(impl_->conn);
    const loop::SocketAddress& bound = impl_->ep.paths[index].local;
    ngtcp2_addr to = remote.empty() ? cur->remote : ngtcp2_addr{const_cast<sockaddr*>(remote.get()), remote.size()};
    ngtcp2_path path{{const_cast<sockaddr*>(bound.get()), bound.size()}, to, nullptr};
    int rv = ngtcp2_conn_initiate_immediate_migration(impl_->conn, &path, now_ts());
    if (rv != 0) return make_error(std::string("cannot migrate: ") + ngtcp2_strerror(rv), rv);
    log::write(log::Level::info, peer_fields(*impl_), "connection to %s moves to local address %s%s",
               impl_->who().c_str(), bound.to_string().c_str(),
               remote.empty() ? "" : (", server address " + remote.to_string()).c_str());
    impl_->ep.schedule(impl_.get());
    return {};
}

void Connection::close(uint64_t code, std::string_view reason) {
    Impl& c = *impl_;
    if (c.close_requested || c.state == Impl::State::closing || c.state == Impl::State::draining ||
        c.state == Impl::State::closed)
        return;
    c.close_requested = true;
    c.pending_close = CloseInfo{CloseInfo::Kind::local, true, code, std::string(reason), {}};
    c.pending_close.message = "closing connection to " + c.who() + ": " + code_text(c.pending_close);
    // Written by the next flush, never from inside an ngtcp2 callback.
    c.ep.schedule(&c);
}

// --- Connection::Impl --------------------------------------------------------

Connection::Impl::Impl(Endpoint::Impl& endpoint, bool is_server)
    : ep(endpoint), server(is_server), handshake_timeout(endpoint.config.handshake_timeout) {
    conn_ref.get_conn = get_conn;
    conn_ref.user_data = this;
    timer = std::make_unique<loop::PreciseTimer>(ep.loop, [this] { on_timer(); });
}

Connection::Impl::~Impl() {
    if (conn) ngtcp2_conn_del(conn);
    if (tls) gnutls_deinit(tls);
}

Nanos Connection::Impl::idle_timeout() const {
    // RFC 9000 §10.1: the smaller of both ends' max_idle_timeout (0 = none).
    Nanos ours = ep.config.idle_timeout;
    const ngtcp2_transport_params* remote = conn ? ngtcp2_conn_get_remote_transport_params(conn) : nullptr;
    Nanos theirs = remote ? remote->max_idle_timeout : 0;
    if (ours == 0) return theirs;
    return theirs == 0 ? ours : std::min(ours, theirs);
}

std::string Connection::Impl::who() const {
    if (!peer_label.empty()) return peer_label;
    std::string addr = conn ? loop::SocketAddress(ngtcp2_conn_get_path(conn)->remote.addr).to_string() : "?";
    if (server) return "client at " + addr;
    return "server " + expected.short_string() + "… at " + addr;
}

ngtcp2_settings Connection::Impl::make_settings() const {
    const Config& cfg = ep.config;
    ngtcp2_settings s;
    ngtcp2_settings_default(&s);
    s.initial_ts = now_ts();
    s.cc_algo = cfg.bbr ? NGTCP2_CC_ALGO_BBR : NGTCP2_CC_ALGO_CUBIC;
    s.max_tx_udp_payload_size = cfg.max_udp_payload;
    // Larger than an Ethernet path: the caller knows the path (loopback,
    // jumbo frames), so use it from the start instead of probing.
    s.no_tx_udp_payload_size_shaping = cfg.max_udp_payload > 1452;
    s.handshake_timeout = handshake_timeout;
    s.max_window = cfg.max_connection_window;
    s.max_stream_window = cfg.max_stream_window;
    if (std::getenv("USBHOP_QUIC_DEBUG")) s.log_printf = debug_printf;
    return s;
}

ngtcp2_transport_params Connection::Impl::make_params() const {
    const Config& cfg = ep.config;
    ngtcp2_transport_params p;
    ngtcp2_transport_params_default(&p);
    p.initial_max_stream_data_bidi_local = cfg.stream_window;
    p.initial_max_stream_data_bidi_remote = cfg.stream_window;
    p.initial_max_stream_data_uni = 0;
    p.initial_max_data = cfg.connection_window;
    p.initial_max_streams_bidi = cfg.max_streams;
    p.initial_max_streams_uni = 0;
    p.max_idle_timeout = cfg.idle_timeout;
    // Spare connection IDs for migration and for falling back to the relay
    // (docs/architecture.md#ngtcp2-on-a-relayed-path: the default of 2 is not enough).
    p.active_connection_id_limit = 8;
    p.max_datagram_frame_size = cfg.max_datagram_frame_size;
    return p;
}

Result<void> Connection::Impl::setup_tls() {
    unsigned flags = (server ? GNUTLS_SERVER : GNUTLS_CLIENT) | GNUTLS_ENABLE_RAWPK | GNUTLS_NO_END_OF_EARLY_DATA;
    if (int rc = gnutls_init(&tls, flags); rc < 0) return make_error(std::string("TLS: ") + gnutls_strerror(rc), rc);
    int rc = server ? ngtcp2_crypto_gnutls_configure_server_session(tls)
                    : ngtcp2_crypto_gnutls_configure_client_session(tls);
    if (rc != 0) return make_error("TLS: cannot configure the QUIC session");
    if ((rc = gnutls_priority_set_direct(tls, priority(server).c_str(), nullptr)) < 0)
        return make_error(std::string("TLS priority: ") + gnutls_strerror(rc), rc);
    if ((rc = gnutls_credentials_set(tls, GNUTLS_CRD_CERTIFICATE, ep.credentials->get())) < 0)
        return make_error(std::string("TLS credentials: ") + gnutls_strerror(rc), rc);
    if (server) gnutls_certificate_server_set_request(tls, GNUTLS_CERT_REQUIRE);
    gnutls_datum_t alpn{reinterpret_cast<unsigned char*>(const_cast<char*>(kAlpn.data())),
                        static_cast<unsigned>(kAlpn.size())};
    if ((rc = gnutls_alpn_set_protocols(tls, &alpn, 1, GNUTLS_ALPN_MANDATORY)) < 0)
        return make_error(std::string("TLS ALPN: ") + gnutls_strerror(rc), rc);
    gnutls_session_set_verify_function(tls, [](gnutls_session_t s) {
        auto* ref = static_cast<ngtcp2_crypto_conn_ref*>(gnutls_session_get_ptr(s));
        return impl_of(ref->user_data)->verify_peer(s);
    });
    gnutls_session_set_ptr(tls, &conn_ref);
    return {};
}

// Runs inside the handshake once the peer's CertificateVerify has been
// checked: the peer holds the private key of the raw public key it sent.
int Connection::Impl::verify_peer(gnutls_session_t session) {
    auto refuse = [&](std::string message) {
        pending_close = CloseInfo{CloseInfo::Kind::handshake_failed, false, kCryptoError + kAlertBadCertificate, {},
                                  std::move(message)};
        refused_peer = true;
        ++ep.stats.handshakes_refused;
        return GNUTLS_E_CERTIFICATE_ERROR;
    };
    if (gnutls_certificate_type_get2(session, GNUTLS_CTYPE_PEERS) != GNUTLS_CRT_RAWPK)
        return refuse(who() + ": did not present a raw public key");
    unsigned count = 0;
    const gnutls_datum_t* certs = gnutls_certificate_get_peers(session, &count);
    if (!certs || count == 0) return refuse(who() + ": presented no key");
    gnutls_pubkey_t pub;
    if (gnutls_pubkey_init(&pub) < 0) return GNUTLS_E_CERTIFICATE_ERROR;
    identity::NodeId id;
    bool ok = gnutls_pubkey_import(pub, &certs[0], GNUTLS_X509_FMT_DER) >= 0 &&
              gnutls_pubkey_get_pk_algorithm(pub, nullptr) == GNUTLS_PK_EDDSA_ED25519;
    if (ok) {
        gnutls_ecc_curve_t curve;
        gnutls_datum_t x{nullptr, 0};
        ok = gnutls_pubkey_export_ecc_raw2(pub, &curve, &x, nullptr, GNUTLS_EXPORT_FLAG_NO_LZ) >= 0 &&
             curve == GNUTLS_ECC_CURVE_ED25519 && x.size == identity::kPublicKeySize;
        if (ok)
            id = identity::NodeId::from_public_key(
                std::span<const std::byte, identity::kPublicKeySize>(reinterpret_cast<std::byte*>(x.data), x.size));
        gnutls_free(x.data);
    }
    gnutls_pubkey_deinit(pub);
    if (!ok) return refuse(who() + ": key is not an Ed25519 node key");
    if (server) {
        if (!ep.trust || !ep.trust(id)) {
            ep.note_refusal(id, loop::SocketAddress(ngtcp2_conn_get_path(conn)->remote.addr));
            refusal_noted = true;
            return refuse("node " + id.to_string() + " (" + who() + "): not in authorized_keys");
        }
    } else if (id != expected) {
        return refuse("server key is not " + expected.to_string() + " (the server at " +
                      loop::SocketAddress(ngtcp2_conn_get_path(conn)->remote.addr).to_string() + " is " +
                      id.to_string() + ")");
    }
    peer = id;
    return 0;
}

// --- receiving ---------------------------------------------------------------

void Connection::Impl::on_packet(const ngtcp2_path& path, ByteSpan data) {
    bytes_received += data.size();
    ++packets_received;
    if (state == State::closing) {
        // RFC 9000 §10.2.1: answer packets in the closing period with the close again.
        if (!close_packet.empty()) {
            ep.send_packets(*ngtcp2_conn_get_path(conn), reinterpret_cast<const uint8_t*>(close_packet.data()), close_packet.size(), 0);
        }
        return;
    }
    if (state != State::handshake && state != State::established) return;
    ngtcp2_pkt_info pi{};
    int rv = ngtcp2_conn_read_pkt(conn, &path, &pi, reinterpret_cast<const uint8_t*>(data.data()), data.size(),
                                  now_ts());
    if (rv == 0) {
        ep.schedule(this);
        return;
    }
    switch (rv) {
    case NGTCP2_ERR_DRAINING:
        enter_draining(info_from_peer());
        return;
    case NGTCP2_ERR_DROP_CONN:
        // A first Initial that could not be decrypted, or a packet that
        // ngtcp2 says needs no answer: drop the state silently.
        finish(CloseInfo{CloseInfo::Kind::error, false, 0, {}, {}});
        return;
    case NGTCP2_ERR_CRYPTO: {
        uint8_t alert = ngtcp2_conn_get_tls_alert(conn);
        ngtcp2_ccerr err;
        ngtcp2_ccerr_default(&err);
        ngtcp2_ccerr_set_tls_alert(&err, alert, nullptr, 0);
        CloseInfo info = refused_peer ? pending_close
                                      : CloseInfo{CloseInfo::Kind::handshake_failed, false, kCryptoError + alert, {},
                                                  "TLS handshake with " + who() + " failed: " + alert_text(alert)};
        start_close(err, std::move(info));
        return;
    }
    default:
        fail_from_liberr(rv, "reading a packet");
        return;
    }
}

CloseInfo Connection::Impl::info_from_peer() const {
    CloseInfo info;
    if (got_stateless_reset) {
        info.kind = CloseInfo::Kind::stateless_reset;
        info.message = who() + " reset the connection (stateless reset: it lost the connection state, e.g. restarted)";
        return info;
    }
    const ngtcp2_ccerr* e = ngtcp2_conn_get_ccerr(conn);
    info.kind = CloseInfo::Kind::peer;
    info.application = e->type == NGTCP2_CCERR_TYPE_APPLICATION;
    info.code = e->error_code;
    if (e->reason && e->reasonlen) info.reason.assign(reinterpret_cast<const char*>(e->reason), e->reasonlen);
    bool crypto = !info.application && info.code >= kCryptoError && info.code < kCryptoError + 256;
    if (state == State::handshake) {
        info.kind = CloseInfo::Kind::handshake_failed;
        uint8_t alert = static_cast<uint8_t>(info.code - kCryptoError);
        if (crypto && alert == kAlertBadCertificate && !server) {
            info.message = who() + " refused this node's key (" + alert_text(alert) + "): is " + ep.id.to_string() +
                           " in its authorized_keys?";
        } else if (crypto && alert == kAlertBadCertificate) {
            info.message = who() + " refused this server's key (" + alert_text(alert) +
                           "): it expects a different node ID";
        } else if (crypto) {
            info.message = "TLS handshake with " + who() + " failed: the peer sent " + alert_text(alert);
        } else {
            info.message = "handshake with " + who() + " failed: the peer closed with " + code_text(info);
        }
        return info;
    }
    info.message = "peer " + who() + " closed the connection: " + code_text(info);
    return info;
}

void Connection::Impl::fail_from_liberr(int rv, const char* where) {
    ngtcp2_ccerr err;
    ngtcp2_ccerr_default(&err);
    ngtcp2_ccerr_set_liberr(&err, rv, nullptr, 0);
    CloseInfo info{CloseInfo::Kind::error, false, err.error_code, {}, {}};
    info.message = "connection to " + who() + " failed while " + where + ": " + ngtcp2_strerror(rv);
    start_close(err, std::move(info));
}

// --- ending ------------------------------------------------------------------

void Connection::Impl::start_close(const ngtcp2_ccerr& err, CloseInfo info) {
    if (state == State::closing || state == State::draining || state == State::closed) return;
    // err may point into pending_close.reason: write the packet before replacing it.
    Bytes buf(std::max<size_t>(ep.config.max_udp_payload, 1500));
    ngtcp2_path_storage ps;
    ngtcp2_path_storage_zero(&ps);
    ngtcp2_pkt_info pi{};
    ngtcp2_ssize n = ngtcp2_conn_write_connection_close(conn, &ps.path, &pi, reinterpret_cast<uint8_t*>(buf.data()),
                                                        buf.size(), &err, now_ts());
    pending_close = std::move(info);
    if (n <= 0) {
        finish(pending_close);
        return;
    }
    close_packet.assign(buf.begin(), buf.begin() + n);
    ep.send_packets(ps.path, reinterpret_cast<const uint8_t*>(close_packet.data()), close_packet.size(), 0);
    state = State::closing;
    report_closed(pending_close);
    timer->start(3 * ngtcp2_conn_get_pto(conn));
}

void Connection::Impl::enter_draining(CloseInfo info) {
    if (state == State::closing || state == State::draining || state == State::closed) return;
    state = State::draining;
    pending_close = info;
    report_closed(std::move(info));
    timer->start(3 * ngtcp2_conn_get_pto(conn));
}

void Connection::Impl::finish(CloseInfo info) {
    if (state == State::closed) return;
    state = State::closed;
    timer->stop();
    report_closed(std::move(info));
    ep.retire(this);
}

void Connection::Impl::report_closed(CloseInfo info) {
    if (closed_reported) return;
    closed_reported = true;
    if (!info.message.empty() && !refusal_noted) {
        switch (info.kind) {
        case CloseInfo::Kind::handshake_failed:
        case CloseInfo::Kind::error:
            log::write(log::Level::warning, peer_fields(*this), "%s", info.message.c_str());
            break;
        case CloseInfo::Kind::idle: log::write(log::Level::info, peer_fields(*this), "%s", info.message.c_str()); break;
        default: log::write(log::Level::notice, peer_fields(*this), "%s", info.message.c_str()); break;
        }
    }
    // A server connection is the application's only once it was handed over.
    if (handlers.on_closed && (!server || state_handed_over)) handlers.on_closed(info);
}

// --- time --------------------------------------------------------------------

void Connection::Impl::on_timer() {
    if (state == State::closing || state == State::draining) {
        finish(pending_close);
        return;
    }
    if (state == State::closed) return;
    ngtcp2_tstamp now = now_ts();
    if (ngtcp2_conn_get_expiry(conn) > now) {
        // Early: the timer was left at a deadline that has since moved later.
        arm_timer(now);
        return;
    }
    expire(now);
}

void Connection::Impl::expire(ngtcp2_tstamp now) {
    int rv = ngtcp2_conn_handle_expiry(conn, now);
    if (rv == NGTCP2_ERR_IDLE_CLOSE) {
        CloseInfo info{CloseInfo::Kind::idle, false, 0, {}, {}};
        info.message = "connection to " + who() + " closed: idle for " + format_duration(idle_timeout());
        finish(std::move(info));
        return;
    }
    if (rv == NGTCP2_ERR_HANDSHAKE_TIMEOUT) {
        CloseInfo info{CloseInfo::Kind::handshake_failed, false, 0, {}, {}};
        info.message = "handshake with " + who() + " timed out after " + format_duration(handshake_timeout);
        finish(std::move(info));
        return;
    }
    if (rv != 0) {
        fail_from_liberr(rv, "handling a timer");
        return;
    }
    flush();
}

// Called at the end of every flush, so it must stay cheap: ngtcp2's expiry
// moves with nearly every packet (idle, loss detection and pacing deadlines).
// The timer is moved only when the expiry comes earlier; one left at an older,
// earlier deadline fires early and on_timer() just re-arms it. An expiry that
// is already due (typically the pacing time of the packet just written) is
// handled here, once, instead of by a 1 ns timer and another trip through
// epoll: for one request and its answer that was six system calls per packet.
void Connection::Impl::arm_timer(ngtcp2_tstamp now) {
    if (state != State::handshake && state != State::established) return;
    ngtcp2_tstamp expiry = ngtcp2_conn_get_expiry(conn);
    if (expiry == UINT64_MAX) {
        timer->stop();
        return;
    }
    if (expiry <= now && !expiring_inline) {
        expiring_inline = true;
        expire(now);
        expiring_inline = false;
        return;
    }
    if (timer->active() && timer->deadline() <= expiry) return;
    timer->start_at(expiry);
}

// --- sending -----------------------------------------------------------------

void Connection::Impl::make_ready(int64_t id) {
    auto it = streams.find(id);
    if (it == streams.end()) return;
    Stream& s = it->second;
    if (s.ready || s.blocked || s.write_shut) return;
    if (s.tx.unsent() == 0 && !(s.fin_wanted && !s.fin_sent)) return;
    s.ready = true;
    ready.push_back(id);
}

void Connection::Impl::after_write(int64_t id, Stream& s, ngtcp2_ssize ndatalen, bool fin) {
    if (ndatalen > 0) {
        s.tx.mark_sent(static_cast<size_t>(ndatalen));
        if (!stall_probing) update_stall_probe();
    }
    if (ndatalen >= 0 && fin && s.tx.unsent() == 0) s.fin_sent = true;
    // Round robin: a stream that still has data goes to the back.
    ready.pop_front();
    s.ready = false;
    make_ready(id);
}

void Connection::Impl::maybe_writable(int64_t id, Stream& s) {
    if (!s.want_writable || s.write_shut) return;
    if (s.tx.buffered() > ep.config.stream_send_buffer / 2) return;
    s.want_writable = false;
    if (handlers.on_writable) handlers.on_writable(id);
}

// The stall probe (Config::stall_probe). Loss recovery alone probes a path
// that has gone silent only at each PTO, and the PTO doubles with every probe
// that goes unanswered (RFC 9002 §6.2.1): after a 10 s cut the next probe left
// up to 8 s after the path was back, and nothing moved until then. ngtcp2's
// keep-alive sends a PING once its timeout has passed with no packet sent, so
// while stream data awaits acknowledgement the keep-alive timeout is
// stall_probe: a probe leaves at least that often, and the first one the peer
// acknowledges after a cut resets the backoff and has the lost data resent at
// once. Otherwise it is keep_alive again. A connection that is sending resets
// ngtcp2's keep-alive clock with every packet, so it sends no extra PINGs.
// The PING obeys congestion control (ngtcp2 1.11 writes nothing but ACKs and
// PTO probes while the window is full), so a cut that finds the congestion
// window full still waits for the PTO; USB requests and answers seldom fill it.
void Connection::Impl::update_stall_probe() {
    const Config& cfg = ep.config;
    if (!conn || cfg.stall_probe == 0) return;
    bool waiting = std::any_of(streams.begin(), streams.end(), [](const auto& kv) { return awaiting_ack(kv.second); });
    if (waiting == stall_probing) return;
    stall_probing = waiting;
    Nanos timeout = cfg.keep_alive;
    if (waiting) timeout = cfg.keep_alive ? std::min(cfg.keep_alive, cfg.stall_probe) : cfg.stall_probe;
    ngtcp2_conn_set_keep_alive_timeout(conn, timeout ? static_cast<ngtcp2_duration>(timeout) : UINT64_MAX);
}

void Connection::Impl::flush() {
    if (close_requested && (state == State::handshake || state == State::established)) {
        ngtcp2_ccerr err;
        ngtcp2_ccerr_default(&err);
        ngtcp2_ccerr_set_application_error(&err, pending_close.code,
                                           reinterpret_cast<const uint8_t*>(pending_close.reason.data()),
                                           pending_close.reason.size());
        start_close(err, pending_close);
        return;
    }
    if (state != State::handshake && state != State::established) return;
    if (ep.sockets_blocked) return;   // resumed when the socket's queue drains

    ngtcp2_tstamp ts = now_ts();
    size_t max_udp = ngtcp2_conn_get_max_tx_udp_payload_size(conn);
    size_t path_max = ngtcp2_conn_get_path_max_tx_udp_payload_size(conn);
    // One sendmsg with UDP_SEGMENT carries at most 64 KiB in all.
    size_t max_pkts = std::clamp<size_t>(
        std::min<size_t>(ngtcp2_conn_get_send_quantum(conn), kMaxGsoBytes) / max_udp, 1, kMaxGsoSegments);
    if (ep.txbuf.size() < max_udp * kMaxGsoSegments) ep.txbuf.resize(max_udp * kMaxGsoSegments);
    uint8_t* buf = ep.txbuf.data();

    ngtcp2_path_storage ps, prev;
    ngtcp2_path_storage_zero(&ps);
    ngtcp2_path_storage_zero(&prev);
    size_t pos = 0, pkts = 0, segment = 0;
    bool try_datagrams = !datagrams.empty();

    for (;;) {
        ngtcp2_pkt_info pi{};
        ngtcp2_ssize nwrite;
        if (try_datagrams && !datagrams.empty()) {
            int accepted = 0;
            ngtcp2_vec v{reinterpret_cast<uint8_t*>(datagrams.front().data()), datagrams.front().size()};
            nwrite = ngtcp2_conn_writev_datagram(conn, &ps.path, &pi, buf + pos, max_udp, &accepted,
                                                 NGTCP2_WRITE_DATAGRAM_FLAG_MORE, next_datagram_id, &v, 1, ts);
            if (accepted) {
                datagrams.pop_front();
                ++next_datagram_id;
            } else {
                // Congestion or no room in this packet: keep it for the next round.
                try_datagrams = false;
            }
            if (nwrite == NGTCP2_ERR_WRITE_MORE) continue;
            if (nwrite < 0) {
                fail_from_liberr(static_cast<int>(nwrite), "writing a datagram");
                return;
            }
        } else {
            int64_t sid = -1;
            bool fin = false;
            ngtcp2_vec vec[kMaxVecs];
            size_t nvec = 0;
            Stream* s = nullptr;
            while (!ready.empty()) {
                auto it = streams.find(ready.front());
                if (it != streams.end() && !it->second.write_shut) {
                    sid = ready.front();
                    s = &it->second;
                    break;
                }
                if (it != streams.end()) it->second.ready = false;
                ready.pop_front();
            }
            uint32_t flags = NGTCP2_WRITE_STREAM_FLAG_MORE;
            if (s) {
                ByteSpan pieces[kMaxVecs];
                nvec = s->tx.peek(pieces);
                size_t total = 0;
                for (size_t i = 0; i < nvec; ++i) {
                    vec[i].base = const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(pieces[i].data()));
                    vec[i].len = pieces[i].size();
                    total += pieces[i].size();
                }
                if (s->fin_wanted && !s->fin_sent && total == s->tx.unsent()) {
                    flags |= NGTCP2_WRITE_STREAM_FLAG_FIN;
                    fin = true;
                }
            }
            ngtcp2_ssize ndatalen = -1;
            nwrite = ngtcp2_conn_writev_stream(conn, &ps.path, &pi, buf + pos, max_udp, &ndatalen, flags, sid, vec,
                                               nvec, ts);
            if (nwrite < 0) {
                switch (nwrite) {
                case NGTCP2_ERR_STREAM_DATA_BLOCKED:
                    s->blocked = true;
                    s->ready = false;
                    ready.pop_front();
                    continue;
                case NGTCP2_ERR_STREAM_SHUT_WR:
                    // ngtcp2 shut it on the peer's STOP_SENDING (RFC 9000 §3.5).
                    s->write_shut = true;
                    s->ready = false;
                    ready.pop_front();
                    if (stall_probing) update_stall_probe();
                    if (!s->reset_here && handlers.on_stop_sending) handlers.on_stop_sending(sid);
                    continue;
                case NGTCP2_ERR_WRITE_MORE:
                    after_write(sid, *s, ndatalen, fin);
                    continue;
                default:
                    fail_from_liberr(static_cast<int>(nwrite), "writing packets");
                    return;
                }
            }
            if (s && ndatalen >= 0) after_write(sid, *s, ndatalen, fin);
        }

        if (nwrite == 0) {
            if (pos > 0) ep.send_packets(prev.path, buf, pos, segment);
            ngtcp2_conn_update_pkt_tx_time(conn, ts);
            break;
        }
        bytes_sent += static_cast<uint64_t>(nwrite);
        ++packets_sent;
        size_t n = static_cast<size_t>(nwrite);
        if (pkts == 0) {
            ngtcp2_path_copy(&prev.path, &ps.path);
            segment = n;
        } else if (!ngtcp2_path_eq(&prev.path, &ps.path) || n > segment ||
                   (segment > path_max && n != segment)) {
            // This packet cannot join the batch: send the batch, then it alone.
            ep.send_packets(prev.path, buf, pos, segment);
            ep.send_packets(ps.path, buf + pos, n, 0);
            ngtcp2_conn_update_pkt_tx_time(conn, ts);
            break;
        }
        pos += n;
        if (++pkts == max_pkts || n < segment) {
            // A full batch, or a short packet that ends it (GSO segments are equal but the last).
            ep.send_packets(prev.path, buf, pos, segment);
            ngtcp2_conn_update_pkt_tx_time(conn, ts);
            break;
        }
    }
    arm_timer(ts);
}

// --- ngtcp2 callbacks ----------------------------------------------------------

int Connection::Impl::on_handshake_completed() {
    if (server) {
        state = State::established;
        ep.end_half_open(this);
        peer_label = peer.short_string() + "…";
        log::write(log::Level::info, peer_fields(*this), "peer %s connected from %s (%s)", peer_label.c_str(),
                   loop::SocketAddress(ngtcp2_conn_get_path(conn)->remote.addr).to_string().c_str(),
                   cipher_label(gnutls_cipher_get_name(gnutls_cipher_get(tls))).c_str());
        state_handed_over = true;
        if (ep.on_connection) ep.on_connection(*self);
        if (handlers.on_established) handlers.on_established();
    }
    return 0;
}

int Connection::Impl::on_handshake_confirmed() {
    // A client counts as accepted only now: a server that refuses our key
    // does so after the client has seen handshake_completed.
    if (!server) {
        state = State::established;
        peer_label = peer.short_string() + "…";
        log::write(log::Level::info, peer_fields(*this), "connected to %s at %s (%s)", peer_label.c_str(),
                   loop::SocketAddress(ngtcp2_conn_get_path(conn)->remote.addr).to_string().c_str(),
                   cipher_label(gnutls_cipher_get_name(gnutls_cipher_get(tls))).c_str());
        if (handlers.on_established) handlers.on_established();
    }
    return 0;
}

int Connection::Impl::on_stream_data(uint32_t flags, int64_t id, const uint8_t* data, size_t len) {
    bool fin = flags & NGTCP2_STREAM_DATA_FLAG_FIN;
    if (handlers.on_stream_data) handlers.on_stream_data(id, ByteSpan(reinterpret_cast<const std::byte*>(data), len), fin);
    if (ep.config.auto_consume) {
        // The data has been consumed: give the credit back.
        ngtcp2_conn_extend_max_stream_offset(conn, id, len);
        ngtcp2_conn_extend_max_offset(conn, len);
    }
    return 0;
}

int Connection::Impl::on_acked(int64_t id, uint64_t offset, uint64_t len) {
    auto it = streams.find(id);
    if (it == streams.end()) return 0;
    it->second.tx.acknowledge(offset, len);
    if (stall_probing && !awaiting_ack(it->second)) update_stall_probe();
    maybe_writable(id, it->second);
    return 0;
}

int Connection::Impl::on_stream_open(int64_t id) {
    stream(id);
    if (handlers.on_stream_opened) handlers.on_stream_opened(id);
    return 0;
}

int Connection::Impl::on_stream_close(uint32_t, int64_t id, uint64_t) {
    // ngtcp2 still knows the stream here; its loss count goes with it.
    lost_on_closed_streams += ngtcp2_conn_get_stream_loss_count(conn, id);
    streams.erase(id);
    if (stall_probing) update_stall_probe();
    // A peer-opened stream that ends makes room for another (RFC 9000 §4.6).
    if (ngtcp2_is_bidi_stream(id) && !ngtcp2_conn_is_local_stream(conn, id))
        ngtcp2_conn_extend_max_streams_bidi(conn, 1);
    if (handlers.on_stream_closed) handlers.on_stream_closed(id);
    return 0;
}

int Connection::Impl::on_stream_reset(int64_t id, uint64_t code) {
    if (handlers.on_stream_reset) handlers.on_stream_reset(id, code);
    return 0;
}

int Connection::Impl::on_extend_max_stream_data(int64_t id) {
    auto it = streams.find(id);
    if (it == streams.end()) return 0;
    it->second.blocked = false;
    make_ready(id);
    ep.schedule(this);
    return 0;
}

int Connection::Impl::on_new_cid(ngtcp2_cid* cid, uint8_t* token, size_t len) {
    gnutls_rnd(GNUTLS_RND_NONCE, cid->data, len);
    cid->datalen = len;
    if (ngtcp2_crypto_generate_stateless_reset_token(token, ep.reset_secret.data(), ep.reset_secret.size(), cid) != 0)
        return NGTCP2_ERR_CALLBACK_FAILURE;
    ep.register_cid(this, ByteSpan(reinterpret_cast<const std::byte*>(cid->data), cid->datalen));
    return 0;
}

int Connection::Impl::on_remove_cid(const ngtcp2_cid* cid) {
    ep.unregister_cid(ByteSpan(reinterpret_cast<const std::byte*>(cid->data), cid->datalen));
    return 0;
}

int Connection::Impl::on_path_validation(uint32_t, const ngtcp2_path* path, ngtcp2_path_validation_result res) {
    loop::SocketAddress remote(path->remote.addr);
    loop::SocketAddress local(path->local.addr);
    if (res != NGTCP2_PATH_VALIDATION_RESULT_SUCCESS) {
        log::write(log::Level::info, peer_fields(*this), "%s: path %s -> %s failed validation", who().c_str(),
                   local.to_string().c_str(), remote.to_string().c_str());
        return 0;
    }
    if (server)
        log::write(log::Level::info, peer_fields(*this), "peer %s moved to %s", who().c_str(),
                   remote.to_string().c_str());
    else
        log::write(log::Level::info, peer_fields(*this), "path to %s now leaves from %s", who().c_str(),
                   local.to_string().c_str());
    if (handlers.on_path_changed) handlers.on_path_changed(path_info());
    return 0;
}

int Connection::Impl::on_datagram(const uint8_t* data, size_t len) {
    if (handlers.on_datagram) handlers.on_datagram(ByteSpan(reinterpret_cast<const std::byte*>(data), len));
    return 0;
}

PathInfo Connection::Impl::path_info() const {
    PathInfo info;
    if (!conn) return info;
    const ngtcp2_path* p = ngtcp2_conn_get_path(conn);
    info.local = loop::SocketAddress(p->local.addr);
    info.remote = loop::SocketAddress(p->remote.addr);
    ngtcp2_conn_info ci;
    ngtcp2_conn_get_conn_info(conn, &ci);
    info.smoothed_rtt = ci.smoothed_rtt;
    info.min_rtt = ci.min_rtt;
    info.rtt_variance = ci.rttvar;
    info.congestion_window = ci.cwnd;
    info.bytes_in_flight = ci.bytes_in_flight;
    info.bytes_sent = bytes_sent;
    info.bytes_received = bytes_received;
    info.packets_sent = packets_sent;
    info.packets_received = packets_received;
    // ngtcp2 1.11 counts losses per stream only (ngtcp2_conn_get_stream_loss_count):
    // packets carrying stream data that were declared lost. Packets with
    // only ACKs or control frames are not counted; a packet with frames of
    // two streams counts twice.
    info.packets_lost = lost_on_closed_streams;
    for (const auto& [id, s] : streams) info.packets_lost += ngtcp2_conn_get_stream_loss_count(conn, id);
    if (state == State::established) info.cipher = cipher_label(gnutls_cipher_get_name(gnutls_cipher_get(tls)));
    return info;
}

}  // namespace usbhop::quic
