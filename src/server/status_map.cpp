#include "server/status_map.hpp"

namespace usbhop::server {

proto::UrbStatus to_wire(usb::Status status) {
    using usb::Status;
    using proto::UrbStatus;
    switch (status) {
    case Status::completed: return UrbStatus::kOk;
    case Status::stall: return UrbStatus::kStall;
    case Status::overflow: return UrbStatus::kOverflow;
    case Status::timeout: return UrbStatus::kTimeout;
    case Status::no_device: return UrbStatus::kNoDevice;
    case Status::cancelled: return UrbStatus::kCancelled;
    case Status::error: return UrbStatus::kProtocolError;
    }
    return UrbStatus::kProtocolError;
}

proto::UrbStatus to_wire(const TransferFacts& f) {
    if (f.status == usb::Status::cancelled && f.released) return proto::UrbStatus::kShutdown;
    if (f.status == usb::Status::error && f.in && f.short_not_ok && f.actual < f.requested)
        return proto::UrbStatus::kShortPacket;
    return to_wire(f.status);
}

proto::UrbStatus iso_packet_to_wire(usb::Status status) {
    return status == usb::Status::error ? proto::UrbStatus::kIsoMissed : to_wire(status);
}

proto::UrbStatus from_submit_errno(int err) {
    if (err == 0) return proto::UrbStatus::kProtocolError;  // a failure without a code is still a failure
    return proto::status_from_errno(err);
}

}  // namespace usbhop::server
