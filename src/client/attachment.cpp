#include "client/attachment.hpp"

#include "client/selection.hpp"
#include "util/log.hpp"
#include "util/printable.hpp"

namespace usbhop::client {

Attachment::Attachment(loop::Loop& loop, Session& session, proto::DeviceInfo info, uint32_t attach_id,
                       vhci::VhciPort port, OnPortClosed on_port_closed)
    : loop_(loop),
      session_(session),
      info_(std::move(info)),
      fields_(device_fields(session.log_fields(), info_)),
      attach_id_(attach_id),
      port_number_(port.port()),
      on_port_closed_(std::move(on_port_closed)),
      endpoints_(info_.configurations, info_.active_config),
      ack_timer_(loop, [this] { flush_acks(); }) {
    Port::Events ev;
    ev.on_submit = [this](usbip::CmdSubmit&& c) { on_submit(std::move(c)); };
    ev.on_unlink = [this](const usbip::CmdUnlink& u) { on_unlink(u); };
    ev.on_closed = [this](const std::string& why) { on_port_closed_(*this, why); };
    port_ = std::make_unique<Port>(loop_, std::move(port), std::move(ev));
}

Attachment::~Attachment() { *alive_ = false; }

void Attachment::on_submit(usbip::CmdSubmit&& cmd) {
    const uint8_t address = static_cast<uint8_t>((cmd.base.ep & 0x0f) |
                                                 (cmd.base.direction == usbip::Direction::kIn ? 0x80 : 0));
    auto type = endpoints_.type_of(address);
    if (!type) {
        log::write(log::Level::warning, fields_,
                   "%s: the kernel submitted a URB to endpoint 0x%02x, which its descriptors do not have",
                   describe(info_).c_str(), address);
        port_->send(usbip::error_ret_submit(usbip::submitted_urb(cmd), usbip::kEpipe));
        return;
    }
    if (*type == proto::TransferType::kControl) endpoints_.observe_setup(cmd.setup);
    ++counters_.urbs;
    counters_.bytes_out += cmd.data.size();  // empty for IN
    apply(bridge_.on_cmd_submit(cmd, *type, live_));
}

void Attachment::on_unlink(const usbip::CmdUnlink& cmd) {
    ++counters_.unlinks;
    apply(bridge_.on_cmd_unlink(cmd, live_));
}

std::optional<int64_t> Attachment::stream_for_key(const StreamKey& key) {
    if (auto it = streams_.find(key); it != streams_.end()) return it->second;
    auto s = session_.open_urb_stream(proto::Bind{attach_id_, key.endpoint, key.type});
    if (!s) {
        log::write(log::Level::warning, fields_, "%s: cannot open a stream for endpoint 0x%02x: %s",
                   describe(info_).c_str(), key.endpoint, s.error().message.c_str());
        return std::nullopt;
    }
    streams_[key] = *s;
    keys_[*s] = key;
    return *s;
}

void Attachment::apply(UrbBridge::Output&& out) {
    std::shared_ptr<bool> alive = alive_;
    for (const usbip::Pdu& p : out.to_kernel) {
        if (const auto* r = std::get_if<usbip::RetSubmit>(&p)) {
            counters_.bytes_in += r->data.size();  // empty for OUT
            if (r->status != 0 && r->status != usbip::kEconnreset) ++counters_.errors;
        }
        port_->send(p);
    }
    if (live_) {
        for (const UrbBridge::ToServer& m : out.to_server) {
            auto s = stream_for_key(m.stream);
            if (!s) {
                session_.protocol_error("no stream for endpoint " + std::to_string(m.stream.endpoint));
                return;
            }
            session_.send_urb(*s, m.message);
        }
        for (const UrbBridge::Acked& a : out.acked) {
            auto it = streams_.find(a.stream);
            if (it == streams_.end()) continue;
            if (acks_[it->second].add(a.seqnum)) {
                session_.send_urb(it->second, acks_[it->second].take());
            } else if (!ack_timer_.active()) {
                ack_timer_.start(kAckDelay);
            }
        }
    }
    if (out.protocol_error) {
        session_.protocol_error(describe(info_) + ": " + out.protocol_error->message);
        if (!*alive) return;
    }
    update_pause();
}

void Attachment::flush_acks() {
    for (auto& [stream, batch] : acks_)
        if (!batch.empty() && keys_.count(stream)) session_.send_urb(stream, batch.take());
    acks_.clear();
}

size_t Attachment::queued_bytes() const {
    size_t n = 0;
    for (const auto& [stream, key] : keys_) n += session_.queued_bytes(stream);
    return n;
}

void Attachment::update_pause() {
    size_t q = queued_bytes();
    if (q > kPauseBytes) port_->pause(true);
    else if (q < kResumeBytes) port_->pause(false);
}

void Attachment::go_live() {
    live_ = true;
    apply(bridge_.send_queued());
}

void Attachment::connection_lost() {
    live_ = false;
    streams_.clear();
    keys_.clear();
    acks_.clear();  // the Resume's pending list acknowledges implicitly (§11)
    ack_timer_.stop();
    port_->pause(false);
}

proto::Resume Attachment::resume_request() const { return proto::Resume{attach_id_, bridge_.pending()}; }

void Attachment::on_resume_ok(const proto::ResumeOk& ok) {
    live_ = true;
    // Bind every endpoint with URBs out first: retained results come only on
    // a bound stream (§11 step 5, 6).
    for (const StreamKey& key : bridge_.pending_streams())
        if (!stream_for_key(key)) return;
    apply(bridge_.on_resume_ok(ok.missing));
}

void Attachment::on_urb(int64_t stream, proto::Message&& m) {
    auto it = keys_.find(stream);
    if (it == keys_.end()) return;
    const StreamKey key = it->second;
    if (auto* c = std::get_if<proto::Complete>(&m)) {
        apply(bridge_.on_complete(key, *c));
    } else if (auto* r = std::get_if<proto::UnlinkResult>(&m)) {
        apply(bridge_.on_unlink_result(key, *r));
    } else if (auto* e = std::get_if<proto::ErrorMsg>(&m)) {
        log::write(log::Level::warning, fields_, "%s: the server refused endpoint 0x%02x: %s (%s)",
                   describe(info_).c_str(), key.endpoint, util::printable(e->message).c_str(),
                   proto::reason_name(e->code));
        // The stream is dead (the server FINs it): its URBs get their answer here.
        streams_.erase(key);
        keys_.erase(stream);
        acks_.erase(stream);
        apply(bridge_.fail_stream(key, usbip::kEpipe));
    }
}

void Attachment::on_stream_ended(int64_t stream) {
    auto it = keys_.find(stream);
    if (it == keys_.end()) return;
    streams_.erase(it->second);
    acks_.erase(stream);
    keys_.erase(it);
}

void Attachment::on_writable(int64_t stream) {
    if (keys_.count(stream)) update_pause();
}

Result<void> Attachment::detach_port() {
    ack_timer_.stop();
    bridge_.clear();
    live_ = false;
    return port_->detach();
}

}  // namespace usbhop::client
