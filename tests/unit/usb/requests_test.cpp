#include <doctest/doctest.h>

#include <string>

#include "usb/requests.hpp"

using namespace usbhop::usb;

namespace {
Intercept classify(std::array<uint8_t, 8> raw) { return classify_request(parse_setup(raw)); }
}  // namespace

TEST_CASE("setup packets are read little-endian") {
    Setup s = parse_setup({0x80, 6, 0x00, 0x01, 0x09, 0x04, 0x12, 0x00});
    CHECK(s.request_type == 0x80);
    CHECK(s.request == 6);
    CHECK(s.value == 0x0100);
    CHECK(s.index == 0x0409);
    CHECK(s.length == 18);
    CHECK(s.is_in());
}

TEST_CASE("only the standard requests the host must know about are intercepted") {
    struct Case {
        std::array<uint8_t, 8> setup;
        Intercept::Kind kind;
        const char* what;
    };
    const Case cases[] = {
        {{0x00, 9, 1, 0, 0, 0, 0, 0}, Intercept::Kind::set_configuration, "SET_CONFIGURATION 1"},
        {{0x00, 9, 0, 0, 0, 0, 0, 0}, Intercept::Kind::set_configuration, "SET_CONFIGURATION 0 (unconfigure)"},
        {{0x01, 11, 1, 0, 2, 0, 0, 0}, Intercept::Kind::set_interface, "SET_INTERFACE"},
        {{0x02, 1, 0, 0, 0x81, 0, 0, 0}, Intercept::Kind::clear_halt, "CLEAR_FEATURE(ENDPOINT_HALT)"},
        {{0x23, 3, 4, 0, 1, 0, 0, 0}, Intercept::Kind::reset_device, "SET_FEATURE(PORT_RESET)"},
        {{0x80, 6, 0, 1, 0, 0, 18, 0}, Intercept::Kind::none, "GET_DESCRIPTOR"},
        {{0x80, 8, 0, 0, 0, 0, 1, 0}, Intercept::Kind::none, "GET_CONFIGURATION"},
        {{0x81, 10, 0, 0, 0, 0, 1, 0}, Intercept::Kind::none, "GET_INTERFACE"},
        {{0x00, 5, 3, 0, 0, 0, 0, 0}, Intercept::Kind::none, "SET_ADDRESS (vhci handles it)"},
        {{0x02, 3, 0, 0, 0x81, 0, 0, 0}, Intercept::Kind::none, "SET_FEATURE(ENDPOINT_HALT)"},
        {{0x02, 1, 1, 0, 0x81, 0, 0, 0}, Intercept::Kind::none, "CLEAR_FEATURE with another feature"},
        {{0x00, 1, 1, 0, 0, 0, 0, 0}, Intercept::Kind::none, "CLEAR_FEATURE(DEVICE_REMOTE_WAKEUP)"},
        {{0x21, 9, 0, 2, 0, 0, 1, 0}, Intercept::Kind::none, "HID SET_REPORT (class, not standard)"},
        {{0x41, 11, 1, 0, 2, 0, 0, 0}, Intercept::Kind::none, "vendor request numbered like SET_INTERFACE"},
        {{0x40, 9, 1, 0, 0, 0, 0, 0}, Intercept::Kind::none, "vendor request numbered like SET_CONFIGURATION"},
        {{0x23, 3, 8, 0, 1, 0, 0, 0}, Intercept::Kind::none, "SET_FEATURE(PORT_POWER)"},
        {{0x23, 1, 4, 0, 1, 0, 0, 0}, Intercept::Kind::none, "CLEAR_FEATURE(PORT_RESET)"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.what);
        CHECK(classify(c.setup).kind == c.kind);
    }
}

TEST_CASE("intercepted requests carry their arguments") {
    CHECK(classify({0x00, 9, 2, 0, 0, 0, 0, 0}).config == 2);
    Intercept si = classify({0x01, 11, 3, 0, 1, 0, 0, 0});
    CHECK(si.interface == 1);
    CHECK(si.alt == 3);
    CHECK(classify({0x02, 1, 0, 0, 0x82, 0, 0, 0}).endpoint == 0x82);
    CHECK(classify({0x02, 1, 0, 0, 0x02, 0, 0, 0}).endpoint == 0x02);
    CHECK(std::string(to_string(Intercept::Kind::clear_halt)) == "CLEAR_FEATURE(ENDPOINT_HALT)");
}
