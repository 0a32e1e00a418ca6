#include <doctest/doctest.h>

#include "usb/descriptors.hpp"

using namespace usbhop;
using namespace usbhop::usb;

namespace {

Bytes bytes(std::initializer_list<int> v) {
    Bytes b;
    for (int x : v) b.push_back(std::byte(x));
    return b;
}

// A SourceSink-like configuration: one vendor-specific interface with bulk IN
// 0x81 and bulk OUT 0x01 in alt 0, and alt 1 adding isochronous 0x82 / 0x02,
// plus an interface association and a class-specific descriptor to skip.
Bytes sourcesink_config() {
    Bytes c = bytes({
        9,    2,    0,    0, 2,    1,    0,  0x80, 50,  // config: wTotalLength patched below, 2 interfaces, value 1
        8,    0x0b, 0,    1, 0xff, 0,    0,  0,         // interface association (skipped)
        9,    4,    0,    0, 2,    0xff, 0,  0,    0,   // interface 0 alt 0, vendor class, 2 endpoints
        7,    5,    0x81, 2, 0x00, 0x02, 0,             // bulk IN 512
        7,    5,    0x01, 2, 0x00, 0x02, 0,             // bulk OUT 512
        9,    4,    0,    1, 4,    0xff, 0,  0,    0,   // interface 0 alt 1
        7,    5,    0x81, 2, 0x00, 0x02, 0,  7,    5,    0x01, 2,
        0x00, 0x02, 0,    7, 5,    0x82, 1,  0x00, 0x04, 4,  // iso IN 1024
        7,    5,    0x02, 1, 0x00, 0x04, 4,                  // iso OUT
        9,    4,    1,    0, 1,    0x08, 6,  0x50, 0,        // interface 1: mass storage
        5,    0x24, 1,    2, 3,                              // class-specific (skipped)
        7,    5,    0x83, 3, 8,    0,    10,                 // interrupt IN 8
    });
    c[2] = std::byte(c.size() & 0xff);
    c[3] = std::byte(c.size() >> 8);
    return c;
}

}  // namespace

TEST_CASE("a configuration descriptor parses into interfaces, alt settings and endpoints") {
    Bytes raw = sourcesink_config();
    auto c = parse_configuration(raw);
    REQUIRE(c);
    CHECK(c->value == 1);
    CHECK(c->attributes == 0x80);
    CHECK(c->max_power == 50);
    CHECK(c->raw == raw);
    REQUIRE(c->interfaces.size() == 3);
    CHECK(c->interfaces[0].number == 0);
    CHECK(c->interfaces[0].alt_setting == 0);
    CHECK(c->interfaces[0].interface_class == 0xff);
    REQUIRE(c->interfaces[0].endpoints.size() == 2);
    CHECK(c->interfaces[0].endpoints[0].address == 0x81);
    CHECK(c->interfaces[0].endpoints[0].type == TransferType::bulk);
    CHECK(c->interfaces[0].endpoints[0].max_packet_size == 512);
    CHECK(c->interfaces[1].alt_setting == 1);
    CHECK(c->interfaces[1].endpoints.size() == 4);
    CHECK(c->interfaces[1].endpoints[2].type == TransferType::isochronous);
    CHECK(c->interfaces[1].endpoints[2].max_packet_size == 1024);
    CHECK(c->interfaces[2].interface_class == 0x08);
    CHECK(c->interfaces[2].subclass == 6);
    CHECK(c->interfaces[2].protocol == 0x50);
    REQUIRE(c->interfaces[2].endpoints.size() == 1);
    CHECK(c->interfaces[2].endpoints[0].type == TransferType::interrupt);
    CHECK(c->interfaces[2].endpoints[0].interval == 10);
}

TEST_CASE("interface classes come from alt setting 0, each once") {
    auto c = parse_configuration(sourcesink_config());
    REQUIRE(c);
    CHECK(interface_classes(*c) == std::vector<uint8_t>{0xff, 0x08});
}

TEST_CASE("bytes past wTotalLength are ignored") {
    Bytes raw = sourcesink_config();
    size_t total = raw.size();
    raw.push_back(std::byte{9});
    raw.push_back(std::byte{4});
    auto c = parse_configuration(raw);
    REQUIRE(c);
    CHECK(c->raw.size() == total);
}

