#include "proto/frame.hpp"

#include <cassert>
#include <cstdio>

namespace usbhop::proto {

void append_frame(Bytes& out, uint16_t type, uint16_t flags, ByteSpan payload) {
    assert(payload.size() <= kMaxUrbPayload);
    ByteWriter w(out);
    w.put_u16(type);
    w.put_u16(flags);
    w.put_u32(static_cast<uint32_t>(payload.size()));
    w.put_bytes(payload);
}

void FrameDecoder::feed(ByteSpan bytes) {
    if (error_) return;
    if (pos_ > 0 && (pos_ == buf_.size() || pos_ >= buf_.size() / 2)) {
        buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(pos_));
        pos_ = 0;
    }
    // A large frame's buffer is sized once its first MiB is in, to the frame's
    // end, instead of doubling past it (a 16 MiB frame held 32 MiB, and
    // copied itself on the way). Below that, an 8-byte header costs nothing.
    size_t want = buf_.size() + bytes.size();
    if (want > buf_.capacity() && want - pos_ >= kReserveAfter && buf_.size() - pos_ >= kFrameHeaderSize) {
        ByteReader r(ByteSpan(buf_).subspan(pos_ + 4, 4));
        uint32_t length = 0;
        if (r.get_u32(length) && length <= max_payload_) {
            // Only for the frame being filled: reserving exactly for bytes
            // that are already whole frames would copy the buffer every feed.
            size_t frame_end = pos_ + kFrameHeaderSize + length;
            if (frame_end > want) buf_.reserve(frame_end);
        }
    }
    buf_.insert(buf_.end(), bytes.begin(), bytes.end());
}

Result<std::optional<Frame>> FrameDecoder::next() {
    if (error_) return *error_;
    ByteReader r(ByteSpan(buf_).subspan(pos_));
    Frame f;
    uint32_t length = 0;
    if (!r.get_u16(f.type) || !r.get_u16(f.flags) || !r.get_u32(length)) return std::optional<Frame>{};
    if (length > max_payload_) {
        char type[8];
        std::snprintf(type, sizeof type, "0x%04x", f.type);
        error_ = make_error(std::string("proto: frame of type ") + type + " announces " + std::to_string(length) +
                            " bytes, over this stream's limit of " + std::to_string(max_payload_));
        buf_.clear();
        pos_ = 0;
        return *error_;
    }
    // Not reserving `length` up front: an 8-byte header must not cost 16 MiB.
    if (r.remaining() < length) return std::optional<Frame>{};
    r.get_bytes(length, f.payload);
    pos_ += kFrameHeaderSize + length;
    return std::optional<Frame>{std::move(f)};
}

}  // namespace usbhop::proto
