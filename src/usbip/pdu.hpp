// usbhop::usbip — the USB/IP URB protocol that vhci_hcd speaks on its socket.
//
// A pure codec: PDUs in, bytes out, and back. It knows nothing of sockets or
// QUIC. Layout from the kernel's Documentation/usb/usbip_protocol.rst: every
// PDU starts with a 48-byte big-endian header; CMD_SUBMIT carries OUT data,
// RET_SUBMIT carries IN data (compacted for iso), and iso packet descriptors
// (16 bytes each) follow the data. The setup packet is copied raw (USB order).
//
// stream_decoder.hpp cuts PDUs out of a byte stream; reply.hpp builds the
// RET_SUBMITs we send to the kernel so that they are always well formed.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "util/bytes.hpp"
#include "util/result.hpp"

namespace usbhop::usbip {

inline constexpr size_t kHeaderSize = 48;
inline constexpr size_t kIsoDescriptorSize = 16;

// Refuse anything larger: no real URB comes near it, and a corrupt length
// must not make us buffer gigabytes. usbfs caps a device's buffers at 16 MiB.
inline constexpr uint32_t kMaxTransferLength = 16u << 20;
inline constexpr uint32_t kMaxIsoPackets = 1024;

// number_of_packets as non-Linux peers send it for non-iso URBs.
inline constexpr uint32_t kNoIsoPackets = 0xffffffff;

enum class Command : uint32_t {
    kCmdSubmit = 1,
    kCmdUnlink = 2,
    kRetSubmit = 3,
    kRetUnlink = 4,
};

enum class Direction : uint32_t { kOut = 0, kIn = 1 };

// transfer_flags bits on the wire (include/uapi/linux/usbip.h, USBIP_URB_*).
// Only the first four mean anything across the wire; the rest are host DMA
// artefacts (DMA_MAP_SG appears on every usb-storage URB) and are ignored.
inline constexpr uint32_t kUrbShortNotOk = 0x0001;
inline constexpr uint32_t kUrbIsoAsap = 0x0002;
inline constexpr uint32_t kUrbNoTransferDmaMap = 0x0004;
inline constexpr uint32_t kUrbZeroPacket = 0x0040;
inline constexpr uint32_t kUrbNoInterrupt = 0x0080;
inline constexpr uint32_t kUrbFreeBuffer = 0x0100;
inline constexpr uint32_t kUrbDirIn = 0x0200;
inline constexpr uint32_t kUrbDirMask = kUrbDirIn;
inline constexpr uint32_t kUrbDmaMapSg = 0x00040000;

// Negative errno values as vhci expects them in status fields (Linux numbers,
// fixed here so that the codec does not depend on the build host's errno.h).
inline constexpr int32_t kEnoent = -2;
inline constexpr int32_t kEnomem = -12;
inline constexpr int32_t kExdev = -18;
inline constexpr int32_t kEnodev = -19;
inline constexpr int32_t kEinval = -22;
inline constexpr int32_t kEpipe = -32;
inline constexpr int32_t kEproto = -71;
inline constexpr int32_t kEoverflow = -75;
inline constexpr int32_t kEopnotsupp = -95;
inline constexpr int32_t kEconnreset = -104;
inline constexpr int32_t kEshutdown = -108;
inline constexpr int32_t kEtimedout = -110;
inline constexpr int32_t kEremoteio = -121;

// One iso packet descriptor (usbip_iso_packet_descriptor), in wire order.
struct IsoPacket {
    uint32_t offset = 0;
    uint32_t length = 0;
    uint32_t actual_length = 0;
    int32_t status = 0;
    bool operator==(const IsoPacket&) const = default;
};

// The 20-byte usbip_header_basic. direction and ep are only meaningful in
// CMD_SUBMIT; the kernel sends 0 in the others.
struct BasicHeader {
    uint32_t seqnum = 0;
    uint32_t devid = 0;
    Direction direction = Direction::kOut;
    uint32_t ep = 0;  // endpoint number 0..15, no direction bit
    bool operator==(const BasicHeader&) const = default;
};

struct CmdSubmit {
    BasicHeader base;
    uint32_t transfer_flags = 0;
    uint32_t transfer_buffer_length = 0;
    int32_t start_frame = 0;
    uint32_t number_of_packets = 0;  // raw: 0 or kNoIsoPackets for non-iso
    int32_t interval = 0;
    std::array<std::byte, 8> setup{};
    Bytes data;                  // OUT: transfer_buffer_length bytes; IN: empty
    std::vector<IsoPacket> iso;  // iso_packet_count(number_of_packets) entries
    bool operator==(const CmdSubmit&) const = default;
};

struct RetSubmit {
    BasicHeader base;  // the kernel reads only seqnum; send devid/direction/ep as 0
    int32_t status = 0;
    uint32_t actual_length = 0;
    int32_t start_frame = 0;
    uint32_t number_of_packets = 0;
    uint32_t error_count = 0;
    Bytes data;  // IN: actual_length bytes (compacted for iso); OUT: empty
    std::vector<IsoPacket> iso;
    bool operator==(const RetSubmit&) const = default;
};

struct CmdUnlink {
    BasicHeader base;
    uint32_t unlink_seqnum = 0;
    bool operator==(const CmdUnlink&) const = default;
};

struct RetUnlink {
    BasicHeader base;
    int32_t status = 0;  // -ECONNRESET: unlinked, no RET_SUBMIT follows; 0: it had completed
    bool operator==(const RetUnlink&) const = default;
};

using Pdu = std::variant<CmdSubmit, RetSubmit, CmdUnlink, RetUnlink>;

// How many descriptors follow for a given number_of_packets field.
inline uint32_t iso_packet_count(uint32_t number_of_packets) {
    return number_of_packets == kNoIsoPackets ? 0 : number_of_packets;
}

const char* command_name(uint32_t command);
uint32_t seqnum_of(const Pdu& pdu);

// Encoders append one complete PDU to out. They assert the struct is
// consistent (data and iso sizes match the header fields): that is our bug.
void encode(const CmdSubmit& pdu, Bytes& out);
void encode(const RetSubmit& pdu, Bytes& out);
void encode(const CmdUnlink& pdu, Bytes& out);
void encode(const RetUnlink& pdu, Bytes& out);
void encode(const Pdu& pdu, Bytes& out);
template <typename T>
Bytes encode(const T& pdu) {
    Bytes out;
    encode(pdu, out);
    return out;
}

// What the 48-byte header says about the PDU: enough to know how many bytes
// follow it.
struct Header {
    Command command = Command::kCmdSubmit;
    BasicHeader base;
    uint32_t length = 0;             // transfer_buffer_length (CMD) or actual_length (RET)
    uint32_t number_of_packets = 0;  // raw field (SUBMITs only)
};

// Decodes and validates a header: known command, direction 0 or 1, ep <= 15,
// length <= kMaxTransferLength, at most kMaxIsoPackets descriptors.
Result<Header> decode_header(ByteSpan header);

// Bytes that follow the header. For RET_SUBMIT the caller says whether the
// URB was IN: the header does not (the kernel looks up its own URB).
size_t body_length(const Header& h, Direction ret_submit_direction = Direction::kIn);

// Decodes one complete PDU (header and body, nothing more). Iso descriptors
// are checked: in a CMD_SUBMIT each must lie inside the transfer buffer, in a
// RET_SUBMIT their actual_length must add up to actual_length.
Result<Pdu> decode_pdu(ByteSpan pdu, Direction ret_submit_direction = Direction::kIn);

}  // namespace usbhop::usbip
