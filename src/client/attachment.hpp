// One server device attached here: its vhci port (Port), the URB bridge that
// keeps vhci's exactly-once rule, the endpoint table that picks each URB's
// stream, and the attachment's URB streams on the current connection with
// their acknowledgements (§10) and back-pressure (the vhci socket is not read
// while the network holds more than kPauseBytes of this device's data).
//
// Connection states as the attachment sees them:
//   live      URBs go out as they come
//   waiting   no connection, or a resume not yet answered: URBs queue
// The owner (Attacher) moves it between them and ends it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "client/endpoint_table.hpp"
#include "client/port.hpp"
#include "client/session.hpp"
#include "client/traffic.hpp"
#include "client/urb_bridge.hpp"
#include "loop/loop.hpp"
#include "proto/messages.hpp"

namespace usbhop::client {

class Attachment {
public:
    static constexpr size_t kPauseBytes = 8u << 20;
    static constexpr size_t kResumeBytes = 2u << 20;
    static constexpr Nanos kAckDelay = 20 * kMillisecond;

    // The kernel closed the port's socket (e.g. `usbhop detach` from another
    // shell) or sent garbage; the owner ends the attachment.
    using OnPortClosed = std::function<void(Attachment&, const std::string& why)>;

    Attachment(loop::Loop& loop, Session& session, proto::DeviceInfo info, uint32_t attach_id, vhci::VhciPort port,
               OnPortClosed on_port_closed);
    ~Attachment();
    Attachment(const Attachment&) = delete;
    Attachment& operator=(const Attachment&) = delete;

    const proto::DeviceInfo& info() const { return info_; }
    // The server's journal fields and this device's (USBHOP_DEVICE, USBHOP_BUSID).
    const log::Fields& log_fields() const { return fields_; }
    uint32_t attach_id() const { return attach_id_; }
    uint32_t port_number() const { return port_number_; }
    size_t urbs_in_flight() const { return bridge_.size(); }
    const UrbCounters& counters() const { return counters_; }
    bool live() const { return live_; }

    // Connection events.
    void go_live();                       // fresh attachment on a ready session
    void connection_lost();               // every stream is gone; URBs wait
    proto::Resume resume_request() const;  // for the Resume after HelloAck{resumed}
    void on_resume_ok(const proto::ResumeOk& ok);

    bool owns_stream(int64_t stream) const { return keys_.count(stream) != 0; }
    void on_urb(int64_t stream, proto::Message&& m);
    void on_stream_ended(int64_t stream);
    void on_writable(int64_t stream);

    // Detaches the vhci port (the kernel gives back every URB still out)
    // and forgets the URBs. Returns what the kernel said.
    Result<void> detach_port();

private:
    void on_submit(usbip::CmdSubmit&& cmd);
    void on_unlink(const usbip::CmdUnlink& cmd);
    void apply(UrbBridge::Output&& out);
    std::optional<int64_t> stream_for_key(const StreamKey& key);
    void flush_acks();
    size_t queued_bytes() const;
    void update_pause();

    loop::Loop& loop_;
    Session& session_;
    proto::DeviceInfo info_;
    log::Fields fields_;
    uint32_t attach_id_;
    uint32_t port_number_;
    OnPortClosed on_port_closed_;
    EndpointTable endpoints_;
    UrbBridge bridge_;
    std::unique_ptr<Port> port_;
    bool live_ = false;
    std::map<StreamKey, int64_t> streams_;
    std::map<int64_t, StreamKey> keys_;
    std::map<int64_t, AckBatch> acks_;
    loop::Timer ack_timer_;
    UrbCounters counters_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace usbhop::client
