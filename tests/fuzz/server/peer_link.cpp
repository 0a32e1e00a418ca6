// Fuzzes server::PeerLink, the per-connection protocol state machine of
// `usbhop serve` (protocol.md §3-§11), driven as a peer drives it: frames on
// the control stream and on URB streams, in any order and cut anywhere,
// streams reset or closed, send buffers full, the connection dropped and
// resumed, and the device's transfers answered in any order.
//
// What is real: PeerLink, Session, Attachment, UrbLedger and the proto codec.
// What is fake (fakes.hpp): quic::Connection (no handshake: the target calls
// the handlers the endpoint would call) and usb::Host (one device, whose
// transfers the input completes). FakeServer below plays server::Server's
// part of PeerHost (sessions by token, one attachment per device, settle)
// with the same calls Server makes, without config, export rules or status
// files, which are not what a peer's frames reach.
//
// Input: records, an opcode byte and its arguments (see run()): raw bytes on a
// stream; a well-formed message built from a few bytes (Hello, Attach, Bind,
// Submit, Ack, Resume... naming ids the server gave, so the fuzzer gets past
// the handshake); a transfer or release answered; send room and
// acknowledgement; a stream reset or closed; the connection dropped.
// Checks: no crash, assert or undefined behaviour; everything the server
// writes is well-formed frames allowed to a server on that stream, and
// nothing follows a FIN; a rule broken ends that connection (closed with a
// code) and the next connection is served; answers waiting on the control
// stream stay within PeerLink::kMaxReplyBacklog (and one reply).
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "../fuzz_check.hpp"
#include "fakes.hpp"
#include "loop/loop.hpp"
#include "server/exports.hpp"
#include "server/peer_link.hpp"
#include "util/log.hpp"

using namespace usbhop;
using server::Attachment;
using server::PeerLink;
using server::Session;

namespace {

const identity::NodeKey& fixed_key() {
    // Made once: generating keys is not what is under test.
    static const identity::NodeKey key = *identity::NodeKey::generate();
    return key;
}

class Input {
public:
    Input(const uint8_t* data, size_t size) : p_(data), end_(data + size) {}
    bool done() const { return p_ == end_; }
    uint8_t u8() { return p_ == end_ ? 0 : *p_++; }
    uint16_t u16() { return static_cast<uint16_t>(u8() << 8 | u8()); }
    ByteSpan bytes(size_t n) {
        n = std::min<size_t>(n, static_cast<size_t>(end_ - p_));
        ByteSpan out(reinterpret_cast<const std::byte*>(p_), n);
        p_ += n;
        return out;
    }

private:
    const uint8_t* p_;
    const uint8_t* end_;
};

class FakeServer final : public server::PeerHost {
public:
    explicit FakeServer(loop::Loop& loop, usb::Host& host) : loop_(loop), host_(host) {}
    ~FakeServer() {
        graveyard_.clear();
        link_.reset();
        for (auto& [t, s] : sessions_) {
            for (const auto& [id, a] : s->attachments()) a->set_outbox(nullptr);
        }
    }

    // A new connection: a fresh Connection and its PeerLink.
    void connect() {
        auto impl = std::make_unique<quic::Connection::Impl>();
        impl->peer = fixed_key().id();
        conn_ = std::make_unique<quic::Connection>(std::move(impl));
        link_ = std::make_unique<PeerLink>(*conn_, *this, log::Fields{});
        ++connections_;
    }
    // The endpoint's side of a close (ours or the peer's): on_closed, then the
    // Connection is gone.
    void drop(quic::CloseInfo::Kind kind) {
        if (!conn_) return;
        quic::CloseInfo info;
        info.kind = kind;
        if (auto& on_closed = conn_->impl().handlers.on_closed) on_closed(info);
        FUZZ_CHECK(!link_);  // link_closed took it
        graveyard_.clear();
        conn_.reset();
    }

    quic::Connection* conn() { return conn_.get(); }
    quic::Connection::Impl& impl() { return conn_->impl(); }
    PeerLink* link() { return link_.get(); }
    int connections() const { return connections_; }
    const proto::Token& last_token() const { return last_token_; }
    uint32_t attach_id(uint8_t pick) const { return attach_ids_.empty() ? pick : attach_ids_[pick % attach_ids_.size()]; }
    uint32_t wire_id() const { return server::wire_device_id(*host_.device(1)); }

