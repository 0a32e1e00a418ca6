#include "server/attachment.hpp"

#include <algorithm>
#include <cerrno>

#include "server/exports.hpp"
#include "server/status_map.hpp"
#include "util/log.hpp"

namespace usbhop::server {

uint8_t stream_key(uint8_t endpoint, proto::TransferType type) {
    return type == proto::TransferType::kControl ? static_cast<uint8_t>(endpoint & 0x0f) : endpoint;
}

Attachment::Attachment(loop::Loop& loop, usb::Host& host, const usb::DeviceInfo& device, uint32_t attach_id,
                       bool retain, bool force, std::string peer_label, log::Fields peer_fields)
    : host_(host),
      device_(device.id),
      wire_device_id_(server::wire_device_id(device)),
      path_(device.path),
      attach_id_(attach_id),
      force_(force),
      peer_label_(std::move(peer_label)),
      fields_(std::move(peer_fields.device(device.vendor, device.product, device.path))),
      ledger_(retain),
      settle_timer_(loop, [this] { release_held(false); }) {}

Result<void> Attachment::start() {
    usb::ClaimOptions options;
    options.force = force_;
    return host_.claim(device_, options);
}

void Attachment::on_claim_done(const std::optional<Error>& error) {
    if (state_ != State::claiming) return;
    if (error) {
        claim_error_ = error;
        state_ = State::ended;
        end_reason_ = proto::Reason::kClaimFailed;
        end_message_ = error->message;
        return;
    }
    state_ = State::active;
    log::write(log::Level::info, fields_, "%s attached by %s", path_.c_str(), peer_label_.c_str());
    if (release_wanted_) begin_release();
}

void Attachment::end(proto::Reason reason, std::string message) {
    if (state_ == State::ended || state_ == State::releasing || release_wanted_) return;
    end_reason_ = reason;
    end_message_ = std::move(message);
    if (state_ == State::claiming) {
        release_wanted_ = true;  // the claim's answer comes first
        return;
    }
    begin_release();
}

void Attachment::begin_release() {
    state_ = State::releasing;
    if (device_gone_) return;  // usb::Host is already giving it back; DeviceLeft ends us
    if (auto r = host_.release(device_); !r) {
        // Only possible when usb::Host has begun a release itself (unplug):
        // its DeviceLeft will come and end the attachment.
        log::write(log::Level::debug, fields_, "%s: release: %s", path_.c_str(), r.error().message.c_str());
    }
}

void Attachment::on_release_done() {
    if (state_ != State::releasing) return;
    release_held(false);
    state_ = State::ended;
    log::write(log::Level::info, fields_, "%s detached from %s (%s)", path_.c_str(), peer_label_.c_str(),
               proto::reason_name(end_reason_));
}

void Attachment::on_device_left() {
    device_gone_ = true;
    release_held(true);
    if (state_ == State::ended) return;
    // A release the client (or a reload) asked for keeps its reason.
    if (state_ != State::releasing) {
        end_reason_ = proto::Reason::kGone;
        end_message_ = path_ + " was unplugged from the server";
    }
    state_ = State::ended;
    log::write(log::Level::notice, fields_, "%s unplugged while attached by %s", path_.c_str(), peer_label_.c_str());
}

Result<void> Attachment::check_bind(uint8_t endpoint, proto::TransferType type) const {
    if (state_ != State::active) return make_error("attachment " + std::to_string(attach_id_) + " is not active");
    auto ep = host_.endpoint(device_, endpoint);
    if (!ep) {
        char buf[64];
        snprintf(buf, sizeof buf, "endpoint 0x%02x is not in %s's current configuration", endpoint, path_.c_str());
        return make_error(buf);
    }
    if (static_cast<uint8_t>(ep->type) != static_cast<uint8_t>(type)) {
        char buf[96];
        snprintf(buf, sizeof buf, "endpoint 0x%02x of %s is not of transfer type %u", endpoint, path_.c_str(),
                 static_cast<unsigned>(type));
        return make_error(buf);
    }
    return {};
}

Result<void> Attachment::submit(uint8_t key, proto::Submit&& s) {
    if (auto ok = ledger_.accept(s.seqnum, key); !ok) return ok;
    UrbFacts facts{key, s.is_in(), (s.flags & proto::kSubmitShortNotOk) != 0, s.length};
    urbs_[s.seqnum] = facts;

    auto fail_now = [&](proto::UrbStatus status) {
        proto::Complete c;
        c.seqnum = s.seqnum;
        c.status = status;
        if (s.type == proto::TransferType::kIso)
            c.iso_packets.assign(s.iso_packets.size(), proto::IsoPacketResult{status, 0});
        finish_urb(s.seqnum, std::move(c), false);
    };
    if (state_ != State::active) {
        fail_now(device_gone_ ? proto::UrbStatus::kNoDevice : proto::UrbStatus::kShutdown);
        return {};
    }

    usb::Urb urb;
    urb.seqnum = s.seqnum;
    urb.endpoint = s.endpoint;
    urb.type = static_cast<usb::TransferType>(s.type);
    if (s.flags & proto::kSubmitShortNotOk) urb.flags |= usb::urb_flags::kShortNotOk;
    if (s.flags & proto::kSubmitZeroPacket) urb.flags |= usb::urb_flags::kZeroPacket;
    for (size_t i = 0; i < 8; ++i) urb.setup[i] = std::to_integer<uint8_t>(s.setup[i]);
    urb.length = s.length;
    urb.data = std::move(s.data);
    urb.iso_lengths = std::move(s.iso_packets);
    size_t iso_count = urb.iso_lengths.size();
    if (auto r = host_.submit(device_, std::move(urb)); !r) {
        log::write(log::Level::debug, fields_, "URB %llu refused: %s", static_cast<unsigned long long>(s.seqnum),
                   r.error().message.c_str());
        proto::Complete c;
        c.seqnum = s.seqnum;
        c.status = host_.device(device_) ? from_submit_errno(r.error().code) : proto::UrbStatus::kNoDevice;
        if (s.type == proto::TransferType::kIso) c.iso_packets.assign(iso_count, proto::IsoPacketResult{c.status, 0});
        finish_urb(s.seqnum, std::move(c), false);
    }
    return {};
}

void Attachment::on_transfer_done(usb::TransferDone&& done) {
    auto it = urbs_.find(done.seqnum);
    if (it == urbs_.end()) return;  // not ours: usb::Host answers each submit once
    const UrbFacts& f = it->second;
    bool unlinked = ledger_.unlink_requested(done.seqnum);
    bool cancelled_by_unlink = unlinked && done.status == usb::Status::cancelled;

    proto::Complete c;
    c.seqnum = done.seqnum;
    TransferFacts tf{done.status, f.in, f.short_not_ok, f.length, done.actual_length,
                     state_ == State::releasing && !unlinked};
    c.status = to_wire(tf);
    c.actual_length = done.actual_length;
    for (const usb::IsoPacket& p : done.iso)
        c.iso_packets.push_back(proto::IsoPacketResult{iso_packet_to_wire(p.status), p.actual_length});
    if (f.in) c.data = std::move(done.data);
    finish_urb(done.seqnum, std::move(c), cancelled_by_unlink);
}

void Attachment::finish_urb(uint64_t seqnum, proto::Complete complete, bool cancelled_by_unlink) {
    auto it = urbs_.find(seqnum);
    uint8_t key = it->second.key;
    urbs_.erase(it);
    if (cancelled_by_unlink) {
        Bytes frame = proto::encode(proto::UnlinkResult{seqnum, proto::UnlinkOutcome::kCancelled});
        uint32_t extra = ledger_.finish(seqnum, UrbLedger::State::cancelled, frame);
        send(key, seqnum, frame);
        for (uint32_t i = 0; i < extra; ++i) send_unlink_result(key, seqnum, proto::UnlinkOutcome::kCancelled);
        return;
    }
    bool failed = complete.status == proto::UrbStatus::kProtocolError && !device_gone_;
    bool key_held = false;
    for (const Held& h : held_) key_held |= h.key == key;
    Bytes frame = proto::encode(complete);
    uint32_t waiting = ledger_.finish(seqnum, UrbLedger::State::completed, frame);
    if (failed || key_held) {
        held_.push_back(Held{key, std::move(complete), waiting});
        if (!settle_timer_.active()) settle_timer_.start(kUnplugSettle);
        return;
    }
    send(key, seqnum, frame);
    for (uint32_t i = 0; i < waiting; ++i) send_unlink_result(key, seqnum, proto::UnlinkOutcome::kCompleted);
}

void Attachment::release_held(bool device_gone) {
    settle_timer_.stop();
    std::vector<Held> held = std::move(held_);
    held_.clear();
    for (Held& h : held) {
        uint64_t seq = h.complete.seqnum;
        if (device_gone && h.complete.status != proto::UrbStatus::kOk) {
            // The failure was the unplug: say so (protocol.md §6.6).
            h.complete.status = proto::UrbStatus::kNoDevice;
            for (auto& p : h.complete.iso_packets)
                if (p.status != proto::UrbStatus::kOk) p.status = proto::UrbStatus::kNoDevice;
            ledger_.replace_result(seq, proto::encode(h.complete));
        }
        std::vector<uint64_t> unsent = ledger_.unsent(h.key);
        if (std::find(unsent.begin(), unsent.end(), seq) == unsent.end()) continue;  // an Unlink sent it already
        send(h.key, seq, *ledger_.result(seq));
        for (uint32_t i = 0; i < h.unlinks_waiting; ++i) send_unlink_result(h.key, seq, proto::UnlinkOutcome::kCompleted);
    }
}

void Attachment::send(uint8_t key, uint64_t seqnum, const Bytes& frame) {
    if (outbox_ && outbox_->send_urb(attach_id_, key, frame)) ledger_.mark_sent(seqnum);
}

void Attachment::send_unlink_result(uint8_t key, uint64_t seqnum, proto::UnlinkOutcome outcome) {
    // Not retained: after a resume the client repeats the Unlink if it still waits.
    if (outbox_) outbox_->send_urb(attach_id_, key, proto::encode(proto::UnlinkResult{seqnum, outcome}));
}

void Attachment::unlink(uint8_t key, uint64_t seqnum) {
    switch (ledger_.unlink(seqnum)) {
    case UrbLedger::UnlinkStep::cancel:
        // false: an intercepted request, or already ending; its TransferDone answers.
        host_.cancel(device_, seqnum);
        break;
    case UrbLedger::UnlinkStep::wait: break;
    case UrbLedger::UnlinkStep::answer_completed: {
        // §9: the Complete goes first on this stream; if it was never sent
        // (no stream then), send the retained one now.
        std::vector<uint64_t> unsent = ledger_.unsent(key);
        if (std::find(unsent.begin(), unsent.end(), seqnum) != unsent.end()) send(key, seqnum, *ledger_.result(seqnum));
        send_unlink_result(key, seqnum, proto::UnlinkOutcome::kCompleted);
        break;
    }
    case UrbLedger::UnlinkStep::answer_cancelled: send_unlink_result(key, seqnum, proto::UnlinkOutcome::kCancelled); break;
    case UrbLedger::UnlinkStep::answer_unknown: send_unlink_result(key, seqnum, proto::UnlinkOutcome::kUnknown); break;
    }
}

Result<void> Attachment::ack(const proto::SeqRanges& seqnums) { return ledger_.ack(seqnums); }

Result<proto::SeqRanges> Attachment::resume(const proto::SeqRanges& pending) { return ledger_.resume(pending); }

void Attachment::stream_bound(uint8_t key) {
    for (uint64_t seq : ledger_.unsent(key))
        send(key, seq, *ledger_.result(seq));
}

}  // namespace usbhop::server
