#include <doctest/doctest.h>

#include "config/export_rule.hpp"
#include "test_ids.hpp"

using namespace usbhop::config;

namespace {
DeviceFacts flash() {
    DeviceFacts d;
    d.vendor = 0x0781;
    d.product = 0x5583;
    d.serial = "4C530001";
    d.path = "1-1.2";
    d.device_class = 0;
    d.interface_classes = {0x08};
    return d;
}
}  // namespace

TEST_CASE("vendor:product accepts hex pairs and * on either side") {
    auto a = parse_vendor_product("0781:5583");
    REQUIRE(a.ok());
    CHECK(*a->vendor == 0x0781);
    CHECK(*a->product == 0x5583);
    auto b = parse_vendor_product("*:5583");
    REQUIRE(b.ok());
    CHECK_FALSE(b->vendor.has_value());
    CHECK(*b->product == 0x5583);
    auto c = parse_vendor_product("*:*");
    REQUIRE(c.ok());
    CHECK_FALSE(c->product.has_value());
    for (const char* bad : {"0781", "781:5583", "0781:55833", "g781:5583", "0781-5583", ":", "0781:"}) {
        CAPTURE(bad);
        CHECK_FALSE(parse_vendor_product(bad).ok());
    }
}

TEST_CASE("a class code is two hex digits") {
    CHECK(*parse_usb_class("08") == 0x08);
    CHECK(*parse_usb_class("0xff") == 0xff);
    CHECK_FALSE(parse_usb_class("8").ok());
    CHECK_FALSE(parse_usb_class("mass-storage").ok());
}

TEST_CASE("a rule matches when every criterion it sets holds") {
    struct Case {
        const char* what;
        ExportRule rule;
        bool match;
    };
    ExportRule any;
    ExportRule by_id;
    by_id.vendor = 0x0781;
    by_id.product = 0x5583;
    ExportRule by_product;
    by_product.product = 0x5583;
    ExportRule wrong_vendor;
    wrong_vendor.vendor = 0x046d;
    ExportRule by_serial;
    by_serial.serial = "4C530001";
    ExportRule wrong_serial = by_id;
    wrong_serial.serial = "other";
    ExportRule by_path;
    by_path.path = "1-1.2";
    ExportRule wrong_path;
    wrong_path.path = "1-1";
    ExportRule by_interface_class;
    by_interface_class.device_class = 0x08;
    ExportRule wrong_class;
    wrong_class.device_class = 0x03;
    const Case cases[] = {
        {"no criterion", any, true},
        {"vendor and product", by_id, true},
        {"product only (vendor *)", by_product, true},
        {"other vendor", wrong_vendor, false},
        {"serial", by_serial, true},
        {"id right, serial wrong", wrong_serial, false},
        {"bus path", by_path, true},
        {"parent bus path is not the device", wrong_path, false},
        {"interface class", by_interface_class, true},
        {"other class", wrong_class, false},
    };
    for (const Case& c : cases) {
        CAPTURE(c.what);
        CHECK(matches(c.rule, flash()) == c.match);
    }
}

TEST_CASE("class matches the device class too") {
    DeviceFacts hub = flash();
    hub.device_class = 0x09;
    hub.interface_classes = {};
    ExportRule r;
    r.device_class = 0x09;
    CHECK(matches(r, hub));
}

TEST_CASE("peers limit a rule to the node IDs listed") {
    ExportRule r;
    CHECK(allows_peer(r, test::node(1)));
    r.peers = {test::node(2)};
    CHECK(allows_peer(r, test::node(2)));
    CHECK_FALSE(allows_peer(r, test::node(1)));
}

TEST_CASE("a device imported here over USB/IP is shared only by a rule that names its path") {
    DeviceFacts imported = flash();
    imported.imported = true;
    imported.path = "3-1";  // a vhci_hcd port
    ExportRule any;
    ExportRule by_id;
    by_id.vendor = 0x0781;
    by_id.product = 0x5583;
    ExportRule by_path;
    by_path.path = "3-1";
    ExportRule by_path_and_id = by_id;
    by_path_and_id.path = "3-1";
    CHECK_FALSE(matches(any, imported));
    CHECK_FALSE(matches(by_id, imported));
    CHECK(matches(by_path, imported));
    CHECK(matches(by_path_and_id, imported));
    // The same rules still take the device where it is plugged in.
    CHECK(matches(any, flash()));
    CHECK(matches(by_id, flash()));
}
