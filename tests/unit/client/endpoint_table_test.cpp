#include <doctest/doctest.h>

#include "client/endpoint_table.hpp"

using namespace usbhop;
using namespace usbhop::client;
using proto::TransferType;

namespace {

// A configuration with interface 0 (alt 0: bulk 0x81/0x02; alt 1: iso 0x81)
// and interface 1 (interrupt 0x83).
Bytes config(uint8_t value) {
    Bytes c;
    ByteWriter w(c);
    auto ep = [&](uint8_t addr, uint8_t attr) { w.put_u8(7); w.put_u8(5); w.put_u8(addr); w.put_u8(attr); w.put_u16_le(64); w.put_u8(1); };
    auto intf = [&](uint8_t num, uint8_t alt, uint8_t neps) { w.put_u8(9); w.put_u8(4); w.put_u8(num); w.put_u8(alt); w.put_u8(neps); w.put_u8(0xff); w.put_u8(0); w.put_u8(0); w.put_u8(0); };
    w.put_u8(9); w.put_u8(2); w.put_u16_le(0); w.put_u8(2); w.put_u8(value); w.put_u8(0); w.put_u8(0x80); w.put_u8(50);
    intf(0, 0, 2); ep(0x81, 2); ep(0x02, 2);
    intf(0, 1, 1); ep(0x81, 1);
    intf(1, 0, 1); ep(0x83, 3);
    c[2] = std::byte(c.size() & 0xff);
    c[3] = std::byte(c.size() >> 8);
    return c;
}

std::array<std::byte, 8> setup(uint8_t type, uint8_t req, uint8_t value, uint8_t index) {
    return {std::byte{type}, std::byte{req}, std::byte{value}, std::byte{0}, std::byte{index}, std::byte{0}, std::byte{0}, std::byte{0}};
}

}  // namespace

TEST_CASE("endpoint types come from the active configuration and alternate setting") {
    EndpointTable t({config(1)}, 1);
    CHECK(t.type_of(0x00) == TransferType::kControl);
    CHECK(t.type_of(0x80) == TransferType::kControl);
    CHECK(t.type_of(0x81) == TransferType::kBulk);
    CHECK(t.type_of(0x02) == TransferType::kBulk);
    CHECK(t.type_of(0x83) == TransferType::kInterrupt);
    CHECK_FALSE(t.type_of(0x04).has_value());

    t.observe_setup(setup(0x01, 0x0b, 1, 0));  // SET_INTERFACE(0, alt 1)
    CHECK(t.alt_setting(0) == 1);
    CHECK(t.type_of(0x81) == TransferType::kIso);

    t.observe_setup(setup(0x00, 0x09, 1, 0));  // SET_CONFIGURATION(1) resets alternate settings
    CHECK(t.type_of(0x81) == TransferType::kBulk);
}

TEST_CASE("an unconfigured device still finds its endpoints in any configuration") {
    EndpointTable t({config(1)}, 0);
    CHECK(t.type_of(0x83) == TransferType::kInterrupt);
    t.observe_setup(setup(0x00, 0x09, 1, 0));
    CHECK(t.active_config() == 1);
}

TEST_CASE("requests that are not SET_CONFIGURATION or SET_INTERFACE change nothing") {
    EndpointTable t({config(1)}, 1);
    t.observe_setup(setup(0x80, 0x06, 1, 0));
    t.observe_setup(setup(0x21, 0x0b, 1, 0));  // class request with the same number
    CHECK(t.alt_setting(0) == 0);
    CHECK(t.active_config() == 1);
}

TEST_CASE("a broken configuration descriptor is left out") {
    Bytes bad = config(1);
    bad.resize(12);
    EndpointTable t({bad}, 1);
    CHECK_FALSE(t.type_of(0x81).has_value());
    CHECK(t.type_of(0x00) == TransferType::kControl);
}
