#include "usb/status.hpp"

#include <libusb.h>

#include <cerrno>

namespace usbhop::usb {

Status status_from_transfer(int s) {
    switch (s) {
    case LIBUSB_TRANSFER_COMPLETED: return Status::completed;
    case LIBUSB_TRANSFER_STALL: return Status::stall;
    case LIBUSB_TRANSFER_OVERFLOW: return Status::overflow;
    case LIBUSB_TRANSFER_TIMED_OUT: return Status::timeout;
    case LIBUSB_TRANSFER_NO_DEVICE: return Status::no_device;
    case LIBUSB_TRANSFER_CANCELLED: return Status::cancelled;
    case LIBUSB_TRANSFER_ERROR:
    default: return Status::error;
    }
}

Status status_from_error(int e) {
    switch (e) {
    case LIBUSB_SUCCESS: return Status::completed;
    case LIBUSB_ERROR_PIPE: return Status::stall;
    // An alt setting or configuration the device does not have: the device
    // itself would have stalled the request.
    case LIBUSB_ERROR_NOT_FOUND: return Status::stall;
    case LIBUSB_ERROR_OVERFLOW: return Status::overflow;
    case LIBUSB_ERROR_TIMEOUT: return Status::timeout;
    case LIBUSB_ERROR_NO_DEVICE: return Status::no_device;
    case LIBUSB_ERROR_INTERRUPTED: return Status::cancelled;
    default: return Status::error;
    }
}

int to_errno(Status status) {
    switch (status) {
    case Status::completed: return 0;
    case Status::stall: return -EPIPE;
    case Status::overflow: return -EOVERFLOW;
    case Status::timeout: return -ETIMEDOUT;
    case Status::no_device: return -ENODEV;
    case Status::cancelled: return -ECONNRESET;
    case Status::error: return -EPROTO;
    }
    return -EPROTO;
}

const char* to_string(Status status) {
    switch (status) {
    case Status::completed: return "completed";
    case Status::stall: return "stall";
    case Status::overflow: return "overflow";
    case Status::timeout: return "timeout";
    case Status::no_device: return "no_device";
    case Status::cancelled: return "cancelled";
    case Status::error: return "error";
    }
    return "?";
}

}  // namespace usbhop::usb
