#include <doctest/doctest.h>

#include "fake_sysfs.hpp"
#include "vhci/status.hpp"

using namespace usbhop::vhci;
using namespace usbhop::vhci::testing;

// Verbatim shape of drivers/usb/usbip/vhci_sysfs.c output: one controller,
// 8 ports per hub, a high-speed device on port 1 and a super-speed one on 9.
static const char* kOneController =
    "hub port sta spd dev      sockfd local_busid\n"
    "hs  0000 004 000 00000000 000000 0-0\n"
    "hs  0001 006 003 00010002 000005 3-1\n"
    "hs  0002 004 000 00000000 000000 0-0\n"
    "hs  0003 004 000 00000000 000000 0-0\n"
    "hs  0004 004 000 00000000 000000 0-0\n"
    "hs  0005 004 000 00000000 000000 0-0\n"
    "hs  0006 004 000 00000000 000000 0-0\n"
    "hs  0007 004 000 00000000 000000 0-0\n"
    "ss  0008 004 000 00000000 000000 0-0\n"
    "ss  0009 006 005 00020003 000007 4-1\n"
    "ss  0010 004 000 00000000 000000 0-0\n"
    "ss  0011 004 000 00000000 000000 0-0\n"
    "ss  0012 004 000 00000000 000000 0-0\n"
    "ss  0013 004 000 00000000 000000 0-0\n"
    "ss  0014 004 000 00000000 000000 0-0\n"
    "ss  0015 004 000 00000000 000000 0-0\n";

TEST_CASE("status of one controller parses into 8 high-speed and 8 super-speed ports") {
    auto ports = parse_status(kOneController);
    REQUIRE(ports);
    REQUIRE(ports->size() == 16);
    const auto& p0 = (*ports)[0];
    CHECK(p0.hub == Hub::high_speed);
    CHECK(p0.port == 0);
    CHECK(p0.is_free());
    CHECK(p0.local_busid == "0-0");

    const auto& p1 = (*ports)[1];
    CHECK(p1.hub == Hub::high_speed);
    CHECK(p1.state == PortState::used);
    CHECK(p1.speed == speed::kHigh);
    CHECK(p1.devid == 0x00010002);
    CHECK(p1.local_busid == "3-1");

    const auto& p9 = (*ports)[9];
    CHECK(p9.hub == Hub::super_speed);
    CHECK(p9.port == 9);
    CHECK(p9.state == PortState::used);
    CHECK(p9.speed == speed::kSuper);
    CHECK(p9.devid == 0x00020003);
    CHECK((*ports)[8].hub == Hub::super_speed);
    CHECK((*ports)[15].port == 15);
}

TEST_CASE("status of a second controller numbers its ports after the first's") {
    auto ports = parse_status(free_controller(1, 8));
    REQUIRE(ports);
    REQUIRE(ports->size() == 16);
    CHECK((*ports)[0].port == 16);
    CHECK((*ports)[0].hub == Hub::high_speed);
    CHECK((*ports)[8].port == 24);
    CHECK((*ports)[8].hub == Hub::super_speed);
}

TEST_CASE("status with other than 8 ports per hub is read as printed") {
    auto ports = parse_status(free_controller(0, 3));
    REQUIRE(ports);
    REQUIRE(ports->size() == 6);
    CHECK((*ports)[2].hub == Hub::high_speed);
    CHECK((*ports)[3].hub == Hub::super_speed);
    CHECK((*ports)[3].port == 3);
}

TEST_CASE("status of a controller that is not ready has a 16-digit socket column") {
    // status_show_not_ready(): state VDEV_ST_NOTASSIGNED, a zeroed pointer.
    auto ports = parse_status(std::string(kHeader) + "hs  0000 005 000 00000000 0000000000000000 0-0\n" +
                              "ss  0001 005 000 00000000 0000000000000000 0-0\n");
    REQUIRE(ports);
    REQUIRE(ports->size() == 2);
    CHECK((*ports)[0].state == PortState::not_assigned);
    CHECK_FALSE((*ports)[0].is_free());
}