    // What the client read: remember the ids the server gave.
    void learn() {
        auto& got = impl().received;
        for (; seen_ < got.size(); ++seen_) {
            if (auto* ack = std::get_if<proto::HelloAck>(&got[seen_].second)) last_token_ = ack->session_token;
            if (auto* ok = std::get_if<proto::AttachOk>(&got[seen_].second)) attach_ids_.push_back(ok->attach_id);
        }
    }
    void forget_connection() { seen_ = 0; }

    // ---- the device's answers, as Server::on_usb_event passes them on ----
    void answer_claim(bool ok) {
        usb::Host::Impl& h = host_impl();
        if (!h.claim_pending || !holder_) return;
        h.claim_pending.reset();
        if (!ok) h.claimed = false;
        Attachment& a = *holder_attachment_;
        a.on_claim_done(ok ? std::nullopt : std::optional<Error>(make_error("1-1: claim failed")));
        if (a.state() == Attachment::State::active)
            if (PeerLink* link = holder_->link()) {
                link->send_control(proto::AttachOk{a.wire_device_id(), a.id()});
                a.set_outbox(link);
            }
        settle(*holder_);
    }
    void answer_transfer(uint8_t pick, uint8_t status, uint16_t length) {
        usb::Host::Impl& h = host_impl();
        if (h.in_flight.empty() || !holder_) return;
        size_t i = pick % h.in_flight.size();
        auto [urb, cancel] = std::move(h.in_flight[i]);
        h.in_flight.erase(h.in_flight.begin() + static_cast<std::ptrdiff_t>(i));
        usb::TransferDone done;
        done.device = 1;
        done.seqnum = urb.seqnum;
        done.endpoint = urb.endpoint;
        // cancelled only when cancel() was asked (and won the race: host.hpp).
        done.status = static_cast<usb::Status>(status % 7);
        if (cancel && (status & 1)) done.status = usb::Status::cancelled;
        else if (done.status == usb::Status::cancelled) done.status = usb::Status::completed;
        if (urb.is_in()) {
            done.actual_length = std::min<uint32_t>(urb.length, length);
            done.data = Bytes(done.actual_length);
        } else {
            done.actual_length = static_cast<uint32_t>(std::min<size_t>(urb.data.size(), length));
        }
        if (!urb.iso_lengths.empty()) {
            // As usb::Host reports them: packets all moved, actual_length their sum.
            uint32_t offset = 0;
            for (uint32_t l : urb.iso_lengths) {
                done.iso.push_back({offset, l, l, usb::Status::completed});
                offset += l;
            }
            done.actual_length = offset;
            done.data = Bytes(urb.is_in() ? offset : 0);
        }
        if (done.status == usb::Status::cancelled) {
            done.actual_length = 0;
            done.data.clear();
            for (usb::IsoPacket& p : done.iso) p.actual_length = 0;
        }
        holder_attachment_->on_transfer_done(std::move(done));
        settle(*holder_);
    }
    void answer_release() {
        usb::Host::Impl& h = host_impl();
        if (!h.release_pending || !holder_) return;
        // host.hpp: every transfer in flight is answered (cancelled) first.
        while (!h.in_flight.empty()) {
            for (auto& [u, c] : h.in_flight) c = true;
            answer_transfer(0, 1, 0);
            if (!holder_) return;
        }
        h.release_pending = false;
        h.claimed = false;
        holder_attachment_->on_release_done();
        settle(*holder_);
    }

