// Private to quic/: the state behind Endpoint and Connection. ngtcp2 and
// GnuTLS types live here and in the .cpp files only.
#pragma once

#include <gnutls/gnutls.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>

#include <array>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "loop/udp.hpp"
#include "quic/cipher.hpp"
#include "quic/endpoint.hpp"
#include "quic/refusal_log.hpp"
#include "quic/send_buffer.hpp"

namespace usbhop::quic {

constexpr size_t kCidLength = 16;
constexpr size_t kSecretLength = 32;
constexpr size_t kMaxGsoSegments = 64;
constexpr size_t kMaxGsoBytes = 65000;   // under the 65535 of one IP datagram, headers included

// The TLS side shared by every connection of an endpoint: our raw public key.
class Credentials {
public:
    static Result<std::unique_ptr<Credentials>> create(const identity::NodeKey& key);
    ~Credentials();
    gnutls_certificate_credentials_t get() const { return cred_; }

private:
    Credentials() = default;
    gnutls_certificate_credentials_t cred_ = nullptr;
};

// A local address packets can leave from: a UDP socket of the endpoint, or a
// virtual path whose packets an outside party (the relay client) carries.
struct LocalPath {
    loop::SocketAddress local;
    std::unique_ptr<loop::Udp> udp;   // null for a virtual path
    Endpoint::VirtualSend virtual_send;
};

struct Connection::Impl {
    enum class State { handshake, established, closing, draining, closed };

    struct Stream {
        SendBuffer tx;
        bool fin_wanted = false;
        bool fin_sent = false;
        bool write_shut = false;   // reset or stopped: nothing more to send
        bool reset_here = false;   // write_shut by our own reset_stream()
        bool blocked = false;      // flow control: wait for extend_max_stream_data
        bool ready = false;        // in ready_
        bool want_writable = false;
    };

    Endpoint::Impl& ep;
    Connection* self = nullptr;
    bool server;
    State state = State::handshake;
    ngtcp2_conn* conn = nullptr;
    gnutls_session_t tls = nullptr;
    ngtcp2_crypto_conn_ref conn_ref{};
    Handlers handlers;
    identity::NodeId expected;     // client: the server we asked for
    identity::NodeId peer;
    std::string peer_label;        // "abcdefgh…" once known, else the address
    std::unique_ptr<loop::PreciseTimer> timer;   // ngtcp2 expiry, pacing included
    std::map<int64_t, Stream> streams;
    std::deque<int64_t> ready;
    std::deque<Bytes> datagrams;
    uint64_t next_datagram_id = 0;
    std::vector<std::string> cids;    // keys registered in the endpoint's map
    Bytes close_packet;               // CONNECTION_CLOSE to repeat while closing
    ngtcp2_ccerr local_error{};
    bool close_requested = false;
    bool closed_reported = false;
    bool dirty = false;
    bool expiring_inline = false;     // arm_timer() is handling a due expiry itself
    bool state_handed_over = false;   // server: on_connection has run
    bool refused_peer = false;        // our verify callback refused the peer's key
    bool refusal_noted = false;       // ... and the endpoint's RefusalLog has it: no line of our own
    bool got_stateless_reset = false;
    bool stall_probing = false;       // keep-alive shortened to config.stall_probe (update_stall_probe)
    uint64_t bytes_sent = 0;
    uint64_t bytes_received = 0;
    uint64_t packets_sent = 0;
    uint64_t packets_received = 0;
    uint64_t lost_on_closed_streams = 0;  // ngtcp2's loss counts of streams already gone
    CloseInfo pending_close;          // why we are closing, reported when done
    Nanos handshake_timeout;          // this connection's: shorter when the server is busy
    std::string half_open_source;     // server: the source IP counted as half-open, until the handshake is done

    Impl(Endpoint::Impl& endpoint, bool is_server);
    ~Impl();

    // Packets and time.
    void on_packet(const ngtcp2_path& path, ByteSpan data);
    void on_timer();
    void expire(ngtcp2_tstamp now);
    void flush();
    void arm_timer(ngtcp2_tstamp now);

    // Ending.
    void start_close(const ngtcp2_ccerr& err, CloseInfo info);
    void enter_draining(CloseInfo info);
    void finish(CloseInfo info);
    void report_closed(CloseInfo info);
    CloseInfo info_from_peer() const;
    void fail_from_liberr(int rv, const char* where);

    // Streams.
    Stream& stream(int64_t id) { return streams[id]; }
    void make_ready(int64_t id);
    void after_write(int64_t id, Stream& s, ngtcp2_ssize ndatalen, bool fin);
    void maybe_writable(int64_t id, Stream& s);
    void update_stall_probe();

