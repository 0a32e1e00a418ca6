// server/attachment: one device claimed for one session, and the URBs that
// run on it (docs/protocol.md §6.6, §7–§11).
//
// States:  claiming ──claim ok──► active ──end()/unplug──► releasing ──► ended
//              └──claim failed──────────────────────────────────────────► ended
// While active, each Submit becomes one usb::Host transfer; the ledger
// (urb_ledger.hpp) guarantees each seqnum runs at most once and is answered
// exactly once, Unlink races included. Terminal results go to the session's
// current connection through UrbOutbox, or wait (retained) for a resume.
// Ending cancels everything in flight, sends each URB's terminal result,
// gives the device back to its kernel drivers, and only then is `ended`:
// the session sends Detached last.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "loop/loop.hpp"
#include "proto/messages.hpp"
#include "server/urb_ledger.hpp"
#include "usb/host.hpp"
#include "util/log.hpp"

namespace usbhop::server {

// The URB streams of the session's current connection, as an attachment sees them.
class UrbOutbox {
public:
    // Sends one frame on the stream bound to (attach_id, stream_key); false
    // when no such stream is bound right now.
    virtual bool send_urb(uint32_t attach_id, uint8_t stream_key, const Bytes& frame) = 0;

protected:
    ~UrbOutbox() = default;
};

// The stream key of a URB stream: the endpoint address, or only its number
// for endpoint 0 / control endpoints (protocol.md §4).
uint8_t stream_key(uint8_t endpoint, proto::TransferType type);

class Attachment {
public:
    enum class State { claiming, active, releasing, ended };

    // How long a failed transfer's result waits for a DeviceLeft that would
    // make it NO_DEVICE: an unplug first fails URBs with bus errors (-EPROTO),
    // and the hot-plug event follows (udev) a little later.
    static constexpr Nanos kUnplugSettle = 1500 * kMillisecond;

    // peer_label names the peer in messages; peer_fields are its journal
    // fields, to which the attachment adds the device's.
    Attachment(loop::Loop& loop, usb::Host& host, const usb::DeviceInfo& device, uint32_t attach_id, bool retain,
               bool force, std::string peer_label, log::Fields peer_fields);
    Attachment(const Attachment&) = delete;
    Attachment& operator=(const Attachment&) = delete;

    // Asks usb::Host to claim the device; an error means it never started.
    Result<void> start();

    // ---- usb::Host events for this device ----
    void on_claim_done(const std::optional<Error>& error);
    void on_transfer_done(usb::TransferDone&& done);
    void on_release_done();
    void on_device_left();

    // ---- from the client ----
    // Bind: whether the endpoint exists with that type now (NOT_FOUND otherwise).
    Result<void> check_bind(uint8_t endpoint, proto::TransferType type) const;
    // An error is a protocol error of the client (§8 seqnum rules).
    Result<void> submit(uint8_t key, proto::Submit&& submit);
    void unlink(uint8_t key, uint64_t seqnum);
    Result<void> ack(const proto::SeqRanges& seqnums);
    Result<proto::SeqRanges> resume(const proto::SeqRanges& pending);
    // A URB stream was bound for key: send the results waiting for it.
    void stream_bound(uint8_t key);
    void set_outbox(UrbOutbox* outbox) { outbox_ = outbox; }

    // Starts ending the attachment (idempotent; the first reason stays).
    void end(proto::Reason reason, std::string message);

    State state() const { return state_; }
    bool ended() const { return state_ == State::ended; }
    // Whether Submits may be read (§10: too many unacknowledged results pause them).
    bool accepting() const { return !ledger_.over_limit(); }
    uint32_t id() const { return attach_id_; }
    usb::DeviceId device() const { return device_; }
    uint32_t wire_device_id() const { return wire_device_id_; }
    const std::string& path() const { return path_; }
    // The peer's journal fields and the device's (USBHOP_DEVICE, USBHOP_BUSID).
    const log::Fields& log_fields() const { return fields_; }
    proto::Reason end_reason() const { return end_reason_; }
    const std::string& end_message() const { return end_message_; }
    const std::optional<Error>& claim_error() const { return claim_error_; }
    const UrbLedger& ledger() const { return ledger_; }

private:
    struct UrbFacts {
        uint8_t key = 0;
        bool in = false;
        bool short_not_ok = false;
        uint32_t length = 0;
    };
    void begin_release();
    void finish_urb(uint64_t seqnum, proto::Complete complete, bool cancelled_by_unlink);
    void send(uint8_t key, uint64_t seqnum, const Bytes& frame);
    void release_held(bool device_gone);
    void send_unlink_result(uint8_t key, uint64_t seqnum, proto::UnlinkOutcome outcome);

    usb::Host& host_;
    usb::DeviceId device_;
    uint32_t wire_device_id_;
    std::string path_;
    uint32_t attach_id_;
    bool force_;
    std::string peer_label_;
    log::Fields fields_;
    State state_ = State::claiming;
    bool release_wanted_ = false;  // end() came while claiming
    bool device_gone_ = false;
    proto::Reason end_reason_ = proto::Reason::kNone;
    std::string end_message_;
    std::optional<Error> claim_error_;
    UrbLedger ledger_;
    std::map<uint64_t, UrbFacts> urbs_;  // in flight
    UrbOutbox* outbox_ = nullptr;
    // Results held back for kUnplugSettle (a failure, and what follows it
    // on the same endpoint, to keep each endpoint's order).
    struct Held {
        uint8_t key = 0;
        proto::Complete complete;
        uint32_t unlinks_waiting = 0;
    };
    std::vector<Held> held_;
    loop::Timer settle_timer_;
};

}  // namespace usbhop::server
