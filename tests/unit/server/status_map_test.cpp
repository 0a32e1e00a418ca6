#include <doctest/doctest.h>

#include "server/status_map.hpp"
#include "usb/status.hpp"

#include <cerrno>

using namespace usbhop;
using server::TransferFacts;
using P = proto::UrbStatus;
using U = usb::Status;

TEST_CASE("every usb status maps to the wire status of protocol.md 12.1") {
    struct Case {
        U in;
        P out;
    } cases[] = {
        {U::completed, P::kOk},       {U::stall, P::kStall},         {U::overflow, P::kOverflow},
        {U::timeout, P::kTimeout},    {U::no_device, P::kNoDevice},  {U::cancelled, P::kCancelled},
        {U::error, P::kProtocolError},
    };
    for (const Case& c : cases) {
        CAPTURE(usb::to_string(c.in));
        CHECK(server::to_wire(c.in) == c.out);
        // The client's errno is the one usb/ would have given USB/IP.
        CHECK(proto::to_errno(server::to_wire(c.in)) == usb::to_errno(c.in));
    }
}

TEST_CASE("a short IN with SHORT_NOT_OK is a short packet, not a protocol error") {
    CHECK(server::to_wire(TransferFacts{U::error, true, true, 512, 100, false}) == P::kShortPacket);
    CHECK(server::to_wire(TransferFacts{U::error, true, false, 512, 100, false}) == P::kProtocolError);
    CHECK(server::to_wire(TransferFacts{U::error, true, true, 512, 512, false}) == P::kProtocolError);
    CHECK(server::to_wire(TransferFacts{U::error, false, true, 512, 100, false}) == P::kProtocolError);
}

TEST_CASE("a cancel the server made while releasing is SHUTDOWN; an unplug stays NO_DEVICE") {
    CHECK(server::to_wire(TransferFacts{U::cancelled, true, false, 64, 0, true}) == P::kShutdown);
    CHECK(server::to_wire(TransferFacts{U::cancelled, true, false, 64, 0, false}) == P::kCancelled);
    CHECK(server::to_wire(TransferFacts{U::no_device, true, false, 64, 0, true}) == P::kNoDevice);
}

TEST_CASE("an iso packet that was not transferred is ISO_MISSED") {
    CHECK(server::iso_packet_to_wire(U::error) == P::kIsoMissed);
    CHECK(server::iso_packet_to_wire(U::completed) == P::kOk);
    CHECK(server::iso_packet_to_wire(U::overflow) == P::kOverflow);
}

TEST_CASE("a refused submit's errno becomes its status") {
    CHECK(server::from_submit_errno(-ENOMEM) == P::kNoMemory);
    CHECK(server::from_submit_errno(-EINVAL) == P::kInvalid);
    CHECK(server::from_submit_errno(-ENODEV) == P::kNoDevice);
    CHECK(server::from_submit_errno(-ESHUTDOWN) == P::kShutdown);
    CHECK(server::from_submit_errno(-EPIPE) == P::kStall);
    CHECK(server::from_submit_errno(-EIO) == P::kProtocolError);
    CHECK(server::from_submit_errno(0) == P::kProtocolError);
}
