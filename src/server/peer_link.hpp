// server/peer_link: one QUIC connection from a peer, speaking usbhop/1.
//
// It owns the protocol's per-connection state: the control stream's
// negotiation (awaiting_hello → ready), the URB streams and their bindings
// (attachment, endpoint), the frame decoders and the send queues that wait
// for QUIC's back-pressure. Messages are checked for placement and then
// handed to the session (URB traffic) or to the server (PeerHost: hello,
// lists, attach). A peer that breaks a rule is disconnected with a logged
// reason (protocol.md §3); nothing it sends can take the process down.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>

#include "proto/messages.hpp"
#include "quic/endpoint.hpp"
#include "server/attachment.hpp"
#include "server/session.hpp"
#include "util/log.hpp"

namespace usbhop::server {

class PeerLink;

// What a connection asks of the server.
class PeerHost {
public:
    // A Hello arrived: the session it starts or resumes, or null after
    // answering with an Error (the link is then closing).
    virtual Session* open_session(PeerLink& link, const proto::Hello& hello) = 0;
    virtual void list_devices(PeerLink& link, Session& session, bool watch) = 0;
    virtual void attach(Session& session, uint32_t device_id) = 0;
    // Something may have ended attachments of this session: answer and clean up.
    virtual void settle(Session& session) = 0;
    // The connection is gone; the link is destroyed right after.
    virtual void link_closed(PeerLink& link) = 0;

protected:
    ~PeerHost() = default;
};

class PeerLink final : public UrbOutbox {
public:
    // Per-peer memory bounds (docs/protocol.md §13; a peer past one is
    // disconnected BUSY, except for results, which pause its Submits):
    // Answers (Pong, DeviceList, ...) waiting on one stream, here and in
    // QUIC's send buffer: two of the largest control frames. A peer past it
    // sends requests without reading the answers.
    static constexpr size_t kMaxReplyBacklog = 2 * size_t{proto::kMaxControlPayload};
    // Bytes of frames not yet complete, summed over the connection's streams:
    // two URB streams each inside a largest frame (2 x 16.06 MiB), and some.
    static constexpr size_t kMaxBufferedPerLink = 36u << 20;
    // Results of one attachment queued here, not yet taken by QUIC: past it,
    // its Submits are no longer read (as for §10's limits) until QUIC drains.
    static constexpr size_t kMaxQueuedResults = 16u << 20;
    // Streams a peer may have open at once (QUIC's initial_max_streams_bidi;
    // ngtcp2 refuses the excess and gives one back per stream closed): the
    // control stream and one URB stream per bound endpoint, for eight
    // devices of 31 endpoints each, and some. Each costs a Stream here and
    // one in quic/, so that a peer cannot grow either beyond this.
    static constexpr uint64_t kMaxStreams = 256;

    // fields: the peer's journal fields (full ID, authorized_keys comment, address).
    PeerLink(quic::Connection& connection, PeerHost& host, log::Fields fields);
    ~PeerLink();
    PeerLink(const PeerLink&) = delete;
    PeerLink& operator=(const PeerLink&) = delete;

    const identity::NodeId& peer() const { return peer_; }
    const std::string& label() const { return label_; }
    const log::Fields& log_fields() const { return fields_; }
    Session* session() const { return session_; }
    void set_session(Session* session) { session_ = session; }
    bool closing() const { return closing_; }
    // The connection's current path (direct or through the relay) and RTT.
    quic::PathInfo path() const { return conn_.path(); }

    void send_control(const proto::Message& message);
    // A rule of the protocol was broken: Error{fatal} and close (logged).
    void fail(proto::Reason reason, const std::string& message);
    // Closes for a reason that is not the peer's fault (shutdown, reload).
    void close(proto::Reason reason, const std::string& message);

    // UrbOutbox
    bool send_urb(uint32_t attach_id, uint8_t key, const Bytes& frame) override;
    // The attachment ended: FIN its URB streams.
    void finish_streams(uint32_t attach_id);
    // Bytes still queued here or unacknowledged in QUIC.
    size_t backlog() const;
    // Submits were paused for this attachment (§10): read on.
    void resume_reading(uint32_t attach_id);

private:
    enum class Phase { awaiting_hello, ready };
    enum class StreamRole { control, unbound, urb, ignored };
    struct Stream {
        int64_t id = 0;
        StreamRole role = StreamRole::unbound;
        proto::FrameDecoder decoder{proto::kMaxUrbPayload};
        std::deque<Bytes> out;
        size_t out_offset = 0;
        size_t queued = 0;  // bytes in `out` not yet taken by QUIC
        bool fin_wanted = false;  // send FIN once `out` is drained
        bool fin_sent = false;
        bool peer_fin = false;
        uint32_t attach_id = 0;
        uint8_t key = 0;
        proto::TransferType type = proto::TransferType::kControl;
        bool paused = false;
    };

    void on_stream_data(int64_t id, ByteSpan data, bool fin);
    void on_writable(int64_t id);
    void on_closed(const quic::CloseInfo& info);
    Stream& stream(int64_t id);
    void pump(Stream& s);
    bool handle_control(proto::Message&& m);
    bool handle_urb(Stream& s, proto::Message&& m);
    bool handle_bind(Stream& s, const proto::Bind& bind);
    void enqueue(Stream& s, Bytes frame);
    void flush(Stream& s);
    void end_stream(Stream& s);
    Attachment* bound_attachment(const Stream& s) const;
    size_t stream_backlog(const Stream& s) const;
    size_t queued_results(uint32_t attach_id) const;
    // False (and the link failing BUSY) when the peer has kMaxReplyBacklog
    // waiting on this stream already.
    bool room_for_reply(const Stream& s);
    bool within_buffer_limit(const Stream& fed);

    quic::Connection& conn_;
    PeerHost& host_;
    identity::NodeId peer_;
    std::string label_;
    log::Fields fields_;
    Session* session_ = nullptr;
    Phase phase_ = Phase::awaiting_hello;
    bool closing_ = false;
    std::map<int64_t, Stream> streams_;
    std::map<std::pair<uint32_t, uint8_t>, int64_t> bindings_;  // (attach_id, key) -> stream
};

}  // namespace usbhop::server
