#include "proto/status.hpp"

namespace usbhop::proto {

namespace {

// Linux errno numbers, fixed: the wire meaning must not depend on the host.
constexpr int32_t kEnomem = 12, kExdev = 18, kEnodev = 19, kEinval = 22, kEpipe = 32, kEproto = 71, kEoverflow = 75,
                  kEopnotsupp = 95, kEconnreset = 104, kEshutdown = 108, kEtimedout = 110, kEremoteio = 121;

}  // namespace

int32_t to_errno(UrbStatus status) {
    switch (status) {
    case UrbStatus::kOk: return 0;
    case UrbStatus::kStall: return -kEpipe;
    case UrbStatus::kOverflow: return -kEoverflow;
    case UrbStatus::kTimeout: return -kEtimedout;
    case UrbStatus::kNoDevice: return -kEnodev;
    case UrbStatus::kCancelled: return -kEconnreset;
    case UrbStatus::kProtocolError: return -kEproto;
    case UrbStatus::kShortPacket: return -kEremoteio;
    case UrbStatus::kIsoMissed: return -kExdev;
    case UrbStatus::kInvalid: return -kEinval;
    case UrbStatus::kNotSupported: return -kEopnotsupp;
    case UrbStatus::kNoMemory: return -kEnomem;
    case UrbStatus::kShutdown: return -kEshutdown;
    }
    return -kEproto;
}

UrbStatus status_from_errno(int32_t err) {
    switch (err < 0 ? -err : err) {
    case 0: return UrbStatus::kOk;
    case kEpipe: return UrbStatus::kStall;
    case kEoverflow: return UrbStatus::kOverflow;
    case kEtimedout: return UrbStatus::kTimeout;
    case kEnodev: return UrbStatus::kNoDevice;
    case kEconnreset: return UrbStatus::kCancelled;
    case 2: return UrbStatus::kCancelled;  // -ENOENT: killed synchronously
    case kEremoteio: return UrbStatus::kShortPacket;
    case kExdev: return UrbStatus::kIsoMissed;
    case kEinval: return UrbStatus::kInvalid;
    case kEopnotsupp: return UrbStatus::kNotSupported;
    case kEnomem: return UrbStatus::kNoMemory;
    case kEshutdown: return UrbStatus::kShutdown;
    default: return UrbStatus::kProtocolError;
    }
}

const char* status_name(UrbStatus status) {
    switch (status) {
    case UrbStatus::kOk: return "ok";
    case UrbStatus::kStall: return "stall";
    case UrbStatus::kOverflow: return "overflow";
    case UrbStatus::kTimeout: return "timeout";
    case UrbStatus::kNoDevice: return "no device";
    case UrbStatus::kCancelled: return "cancelled";
    case UrbStatus::kProtocolError: return "protocol error";
    case UrbStatus::kShortPacket: return "short packet";
    case UrbStatus::kIsoMissed: return "iso packet missed";
    case UrbStatus::kInvalid: return "invalid request";
    case UrbStatus::kNotSupported: return "not supported";
    case UrbStatus::kNoMemory: return "out of memory";
    case UrbStatus::kShutdown: return "shut down";
    }
    return "unknown status";
}

const char* reason_name(Reason reason) {
    switch (reason) {
    case Reason::kNone: return "none";
    case Reason::kProtocol: return "protocol error";
    case Reason::kVersion: return "no common protocol version";
    case Reason::kNotAuthorized: return "not authorized";
    case Reason::kNotFound: return "not found";
    case Reason::kNotShared: return "not shared";
    case Reason::kInUse: return "in use";
    case Reason::kGone: return "device gone";
    case Reason::kBusy: return "busy";
    case Reason::kInternal: return "internal error";
    case Reason::kSessionExpired: return "session expired";
    case Reason::kShuttingDown: return "shutting down";
    case Reason::kTooLarge: return "too large";
    case Reason::kClaimFailed: return "claim failed";
    }
    return "unknown reason";
}

}  // namespace usbhop::proto
