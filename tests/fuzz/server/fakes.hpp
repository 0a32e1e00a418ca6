// Fakes for fuzz-server-peer-link, linked in place of the real classes' .cpp
// files (quic/connection.cpp, usb/host.cpp): quic::Connection and usb::Host
// keep their state behind a pimpl, so the target defines Connection::Impl and
// Host::Impl itself and the code under test (server/peer_link.cpp and what it
// calls) compiles unchanged. No QUIC handshake, no libusb: the target plays
// the connection's events and the device's answers from the fuzzer's input.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "proto/frame.hpp"
#include "proto/messages.hpp"
#include "quic/endpoint.hpp"
#include "usb/host.hpp"

namespace usbhop::quic {

// What PeerLink writes: taken up to `room` bytes per write (the rest waits for
// on_writable, as with a full send buffer), held as unacknowledged until the
// target acknowledges the stream, and decoded as the client would read it.
struct Connection::Impl {
    struct Stream {
        proto::FrameDecoder decoder{proto::kMaxUrbPayload};
        size_t unacked = 0;
        bool fin = false;
        bool stopped = false;  // the server asked the peer to stop sending
    };
    Connection* self = nullptr;
    identity::NodeId peer;
    Handlers handlers;
    size_t room = SIZE_MAX;  // bytes one write() may take
    std::map<int64_t, Stream> streams;
    bool closed = false;
    uint64_t close_code = 0;
    // Frames the server sent, decoded (for the checks and to learn ids).
    std::vector<std::pair<int64_t, proto::Message>> received;
};

}  // namespace usbhop::quic

namespace usbhop::usb {

// One device (id 1, bus 1 device 2), claimed and released at once when asked;
// transfers wait in `in_flight` until the target completes them.
struct Host::Impl {
    DeviceInfo device;
    bool claimed = false;
    std::vector<std::pair<Urb, bool>> in_flight;  // (urb, cancel asked)
    bool release_pending = false;
    std::optional<bool> claim_pending;  // a claim waits for its answer
};

// The Host::start() made, for the target to answer its transfers.
extern Host::Impl* fake_host;

}  // namespace usbhop::usb