    // ---- PeerHost, as server::Server does it ----
    Session* open_session(PeerLink& link, const proto::Hello& hello) override {
        if (hello.version_min > proto::kVersionMax || hello.version_max < proto::kVersionMin) {
            link.send_control(proto::ErrorMsg{proto::Reason::kVersion, true, 0, "no common protocol version"});
            link.close(proto::Reason::kVersion, "no common protocol version");
            return nullptr;
        }
        uint64_t caps = hello.capabilities & proto::kCapsThisBuild;
        Session* session = nullptr;
        bool resumed = false;
        auto it = sessions_.find(hello.resume_token);
        if (it != sessions_.end() && it->second->state() != Session::State::expired && (caps & proto::kCapResume)) {
            session = it->second.get();
            resumed = true;
            if (PeerLink* old = session->link()) {
                old->set_session(nullptr);
                old->close(proto::Reason::kNone, "replaced by a resumed connection");
            }
        }
        if (!session) {
            proto::Token token{};
            uint32_t n = ++tokens_;
            std::memcpy(token.data(), &n, sizeof n);
            Nanos grace = (caps & proto::kCapResume) ? 60 * kSecond : 0;
            auto s = std::make_unique<Session>(loop_, link.peer(), token, caps, grace,
                                               [this](Session& ss) { session_expired(ss); });
            session = s.get();
            sessions_[token] = std::move(s);
        }
        session->connect(link, caps, resumed);
        link.set_session(session);
        proto::HelloAck ack;
        ack.version = proto::kVersionMax;
        ack.capabilities = caps;
        ack.session_token = session->token();
        ack.resumed = resumed;
        ack.grace_ms = (caps & proto::kCapResume) ? 60000 : 0;
        ack.software = "usbhop fuzz";
        link.send_control(ack);
        return session;
    }
    void list_devices(PeerLink& link, Session& session, bool watch) override {
        proto::DeviceList list;
        list.devices.push_back(server::to_wire(*host_.device(1), "all", proto::DeviceState::kAvailable, ""));
        link.send_control(list);
        if (watch) session.watching = true;
    }
    void attach(Session& session, uint32_t device_id) override {
        PeerLink* link = session.link();
        if (device_id != wire_id()) {
            if (link) link->send_control(proto::AttachError{device_id, proto::Reason::kNotFound, "", "no such device"});
            return;
        }
        if (holder_) {
            if (holder_ == &session) {
                if (link) link->send_control(proto::AttachOk{device_id, holder_attachment_->id()});
            } else if (link) {
                link->send_control(proto::AttachError{device_id, proto::Reason::kInUse, "x", "in use"});
            }
            return;
        }
        auto a = std::make_unique<Attachment>(loop_, host_, *host_.device(1), session.next_attach_id(),
                                              session.resumable(), false, session.label(), session.log_fields());
        if (auto started = a->start(); !started) {
            if (link) link->send_control(proto::AttachError{device_id, proto::Reason::kClaimFailed, "", "claim"});
            return;
        }
        holder_attachment_ = &session.add(std::move(a));
        holder_ = &session;
    }
    void settle(Session& session) override {
        std::vector<uint32_t> ended;
        for (const auto& [id, a] : session.attachments())
            if (a->ended()) ended.push_back(id);
        for (uint32_t id : ended) {
            Attachment& a = *session.find(id);
            PeerLink* link = session.link();
            if (a.claim_error()) {
                if (link)
                    link->send_control(
                        proto::AttachError{a.wire_device_id(), proto::Reason::kClaimFailed, "", a.claim_error()->message});
            } else if (link) {
                link->send_control(proto::Detached{id, a.end_reason(), a.end_message()});
                link->finish_streams(id);
            }
            if (holder_attachment_ == &a) holder_ = nullptr, holder_attachment_ = nullptr;
            session.remove(id);
        }
    }
    void link_closed(PeerLink& link) override {
        if (Session* s = link.session()) {
            s->disconnect(link);
            settle(*s);
        }
        FUZZ_CHECK(&link == link_.get());
        graveyard_.push_back(std::move(link_));  // inside its callback: destroyed after
    }

private:
    usb::Host::Impl& host_impl() { return *usb::fake_host; }

    void session_expired(Session& session) {
        for (const auto& [id, a] : session.attachments())
            a->end(proto::Reason::kSessionExpired, "the session's grace period is over");
        settle(session);
    }

