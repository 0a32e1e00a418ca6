// Fuzzes usb/requests: parse_setup on the 8 bytes of a control transfer's
// SETUP packet as a peer's Submit carries them, and classify_request, which
// decides which requests are carried out with libusb's own calls instead of
// being sent raw (USB 2.0 §9.4).
//
// Input: any bytes; each 8 of them is one SETUP packet.
// Checks: the fields read back little-endian to the same 8 bytes; a request
// is intercepted exactly for the four standard forms requests.hpp names, and
// what the intercept carries comes from the right field.
#include <array>
#include <cstdint>
#include <cstring>

#include "../fuzz_check.hpp"
#include "usb/requests.hpp"

using namespace usbhop;
using usb::Intercept;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    for (size_t off = 0; off + 8 <= size; off += 8) {
        std::array<uint8_t, 8> raw;
        std::memcpy(raw.data(), data + off, 8);
        usb::Setup s = usb::parse_setup(raw);
        const std::array<uint8_t, 8> back = {s.request_type,
                                             s.request,
                                             static_cast<uint8_t>(s.value),
                                             static_cast<uint8_t>(s.value >> 8),
                                             static_cast<uint8_t>(s.index),
                                             static_cast<uint8_t>(s.index >> 8),
                                             static_cast<uint8_t>(s.length),
                                             static_cast<uint8_t>(s.length >> 8)};
        FUZZ_CHECK(back == raw);
        FUZZ_CHECK(s.is_in() == ((raw[0] & 0x80) != 0));

        Intercept i = usb::classify_request(s);
        FUZZ_CHECK(usb::to_string(i.kind) != nullptr);
        switch (i.kind) {
        case Intercept::Kind::none: break;
        case Intercept::Kind::set_configuration:
            FUZZ_CHECK(raw[0] == 0x00 && raw[1] == 9 && i.config == raw[2]);
            break;
        case Intercept::Kind::set_interface:
            FUZZ_CHECK(raw[0] == 0x01 && raw[1] == 11 && i.alt == raw[2] && i.interface == raw[4]);
            break;
        case Intercept::Kind::clear_halt:
            FUZZ_CHECK(raw[0] == 0x02 && raw[1] == 1 && s.value == 0 && i.endpoint == raw[4]);
            break;
        case Intercept::Kind::reset_device:
            FUZZ_CHECK(raw[0] == 0x23 && raw[1] == 3 && s.value == 4);
            break;
        }
        // No IN request is ever intercepted: its data stage must reach the device.
        if (s.is_in()) FUZZ_CHECK(i.kind == Intercept::Kind::none);
    }
    return 0;
}
