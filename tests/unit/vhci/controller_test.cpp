#include <doctest/doctest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "fake_sysfs.hpp"
#include "vhci/controller.hpp"

using namespace usbhop::vhci;
using namespace usbhop::vhci::testing;

namespace {
bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }
}  // namespace

TEST_CASE("without vhci_hcd the error says to modprobe it") {
    TempDir empty;
    Vhci vhci(empty.path());
    auto loaded = vhci.check_loaded();
    REQUIRE_FALSE(loaded);
    CHECK(loaded.error().code == errc::kNotLoaded);
    CHECK(contains(loaded.error().message, "modprobe vhci-hcd"));
    CHECK(contains(loaded.error().message, empty.path() + "/devices/platform/vhci_hcd.0"));

    auto ports = vhci.ports();
    REQUIRE_FALSE(ports);
    CHECK(ports.error().code == errc::kNotLoaded);
    auto attached = vhci.attach(0x10002, speed::kHigh);
    REQUIRE_FALSE(attached);
    CHECK(attached.error().code == errc::kNotLoaded);
}

TEST_CASE("ports of every controller are read from vhci_hcd.0's status files") {
    FakeSysfs sys({free_controller(0, 8), free_controller(1, 8)});
    Vhci vhci(sys.root());
    CHECK(vhci.check_loaded());
    auto ports = vhci.ports();
    REQUIRE(ports);
    REQUIRE(ports->size() == 32);
    CHECK(ports->back().port == 31);
    CHECK(ports->back().hub == Hub::super_speed);
}

TEST_CASE("a port count that disagrees with nports is an error, not a guess") {
    FakeSysfs sys({free_controller(0, 8)}, 32);
    auto ports = Vhci(sys.root()).ports();
    REQUIRE_FALSE(ports);
    CHECK(contains(ports.error().message, "nports says 32"));
}

TEST_CASE("attach writes PORT FD DEVID SPEED for the first free port of the right hub") {
    std::string text = kHeader;
    text += port_line("hs", 0, 6, 3, 0x10002, 3, "3-1");
    text += port_line("hs", 1, 4);
    text += port_line("ss", 2, 4);
    text += port_line("ss", 3, 4);
    FakeSysfs sys({text});
    Vhci vhci(sys.root());

    {
        auto port = vhci.attach(0x20005, speed::kSuper);
        REQUIRE(port);
        CHECK(port->attached());
        CHECK(port->port() == 2);
        CHECK(port->devid() == 0x20005);
        CHECK(port->speed() == speed::kSuper);
        unsigned p = 0, devid = 0, spd = 0;
        int fd = -1;
        REQUIRE(std::sscanf(sys.attach_written().c_str(), "%u %d %u %u", &p, &fd, &devid, &spd) == 4);
        CHECK(p == 2);
        CHECK(devid == 0x20005);
        CHECK(spd == 5);
        CHECK(fd >= 0);
        CHECK(fd != port->socket());

        // Our copy of the kernel's end is closed after the write (the real
        // kernel holds its own reference); with no kernel here, our end
        // therefore sees end-of-file.
        char c;
        CHECK(::read(port->socket(), &c, 1) == 0);
    }
    // Leaving scope detached the port.
    CHECK(sys.detach_written() == "2");

    auto low = vhci.attach(0x10009, speed::kLow);
    REQUIRE(low);
    CHECK(low->port() == 1);
    CHECK(contains(sys.attach_written(), "1 "));
    REQUIRE(low->detach());
    CHECK_FALSE(low->attached());
    CHECK(sys.detach_written() == "1");
    REQUIRE(low->detach());  // twice is fine
}

TEST_CASE("a moved VhciPort detaches once, from its new owner") {
    FakeSysfs sys({free_controller(0, 2)});
    Vhci vhci(sys.root());
    auto port = vhci.attach(0x10002, speed::kFull);
    REQUIRE(port);
    VhciPort owner = std::move(*port);
    CHECK_FALSE(port->attached());
    CHECK(owner.attached());
    write_file(sys.dir() + "/detach", "");
    port = usbhop::Result<VhciPort>(VhciPort{});
    CHECK(sys.detach_written().empty());
    REQUIRE(owner.detach());
    CHECK(sys.detach_written() == "0");
}

TEST_CASE("attach with every port of that speed in use says so and what to do") {
    std::string text = kHeader;
    text += port_line("hs", 0, 6, 3, 0x10002, 3, "3-1");
    text += port_line("ss", 1, 4);
    FakeSysfs sys({text});
    auto r = Vhci(sys.root()).attach(0x10003, speed::kHigh);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == errc::kNoFreePort);
    CHECK(contains(r.error().message, "no free vhci_hcd port for a high-speed device"));
    CHECK(contains(r.error().message, "all 1 high-speed ports are in use"));
    CHECK(sys.attach_written().empty());
}