    loop::Loop& loop_;
    usb::Host& host_;
    std::unique_ptr<quic::Connection> conn_;
    std::unique_ptr<PeerLink> link_;
    std::vector<std::unique_ptr<PeerLink>> graveyard_;
    std::map<proto::Token, std::unique_ptr<Session>> sessions_;
    Session* holder_ = nullptr;
    Attachment* holder_attachment_ = nullptr;
    std::vector<uint32_t> attach_ids_;
    proto::Token last_token_{};
    uint32_t tokens_ = 0;
    int connections_ = 0;
    size_t seen_ = 0;
};

// Streams a client opens (bidirectional, ids 0 mod 4) and a few it must not use.
constexpr int64_t kStreams[] = {0, 4, 8, 12, 16, 20, 24, 1, 2, 3};
int64_t stream_of(uint8_t b) { return kStreams[b % std::size(kStreams)]; }

struct EndpointChoice {
    uint8_t endpoint;
    proto::TransferType type;
};
constexpr EndpointChoice kEndpoints[] = {
    {0x00, proto::TransferType::kControl}, {0x81, proto::TransferType::kBulk}, {0x02, proto::TransferType::kBulk},
    {0x83, proto::TransferType::kInterrupt}, {0x84, proto::TransferType::kIso}, {0x05, proto::TransferType::kBulk},
};

proto::SeqRanges ranges(Input& in) {
    proto::SeqRanges out;
    uint8_t n = in.u8() % 4;
    uint64_t next = 1;
    for (uint8_t i = 0; i < n; ++i) {
        uint64_t first = next + in.u8() % 4;
        uint32_t count = in.u8() % 8 + 1;
        out.push_back({first, count});
        next = first + count + 1;
    }
    return out;
}

proto::Message message(Input& in, FakeServer& fs) {
    switch (in.u8() % 12) {
    case 0: {
        proto::Hello h;
        uint8_t b = in.u8();
        h.capabilities = b & 7;
        if (b & 8) h.resume_token = fs.last_token();
        if (b & 16) h.version_min = h.version_max = 2;
        h.software = "fuzz";
        return h;
    }
    case 1: return proto::ListDevices{(in.u8() & 1) != 0};
    case 2: return proto::Attach{(in.u8() & 1) ? fs.wire_id() + 1 : fs.wire_id()};
    case 3: return proto::Detach{fs.attach_id(in.u8())};
    case 4: {
        uint32_t id = fs.attach_id(in.u8());
        return proto::Resume{id, ranges(in)};
    }
    case 5: return proto::Ping{in.u8()};
    case 6: {
        uint32_t id = fs.attach_id(in.u8());
        const EndpointChoice& e = kEndpoints[in.u8() % std::size(kEndpoints)];
        return proto::Bind{id, e.endpoint, e.type};
    }
    case 7: {
        proto::Submit s;
        s.seqnum = in.u8();
        uint8_t b = in.u8();
        const EndpointChoice& e = kEndpoints[b % std::size(kEndpoints)];
        s.type = e.type;
        s.endpoint = e.endpoint;
        if (e.type == proto::TransferType::kControl && (b & 0x80)) s.endpoint |= 0x80;
        s.length = in.u8();
        if (e.type == proto::TransferType::kIso) {
            s.iso_packets = {s.length / 2, s.length - s.length / 2};
        }
        if (!s.is_in()) s.data = Bytes(s.length);
        if (e.type == proto::TransferType::kControl) {
            ByteSpan setup = in.bytes(8);
            std::copy(setup.begin(), setup.end(), s.setup.begin());
        }
        return s;
    }
    case 8: return proto::Unlink{in.u8()};
    case 9: return proto::Ack{ranges(in)};
    case 10: return proto::ErrorMsg{proto::Reason::kProtocol, (in.u8() & 1) != 0, 0, "fuzz"};
    default: return proto::Pong{in.u8()};
    }
}

constexpr int kMaxConnections = 8;

// The peer's side of each stream, so that the target delivers only what QUIC
// would: nothing after the peer's FIN or reset (RFC 9000 §4.5), nothing on a
// stream both sides have finished, which is closed then (on_stream_closed)
// and never comes back (§2.1: a stream ID is used once).
struct PeerStreams {
    struct Side {
        bool done = false;  // FIN or RESET_STREAM sent
        bool closed = false;
    };
    std::map<int64_t, Side> sides;

