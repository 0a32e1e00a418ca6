// Building the replies we send to vhci_hcd, so that the kernel never sees a
// malformed one.
//
// vhci drops the whole device on a RET_SUBMIT it cannot swallow: IN data
// longer than the URB's buffer, iso descriptors whose actual_length do not add
// up to actual_length, or a packet count that differs from the URB's (vhci_rx.c,
// usbip_recv_iso()). The client keeps a SubmittedUrb for every CMD_SUBMIT it
// forwards and builds the answer from it here; when the result does not fit,
// it answers with error_ret_submit() instead of passing garbage on.
#pragma once

#include <span>

#include "usbip/pdu.hpp"

namespace usbhop::usbip {

// What must be remembered of a CMD_SUBMIT to answer it (no data).
struct SubmittedUrb {
    uint32_t seqnum = 0;
    Direction direction = Direction::kOut;
    uint32_t ep = 0;
    uint32_t transfer_buffer_length = 0;
    uint32_t number_of_packets = 0;  // raw, echoed in the reply
    std::vector<IsoPacket> iso;      // offset and length of each packet as submitted
    bool operator==(const SubmittedUrb&) const = default;
};

SubmittedUrb submitted_urb(const CmdSubmit& cmd);

// For iso OUT: the packets' bytes gathered from their offsets into one
// contiguous buffer (packet i right after packet i-1), the layout libusb and
// the usbhop protocol use. Non-iso: the data as is.
Bytes gather_iso_out(const CmdSubmit& cmd);

// One iso packet's outcome. For IN, data holds exactly actual_length bytes;
// for OUT it is empty.
struct IsoPacketResult {
    int32_t status = 0;
    uint32_t actual_length = 0;
    ByteSpan data;
};

// A non-iso URB's answer. in_data must be empty for OUT URBs and exactly
// actual_length bytes for IN; actual_length may not exceed the buffer.
Result<RetSubmit> make_ret_submit(const SubmittedUrb& urb, int32_t status, uint32_t actual_length, ByteSpan in_data);

// An iso URB's answer from per-packet results (one per submitted packet):
// IN data is compacted (packets back to back, no gaps), descriptors carry the
// submitted offsets and lengths, error_count counts the failed packets.
Result<RetSubmit> make_iso_ret_submit(const SubmittedUrb& urb, int32_t status, std::span<const IsoPacketResult> packets,
                                      int32_t start_frame = 0);

// A reply the kernel always accepts: the given negative errno, no data, every
// iso packet failed with the same status.
RetSubmit error_ret_submit(const SubmittedUrb& urb, int32_t status);

// Whether vhci will accept reply as the answer to urb (the checks above).
Result<void> check_ret_submit(const SubmittedUrb& urb, const RetSubmit& reply);

// RET_UNLINK answering the CMD_UNLINK whose own seqnum is cmd_unlink_seqnum
// (not the URB it names): kEconnreset when the URB was cancelled (and gets no
// RET_SUBMIT), 0 when it had already completed.
RetUnlink make_ret_unlink(uint32_t cmd_unlink_seqnum, int32_t status);

}  // namespace usbhop::usbip
