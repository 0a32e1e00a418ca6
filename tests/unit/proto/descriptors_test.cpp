#include <doctest/doctest.h>

#include "../usbip/hex.hpp"
#include "proto/descriptors.hpp"
#include "samples.hpp"

using namespace usbhop;
using namespace usbhop::proto;
using test::from_hex;

namespace {

// A UAC-like configuration: interface 0 (control, interrupt IN 0x83), interface 1
// with alt 0 (no endpoints) and alt 1 (iso OUT 0x01 with a class-specific
// descriptor in between), plus an IAD before them.
const char* const kAudioConfig =
    "09 02 41 00 02 01 00 80 32"
    "08 0b 00 02 01 00 00 00"     // interface association
    "09 04 00 00 01 01 01 00 00"  // interface 0 alt 0
    "07 05 83 03 08 00 04"        // interrupt IN 0x83
    "09 04 01 00 00 01 02 00 00"  // interface 1 alt 0
    "09 04 01 01 01 01 02 00 00"  // interface 1 alt 1
    "07 24 01 01 01 01 00"        // class-specific AS
    "07 05 01 05 c8 00 01";       // iso OUT 0x01, 200 bytes

}  // namespace

TEST_CASE("a configuration's interfaces and endpoints are read with their types") {
    auto c = parse_configuration(test::sample_device().configurations[0]);
    REQUIRE(c.ok());
    CHECK(c->value == 1);
    CHECK(c->attributes == 0x80);
    CHECK(c->max_power == 0x32);
    REQUIRE(c->interfaces.size() == 1);
    CHECK(c->interfaces[0].class_code == 0x08);
    CHECK(c->interfaces[0].endpoints == std::vector<EndpointDescriptor>{{0x81, 0x02, 512, 0}, {0x02, 0x02, 512, 0}});
    CHECK(endpoint_type(*c, 0x81) == TransferType::kBulk);
    CHECK(endpoint_type(*c, 0x02) == TransferType::kBulk);
    CHECK(endpoint_type(*c, 0x00) == TransferType::kControl);
    CHECK(endpoint_type(*c, 0x80) == TransferType::kControl);
    CHECK_FALSE(endpoint_type(*c, 0x01).has_value());  // OUT 1 does not exist, only IN 1
}

TEST_CASE("endpoint types follow the chosen alternate setting") {
    auto c = parse_configuration(from_hex(kAudioConfig));
    REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.error().message));
    REQUIRE(c->interfaces.size() == 3);
    CHECK(endpoint_type(*c, 0x83) == TransferType::kInterrupt);
    CHECK_FALSE(endpoint_type(*c, 0x01).has_value());  // interface 1 in alt 0 has no endpoints
    auto alt1 = [](uint8_t interface) -> uint8_t { return interface == 1 ? 1 : 0; };
    CHECK(endpoint_type(*c, 0x01, alt1) == TransferType::kIso);
    CHECK(c->interfaces[2].endpoints[0].max_packet_size == 200);
}

TEST_CASE("malformed configuration descriptors are refused with the offset named") {
    struct Case {
        const char* name;
        const char* hex;
        const char* message;
    };
    const Case cases[] = {
        {"empty", "", "offset 0: not a CONFIGURATION descriptor"},
        {"a device descriptor", "12 01 00 02 00 00 00 40 25", "not a CONFIGURATION descriptor"},
        {"shorter than its header", "09 02 09 00 01 01 00 80", "offset 0: not a CONFIGURATION descriptor"},
        {"another descriptor type", "09 01 09 00 01 01 00 80 32", "offset 0: not a CONFIGURATION descriptor"},
        {"wTotalLength too large", "09 02 0a 00 01 01 00 80 32", "offset 2: wTotalLength 10 but 9 bytes"},
        {"bytes past wTotalLength", "09 02 09 00 01 01 00 80 32 09 04", "offset 2: wTotalLength 9 but 11 bytes"},
        {"bLength past wTotalLength", "0c 02 09 00 01 01 00 80 32", "offset 0: bLength 12 is more than wTotalLength 9"},
        {"zero bLength (would loop forever)", "09 02 0b 00 01 01 00 80 32 00 04", "offset 9: bLength 0 is less than 2"},
        {"descriptor past the end", "09 02 0c 00 01 01 00 80 32 09 04 00", "offset 9: bLength 9 runs past the end"},
        {"interface past the end", "09 02 12 00 01 01 00 80 32 0c 04 00 00 00 ff 00 00 00",
         "offset 9: bLength 12 runs past the end"},
        {"header cut off", "09 02 0a 00 01 01 00 80 32 09", "offset 9: a descriptor header is cut off"},
        {"short interface", "09 02 0d 00 01 01 00 80 32 04 04 00 00", "INTERFACE descriptor of 4 bytes"},
        {"truncated interface", "09 02 0e 00 01 01 00 80 32 05 04 00 00 00",
         "offset 9: INTERFACE descriptor of 5 bytes"},
        {"endpoint without interface", "09 02 10 00 01 01 00 80 32 07 05 81 02 00 02 00",
         "ENDPOINT descriptor before any INTERFACE"},
        {"short endpoint", "09 02 17 00 01 01 00 80 32 09 04 00 00 01 08 06 50 00 05 05 81 02 00",
         "ENDPOINT descriptor of 5 bytes"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.name);
        auto r = parse_configuration(from_hex(c.hex));
        REQUIRE_FALSE(r.ok());
        CHECK_MESSAGE(r.error().message.find(c.message) != std::string::npos, r.error().message);
    }
}

// USB 2.0 §9.6.6: endpoint 0 has no descriptor. A device that sends one
// anyway keeps working (as it does under the kernel): the configuration
// parses, and endpoint 0 is still control.
TEST_CASE("an ENDPOINT descriptor for endpoint 0 does not make endpoint 0 anything but control") {
    auto c =
        parse_configuration(from_hex("09 02 19 00 01 01 00 80 32 09 04 00 00 01 08 06 50 00 07 05 80 02 00 02 00"));
    REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.error().message));
    CHECK(c->interfaces[0].endpoints.size() == 1);
    CHECK(endpoint_type(*c, 0x80) == TransferType::kControl);
    CHECK(endpoint_type(*c, 0x00) == TransferType::kControl);
}

TEST_CASE("a device's configuration is found by its value") {
    DeviceInfo d = test::sample_device();
    d.configurations.push_back(from_hex(kAudioConfig));
    CHECK(find_configuration(d, 1)->interfaces.size() == 1);
    CHECK_FALSE(find_configuration(d, 2).has_value());
}
