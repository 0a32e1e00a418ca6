// usbhop::proto — the usbhop wire protocol (docs/protocol.md), part 1: framing.
//
// Every QUIC stream carries a sequence of frames:
//
//     u16 type | u16 flags | u32 length | payload[length]      (big-endian)
//
// flags bit 0 (kFlagOptional) lets a receiver skip a type it does not know;
// any other unknown type is a protocol error. Each stream kind has a hard
// payload limit, checked from the header before the payload is buffered.
// Pure code: no sockets, no USB.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "util/bytes.hpp"
#include "util/result.hpp"

namespace usbhop::proto {

inline constexpr std::string_view kAlpn = "usbhop/1";

inline constexpr size_t kFrameHeaderSize = 8;
inline constexpr uint16_t kFlagOptional = 0x0001;

// Control stream frames are small; URB frames carry up to 16 MiB of data
// plus a header with up to 1024 iso packets.
inline constexpr uint32_t kMaxControlPayload = 1u << 20;
inline constexpr uint32_t kMaxUrbPayload = (16u << 20) + (64u << 10);

struct Frame {
    uint16_t type = 0;
    uint16_t flags = 0;
    Bytes payload;
    bool operator==(const Frame&) const = default;
};

// Appends one frame. The payload must fit the limit of the stream it goes on.
void append_frame(Bytes& out, uint16_t type, uint16_t flags, ByteSpan payload);

// Cuts frames out of a stream's bytes, which arrive in arbitrary chunks.
// An error is final: the stream (and in practice the connection) is broken.
class FrameDecoder {
public:
    explicit FrameDecoder(uint32_t max_payload) : max_payload_(max_payload) {}

    void feed(ByteSpan bytes);
    // The next whole frame, nullopt when more bytes are needed, or the error
    // that stopped the stream (returned again on every later call).
    Result<std::optional<Frame>> next();

    size_t buffered() const { return buf_.size() - pos_; }
    bool failed() const { return error_.has_value(); }

private:
    static constexpr size_t kReserveAfter = 1u << 20;
    uint32_t max_payload_;
    Bytes buf_;
    size_t pos_ = 0;
    std::optional<Error> error_;
};

}  // namespace usbhop::proto
