// Cuts USB/IP PDUs out of a stream socket's bytes, which arrive in whatever
// chunks the kernel hands us.
//
// Feed bytes as they come, then call next() until it yields nothing. A
// decoding error is final: the stream is out of step and the only safe thing
// is to drop the connection (the kernel does the same). Memory stays bounded:
// a header that announces more than usbip::kMaxTransferLength of data or more
// than kMaxIsoPackets descriptors is refused before its body is buffered.
#pragma once

#include <functional>
#include <optional>

#include "usbip/pdu.hpp"

namespace usbhop::usbip {

class StreamDecoder {
public:
    // For RET_SUBMIT the data's presence depends on the URB's direction, which
    // only the side that sent the CMD_SUBMIT knows: it answers for a seqnum,
    // or nullopt when the seqnum is unknown (an error, as in vhci).
    using DirectionOf = std::function<std::optional<Direction>(uint32_t seqnum)>;

    // What vhci_hcd sends: CMD_SUBMIT and CMD_UNLINK; anything else is an error.
    static StreamDecoder for_commands();
    // What vhci_hcd receives: RET_SUBMIT and RET_UNLINK (tests, fake peers).
    static StreamDecoder for_replies(DirectionOf direction_of);

    void feed(ByteSpan bytes);
    // The next complete PDU, nullopt when more bytes are needed, or the error
    // that stopped the stream (returned again on every later call).
    Result<std::optional<Pdu>> next();

    // Bytes received but not yet returned as a PDU.
    size_t buffered() const { return buf_.size() - pos_; }
    bool failed() const { return error_.has_value(); }

private:
    StreamDecoder(bool commands, DirectionOf direction_of);
    Error fail(Error e);

    bool commands_;
    DirectionOf direction_of_;
    Bytes buf_;
    size_t pos_ = 0;
    std::optional<Error> error_;
};

}  // namespace usbhop::usbip
