// usbhop::vhci — the client's side of the kernel: the vhci_hcd virtual host
// controller. It promises three things: a port table read from sysfs (and a
// free port of the right speed chosen from it), attach/detach through one end
// of an AF_UNIX socketpair owned by a VhciPort, and the small state files
// under /run/usbhop that let other usbhop commands see what is attached.
// It knows nothing of QUIC or the USB/IP codec; the client speaks USB/IP on
// VhciPort::socket().
#pragma once

#include "vhci/controller.hpp"
#include "vhci/state.hpp"
#include "vhci/status.hpp"
#include "util/unique_fd.hpp"
