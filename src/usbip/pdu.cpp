#include "usbip/pdu.hpp"

#include <cassert>
#include <cstdio>

namespace usbhop::usbip {

namespace {

std::string describe(const char* what, uint32_t seqnum) {
    return std::string("usbip: ") + what + " seqnum " + std::to_string(seqnum) + ": ";
}

void put_basic(ByteWriter& w, Command command, const BasicHeader& b) {
    w.put_u32(static_cast<uint32_t>(command));
    w.put_u32(b.seqnum);
    w.put_u32(b.devid);
    w.put_u32(static_cast<uint32_t>(b.direction));
    w.put_u32(b.ep);
}

void put_iso(ByteWriter& w, const std::vector<IsoPacket>& iso) {
    for (const IsoPacket& p : iso) {
        w.put_u32(p.offset);
        w.put_u32(p.length);
        w.put_u32(p.actual_length);
        w.put_i32(p.status);
    }
}

void get_iso(ByteReader& r, uint32_t count, std::vector<IsoPacket>& iso) {
    iso.resize(count);
    for (IsoPacket& p : iso) {
        r.get_u32(p.offset);
        r.get_u32(p.length);
        r.get_u32(p.actual_length);
        r.get_i32(p.status);
    }
}

}  // namespace

const char* command_name(uint32_t command) {
    switch (command) {
    case 1: return "CMD_SUBMIT";
    case 2: return "CMD_UNLINK";
    case 3: return "RET_SUBMIT";
    case 4: return "RET_UNLINK";
    default: return "unknown command";
    }
}

uint32_t seqnum_of(const Pdu& pdu) {
    return std::visit([](const auto& p) { return p.base.seqnum; }, pdu);
}

void encode(const CmdSubmit& pdu, Bytes& out) {
    assert(pdu.data.size() == (pdu.base.direction == Direction::kOut ? pdu.transfer_buffer_length : 0));
    assert(pdu.iso.size() == iso_packet_count(pdu.number_of_packets));
    ByteWriter w(out);
    put_basic(w, Command::kCmdSubmit, pdu.base);
    w.put_u32(pdu.transfer_flags);
    w.put_u32(pdu.transfer_buffer_length);
    w.put_i32(pdu.start_frame);
    w.put_u32(pdu.number_of_packets);
    w.put_i32(pdu.interval);
    w.put_bytes(pdu.setup);
    w.put_bytes(pdu.data);
    put_iso(w, pdu.iso);
}

void encode(const RetSubmit& pdu, Bytes& out) {
    assert(pdu.data.size() == 0 || pdu.data.size() == pdu.actual_length);
    assert(pdu.iso.size() == iso_packet_count(pdu.number_of_packets));
    ByteWriter w(out);
    put_basic(w, Command::kRetSubmit, pdu.base);
    w.put_i32(pdu.status);
    w.put_u32(pdu.actual_length);
    w.put_i32(pdu.start_frame);
    w.put_u32(pdu.number_of_packets);
    w.put_u32(pdu.error_count);
    w.put_zeros(8);
    w.put_bytes(pdu.data);
    put_iso(w, pdu.iso);
}

void encode(const CmdUnlink& pdu, Bytes& out) {
    ByteWriter w(out);
    put_basic(w, Command::kCmdUnlink, pdu.base);
    w.put_u32(pdu.unlink_seqnum);
    w.put_zeros(24);
}

void encode(const RetUnlink& pdu, Bytes& out) {
    ByteWriter w(out);
    put_basic(w, Command::kRetUnlink, pdu.base);
    w.put_i32(pdu.status);
    w.put_zeros(24);
}

void encode(const Pdu& pdu, Bytes& out) {
    std::visit([&](const auto& p) { encode(p, out); }, pdu);
}

Result<Header> decode_header(ByteSpan header) {
    if (header.size() < kHeaderSize)
        return make_error("usbip: truncated header (" + std::to_string(header.size()) + " of 48 bytes)");
    ByteReader r(header.first(kHeaderSize));
    Header h;
    uint32_t command = 0, direction = 0, length = 0, number_of_packets = 0;
    r.get_u32(command);
    r.get_u32(h.base.seqnum);
    r.get_u32(h.base.devid);
    r.get_u32(direction);
    r.get_u32(h.base.ep);
    // SUBMITs: 0x18 is transfer_buffer_length (CMD) or actual_length (RET),
    // 0x20 number_of_packets; in UNLINKs both are padding.
    r.skip(4);
    r.get_u32(length);
    r.skip(4);
    r.get_u32(number_of_packets);
    assert(r.ok());

    if (command < 1 || command > 4) {
        char hex[16];
        std::snprintf(hex, sizeof hex, "0x%08x", command);
        return make_error(std::string("usbip: unknown command ") + hex + " (seqnum " + std::to_string(h.base.seqnum) +
                          "); the stream is out of step or not USB/IP");
    }
    h.command = static_cast<Command>(command);
    const char* name = command_name(command);
    if (direction > 1)
        return make_error(describe(name, h.base.seqnum) + "direction " + std::to_string(direction) +
                          " is neither 0 (OUT) nor 1 (IN)");
    if (h.base.ep > 15)
        return make_error(describe(name, h.base.seqnum) + "endpoint " + std::to_string(h.base.ep) +
                          " is out of range 0..15");
    h.base.direction = static_cast<Direction>(direction);

    if (h.command == Command::kCmdSubmit || h.command == Command::kRetSubmit) {
        h.length = length;
        h.number_of_packets = number_of_packets;
        const char* field = h.command == Command::kCmdSubmit ? "transfer_buffer_length " : "actual_length ";
        if (h.length > kMaxTransferLength)
            return make_error(describe(name, h.base.seqnum) + field + std::to_string(h.length) +
                              " exceeds the 16 MiB limit");
        if (iso_packet_count(h.number_of_packets) > kMaxIsoPackets)
            return make_error(describe(name, h.base.seqnum) + "number_of_packets " +
                              std::to_string(h.number_of_packets) + " exceeds the limit of " +
                              std::to_string(kMaxIsoPackets));
    }
    return h;
}

size_t body_length(const Header& h, Direction ret_submit_direction) {
    size_t iso = size_t{iso_packet_count(h.number_of_packets)} * kIsoDescriptorSize;
    switch (h.command) {
    case Command::kCmdSubmit: return (h.base.direction == Direction::kOut ? h.length : 0) + iso;
    case Command::kRetSubmit: return (ret_submit_direction == Direction::kIn ? h.length : 0) + iso;
    case Command::kCmdUnlink:
    case Command::kRetUnlink: return 0;
    }
    return 0;
}

Result<Pdu> decode_pdu(ByteSpan pdu, Direction ret_submit_direction) {
    auto header = decode_header(pdu);
    if (!header) return header.error();
    const Header& h = *header;
    const char* name = command_name(static_cast<uint32_t>(h.command));
    size_t want = kHeaderSize + body_length(h, ret_submit_direction);
    if (pdu.size() != want)
        return make_error(describe(name, h.base.seqnum) + "expected " + std::to_string(want) + " bytes, got " +
                          std::to_string(pdu.size()));

    ByteReader r(pdu);
    r.skip(20);
    switch (h.command) {
    case Command::kCmdSubmit: {
        CmdSubmit c;
        c.base = h.base;
        r.get_u32(c.transfer_flags);
        r.get_u32(c.transfer_buffer_length);
        r.get_i32(c.start_frame);
        r.get_u32(c.number_of_packets);
        r.get_i32(c.interval);
        ByteSpan setup;
        r.get_span(8, setup);
        std::copy(setup.begin(), setup.end(), c.setup.begin());
        if (c.base.direction == Direction::kOut) r.get_bytes(c.transfer_buffer_length, c.data);
        get_iso(r, iso_packet_count(c.number_of_packets), c.iso);
        assert(r.ok() && r.remaining() == 0);
        uint64_t total = 0;
        for (size_t i = 0; i < c.iso.size(); ++i) {
            const IsoPacket& p = c.iso[i];
            if (uint64_t{p.offset} + p.length > c.transfer_buffer_length)
                return make_error(describe(name, h.base.seqnum) + "iso packet " + std::to_string(i) + " (offset " +
                                  std::to_string(p.offset) + ", length " + std::to_string(p.length) +
                                  ") lies outside the " + std::to_string(c.transfer_buffer_length) + "-byte buffer");
            total += p.length;
        }
        // Packets share one buffer without overlapping, so their lengths fit it.
        if (total > c.transfer_buffer_length)
            return make_error(describe(name, h.base.seqnum) + "iso packets' lengths add up to " +
                              std::to_string(total) + ", more than the " + std::to_string(c.transfer_buffer_length) +
                              "-byte buffer");
        return Pdu{std::move(c)};
    }
    case Command::kRetSubmit: {
        RetSubmit s;
        s.base = h.base;
        r.get_i32(s.status);
        r.get_u32(s.actual_length);
        r.get_i32(s.start_frame);
        r.get_u32(s.number_of_packets);
        r.get_u32(s.error_count);
        r.skip(8);
        if (ret_submit_direction == Direction::kIn) r.get_bytes(s.actual_length, s.data);
        get_iso(r, iso_packet_count(s.number_of_packets), s.iso);
        assert(r.ok() && r.remaining() == 0);
        if (!s.iso.empty()) {
            uint64_t sum = 0;
            for (const IsoPacket& p : s.iso) sum += p.actual_length;
            if (sum != s.actual_length)
                return make_error(describe(name, h.base.seqnum) + "iso packets' actual_length add up to " +
                                  std::to_string(sum) + ", not actual_length " + std::to_string(s.actual_length));
        }
        return Pdu{std::move(s)};
    }
    case Command::kCmdUnlink: {
        CmdUnlink u;
        u.base = h.base;
        r.get_u32(u.unlink_seqnum);
        return Pdu{u};
    }
    case Command::kRetUnlink: {
        RetUnlink u;
        u.base = h.base;
        r.get_i32(u.status);
        return Pdu{u};
    }
    }
    return make_error(describe(name, h.base.seqnum) + "cannot be decoded");
}

}  // namespace usbhop::usbip
