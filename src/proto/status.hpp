// The codes the usbhop protocol carries: a URB's status, and the reason of an
// error, a refused attach or a detach (docs/protocol.md "Codes").
//
// UrbStatus is what the server saw; the client turns it into the negative
// Linux errno that vhci_hcd and the kernel's drivers expect
// (docs/architecture.md#usb-facts).
// The server maps libusb's results onto it:
//   LIBUSB_TRANSFER_COMPLETED  -> kOk (or kShortPacket: SHORT_NOT_OK and short)
//   LIBUSB_TRANSFER_STALL      -> kStall          LIBUSB_TRANSFER_OVERFLOW -> kOverflow
//   LIBUSB_TRANSFER_TIMED_OUT  -> kTimeout        LIBUSB_TRANSFER_NO_DEVICE -> kNoDevice
//   LIBUSB_TRANSFER_CANCELLED  -> kCancelled      LIBUSB_TRANSFER_ERROR -> kProtocolError
//   submit failed: LIBUSB_ERROR_NO_MEM -> kNoMemory, _NOT_SUPPORTED -> kNotSupported,
//   _INVALID_PARAM -> kInvalid, _NO_DEVICE -> kNoDevice, others -> kProtocolError
#pragma once

#include <cstdint>

namespace usbhop::proto {

enum class UrbStatus : uint8_t {
    kOk = 0,             // 0
    kStall = 1,          // -EPIPE
    kOverflow = 2,       // -EOVERFLOW (babble)
    kTimeout = 3,        // -ETIMEDOUT
    kNoDevice = 4,       // -ENODEV
    kCancelled = 5,      // -ECONNRESET
    kProtocolError = 6,  // -EPROTO (also: any code this build does not know)
    kShortPacket = 7,    // -EREMOTEIO (short IN with SHORT_NOT_OK)
    kIsoMissed = 8,      // -EXDEV (iso packet not transferred)
    kInvalid = 9,        // -EINVAL (the server refused the request)
    kNotSupported = 10,  // -EOPNOTSUPP
    kNoMemory = 11,      // -ENOMEM (e.g. usbfs_memory_mb exhausted)
    kShutdown = 12,      // -ESHUTDOWN (device being released)
};

// Negative Linux errno for vhci; unknown codes give -EPROTO.
int32_t to_errno(UrbStatus status);
// The status for a negative (or positive) Linux errno; unknown ones give kProtocolError.
UrbStatus status_from_errno(int32_t err);
const char* status_name(UrbStatus status);

// Why something failed or ended: Error.code, AttachError.reason,
// Detached.reason. Also the QUIC application error code when a connection is
// closed for that reason.
enum class Reason : uint16_t {
    kNone = 0,             // no error; Detached: the client asked for it
    kProtocol = 1,         // malformed or unexpected message
    kVersion = 2,          // no protocol version in common
    kNotAuthorized = 3,    // the peer is not allowed to do this
    kNotFound = 4,         // no such device or attachment
    kNotShared = 5,        // the device exists but is not exported to this peer
    kInUse = 6,            // attached by another peer (AttachError.holder says who)
    kGone = 7,             // the device was unplugged
    kBusy = 8,             // a server limit was reached; try later
    kInternal = 9,         // the server failed (libusb error, claim failed, ...)
    kSessionExpired = 10,  // the resume token is unknown or its grace period is over
    kShuttingDown = 11,    // the server is stopping
    kTooLarge = 12,        // a message or transfer beyond the limits
    kClaimFailed = 13,     // the server could not take the device from its driver
};

const char* reason_name(Reason reason);

}  // namespace usbhop::proto
