// Standard requests that must not reach the device raw (USB 2.0 §9.4): the
// host's USB core has to know about them, so they are carried out with
// libusb's own calls instead, as the kernel's usbip-host does in stub_rx.c.
#pragma once

#include <array>
#include <cstdint>

namespace usbhop::usb {

struct Setup {
    uint8_t request_type = 0;  // bmRequestType
    uint8_t request = 0;       // bRequest
    uint16_t value = 0;        // wValue
    uint16_t index = 0;        // wIndex
    uint16_t length = 0;       // wLength

    bool is_in() const { return (request_type & 0x80) != 0; }
};

// The 8 raw bytes are little-endian (USB order), whatever the host's order.
Setup parse_setup(const std::array<uint8_t, 8>& raw);

struct Intercept {
    enum class Kind : uint8_t {
        none,               // send it to the device as it is
        set_configuration,  // libusb_set_configuration(config)
        set_interface,      // libusb_set_interface_alt_setting(interface, alt)
        clear_halt,         // libusb_clear_halt(endpoint)
        reset_device,       // SET_FEATURE(PORT_RESET) addressed to a hub port: libusb_reset_device
    };
    Kind kind = Kind::none;
    uint8_t config = 0;
    uint8_t interface = 0;
    uint8_t alt = 0;
    uint8_t endpoint = 0;
};

Intercept classify_request(const Setup& setup);
const char* to_string(Intercept::Kind kind);

}  // namespace usbhop::usb
