#include <doctest/doctest.h>

#include <string>

#include "proto/status.hpp"

using namespace usbhop::proto;

TEST_CASE("URB statuses map to the negative errno vhci expects, and back") {
    struct Case {
        UrbStatus status;
        int32_t err;
    };
    const Case cases[] = {
        {UrbStatus::kOk, 0},
        {UrbStatus::kStall, -32},
        {UrbStatus::kOverflow, -75},
        {UrbStatus::kTimeout, -110},
        {UrbStatus::kNoDevice, -19},
        {UrbStatus::kCancelled, -104},
        {UrbStatus::kProtocolError, -71},
        {UrbStatus::kShortPacket, -121},
        {UrbStatus::kIsoMissed, -18},
        {UrbStatus::kInvalid, -22},
        {UrbStatus::kNotSupported, -95},
        {UrbStatus::kNoMemory, -12},
        {UrbStatus::kShutdown, -108},
    };
    for (const Case& c : cases) {
        CAPTURE(status_name(c.status));
        CHECK(to_errno(c.status) == c.err);
        CHECK(status_from_errno(c.err) == c.status);
    }
}

TEST_CASE("unknown status codes and errnos fall back to a protocol error") {
    CHECK(to_errno(static_cast<UrbStatus>(200)) == -71);
    CHECK(std::string(status_name(static_cast<UrbStatus>(200))) == "unknown status");
    CHECK(status_from_errno(-5) == UrbStatus::kProtocolError);  // -EIO
    CHECK(status_from_errno(-2) == UrbStatus::kCancelled);      // -ENOENT
    CHECK(status_from_errno(32) == UrbStatus::kStall);          // a positive errno is read as negative
}

TEST_CASE("every reason has a name a person can read") {
    for (uint16_t r = 0; r <= 13; ++r) CHECK(std::string(reason_name(static_cast<Reason>(r))) != "unknown reason");
    CHECK(std::string(reason_name(static_cast<Reason>(999))) == "unknown reason");
}
