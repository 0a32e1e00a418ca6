// Fuzzes the USB/IP stream decoder (what vhci_hcd sends us, and replies) and
// the RET_SUBMIT builders.
//
// Input: byte 0 picks commands or replies, byte 1 seeds the chunking, the rest
// is the stream. Checks: feeding in chunks gives the same PDUs and error as
// feeding at once; every decoded PDU re-encodes to bytes that decode to it;
// a reply built from any decoded CMD_SUBMIT passes the kernel's checks.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "../fuzz_check.hpp"
#include "usbip/reply.hpp"
#include "usbip/stream_decoder.hpp"

using namespace usbhop;
using namespace usbhop::usbip;
using usbhop::fuzz::Chunker;

namespace {

std::optional<Direction> direction_of(uint32_t seqnum) {
    if (seqnum % 7 == 0) return std::nullopt;
    return seqnum & 1 ? Direction::kIn : Direction::kOut;
}

StreamDecoder make_decoder(bool commands) {
    return commands ? StreamDecoder::for_commands() : StreamDecoder::for_replies(direction_of);
}

struct Outcome {
    std::vector<Pdu> pdus;
    std::string error;
};

Outcome run(bool commands, ByteSpan stream, Chunker* chunker) {
    Outcome out;
    StreamDecoder d = make_decoder(commands);
    size_t pos = 0;
    for (;;) {
        size_t n = chunker ? chunker->next(stream.size() - pos) : stream.size() - pos;
        d.feed(stream.subspan(pos, n));
        pos += n;
        for (;;) {
            auto r = d.next();
            if (!r) {
                out.error = r.error().message;
                FUZZ_CHECK(!out.error.empty());
                FUZZ_CHECK(d.failed() && d.buffered() == 0);
                return out;
            }
            if (!*r) break;
            out.pdus.push_back(std::move(**r));
        }
        if (pos == stream.size()) break;
    }
    FUZZ_CHECK(d.buffered() < kHeaderSize + kMaxTransferLength + kMaxIsoPackets * kIsoDescriptorSize);
    return out;
}

void check_reply_for(const CmdSubmit& c) {
    SubmittedUrb u = submitted_urb(c);
    Bytes gathered = gather_iso_out(c);
    if (!c.iso.empty() && c.base.direction == Direction::kOut) {
        uint64_t sum = 0;
        for (const IsoPacket& p : c.iso) sum += p.length;
        FUZZ_CHECK(gathered.size() == sum);
    }

    RetSubmit err = error_ret_submit(u, kEproto);
    FUZZ_CHECK(check_ret_submit(u, err).ok());

    bool in = c.base.direction == Direction::kIn;
    Result<RetSubmit> reply = make_error("unset");
    // Small results keep the fuzzer fast; the length checks do not depend on size.
    constexpr uint32_t kCap = 4096;
    Bytes payload(std::min(c.transfer_buffer_length, kCap), std::byte{0x5a});
    if (c.iso.empty()) {
        uint32_t actual = std::min(c.transfer_buffer_length / 2, kCap);
        reply = make_ret_submit(u, 0, actual, in ? ByteSpan(payload).first(actual) : ByteSpan{});
    } else {
        std::vector<IsoPacketResult> packets;
        for (size_t i = 0; i < c.iso.size(); ++i) {
            uint32_t actual = std::min<uint32_t>(c.iso[i].length - c.iso[i].length / (i + 2), 4);
            packets.push_back({i % 3 == 2 ? kExdev : 0, actual, in ? ByteSpan(payload).first(actual) : ByteSpan{}});
        }
        reply = make_iso_ret_submit(u, 0, packets);
    }
    // decode_pdu() guarantees every packet lies inside the buffer, so a
    // reply made of partial packets always fits.
    FUZZ_CHECK(reply.ok());
    FUZZ_CHECK(check_ret_submit(u, *reply).ok());

    StreamDecoder kernel =
        StreamDecoder::for_replies([&](uint32_t) { return std::optional<Direction>{c.base.direction}; });
    kernel.feed(encode(*reply));
    auto back = kernel.next();
    FUZZ_CHECK(back.ok() && back->has_value());
    FUZZ_CHECK(std::get<RetSubmit>(**back) == *reply);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 2) return 0;
    bool commands = !(data[0] & 1);
    Chunker chunker(data[1]);
    ByteSpan stream(reinterpret_cast<const std::byte*>(data + 2), size - 2);

    Outcome whole = run(commands, stream, nullptr);
    Outcome chunked = run(commands, stream, &chunker);
    FUZZ_CHECK(whole.pdus == chunked.pdus);
    FUZZ_CHECK(whole.error == chunked.error);

    for (const Pdu& pdu : whole.pdus) {
        Bytes wire;
        encode(pdu, wire);
        Direction dir = Direction::kIn;
        if (std::holds_alternative<RetSubmit>(pdu)) dir = *direction_of(seqnum_of(pdu));
        auto again = decode_pdu(wire, dir);
        FUZZ_CHECK(again.ok());
        FUZZ_CHECK(*again == pdu);
        if (const auto* c = std::get_if<CmdSubmit>(&pdu)) check_reply_for(*c);
    }
    return 0;
}