TEST_CASE("status text the parser refuses, with the line named") {
    const std::pair<std::string, const char*> cases[] = {
        {"", "empty"},
        {"\n\n", "empty"},
        // Before Linux 4.13: no hub column, ports cannot be told apart by speed.
        {"port sta spd dev      socket           local_busid\n0000 004 000 00000000 0000000000000000 0-0\n", "line 1"},
        {std::string(kHeader) + "hs  0000 004 000 00000000 000000\n", "7 fields"},
        {std::string(kHeader) + "xs  0000 004 000 00000000 000000 0-0\n", "unknown hub"},
        {std::string(kHeader) + "hs  00x0 004 000 00000000 000000 0-0\n", "bad port"},
        {std::string(kHeader) + "hs  0000 009 000 00000000 000000 0-0\n", "unknown port state 9"},
        {std::string(kHeader) + "hs  0000 001 000 00000000 000000 0-0\n", "unknown port state 1"},
        {std::string(kHeader) + "hs  0000 006 003 0001000g 000005 3-1\n", "bad devid"},
        {std::string(kHeader) + "hs  0000 006 -03 00010002 000005 3-1\n", "bad speed"},
        {std::string(kHeader) + "ss  0001 005 003 00010002 000004 3-2\n", "high-speed device on the super-speed hub"},
        {std::string(kHeader) + "hs  0001 006 005 00010002 000004 4-1\n", "super-speed device on the high-speed hub"},
        {std::string(kHeader) + "hs  0000 004 000 00000000 000000 0-0\nss  0001 004 000\n", "line 3"},
    };
    for (const auto& c : cases) {
        // Not a structured binding: clang before 16 cannot capture one, and CAPTURE does.
        const std::string& text = c.first;
        const char* expect = c.second;
        CAPTURE(text);
        auto r = parse_status(text);
        REQUIRE_FALSE(r);
        CHECK(r.error().message.find(expect) != std::string::npos);
    }
}

TEST_CASE("low, full and high speed devices take high-speed ports; super and super-plus take super-speed ports") {
    auto ports = parse_status(kOneController);
    REQUIRE(ports);
    const std::vector<uint32_t> hs_free = {0, 2, 3, 4, 5, 6, 7};
    const std::vector<uint32_t> ss_free = {8, 10, 11, 12, 13, 14, 15};
    CHECK(free_ports_for_speed(*ports, speed::kLow) == hs_free);
    CHECK(free_ports_for_speed(*ports, speed::kFull) == hs_free);
    CHECK(free_ports_for_speed(*ports, speed::kHigh) == hs_free);
    CHECK(free_ports_for_speed(*ports, speed::kSuper) == ss_free);
    CHECK(free_ports_for_speed(*ports, speed::kSuperPlus) == ss_free);
}

TEST_CASE("unknown speeds get no port") {
    auto ports = parse_status(kOneController);
    REQUIRE(ports);
    for (uint32_t s : {0u, 4u, 7u, 255u}) {
        CAPTURE(s);
        CHECK(free_ports_for_speed(*ports, s).empty());
        CHECK_FALSE(hub_for_speed(s));
    }
}

TEST_CASE("a full hub offers no port while the other hub still does") {
    std::string text = kHeader;
    text += port_line("hs", 0, 6, 2, 0x10002, 3, "3-1");
    text += port_line("hs", 1, 5, 3, 0x10003, 4, "3-2");
    text += port_line("ss", 2, 4);
    text += port_line("ss", 3, 7, 5, 0x10004, 5, "4-1");
    auto ports = parse_status(text);
    REQUIRE(ports);
    CHECK(free_ports_for_speed(*ports, speed::kFull).empty());
    CHECK(free_ports_for_speed(*ports, speed::kSuper) == std::vector<uint32_t>{2});
}

TEST_CASE("free ports across two controllers come lowest first, per hub") {
    auto a = parse_status(free_controller(0, 2));
    auto b = parse_status(free_controller(1, 2));
    REQUIRE(a);
    REQUIRE(b);
    std::vector<PortStatus> all = *b;  // order of reading must not matter
    all.insert(all.end(), a->begin(), a->end());
    CHECK(free_ports_for_speed(all, speed::kHigh) == std::vector<uint32_t>{0, 1, 4, 5});
    CHECK(free_ports_for_speed(all, speed::kSuper) == std::vector<uint32_t>{2, 3, 6, 7});
    REQUIRE(find_port(all, 6));
    CHECK(find_port(all, 6)->hub == Hub::super_speed);
    CHECK_FALSE(find_port(all, 8));
}

TEST_CASE("status parsing survives every single-byte corruption of real text") {
    const std::string good = kOneController;
    const char replacements[] = {'\0', '\n', ' ', 'x', '9', '-', '\xff'};
    size_t parsed = 0;
    for (size_t i = 0; i < good.size(); ++i) {
        for (char c : replacements) {
            std::string bad = good;
            bad[i] = c;
            auto r = parse_status(bad);
            if (!r) continue;
            ++parsed;
            CHECK(r->size() <= 17);  // a newline can split a line, never invent ports beyond it
        }
        auto cut = parse_status(std::string_view(good).substr(0, i));
        if (cut) CHECK(cut->size() <= 16);
    }
    CHECK(parsed > 0);
}