    void send(quic::Connection::Impl& c, int64_t id, ByteSpan data, bool fin) {
        Side& s = sides[id];
        if (s.done || c.closed) return;
        if (fin) s.done = true;
        c.handlers.on_stream_data(id, data, fin);
    }
    void reset(quic::Connection::Impl& c, int64_t id) {
        Side& s = sides[id];
        if (s.done || c.closed) return;
        s.done = true;
        if (c.handlers.on_stream_reset) c.handlers.on_stream_reset(id, 0);
    }
    // Streams whose two sides are finished close, as ngtcp2 closes them.
    void close_finished(quic::Connection::Impl& c) {
        for (auto& [id, s] : sides) {
            auto out = c.streams.find(id);
            if (s.closed || !s.done || out == c.streams.end() || !out->second.fin) continue;
            s.closed = true;
            if (c.handlers.on_stream_closed) c.handlers.on_stream_closed(id);
            if (c.closed) return;
        }
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    log::set_threshold(log::Level::error);
    loop::Loop loop;
    auto host = usb::Host::start([] {});
    FUZZ_CHECK(host);
    {
        FakeServer fs(loop, **host);
        fs.connect();
        Input in(data, size);
        PeerStreams peer;
        while (!in.done()) {
            auto& c = fs.impl();
            uint8_t op = in.u8();
            switch (op % 8) {
            case 0: {  // raw bytes on a stream
                int64_t id = stream_of(in.u8());
                uint8_t n = in.u8();
                ByteSpan b = in.bytes(n & 0x7f);
                peer.send(c, id, b, (n & 0x80) != 0);
                break;
            }
            case 1:
            case 2: {  // a well-formed message, maybe cut in two
                int64_t id = stream_of(in.u8());
                Bytes frame = proto::encode(message(in, fs));
                size_t cut = op & 0x80 ? in.u8() % (frame.size() + 1) : frame.size();
                bool fin = op & 0x40;
                peer.send(c, id, ByteSpan(frame).first(cut), fin && cut == frame.size());
                if (cut < frame.size() && !fs.impl().closed) peer.send(c, id, ByteSpan(frame).subspan(cut), fin);
                break;
            }
            case 3: {  // the device answers
                uint8_t b = in.u8();
                if ((b & 3) == 0) fs.answer_claim((b & 4) == 0);
                else if ((b & 3) == 1) fs.answer_release();
                else fs.answer_transfer(in.u8(), b >> 2, in.u16());
                break;
            }
            case 4: {  // send room, and acknowledgements that free it
                uint8_t b = in.u8();
                c.room = b & 0x80 ? SIZE_MAX : (b & 0x7f) * 64;
                int64_t id = stream_of(in.u8());
                c.streams[id].unacked = 0;
                if (c.handlers.on_writable) c.handlers.on_writable(id);
                break;
            }
            case 5: {  // the peer aborts its side of a stream (RESET_STREAM)
                int64_t id = stream_of(in.u8());
                peer.reset(c, id);
                break;
            }
            case 6:  // the peer goes away (or the idle timer fires), and comes back
                if (fs.connections() >= kMaxConnections) return 0;
                fs.drop(op & 0x80 ? quic::CloseInfo::Kind::idle : quic::CloseInfo::Kind::peer);
                fs.forget_connection();
                fs.connect();
                peer = PeerStreams{};
                continue;
            default: break;
            }
            if (!fs.conn()) break;
            fs.learn();
            PeerLink* link = fs.link();
            quic::Connection::Impl& now = fs.impl();
            if (link) FUZZ_CHECK(!link->closing() || now.closed);  // closing means the connection is told
            if (link && !now.closed) {
                // Answers pile up on the control stream only up to the bound (and one answer more).
                size_t waiting = now.streams.count(0) ? now.streams[0].unacked : 0;
                FUZZ_CHECK(waiting <= PeerLink::kMaxReplyBacklog + 2 * (proto::kMaxControlPayload + 64));
            }
            if (now.closed) {
                // A broken rule ends this connection, with a code; the next one is served.
                if (fs.connections() >= kMaxConnections) return 0;
                fs.drop(quic::CloseInfo::Kind::local);
                fs.forget_connection();
                fs.connect();
                peer = PeerStreams{};
            } else {
                peer.close_finished(fs.impl());
            }
        }
    }
    return 0;
}
