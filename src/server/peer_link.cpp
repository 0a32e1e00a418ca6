#include "server/peer_link.hpp"

#include "util/log.hpp"
#include "util/printable.hpp"

namespace usbhop::server {

namespace {
bool client_bidi(int64_t id) { return (id & 0x3) == 0; }
}  // namespace

PeerLink::PeerLink(quic::Connection& connection, PeerHost& host, log::Fields fields)
    : conn_(connection),
      host_(host),
      peer_(connection.peer()),
      label_(connection.peer().short_string()),
      fields_(std::move(fields)) {
    quic::Handlers h;
    h.on_stream_data = [this](int64_t id, ByteSpan data, bool fin) { on_stream_data(id, data, fin); };
    h.on_writable = [this](int64_t id) { on_writable(id); };
    h.on_stream_reset = [this](int64_t id, uint64_t) {
        auto it = streams_.find(id);
        if (it != streams_.end() && it->second.role == StreamRole::control)
            fail(proto::Reason::kProtocol, "the control stream was reset");
    };
    h.on_stream_closed = [this](int64_t id) {
        auto it = streams_.find(id);
        if (it == streams_.end()) return;
        if (it->second.role == StreamRole::urb) bindings_.erase({it->second.attach_id, it->second.key});
        streams_.erase(it);
    };
    h.on_closed = [this](const quic::CloseInfo& info) { on_closed(info); };
    conn_.set_handlers(std::move(h));
}

PeerLink::~PeerLink() = default;

PeerLink::Stream& PeerLink::stream(int64_t id) {
    auto [it, added] = streams_.try_emplace(id);
    if (added) {
        it->second.id = id;
        if (id == 0) {
            it->second.role = StreamRole::control;
            it->second.decoder = proto::FrameDecoder(proto::kMaxControlPayload);
        } else if (!client_bidi(id)) {
            // protocol.md §1: only client-opened bidirectional streams are used.
            it->second.role = StreamRole::ignored;
            conn_.stop_sending(id, static_cast<uint64_t>(proto::Reason::kProtocol));
        }
    }
    return it->second;
}

void PeerLink::on_stream_data(int64_t id, ByteSpan data, bool fin) {
    if (closing_) return;
    Stream& s = stream(id);
    if (s.role == StreamRole::ignored) return;
    s.decoder.feed(data);
    if (fin) s.peer_fin = true;
    if (!within_buffer_limit(s)) return;
    pump(s);
}

void PeerLink::pump(Stream& s) {
    const int64_t id = s.id;
    while (!closing_) {
        auto it = streams_.find(id);
        if (it == streams_.end()) return;
        Stream& st = it->second;
        if (st.role == StreamRole::ignored) return;
        if (st.role == StreamRole::urb) {
            Attachment* a = bound_attachment(st);
            if (a && (!a->accepting() || queued_results(st.attach_id) > kMaxQueuedResults)) {
                st.paused = true;  // §10: resumed by resume_reading() after an Ack
                if (st.decoder.buffered() > 2 * static_cast<size_t>(proto::kMaxUrbPayload))
                    fail(proto::Reason::kBusy, "more than 32 MiB of Submits sent past the unacknowledged-result limit");
                return;
            }
        }
        st.paused = false;
        auto next = st.decoder.next();
        if (!next) {
            fail(proto::Reason::kProtocol, next.error().message);
            return;
        }
        if (!*next) break;
        auto msg = proto::decode(**next);
        if (!msg) {
            fail(proto::Reason::kProtocol, msg.error().message);
            return;
        }
        if (!*msg) continue;  // an optional frame this build does not know
        bool ok = st.role == StreamRole::control ? handle_control(std::move(**msg)) : handle_urb(st, std::move(**msg));
        if (!ok) return;
    }
    auto it = streams_.find(id);
    if (it == streams_.end() || closing_) return;
    Stream& st = it->second;
    if (st.peer_fin && st.decoder.buffered() == 0) {
        if (st.role == StreamRole::control) {
            fail(proto::Reason::kProtocol, "the client closed the control stream");
        } else if (!st.fin_wanted) {
            // §4: the client closed a URB stream; the server FINs its side.
            if (st.role == StreamRole::urb) bindings_.erase({st.attach_id, st.key});
            st.role = StreamRole::ignored;
            end_stream(st);
        }
    } else if (st.peer_fin && !st.paused) {
        fail(proto::Reason::kProtocol, "a stream ended inside a frame");
    }
}

Attachment* PeerLink::bound_attachment(const Stream& s) const {
    return session_ ? session_->find(s.attach_id) : nullptr;
}

bool PeerLink::handle_control(proto::Message&& m) {
    if (auto allowed = proto::check_allowed(m, proto::StreamKind::kControl, proto::Sender::kClient); !allowed) {
        fail(proto::Reason::kProtocol, allowed.error().message);
        return false;
    }
    if (phase_ == Phase::awaiting_hello) {
        auto* hello = std::get_if<proto::Hello>(&m);
        if (!hello) {
            fail(proto::Reason::kProtocol, std::string("the first message was ") +
                                               proto::type_name(static_cast<uint16_t>(proto::type_of(m))) +
                                               ", not Hello");
            return false;
        }
        session_ = host_.open_session(*this, *hello);
        if (!session_) return false;
        phase_ = Phase::ready;
        return true;
    }
    if (!room_for_reply(stream(0))) return false;
    Session& session = *session_;
    return std::visit(
        [&](auto& msg) -> bool {
            using T = std::decay_t<decltype(msg)>;
            if constexpr (std::is_same_v<T, proto::Hello>) {
                fail(proto::Reason::kProtocol, "a second Hello");
                return false;
            } else if constexpr (std::is_same_v<T, proto::ListDevices>) {
                if (msg.watch && !(session.capabilities() & proto::kCapHotplug)) {
                    fail(proto::Reason::kProtocol, "ListDevices{watch} without the HOTPLUG capability");
                    return false;
                }
                host_.list_devices(*this, session, msg.watch);
            } else if constexpr (std::is_same_v<T, proto::Attach>) {
                host_.attach(session, msg.device_id);
            } else if constexpr (std::is_same_v<T, proto::Detach>) {
                Attachment* a = session.find(msg.attach_id);
                if (!a) {
                    send_control(proto::Detached{msg.attach_id, proto::Reason::kNotFound, "no such attachment"});
                } else {
                    a->end(proto::Reason::kNone, "detached as asked");
                    host_.settle(session);
                }
            } else if constexpr (std::is_same_v<T, proto::Resume>) {
                if (!session.resumed()) {
                    fail(proto::Reason::kProtocol, "Resume of attachment " + std::to_string(msg.attach_id) +
                                                       " on a session this connection did not resume (§11)");
                    return false;
                }
                Attachment* a = session.find(msg.attach_id);
                if (!a || a->state() != Attachment::State::active) {
                    proto::Reason why = a ? (a->end_reason() == proto::Reason::kNone ? proto::Reason::kSessionExpired
                                                                                     : a->end_reason())
                                          : proto::Reason::kSessionExpired;
                    if (!a) send_control(proto::Detached{msg.attach_id, why, "this attachment no longer exists"});
                    return true;  // an ending attachment sends its own Detached
                }
                if (!session.awaiting_resume(msg.attach_id)) {
                    fail(proto::Reason::kProtocol, "a second Resume of attachment " + std::to_string(msg.attach_id) +
                                                       " on this connection (§11)");
                    return false;
                }
                auto missing = a->resume(msg.pending);
                if (!missing) {
                    // A Resume the server cannot honour is answered Detached (§6.7).
                    a->end(proto::Reason::kTooLarge, missing.error().message);
                    host_.settle(session);
                    return !closing_;
                }
                session.mark_resumed(msg.attach_id);
                send_control(proto::ResumeOk{msg.attach_id, std::move(*missing)});
            } else if constexpr (std::is_same_v<T, proto::Ping>) {
                send_control(proto::Pong{msg.nonce});
            } else if constexpr (std::is_same_v<T, proto::Pong>) {
                // keep-alive answered; QUIC tracks liveness
            } else if constexpr (std::is_same_v<T, proto::ErrorMsg>) {
                log::write(log::Level::warning, fields_, "%s reports %s: %s", label_.c_str(),
                           proto::reason_name(msg.code), util::printable(msg.message).c_str());
                if (msg.fatal) close(proto::Reason::kNone, "the client reported a fatal error");
            } else {
                fail(proto::Reason::kProtocol, std::string(proto::type_name(static_cast<uint16_t>(proto::type_of(m)))) +
                                                   " is not expected from a client");
                return false;
            }
            return !closing_;
        },
        m);
}

bool PeerLink::handle_bind(Stream& s, const proto::Bind& bind) {
    Attachment* a = session_ ? session_->find(bind.attach_id) : nullptr;
    std::string why;
    if (!a) why = "no attachment " + std::to_string(bind.attach_id) + " in this session";
    else if (!session_->bindable(bind.attach_id)) why = "attachment " + std::to_string(bind.attach_id) + " was not resumed";
    else if (auto ok = a->check_bind(bind.endpoint, bind.type); !ok) why = ok.error().message;
    if (!why.empty()) {
        // §7.1: answered on the stream, which then ends; the connection lives on.
        enqueue(s, proto::encode(proto::ErrorMsg{proto::Reason::kNotFound, false, bind.attach_id, why}));
        s.role = StreamRole::ignored;
        end_stream(s);
        return true;
    }
    uint8_t key = stream_key(bind.endpoint, bind.type);
    if (bindings_.count({bind.attach_id, key})) {
        fail(proto::Reason::kProtocol, "a second Bind of attachment " + std::to_string(bind.attach_id) + " endpoint " +
                                           std::to_string(bind.endpoint) + " on this connection");
        return false;
    }
    s.role = StreamRole::urb;
    s.attach_id = bind.attach_id;
    s.key = key;
    s.type = bind.type;
    bindings_[{bind.attach_id, key}] = s.id;
    a->set_outbox(this);
    a->stream_bound(key);
    return true;
}

bool PeerLink::handle_urb(Stream& s, proto::Message&& m) {
    if (phase_ != Phase::ready) {
        fail(proto::Reason::kProtocol, "a URB stream before HelloAck");
        return false;
    }
    if (auto allowed = proto::check_allowed(m, proto::StreamKind::kUrb, proto::Sender::kClient); !allowed) {
        fail(proto::Reason::kProtocol, allowed.error().message);
        return false;
    }
    if (s.role == StreamRole::unbound) {
        auto* bind = std::get_if<proto::Bind>(&m);
        if (!bind) {
            fail(proto::Reason::kProtocol, "the first frame of a URB stream is not Bind");
            return false;
        }
        return handle_bind(s, *bind);
    }
    if (std::holds_alternative<proto::Bind>(m)) {
        fail(proto::Reason::kProtocol, "Bind on a stream that is already bound");
        return false;
    }
    if (auto* ping = std::get_if<proto::Ping>(&m)) {
        if (!room_for_reply(s)) return false;
        enqueue(s, proto::encode(proto::Pong{ping->nonce}));
        return true;
    }
    if (std::holds_alternative<proto::Pong>(m)) return true;
    if (auto* err = std::get_if<proto::ErrorMsg>(&m)) {
        log::write(log::Level::warning, fields_, "%s reports on a URB stream %s: %s", label_.c_str(),
                   proto::reason_name(err->code), util::printable(err->message).c_str());
        return true;
    }
    Attachment* a = bound_attachment(s);
    if (!a) return true;  // the attachment ended; its streams are being closed
    if (auto* sub = std::get_if<proto::Submit>(&m)) {
        bool same_endpoint = s.type == proto::TransferType::kControl ? (sub->endpoint & 0x0f) == s.key
                                                                      : sub->endpoint == s.key;
        if (!same_endpoint || sub->type != s.type) {
            fail(proto::Reason::kProtocol, "Submit " + std::to_string(sub->seqnum) +
                                               " names another endpoint or type than its stream's Bind");
            return false;
        }
        if (auto ok = a->submit(s.key, std::move(*sub)); !ok) {
            fail(proto::Reason::kProtocol, ok.error().message);
            return false;
        }
    } else if (auto* un = std::get_if<proto::Unlink>(&m)) {
        a->unlink(s.key, un->seqnum);
    } else if (auto* ack = std::get_if<proto::Ack>(&m)) {
        if (auto ok = a->ack(ack->seqnums); !ok) {
            fail(proto::Reason::kProtocol, ok.error().message);
            return false;
        }
        resume_reading(s.attach_id);
    }
    if (session_) host_.settle(*session_);
    return !closing_;
}

void PeerLink::resume_reading(uint32_t attach_id) {
    std::vector<int64_t> ids;
    for (auto& [id, st] : streams_)
        if (st.role == StreamRole::urb && st.attach_id == attach_id && st.paused) ids.push_back(id);
    for (int64_t id : ids) {
        auto it = streams_.find(id);
        if (it != streams_.end()) pump(it->second);
    }
}

void PeerLink::send_control(const proto::Message& message) {
    if (closing_) return;
    enqueue(stream(0), proto::encode(message));
}

bool PeerLink::send_urb(uint32_t attach_id, uint8_t key, const Bytes& frame) {
    if (closing_) return false;
    auto b = bindings_.find({attach_id, key});
    if (b == bindings_.end()) return false;
    auto it = streams_.find(b->second);
    if (it == streams_.end()) return false;
    enqueue(it->second, frame);
    return true;
}

void PeerLink::finish_streams(uint32_t attach_id) {
    for (auto it = bindings_.begin(); it != bindings_.end();) {
        if (it->first.first != attach_id) {
            ++it;
            continue;
        }
        auto s = streams_.find(it->second);
        if (s != streams_.end()) {
            s->second.role = StreamRole::ignored;
            end_stream(s->second);
        }
        it = bindings_.erase(it);
    }
}

void PeerLink::enqueue(Stream& s, Bytes frame) {
    if (s.fin_wanted || s.fin_sent) return;
    s.queued += frame.size();
    s.out.push_back(std::move(frame));
    flush(s);
}

void PeerLink::end_stream(Stream& s) {
    if (s.fin_wanted || s.fin_sent) return;
    s.fin_wanted = true;
    flush(s);
}

void PeerLink::flush(Stream& s) {
    while (!s.out.empty()) {
        ByteSpan rest = ByteSpan(s.out.front()).subspan(s.out_offset);
        bool last = s.out.size() == 1 && s.fin_wanted;
        size_t n = conn_.write(s.id, rest, last);
        s.queued -= n;
        if (n < rest.size()) {
            s.out_offset += n;
            return;  // on_writable resumes
        }
        s.out.pop_front();
        s.out_offset = 0;
        if (last) s.fin_sent = true;
    }
    if (s.fin_wanted && !s.fin_sent) {
        conn_.write(s.id, {}, true);
        s.fin_sent = true;
    }
}

void PeerLink::on_writable(int64_t id) {
    auto it = streams_.find(id);
    if (it == streams_.end()) return;
    flush(it->second);
    // Submits paused for kMaxQueuedResults read on once QUIC took half of it
    // (not all: the client's next Submits then arrive while QUIC still sends).
    if (it->second.role == StreamRole::urb && queued_results(it->second.attach_id) <= kMaxQueuedResults / 2) {
        uint32_t attach_id = it->second.attach_id;
        for (const auto& [other, st] : streams_)
            if (st.role == StreamRole::urb && st.attach_id == attach_id && st.paused) {
                resume_reading(attach_id);
                break;
            }
    }
}

size_t PeerLink::stream_backlog(const Stream& s) const { return conn_.unacknowledged(s.id) + s.queued; }

size_t PeerLink::queued_results(uint32_t attach_id) const {
    size_t n = 0;
    for (auto it = bindings_.lower_bound({attach_id, 0}); it != bindings_.end() && it->first.first == attach_id; ++it) {
        auto s = streams_.find(it->second);
        if (s != streams_.end()) n += s->second.queued;
    }
    return n;
}

bool PeerLink::room_for_reply(const Stream& s) {
    if (stream_backlog(s) <= kMaxReplyBacklog) return true;
    fail(proto::Reason::kBusy, "the peer does not read its answers: over " + std::to_string(kMaxReplyBacklog >> 20) +
                                   " MiB waits on stream " + std::to_string(s.id));
    return false;
}

bool PeerLink::within_buffer_limit(const Stream& fed) {
    // Summed only when this stream holds much: legitimate streams rarely do.
    if (fed.decoder.buffered() <= kMaxBufferedPerLink / 8) return true;
    size_t total = 0;
    for (const auto& [id, st] : streams_) total += st.decoder.buffered();
    if (total <= kMaxBufferedPerLink) return true;
    fail(proto::Reason::kBusy, "over " + std::to_string(kMaxBufferedPerLink >> 20) +
                                   " MiB of unfinished frames on this connection");
    return false;
}

size_t PeerLink::backlog() const {
    size_t n = 0;
    for (const auto& [id, s] : streams_) n += stream_backlog(s);
    return n;
}

void PeerLink::fail(proto::Reason reason, const std::string& message) {
    if (closing_) return;
    log::write(log::Level::warning, fields_, "disconnecting %s: %s", label_.c_str(), message.c_str());
    if (reason == proto::Reason::kProtocol || reason == proto::Reason::kBusy)
        send_control(proto::ErrorMsg{reason, true, 0, message});
    closing_ = true;
    conn_.close(static_cast<uint64_t>(reason), message);
}

void PeerLink::close(proto::Reason reason, const std::string& message) {
    if (closing_) return;
    closing_ = true;
    conn_.close(static_cast<uint64_t>(reason), message);
}

void PeerLink::on_closed(const quic::CloseInfo&) {
    closing_ = true;
    host_.link_closed(*this);  // destroys this
}

}  // namespace usbhop::server
