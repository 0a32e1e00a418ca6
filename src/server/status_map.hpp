// server/status_map: the one place where usb::Status becomes a proto::UrbStatus
// (docs/protocol.md §12.1), and a failed submit's errno becomes a status.
#pragma once

#include <cstdint>

#include "proto/status.hpp"
#include "usb/types.hpp"

namespace usbhop::server {

struct TransferFacts {
    usb::Status status = usb::Status::completed;
    bool in = false;
    bool short_not_ok = false;  // the Submit asked for SHORT_NOT_OK
    uint32_t requested = 0;     // the Submit's length
    uint32_t actual = 0;
    bool released = false;      // cancelled because the attachment is ending, not by an Unlink
};

// A transfer's end as the wire reports it. libusb reports a short IN with
// SHORT_NOT_OK as a plain error: that one becomes kShortPacket; a cancel the
// server made itself (detach, shutdown) becomes kShutdown.
proto::UrbStatus to_wire(const TransferFacts& facts);
proto::UrbStatus to_wire(usb::Status status);
// One isochronous packet: a packet that was not transferred is kIsoMissed.
proto::UrbStatus iso_packet_to_wire(usb::Status status);
// A submit usb::Host refused at once (negative errno from Host::submit).
proto::UrbStatus from_submit_errno(int err);

}  // namespace usbhop::server
