#include <doctest/doctest.h>

#include "client/selection.hpp"

using namespace usbhop;
using namespace usbhop::client;

namespace {

proto::DeviceInfo device(const char* path, uint16_t vid, uint16_t pid, const char* serial) {
    proto::DeviceInfo d;
    d.bus_path = path;
    d.serial = serial;
    d.device_descriptor.assign(18, std::byte{0});
    d.device_descriptor[8] = std::byte(vid & 0xff);
    d.device_descriptor[9] = std::byte(vid >> 8);
    d.device_descriptor[10] = std::byte(pid & 0xff);
    d.device_descriptor[11] = std::byte(pid >> 8);
    return d;
}

}  // namespace

TEST_CASE("device names: bus path, vendor:product, serial") {
    struct Row {
        const char* text;
        DeviceSelector::Kind kind;
    };
    const Row rows[] = {
        {"1-1", DeviceSelector::Kind::kBusPath},
        {"3-1.2.4", DeviceSelector::Kind::kBusPath},
        {"0781:5583", DeviceSelector::Kind::kVendorProduct},
        {"1d6b:*", DeviceSelector::Kind::kVendorProduct},
        {"*:0104", DeviceSelector::Kind::kVendorProduct},
        {"0x1d6b:0x0104", DeviceSelector::Kind::kVendorProduct},
        {"4C530001", DeviceSelector::Kind::kSerial},
        {"1-", DeviceSelector::Kind::kSerial},
        {"1-1.", DeviceSelector::Kind::kSerial},
        {"12345:1", DeviceSelector::Kind::kSerial},
        {"LAB-disk", DeviceSelector::Kind::kSerial},
    };
    for (const Row& r : rows) {
        CAPTURE(r.text);
        auto s = parse_selector(r.text);
        REQUIRE(s);
        CHECK(s->kind == r.kind);
    }
    CHECK_FALSE(parse_selector(""));
}

TEST_CASE("selection matches the devices the user named, and all when none") {
    auto disk = device("1-1", 0x1d6b, 0x0104, "LAB-disk");
    auto kbd = device("2-1", 0x1d6b, 0x0105, "LAB-kbd");
    struct Row {
        std::vector<std::string> names;
        bool disk, kbd;
    };
    const Row rows[] = {
        {{}, true, true},
        {{"1-1"}, true, false},
        {{"1d6b:0105"}, false, true},
        {{"1d6b:*"}, true, true},
        {{"LAB-disk"}, true, false},
        {{"LAB-disk", "2-1"}, true, true},
        {{"9-9"}, false, false},
        {{"dead:beef"}, false, false},
    };
    for (const Row& r : rows) {
        auto sel = parse_selectors(r.names);
        REQUIRE(sel);
        CHECK(selected(*sel, disk) == r.disk);
        CHECK(selected(*sel, kbd) == r.kbd);
    }
    CHECK_FALSE(parse_selector("LAB-disk")->matches(device("1-1", 1, 2, "")));
}

TEST_CASE("device lines show a device's control characters and bad UTF-8 as escapes") {
    auto d = device("1-1", 0x1d6b, 0x0104, "x");
    d.manufacturer = "Evil\x1b[31m";
    d.product = "Disk\n\xff";
    CHECK(describe(d) == "1d6b:0104 Evil\\x1b[31m Disk\\n\\xff (1-1)");
}