// The table of malformed descriptors is in tests/unit/proto/descriptors_test.cpp,
// run against the parser usb reads with; here, what usb adds in front of it:
// the cut at wTotalLength.
TEST_CASE("malformed configuration descriptors are refused with the parser's reason") {
    Bytes good = sourcesink_config();
    SUBCASE("wTotalLength past the end") {
        auto r = parse_configuration(ByteSpan(good).first(good.size() - 1));
        REQUIRE_FALSE(r);
        CHECK(r.error().message.find("wTotalLength") != std::string::npos);
    }
    SUBCASE("shorter than its header") { CHECK_FALSE(parse_configuration(ByteSpan(good).first(8))); }
    SUBCASE("too short to hold wTotalLength") { CHECK_FALSE(parse_configuration(ByteSpan(good).first(3))); }
    SUBCASE("wTotalLength under bLength, with bytes after it") {
        Bytes b = good;
        b[2] = std::byte{5};
        b[3] = std::byte{0};
        CHECK_FALSE(parse_configuration(b));
    }
}

TEST_CASE("the sysfs descriptors file splits into the device and each configuration") {
    Bytes dev = bytes({18, 1, 0, 2, 0, 0, 0, 64, 0x25, 0x05, 0xa0, 0xa4, 0, 1, 1, 2, 3, 2});
    Bytes c1 = sourcesink_config();
    Bytes c2 = bytes({9, 2, 9, 0, 0, 2, 0, 0x80, 50});
    Bytes all = dev;
    all.insert(all.end(), c1.begin(), c1.end());
    all.insert(all.end(), c2.begin(), c2.end());
    auto split = split_descriptors(all);
    REQUIRE(split);
    CHECK(split->device == dev);
    REQUIRE(split->configurations.size() == 2);
    CHECK(split->configurations[0] == c1);
    CHECK(split->configurations[1] == c2);

    CHECK_FALSE(split_descriptors(ByteSpan(dev).first(17)));
    Bytes bad = all;
    bad.pop_back();
    CHECK_FALSE(split_descriptors(bad));
    Bytes not_device = all;
    not_device[1] = std::byte{2};
    CHECK_FALSE(split_descriptors(not_device));
    CHECK(split_descriptors(dev));  // no configurations is fine
}

TEST_CASE("bus paths are written the way the kernel names devices") {
    const uint8_t one[] = {1};
    const uint8_t deep[] = {1, 2, 4};
    CHECK(format_bus_path(1, one) == "1-1");
    CHECK(format_bus_path(3, deep) == "3-1.2.4");
    CHECK(format_bus_path(2, {}) == "usb2");
}

TEST_CASE("libusb speeds map to USB/IP speed numbers") {
    CHECK(speed_from_libusb(0) == Speed::unknown);
    CHECK(speed_from_libusb(1) == Speed::low);
    CHECK(speed_from_libusb(2) == Speed::full);
    CHECK(speed_from_libusb(3) == Speed::high);
    CHECK(static_cast<int>(speed_from_libusb(4)) == 5);
    CHECK(static_cast<int>(speed_from_libusb(5)) == 6);
    CHECK(speed_from_libusb(42) == Speed::unknown);
    CHECK(std::string(to_string(Speed::high)) == "480M");
}

TEST_CASE("endpoints are looked up in the alt setting each interface is in") {
    auto c = parse_configuration(sourcesink_config());
    REQUIRE(c);
    std::map<uint8_t, uint8_t> alts;
    CHECK(find_endpoint(*c, alts, 0x81)->type == TransferType::bulk);
    CHECK_FALSE(find_endpoint(*c, alts, 0x82));  // only in alt 1
    CHECK(find_endpoint(*c, alts, 0x83)->type == TransferType::interrupt);
    CHECK(find_endpoint(*c, alts, 0x00)->type == TransferType::control);
    CHECK(find_endpoint(*c, alts, 0x80)->type == TransferType::control);
    alts[0] = 1;
    CHECK(find_endpoint(*c, alts, 0x82)->type == TransferType::isochronous);
    CHECK(find_endpoint(*c, alts, 0x02)->type == TransferType::isochronous);
    CHECK_FALSE(find_endpoint(*c, alts, 0x84));
}

TEST_CASE("a device's interface classes follow its active configuration") {
    DeviceInfo info;
    auto c = parse_configuration(sourcesink_config());
    REQUIRE(c);
    info.configurations.push_back(*c);
    info.active_config = 1;
    CHECK(info.interface_classes() == std::vector<uint8_t>{0xff, 0x08});
    CHECK(info.configuration(1) != nullptr);
    CHECK(info.configuration(2) == nullptr);
}
