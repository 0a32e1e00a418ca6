#include <doctest/doctest.h>

#include <libusb.h>

#include <cerrno>
#include <string>

#include "usb/status.hpp"

using namespace usbhop::usb;

TEST_CASE("libusb transfer statuses map to usbhop statuses and USB/IP errnos") {
    struct Case {
        int libusb;
        Status status;
        int errno_value;
    };
    const Case cases[] = {
        {LIBUSB_TRANSFER_COMPLETED, Status::completed, 0},
        {LIBUSB_TRANSFER_STALL, Status::stall, -EPIPE},
        {LIBUSB_TRANSFER_OVERFLOW, Status::overflow, -EOVERFLOW},
        {LIBUSB_TRANSFER_TIMED_OUT, Status::timeout, -ETIMEDOUT},
        {LIBUSB_TRANSFER_NO_DEVICE, Status::no_device, -ENODEV},
        {LIBUSB_TRANSFER_CANCELLED, Status::cancelled, -ECONNRESET},
        {LIBUSB_TRANSFER_ERROR, Status::error, -EPROTO},
        {99, Status::error, -EPROTO},
    };
    for (const Case& c : cases) {
        CAPTURE(c.libusb);
        CHECK(status_from_transfer(c.libusb) == c.status);
        CHECK(to_errno(status_from_transfer(c.libusb)) == c.errno_value);
    }
}

TEST_CASE("errors of the intercepted calls map as the device would have answered") {
    CHECK(status_from_error(LIBUSB_SUCCESS) == Status::completed);
    CHECK(status_from_error(LIBUSB_ERROR_PIPE) == Status::stall);
    CHECK(status_from_error(LIBUSB_ERROR_NOT_FOUND) == Status::stall);  // no such alt setting
    CHECK(status_from_error(LIBUSB_ERROR_NO_DEVICE) == Status::no_device);
    CHECK(status_from_error(LIBUSB_ERROR_TIMEOUT) == Status::timeout);
    CHECK(status_from_error(LIBUSB_ERROR_IO) == Status::error);
    CHECK(status_from_error(LIBUSB_ERROR_BUSY) == Status::error);
}

TEST_CASE("every status has a name") {
    for (Status s : {Status::completed, Status::stall, Status::overflow, Status::timeout, Status::no_device,
                     Status::cancelled, Status::error})
        CHECK(std::string(to_string(s)) != "?");
}
