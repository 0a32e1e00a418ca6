// How libusb's results become usb::Status, and Status as the negative errno
// USB/IP carries (usbip_protocol.rst; the kernel's usbip-host reports the
// same values from its URBs).
#pragma once

#include "usb/types.hpp"

namespace usbhop::usb {

// From enum libusb_transfer_status.
Status status_from_transfer(int libusb_transfer_status);
// From a negative enum libusb_error returned by a synchronous call
// (libusb_set_interface_alt_setting and friends); 0 is completed.
Status status_from_error(int libusb_error);
// 0, -EPIPE, -EOVERFLOW, -ETIMEDOUT, -ENODEV, -ECONNRESET, -EPROTO.
int to_errno(Status status);
const char* to_string(Status status);

}  // namespace usbhop::usb
