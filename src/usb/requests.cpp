#include "usb/requests.hpp"

#include <cstddef>

namespace usbhop::usb {

namespace {
// USB 2.0 §9.3 and §9.4, Table 9-4 (bRequest) and §11.24.2 (hub class).
constexpr uint8_t kRequestClearFeature = 1;
constexpr uint8_t kRequestSetFeature = 3;
constexpr uint8_t kRequestSetConfiguration = 9;
constexpr uint8_t kRequestSetInterface = 11;
constexpr uint8_t kTypeStandardDeviceOut = 0x00;
constexpr uint8_t kTypeStandardInterfaceOut = 0x01;
constexpr uint8_t kTypeStandardEndpointOut = 0x02;
constexpr uint8_t kTypeClassOtherOut = 0x23;  // a hub's port
constexpr uint16_t kFeatureEndpointHalt = 0;
constexpr uint16_t kFeaturePortReset = 4;
}  // namespace

Setup parse_setup(const std::array<uint8_t, 8>& raw) {
    auto le16 = [&](size_t i) { return static_cast<uint16_t>(raw[i] | raw[i + 1] << 8); };
    return Setup{raw[0], raw[1], le16(2), le16(4), le16(6)};
}

Intercept classify_request(const Setup& s) {
    Intercept out;
    if (s.request_type == kTypeStandardDeviceOut && s.request == kRequestSetConfiguration) {
        out.kind = Intercept::Kind::set_configuration;
        out.config = static_cast<uint8_t>(s.value & 0xff);
    } else if (s.request_type == kTypeStandardInterfaceOut && s.request == kRequestSetInterface) {
        out.kind = Intercept::Kind::set_interface;
        out.interface = static_cast<uint8_t>(s.index & 0xff);
        out.alt = static_cast<uint8_t>(s.value & 0xff);
    } else if (s.request_type == kTypeStandardEndpointOut && s.request == kRequestClearFeature &&
               s.value == kFeatureEndpointHalt) {
        out.kind = Intercept::Kind::clear_halt;
        out.endpoint = static_cast<uint8_t>(s.index & 0xff);
    } else if (s.request_type == kTypeClassOtherOut && s.request == kRequestSetFeature &&
               s.value == kFeaturePortReset) {
        out.kind = Intercept::Kind::reset_device;
    }
    return out;
}

const char* to_string(Intercept::Kind kind) {
    switch (kind) {
    case Intercept::Kind::none: return "none";
    case Intercept::Kind::set_configuration: return "SET_CONFIGURATION";
    case Intercept::Kind::set_interface: return "SET_INTERFACE";
    case Intercept::Kind::clear_halt: return "CLEAR_FEATURE(ENDPOINT_HALT)";
    case Intercept::Kind::reset_device: return "SET_FEATURE(PORT_RESET)";
    }
    return "?";
}

}  // namespace usbhop::usb