    // TLS.
    int verify_peer(gnutls_session_t session);
    Result<void> setup_tls();

    // ngtcp2 callbacks (forwarded from the C trampolines).
    int on_handshake_completed();
    int on_handshake_confirmed();
    int on_stream_data(uint32_t flags, int64_t id, const uint8_t* data, size_t len);
    int on_acked(int64_t id, uint64_t offset, uint64_t len);
    int on_stream_open(int64_t id);
    int on_stream_close(uint32_t flags, int64_t id, uint64_t code);
    int on_stream_reset(int64_t id, uint64_t code);
    int on_extend_max_stream_data(int64_t id);
    int on_new_cid(ngtcp2_cid* cid, uint8_t* token, size_t len);
    int on_remove_cid(const ngtcp2_cid* cid);
    int on_path_validation(uint32_t flags, const ngtcp2_path* path, ngtcp2_path_validation_result res);
    int on_datagram(const uint8_t* data, size_t len);

    ngtcp2_settings make_settings() const;
    ngtcp2_transport_params make_params() const;
    PathInfo path_info() const;
    std::string who() const;
    Nanos idle_timeout() const;
};

struct Endpoint::Impl {
    loop::Loop& loop;
    Config config;
    identity::NodeId id;
    std::unique_ptr<Credentials> credentials;
    std::array<uint8_t, kSecretLength> reset_secret{};   // from the node key: survives restarts
    std::array<uint8_t, kSecretLength> token_secret{};   // random per process
    std::vector<LocalPath> paths;                         // [0] is the socket from create()
    loop::Udp::BufferSizes buffers;                       // granted to paths[0]'s socket
    std::unordered_map<std::string, Connection::Impl*> by_cid;
    std::vector<std::unique_ptr<Connection>> connections;
    std::vector<Connection::Impl*> dirty;
    std::vector<Connection::Impl*> finished;
    Trust trust;
    OnConnection on_connection;
    Endpoint::OnRefused on_refused;
    OnOtherDatagram other_receiver;   // relay frames and punches (first byte < 0x40)
    bool listening = false;
    EndpointStats stats;
    std::unique_ptr<loop::Timer> defer;
    bool sockets_blocked = false;
    std::vector<uint8_t> txbuf;
    // Refused nodes: one line each, then counts (refusal_log.hpp).
    RefusalLog refusals;
    std::unique_ptr<loop::Timer> refusal_timer;
    // Half-open handshakes (Config::max_half_open), in all and per source IP.
    size_t half_open = 0;
    std::unordered_map<std::string, size_t> half_open_by_source;
    // Stateless resets are rate-limited (RFC 9000 §10.3.3): a token bucket.
    double reset_tokens = 0;
    Nanos reset_refill = 0;

    Impl(loop::Loop& l, Config c) : loop(l), config(c) {}

    void on_datagram(size_t path_index, ByteSpan data, const loop::SocketAddress& from);
    void accept(size_t path_index, ByteSpan data, const loop::SocketAddress& from);
    void send_retry(size_t path_index, const ngtcp2_pkt_hd& hd, const loop::SocketAddress& from);
    void send_stateless_reset(size_t path_index, ByteSpan dcid, size_t received, const loop::SocketAddress& from);
    void send_version_negotiation(size_t path_index, const ngtcp2_version_cid& vc, const loop::SocketAddress& from);

    // Sends a run of equal-size packets (the last may be shorter) on path.
    void send_packets(const ngtcp2_path& path, const uint8_t* data, size_t len, size_t segment);
    void send_raw(size_t path_index, const loop::SocketAddress& to, ByteSpan data);
    LocalPath* find_path(const ngtcp2_addr& local);
    size_t find_path_index(const loop::SocketAddress& local) const;
    Result<size_t> add_socket(const loop::SocketAddress& bind);

    // Whether a new handshake from `source` stays under both half-open caps.
    bool half_open_allowed(const std::string& source) const;
    void start_half_open(Connection::Impl* c, std::string source);
    // The handshake is done or the connection is gone (idempotent).
    void end_half_open(Connection::Impl* c);

    // Server: a client key not in authorized_keys was refused.
    void note_refusal(const identity::NodeId& node, const loop::SocketAddress& from);
    void summarise_refusals();

    void register_cid(Connection::Impl* c, ByteSpan cid);
    void unregister_cid(ByteSpan cid);
    void schedule(Connection::Impl* c);
    void retire(Connection::Impl* c);
    void run_deferred();
    Connection::Impl* create_connection(bool server);
};

const ngtcp2_callbacks* callbacks(bool server);
ngtcp2_tstamp now_ts();
std::string cid_key(const uint8_t* data, size_t len);

}  // namespace usbhop::quic
