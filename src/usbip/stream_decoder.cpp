#include "usbip/stream_decoder.hpp"

namespace usbhop::usbip {

StreamDecoder::StreamDecoder(bool commands, DirectionOf direction_of)
    : commands_(commands), direction_of_(std::move(direction_of)) {}

StreamDecoder StreamDecoder::for_commands() { return StreamDecoder(true, nullptr); }

StreamDecoder StreamDecoder::for_replies(DirectionOf direction_of) {
    return StreamDecoder(false, std::move(direction_of));
}

void StreamDecoder::feed(ByteSpan bytes) {
    if (error_) return;
    // Drop what was consumed before growing, so the buffer holds at most one
    // PDU plus whatever arrived behind it.
    if (pos_ > 0 && (pos_ == buf_.size() || pos_ >= buf_.size() / 2)) {
        buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(pos_));
        pos_ = 0;
    }
    buf_.insert(buf_.end(), bytes.begin(), bytes.end());
}

Error StreamDecoder::fail(Error e) {
    error_ = e;
    buf_.clear();
    pos_ = 0;
    return e;
}

Result<std::optional<Pdu>> StreamDecoder::next() {
    if (error_) return *error_;
    ByteSpan avail = ByteSpan(buf_).subspan(pos_);
    if (avail.size() < kHeaderSize) return std::optional<Pdu>{};

    auto header = decode_header(avail);
    if (!header) return fail(header.error());
    const Header& h = *header;
    bool is_command = h.command == Command::kCmdSubmit || h.command == Command::kCmdUnlink;
    if (is_command != commands_)
        return fail(make_error(std::string("usbip: unexpected ") + command_name(static_cast<uint32_t>(h.command)) +
                               " (seqnum " + std::to_string(h.base.seqnum) + ") on a stream of " +
                               (commands_ ? "commands" : "replies")));

    Direction ret_direction = Direction::kIn;
    if (h.command == Command::kRetSubmit) {
        std::optional<Direction> d = direction_of_ ? direction_of_(h.base.seqnum) : std::nullopt;
        if (!d) return fail(make_error("usbip: RET_SUBMIT for unknown seqnum " + std::to_string(h.base.seqnum)));
        ret_direction = *d;
    }
    size_t total = kHeaderSize + body_length(h, ret_direction);
    // Not reserving `total` up front: a 48-byte header must not cost 16 MiB.
    if (avail.size() < total) return std::optional<Pdu>{};
    auto pdu = decode_pdu(avail.first(total), ret_direction);
    if (!pdu) return fail(pdu.error());
    pos_ += total;
    return std::optional<Pdu>{std::move(*pdu)};
}

}  // namespace usbhop::usbip
