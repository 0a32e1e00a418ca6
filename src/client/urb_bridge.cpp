#include "client/urb_bridge.hpp"

#include <algorithm>

namespace usbhop::client {

namespace {

std::string seq_text(uint64_t seqnum) { return "seqnum " + std::to_string(seqnum); }

uint16_t submit_flags(uint32_t transfer_flags) {
    uint16_t f = 0;
    if (transfer_flags & usbip::kUrbShortNotOk) f |= proto::kSubmitShortNotOk;
    if (transfer_flags & usbip::kUrbZeroPacket) f |= proto::kSubmitZeroPacket;
    if (transfer_flags & usbip::kUrbIsoAsap) f |= proto::kSubmitIsoAsap;
    return f;
}

}  // namespace

StreamKey stream_for(uint32_t ep, usbip::Direction direction, proto::TransferType type) {
    auto number = static_cast<uint8_t>(ep & 0x0f);
    if (type == proto::TransferType::kControl) return StreamKey{number, type};
    uint8_t dir = direction == usbip::Direction::kIn ? proto::kEndpointDirIn : 0;
    return StreamKey{static_cast<uint8_t>(number | dir), type};
}

proto::Submit to_submit(const usbip::CmdSubmit& cmd, proto::TransferType type, uint64_t seqnum) {
    proto::Submit s;
    s.seqnum = seqnum;
    s.endpoint = static_cast<uint8_t>((cmd.base.ep & 0x0f) |
                                      (cmd.base.direction == usbip::Direction::kIn ? proto::kEndpointDirIn : 0));
    s.type = type;
    s.flags = submit_flags(cmd.transfer_flags);
    s.length = cmd.transfer_buffer_length;
    s.interval = cmd.interval > 0 ? static_cast<uint32_t>(cmd.interval) : 0;
    if (type == proto::TransferType::kControl) s.setup = cmd.setup;
    if (type == proto::TransferType::kIso) {
        uint32_t total = 0;
        for (const usbip::IsoPacket& p : cmd.iso) {
            s.iso_packets.push_back(p.length);
            total += p.length;
        }
        // The packets are what travels; their sum is the transfer (§7.2).
        s.length = total;
    }
    if (cmd.base.direction == usbip::Direction::kOut) s.data = usbip::gather_iso_out(cmd);
    return s;
}

Result<usbip::RetSubmit> to_ret_submit(const usbip::SubmittedUrb& urb, const proto::Complete& c) {
    const int32_t status = proto::to_errno(c.status);
    const bool in = urb.direction == usbip::Direction::kIn;
    if (!urb.iso.empty()) {
        if (c.iso_packets.empty() && c.status != proto::UrbStatus::kOk && c.actual_length == 0)
            return usbip::error_ret_submit(urb, status);
        if (c.iso_packets.size() != urb.iso.size())
            return make_error("Complete for iso " + seq_text(urb.seqnum) + " has " + std::to_string(c.iso_packets.size()) +
                              " packets, the URB has " + std::to_string(urb.iso.size()));
        std::vector<usbip::IsoPacketResult> packets;
        packets.reserve(c.iso_packets.size());
        size_t offset = 0;
        for (const proto::IsoPacketResult& p : c.iso_packets) {
            usbip::IsoPacketResult r;
            r.status = proto::to_errno(p.status);
            r.actual_length = p.actual_length;
            if (in) {
                if (c.data.size() - offset < p.actual_length)
                    return make_error("Complete for iso " + seq_text(urb.seqnum) + ": packets exceed the data");
                r.data = ByteSpan(c.data).subspan(offset, p.actual_length);
                offset += p.actual_length;
            }
            packets.push_back(r);
        }
        return usbip::make_iso_ret_submit(urb, status, packets, c.start_frame);
    }
    if (!c.iso_packets.empty())
        return make_error("Complete for " + seq_text(urb.seqnum) + " carries iso packets for a non-iso URB");
    if (!in && !c.data.empty())
        return make_error("Complete for OUT " + seq_text(urb.seqnum) + " carries " + std::to_string(c.data.size()) +
                          " data bytes");
    return usbip::make_ret_submit(urb, status, c.actual_length, c.data);
}

void UrbBridge::Output::append(Output&& other) {
    for (auto& p : other.to_kernel) to_kernel.push_back(std::move(p));
    for (auto& m : other.to_server) to_server.push_back(std::move(m));
    acked.insert(acked.end(), other.acked.begin(), other.acked.end());
    if (!protocol_error && other.protocol_error) protocol_error = std::move(other.protocol_error);
}

UrbBridge::Output UrbBridge::on_cmd_submit(const usbip::CmdSubmit& cmd, proto::TransferType type, bool connected) {
    Output out;
    usbip::SubmittedUrb submitted = usbip::submitted_urb(cmd);
    if (type != proto::TransferType::kIso && !cmd.iso.empty()) {
        // Iso descriptors on an endpoint that is not isochronous: nothing a
        // device could carry out. Refuse it here; the server never sees it.
        out.to_kernel.emplace_back(usbip::error_ret_submit(submitted, usbip::kEinval));
        return out;
    }
    const uint64_t seq = next_seqnum_++;
    Urb urb;
    urb.vhci_seqnum = cmd.base.seqnum;
    urb.submitted = std::move(submitted);
    urb.stream = stream_for(cmd.base.ep, cmd.base.direction, type);
    urb.submit = to_submit(cmd, type, seq);
    urb.state = connected ? UrbState::kSent : UrbState::kQueued;
    held_bytes_ += urb.submit.data.size();
    if (connected) out.to_server.push_back(ToServer{urb.stream, urb.submit});
    by_vhci_[cmd.base.seqnum] = seq;
    urbs_.emplace(seq, std::move(urb));
    return out;
}

UrbBridge::Output UrbBridge::on_cmd_unlink(const usbip::CmdUnlink& cmd, bool connected) {
    Output out;
    const uint32_t u = cmd.base.seqnum;
    auto v = by_vhci_.find(cmd.unlink_seqnum);
    if (v == by_vhci_.end()) {
        // Already answered: vhci has (or is about to get) its RET_SUBMIT.
        out.to_kernel.emplace_back(usbip::make_ret_unlink(u, 0));
        return out;
    }
    auto it = urbs_.find(v->second);
    Urb& urb = it->second;
    switch (urb.state) {
    case UrbState::kQueued:
        // The server never saw it: cancel here (§9, last paragraph).
        out.to_kernel.emplace_back(usbip::make_ret_unlink(u, usbip::kEconnreset));
        erase(it);
        break;
    case UrbState::kSent:
        urb.state = UrbState::kUnlinking;
        urb.unlinks.push_back(u);
        if (connected) out.to_server.push_back(ToServer{urb.stream, proto::Unlink{it->first}});
        break;
    case UrbState::kUnlinking:
        // The USB core never unlinks twice; should vhci do it, both get
        // answered together when the URB's fate is known.
        urb.unlinks.push_back(u);
        break;
    }
    return out;
}

UrbBridge::Output UrbBridge::answer(std::map<uint64_t, Urb>::iterator it, usbip::Pdu reply, bool cancelled) {
    Output out;
    if (!cancelled) out.to_kernel.push_back(std::move(reply));
    for (uint32_t u : it->second.unlinks)
        out.to_kernel.emplace_back(usbip::make_ret_unlink(u, cancelled ? usbip::kEconnreset : 0));
    out.acked.push_back(Acked{it->second.stream, it->first});
    erase(it);
    return out;
}

void UrbBridge::erase(std::map<uint64_t, Urb>::iterator it) {
    held_bytes_ -= it->second.submit.data.size();
    by_vhci_.erase(it->second.vhci_seqnum);
    urbs_.erase(it);
}

UrbBridge::Output UrbBridge::on_complete(const StreamKey& stream, const proto::Complete& c) {
    auto it = urbs_.find(c.seqnum);
    if (it == urbs_.end()) {
        Output out;
        if (c.seqnum == 0 || c.seqnum >= next_seqnum_)
            out.protocol_error = make_error("Complete for " + seq_text(c.seqnum) + ", which was never submitted");
        return out;  // an answered URB: nothing more reaches the kernel
    }
    Urb& urb = it->second;
    std::optional<Error> problem;
    if (urb.state == UrbState::kQueued)
        problem = make_error("Complete for " + seq_text(c.seqnum) + ", which was never sent");
    else if (!(urb.stream == stream))
        problem = make_error("Complete for " + seq_text(c.seqnum) + " on the stream of another endpoint");
    usbip::Pdu reply;
    if (!problem) {
        auto ret = to_ret_submit(urb.submitted, c);
        if (ret) reply = std::move(*ret);
        else problem = ret.error();
    }
    if (problem) reply = usbip::error_ret_submit(urb.submitted, usbip::kEproto);
    Output out = answer(it, std::move(reply), false);
    if (problem) {
        out.acked.clear();
        out.protocol_error = std::move(problem);
    }
    return out;
}

UrbBridge::Output UrbBridge::on_unlink_result(const StreamKey& stream, const proto::UnlinkResult& r) {
    Output out;
    auto it = urbs_.find(r.seqnum);
    if (it == urbs_.end()) {
        if (r.seqnum == 0 || r.seqnum >= next_seqnum_)
            out.protocol_error = make_error("UnlinkResult for " + seq_text(r.seqnum) + ", which was never submitted");
        return out;  // answered already (§9: ignored)
    }
    Urb& urb = it->second;
    std::optional<Error> problem;
    if (urb.state == UrbState::kQueued)
        problem = make_error("UnlinkResult for " + seq_text(r.seqnum) + ", which was never sent");
    else if (!(urb.stream == stream))
        problem = make_error("UnlinkResult for " + seq_text(r.seqnum) + " on the stream of another endpoint");
    else if (r.outcome == proto::UnlinkOutcome::kCompleted)
        problem = make_error("UnlinkResult{COMPLETED} for " + seq_text(r.seqnum) + " without its Complete");
    else if (r.outcome == proto::UnlinkOutcome::kUnknown)
        problem = make_error("UnlinkResult{UNKNOWN} for " + seq_text(r.seqnum) + ", which has no result yet");
    if (problem) {
        Output o = answer(it, usbip::error_ret_submit(urb.submitted, usbip::kEproto), false);
        o.acked.clear();
        o.protocol_error = std::move(problem);
        return o;
    }
    if (urb.state == UrbState::kUnlinking) return answer(it, usbip::RetUnlink{}, true);
    // Cancelled although we never asked: vhci still needs its one answer.
    return answer(it, usbip::error_ret_submit(urb.submitted, usbip::kEconnreset), false);
}

proto::SeqRanges UrbBridge::pending() const {
    std::vector<uint64_t> seqs;
    seqs.reserve(urbs_.size());
    for (const auto& [seq, urb] : urbs_) seqs.push_back(seq);
    return proto::to_ranges(std::move(seqs));
}

UrbBridge::Output UrbBridge::on_resume_ok(const proto::SeqRanges& missing) {
    Output out;
    std::vector<ToServer> unlinks;
    uint64_t found = 0;
    size_t r = 0;  // walk the ranges alongside the URBs, both ascending
    for (auto it = urbs_.begin(); it != urbs_.end();) {
        const uint64_t seq = it->first;
        while (r < missing.size() && missing[r].first + missing[r].count <= seq) ++r;
        const bool is_missing = r < missing.size() && missing[r].first <= seq;
        Urb& urb = it->second;
        if (is_missing) {
            ++found;
            if (urb.state == UrbState::kUnlinking) {
                // Never reached the server and vhci gave up on it: cancel here.
                for (uint32_t u : urb.unlinks) out.to_kernel.emplace_back(usbip::make_ret_unlink(u, usbip::kEconnreset));
                auto next = std::next(it);
                erase(it);
                it = next;
                continue;
            }
            urb.state = UrbState::kSent;
            out.to_server.push_back(ToServer{urb.stream, urb.submit});
        } else if (urb.state == UrbState::kQueued) {
            out.protocol_error = make_error("ResumeOk leaves out " + seq_text(seq) + ", which was never sent");
            auto cur = it++;
            Output o = answer(cur, usbip::error_ret_submit(urb.submitted, usbip::kEproto), false);
            o.acked.clear();
            out.append(std::move(o));
            continue;
        } else if (urb.state == UrbState::kUnlinking) {
            unlinks.push_back(ToServer{urb.stream, proto::Unlink{seq}});
        }
        ++it;
    }
    if (found != proto::total_count(missing) && !out.protocol_error)
        out.protocol_error = make_error("ResumeOk lists " + std::to_string(proto::total_count(missing) - found) +
                                        " seqnums that were not pending");
    for (auto& u : unlinks) out.to_server.push_back(std::move(u));
    return out;
}

UrbBridge::Output UrbBridge::send_queued() {
    Output out;
    for (auto& [seq, urb] : urbs_) {
        if (urb.state != UrbState::kQueued) continue;
        urb.state = UrbState::kSent;
        out.to_server.push_back(ToServer{urb.stream, urb.submit});
    }
    return out;
}

std::vector<StreamKey> UrbBridge::pending_streams() const {
    std::vector<StreamKey> keys;
    for (const auto& [seq, urb] : urbs_)
        if (std::find(keys.begin(), keys.end(), urb.stream) == keys.end()) keys.push_back(urb.stream);
    return keys;
}

UrbBridge::Output UrbBridge::fail_stream(const StreamKey& stream, int32_t status) {
    Output out;
    for (auto it = urbs_.begin(); it != urbs_.end();) {
        if (!(it->second.stream == stream) || it->second.state == UrbState::kQueued) {
            ++it;
            continue;
        }
        auto cur = it++;
        Output o = answer(cur, usbip::error_ret_submit(cur->second.submitted, status), false);
        o.acked.clear();
        out.append(std::move(o));
    }
    return out;
}

void UrbBridge::clear() {
    urbs_.clear();
    by_vhci_.clear();
    held_bytes_ = 0;
}

bool AckBatch::add(uint64_t seqnum) {
    seqnums_.push_back(seqnum);
    return seqnums_.size() >= kMaxBatch;
}

proto::Ack AckBatch::take() {
    proto::Ack a;
    a.seqnums = proto::to_ranges(std::move(seqnums_));
    seqnums_.clear();
    return a;
}

}  // namespace usbhop::client
