#include <doctest/doctest.h>

#include <atomic>
#include <cerrno>

#include "usb/host.hpp"

using namespace usbhop::usb;

// Host against this machine's libusb with ids no device has: everything is
// refused at once with a message, and start/stop is clean (ASan/valgrind).
TEST_CASE("a Host refuses work for devices it does not know, and stops cleanly") {
    std::atomic<int> wakes{0};
    auto host = Host::start([&] { ++wakes; });
    REQUIRE_MESSAGE(host, (host ? "" : host.error().message));
    auto events = (*host)->drain();
    const DeviceId nobody = 0xffff'fff0;
    CHECK((*host)->device(nobody) == nullptr);
    CHECK_FALSE((*host)->is_claimed(nobody));

    auto claimed = (*host)->claim(nobody);
    REQUIRE_FALSE(claimed);
    CHECK(claimed.error().code == -ENODEV);
    CHECK_FALSE((*host)->release(nobody));
    CHECK_FALSE((*host)->reset(nobody));

    Urb urb;
    urb.seqnum = 1;
    urb.endpoint = 0x81;
    urb.type = TransferType::bulk;
    urb.length = 512;
    auto submitted = (*host)->submit(nobody, urb);
    REQUIRE_FALSE(submitted);
    CHECK(submitted.error().code == -ENODEV);
    CHECK(submitted.error().message.find("no USB device") != std::string::npos);
    CHECK_FALSE((*host)->cancel(nobody, 1));
    CHECK((*host)->in_flight(nobody) == 0);
    CHECK((*host)->max_inflight_bytes() >= 1024 * 1024);
    CHECK_FALSE((*host)->endpoint(nobody, 0x81));
    host->reset();
}

TEST_CASE("the built-in no-reset list") {
    CHECK(is_on_no_reset_list(0x1210, 0x001c));
    CHECK_FALSE(is_on_no_reset_list(0x1d6b, 0x0104));
}