TEST_CASE("attach refuses a speed vhci_hcd cannot take") {
    FakeSysfs sys({free_controller(0, 2)});
    auto r = Vhci(sys.root()).attach(0x10003, 0);
    REQUIRE_FALSE(r);
    CHECK(contains(r.error().message, "speed 0"));
    CHECK(sys.attach_written().empty());
}

TEST_CASE("attribute write errors say what happened and what to do") {
    const std::string path = "/sys/devices/platform/vhci_hcd.0/attach";
    auto perm = attribute_write_error(path, "0 5 65538 2", EACCES);
    CHECK(perm.code == errc::kPermission);
    CHECK(perm.message ==
          "usbhop attach needs root to write " + path + ": run it as root (sudo), or as the usbhop-attach@ service");
    CHECK(attribute_write_error(path, "0 5 65538 2", EPERM).code == errc::kPermission);
    CHECK(attribute_write_error("/sys/devices/platform/vhci_hcd.0/detach", "3", EACCES)
              .message.starts_with("usbhop detach needs root to write /sys/devices/platform/vhci_hcd.0/detach"));
    CHECK(contains(attribute_write_error(path, "0 5 65538 2", ENOENT).message, "modprobe vhci-hcd"));
    CHECK(attribute_write_error(path, "0 5 65538 2", EBUSY).code == -EBUSY);
    CHECK(contains(attribute_write_error(path, "0 5 65538 2", EROFS).message, "read-only"));
    auto inval = attribute_write_error(path, "0 5 65538 2", EINVAL);
    CHECK(inval.code == -EINVAL);
    CHECK(contains(inval.message, "'0 5 65538 2'"));
    CHECK(contains(inval.message, "dmesg"));
}

TEST_CASE("attach as a non-root user fails with the root message") {
    if (::geteuid() == 0) {
        // Root writes through file modes; the message itself is checked above.
        MESSAGE("skipped: running as root");
        return;
    }
    FakeSysfs sys({free_controller(0, 2)});
    std::filesystem::permissions(sys.dir() + "/attach", std::filesystem::perms::owner_read);
    auto r = Vhci(sys.root()).attach(0x10003, speed::kHigh);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == errc::kPermission);
}

TEST_CASE("Vhci::detach of a port writes its number") {
    FakeSysfs sys({free_controller(0, 2)});
    Vhci vhci(sys.root());
    REQUIRE(vhci.detach(3));
    CHECK(sys.detach_written() == "3");
}

TEST_CASE("wait_until_free returns at once for a free port and times out on a used one") {
    std::string text = kHeader;
    text += port_line("hs", 0, 6, 3, 0x10002, 3, "3-1");
    text += port_line("ss", 1, 4);
    FakeSysfs sys({text});
    Vhci vhci(sys.root());
    CHECK(vhci.wait_until_free(1, std::chrono::milliseconds(0)));
    auto r = vhci.wait_until_free(0, std::chrono::milliseconds(30));
    REQUIRE_FALSE(r);
    CHECK(contains(r.error().message, "still in use"));
    CHECK_FALSE(vhci.wait_until_free(7, std::chrono::milliseconds(0)));
}

TEST_CASE("attach_at refuses a port of the other hub, which the kernel would map elsewhere") {
    FakeSysfs sys({free_controller(0, 4)});  // hs 0-3, ss 4-7
    Vhci vhci(sys.root());
    auto wrong = vhci.attach_at({5}, 0x10002, speed::kHigh);
    REQUIRE_FALSE(wrong);
    CHECK(contains(wrong.error().message, "port 5 is on the super-speed hub"));
    auto wrong_ss = vhci.attach_at({1}, 0x10002, speed::kSuperPlus);
    REQUIRE_FALSE(wrong_ss);
    CHECK(contains(wrong_ss.error().message, "needs a super-speed port"));
    auto missing = vhci.attach_at({8}, 0x10002, speed::kHigh);
    REQUIRE_FALSE(missing);
    CHECK(contains(missing.error().message, "no port 8"));
    CHECK(sys.attach_written().empty());
}

TEST_CASE("attach_at tries the ports in the order given") {
    FakeSysfs sys({free_controller(0, 4)});
    auto port = Vhci(sys.root()).attach_at({6, 4}, 0x10002, speed::kSuper);
    REQUIRE(port);
    CHECK(port->port() == 6);
    CHECK(sys.attach_written().rfind("6 ", 0) == 0);
}

TEST_CASE("check_usable: loaded and attach writable") {
    TempDir empty;
    auto missing = Vhci(empty.path()).check_usable();
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code == errc::kNotLoaded);

    FakeSysfs sys({free_controller(0, 2)});
    CHECK(Vhci(sys.root()).check_usable());
    CHECK(sys.attach_written().empty());  // opened, never written

    std::filesystem::remove(sys.dir() + "/attach");
    auto gone = Vhci(sys.root()).check_usable();
    REQUIRE_FALSE(gone);
    CHECK(gone.error().code == errc::kNotLoaded);
}
