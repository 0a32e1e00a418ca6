// `usbhop version`: the versions usbhop runs with, asked of each library at
// run time (not the headers it was built against). The only reason cli/ links
// libusb, ngtcp2, GnuTLS and libuv directly.
#include <gnutls/gnutls.h>
#include <libusb.h>
#include <ngtcp2/ngtcp2.h>
#include <uv.h>

#include <cstdio>

#include "cli/commands.hpp"
#include "usbhop_config.h"

namespace usbhop::cli {

std::string versions_text() {
    const libusb_version* usb = libusb_get_version();
    char usb_version[64];
    std::snprintf(usb_version, sizeof usb_version, "%u.%u.%u%s", usb->major, usb->minor, usb->micro, usb->rc);
    const ngtcp2_info* quic = ngtcp2_version(0);
    std::string out = "usbhop " USBHOP_VERSION "\n";
    out += std::string("libusb ") + usb_version + "\n";
    out += std::string("ngtcp2 ") + (quic ? quic->version_str : "unknown") + "\n";
    out += std::string("GnuTLS ") + gnutls_check_version(nullptr) + "\n";
    out += std::string("libuv ") + uv_version_string() + "\n";
    return out;
}

int run_version(const Invocation&) {
    std::fputs(versions_text().c_str(), stdout);
    return kExitOk;
}

}  // namespace usbhop::cli
