// The heart of exactly-once on the client: one attachment's URBs between
// vhci_hcd's USB/IP (32-bit seqnums per controller) and the usbhop protocol
// (64-bit seqnums per attachment, docs/protocol.md §8-§11, §14).
//
// Pure: events in, actions out (Output), no sockets and no clock. It keeps
// every URB vhci gave us until that URB has had its one answer:
//
//   queued ──send──► sent ──Complete──────────────► answered (RET_SUBMIT)
//      │               │
//      │ CMD_UNLINK    │ CMD_UNLINK
//      ▼               ▼
//   answered        unlinking ──UnlinkResult{CANCELLED}─► answered (RET_UNLINK -ECONNRESET)
//   (RET_UNLINK         └──────Complete────────────────► answered (RET_SUBMIT, then RET_UNLINK 0)
//    -ECONNRESET)
//
// so that vhci never sees a RET_SUBMIT for a URB it gave back, and every
// CMD_SUBMIT and CMD_UNLINK gets exactly one reply. While the connection is
// down URBs queue; after a resume, missing() decides what is sent again.
// A server result that breaks the protocol (unknown seqnum, wrong stream,
// data that cannot become a well-formed RET_SUBMIT) is reported in
// Output::protocol_error; the kernel gets a safe -EPROTO answer instead.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "proto/messages.hpp"
#include "usbip/pdu.hpp"
#include "usbip/reply.hpp"
#include "util/bytes.hpp"
#include "util/result.hpp"

namespace usbhop::client {

// Which URB stream of the attachment a URB travels on: the endpoint as bound
// (control endpoints by number only) and its transfer type.
struct StreamKey {
    uint8_t endpoint = 0;
    proto::TransferType type = proto::TransferType::kControl;
    bool operator==(const StreamKey&) const = default;
    auto operator<=>(const StreamKey&) const = default;
};

// The URB stream a CMD_SUBMIT belongs on, given its endpoint's type.
StreamKey stream_for(uint32_t ep, usbip::Direction direction, proto::TransferType type);

// A vhci CMD_SUBMIT as a usbhop Submit (§14), with the given seqnum.
proto::Submit to_submit(const usbip::CmdSubmit& cmd, proto::TransferType type, uint64_t seqnum);

// A Complete as the RET_SUBMIT vhci accepts for urb, or why it cannot be one.
Result<usbip::RetSubmit> to_ret_submit(const usbip::SubmittedUrb& urb, const proto::Complete& c);

enum class UrbState : uint8_t {
    kQueued,     // not handed to the server yet (no connection, or waiting for a resume)
    kSent,       // Submit handed to its stream; waiting for the terminal result
    kUnlinking,  // vhci unlinked it; waiting for the server's answer
};

class UrbBridge {
public:
    struct ToServer {
        StreamKey stream;
        proto::Message message;  // Submit or Unlink
    };
    struct Acked {
        StreamKey stream;
        uint64_t seqnum = 0;
    };
    struct Output {
        std::vector<usbip::Pdu> to_kernel;  // RET_SUBMIT / RET_UNLINK, in this order
        std::vector<ToServer> to_server;    // in this order, each on its stream
        std::vector<Acked> acked;           // terminal results passed on: Ack them (§10)
        std::optional<Error> protocol_error;  // the server broke the protocol: drop the connection
        void append(Output&& other);
    };

    // vhci side. connected: the attachment's streams can take messages now
    // (otherwise the URB waits in kQueued for the resume).
    Output on_cmd_submit(const usbip::CmdSubmit& cmd, proto::TransferType type, bool connected);
    Output on_cmd_unlink(const usbip::CmdUnlink& cmd, bool connected);

    // Server side: results that arrived on the URB stream `stream`.
    Output on_complete(const StreamKey& stream, const proto::Complete& c);
    Output on_unlink_result(const StreamKey& stream, const proto::UnlinkResult& r);

    // Resume (§11): every seqnum without a terminal result here ...
    proto::SeqRanges pending() const;
    // ... and the server's answer: resend the missing Submits (same seqnum,
    // same content), answer unlinks of missing URBs here, send the Unlinks of
    // the others again. Submits first, then Unlinks, each in seqnum order.
    Output on_resume_ok(const proto::SeqRanges& missing);
    // A fresh attachment (no resume): send whatever queued meanwhile.
    Output send_queued();
    // The streams that have URBs waiting for a result: after a resume each
    // must be bound again for the server to deliver them (§11 step 5).
    std::vector<StreamKey> pending_streams() const;
    // The server refused a stream (Error on it, then FIN): nothing sent on it
    // will be answered. Every URB of that stream gets `status` here.
    Output fail_stream(const StreamKey& stream, int32_t status);

    // The attachment ended (Detached, session lost): forget everything. vhci
    // gives back the URBs itself when the port is detached.
    void clear();

    size_t size() const { return urbs_.size(); }
    uint64_t next_seqnum() const { return next_seqnum_; }
    // Bytes of OUT data held for possible resending.
    size_t held_bytes() const { return held_bytes_; }

private:
    struct Urb {
        uint32_t vhci_seqnum = 0;
        usbip::SubmittedUrb submitted;
        StreamKey stream;
        UrbState state = UrbState::kQueued;
        proto::Submit submit;              // kept until answered: a resume may need it again
        std::vector<uint32_t> unlinks;     // CMD_UNLINK seqnums waiting for this URB's fate
    };

    Output answer(std::map<uint64_t, Urb>::iterator it, usbip::Pdu reply, bool cancelled);
    void erase(std::map<uint64_t, Urb>::iterator it);

    uint64_t next_seqnum_ = 1;
    std::map<uint64_t, Urb> urbs_;                       // by attachment seqnum
    std::unordered_map<uint32_t, uint64_t> by_vhci_;     // vhci seqnum -> attachment seqnum
    size_t held_bytes_ = 0;
};

// Collects the seqnums of results passed to the kernel on one URB stream and
// says when to send an Ack: at 32 results, or when the 20 ms timer the caller
// starts on the first one fires (§10).
class AckBatch {
public:
    static constexpr size_t kMaxBatch = 32;

    // True when the batch is full and should go out now.
    bool add(uint64_t seqnum);
    bool empty() const { return seqnums_.empty(); }
    size_t size() const { return seqnums_.size(); }
    // The Ack for everything collected; the batch is empty afterwards.
    proto::Ack take();
    void clear() { seqnums_.clear(); }

private:
    std::vector<uint64_t> seqnums_;
};

}  // namespace usbhop::client
