#include "usbip/reply.hpp"

namespace usbhop::usbip {

namespace {

std::string about(const SubmittedUrb& urb) { return "usbip: reply to seqnum " + std::to_string(urb.seqnum) + ": "; }

}  // namespace

SubmittedUrb submitted_urb(const CmdSubmit& cmd) {
    SubmittedUrb urb;
    urb.seqnum = cmd.base.seqnum;
    urb.direction = cmd.base.direction;
    urb.ep = cmd.base.ep;
    urb.transfer_buffer_length = cmd.transfer_buffer_length;
    urb.number_of_packets = cmd.number_of_packets;
    urb.iso.reserve(cmd.iso.size());
    for (const IsoPacket& p : cmd.iso) urb.iso.push_back(IsoPacket{p.offset, p.length, 0, 0});
    return urb;
}

Bytes gather_iso_out(const CmdSubmit& cmd) {
    if (cmd.iso.empty() || cmd.base.direction != Direction::kOut) return cmd.data;
    Bytes out;
    for (const IsoPacket& p : cmd.iso) {
        // decode_pdu() checked that every packet lies inside the buffer.
        ByteSpan packet = ByteSpan(cmd.data).subspan(p.offset, p.length);
        out.insert(out.end(), packet.begin(), packet.end());
    }
    return out;
}

Result<void> check_ret_submit(const SubmittedUrb& urb, const RetSubmit& reply) {
    if (reply.base.seqnum != urb.seqnum)
        return make_error(about(urb) + "carries seqnum " + std::to_string(reply.base.seqnum));
    if (reply.actual_length > urb.transfer_buffer_length)
        return make_error(about(urb) + "actual_length " + std::to_string(reply.actual_length) + " exceeds the " +
                          std::to_string(urb.transfer_buffer_length) + "-byte buffer");
    size_t want_data = urb.direction == Direction::kIn ? reply.actual_length : 0;
    if (reply.data.size() != want_data)
        return make_error(about(urb) + "has " + std::to_string(reply.data.size()) + " data bytes, expected " +
                          std::to_string(want_data));
    if (reply.number_of_packets != urb.number_of_packets)
        return make_error(about(urb) + "number_of_packets " + std::to_string(reply.number_of_packets) +
                          " differs from the URB's " + std::to_string(urb.number_of_packets));
    if (reply.iso.size() != urb.iso.size())
        return make_error(about(urb) + std::to_string(reply.iso.size()) + " iso descriptors for " +
                          std::to_string(urb.iso.size()) + " packets");
    uint64_t sum = 0;
    for (size_t i = 0; i < reply.iso.size(); ++i) {
        const IsoPacket& p = reply.iso[i];
        if (p.offset != urb.iso[i].offset || p.length != urb.iso[i].length)
            return make_error(about(urb) + "iso packet " + std::to_string(i) + " changed its offset or length");
        if (p.actual_length > p.length)
            return make_error(about(urb) + "iso packet " + std::to_string(i) + " actual_length " +
                              std::to_string(p.actual_length) + " exceeds its length " + std::to_string(p.length));
        sum += p.actual_length;
    }
    if (!reply.iso.empty() && sum != reply.actual_length)
        return make_error(about(urb) + "iso packets add up to " + std::to_string(sum) + " bytes, actual_length is " +
                          std::to_string(reply.actual_length));
    return {};
}

Result<RetSubmit> make_ret_submit(const SubmittedUrb& urb, int32_t status, uint32_t actual_length, ByteSpan in_data) {
    if (!urb.iso.empty()) return make_error(about(urb) + "an iso URB needs per-packet results");
    RetSubmit r;
    r.base.seqnum = urb.seqnum;
    r.status = status;
    r.actual_length = actual_length;
    r.number_of_packets = urb.number_of_packets;
    r.data.assign(in_data.begin(), in_data.end());
    if (auto ok = check_ret_submit(urb, r); !ok) return ok.error();
    return r;
}

Result<RetSubmit> make_iso_ret_submit(const SubmittedUrb& urb, int32_t status, std::span<const IsoPacketResult> packets,
                                      int32_t start_frame) {
    if (packets.size() != urb.iso.size())
        return make_error(about(urb) + std::to_string(packets.size()) + " packet results for " +
                          std::to_string(urb.iso.size()) + " packets");
    RetSubmit r;
    r.base.seqnum = urb.seqnum;
    r.status = status;
    r.start_frame = start_frame;
    r.number_of_packets = urb.number_of_packets;
    uint64_t total = 0;
    for (size_t i = 0; i < packets.size(); ++i) {
        const IsoPacketResult& p = packets[i];
        size_t want = urb.direction == Direction::kIn ? p.actual_length : 0;
        if (p.data.size() != want)
            return make_error(about(urb) + "iso packet " + std::to_string(i) + " has " + std::to_string(p.data.size()) +
                              " data bytes, expected " + std::to_string(want));
        total += p.actual_length;
        if (total > urb.transfer_buffer_length)
            return make_error(about(urb) + "iso packets exceed the " + std::to_string(urb.transfer_buffer_length) +
                              "-byte buffer");
        r.iso.push_back(IsoPacket{urb.iso[i].offset, urb.iso[i].length, p.actual_length, p.status});
        r.data.insert(r.data.end(), p.data.begin(), p.data.end());
        if (p.status != 0) ++r.error_count;
    }
    r.actual_length = static_cast<uint32_t>(total);
    if (auto ok = check_ret_submit(urb, r); !ok) return ok.error();
    return r;
}

RetSubmit error_ret_submit(const SubmittedUrb& urb, int32_t status) {
    RetSubmit r;
    r.base.seqnum = urb.seqnum;
    r.status = status;
    r.number_of_packets = urb.number_of_packets;
    for (const IsoPacket& p : urb.iso) r.iso.push_back(IsoPacket{p.offset, p.length, 0, status});
    r.error_count = static_cast<uint32_t>(r.iso.size());
    return r;
}

RetUnlink make_ret_unlink(uint32_t cmd_unlink_seqnum, int32_t status) {
    RetUnlink r;
    r.base.seqnum = cmd_unlink_seqnum;
    r.status = status;
    return r;
}

}  // namespace usbhop::usbip
