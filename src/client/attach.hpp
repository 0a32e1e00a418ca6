// The attach command's state machine: which of the server's devices we want,
// which are attached (Attachment), and what happens on each event of the
// session and the kernel.
//
//   per device:  seen ─wanted─► attaching ─AttachOk─► attached ─Detached/unplug─► seen
//                                   └─AttachError─► refused (until the server says it is free)
//   connection:  ready ─lost─► waiting (URBs queue; grace timer runs)
//                  ▲              ├─reconnect, HelloAck{resumed}─► Resume each ─ResumeOk─► ready
//                  │              ├─reconnect, new session ─► every attachment ends, attach again
//                  └──────────────┴─grace over ─► every attachment ends (URBs fail), keep trying
//
// A device detached from another shell (the kernel closes its socket) is
// let go at the server and not attached again by this process.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "client/attachment.hpp"
#include "client/client.hpp"
#include "client/selection.hpp"
#include "client/session.hpp"
#include "loop/loop.hpp"
#include "vhci/vhci.hpp"

namespace usbhop::client {

// [client] identity (default: identity::default_identity_path()), created on first use.
// The Session options for reaching target: directly at its address, or
// through its relay when it has none. Shared by attach and list.
Result<Session::Options> session_options(const Context& ctx, const config::PeerTarget& target);
Result<identity::NodeKey> load_client_key(const Context& ctx);

class Attacher : public Session::Owner {
public:
    struct Options {
        std::vector<DeviceSelector> selectors;  // empty: everything shared with us
        std::string rundir;
        std::string sysfs;
    };

    Attacher(loop::Loop& loop, const identity::NodeKey& key, Session::Options session, Options options);
    ~Attacher() override;

    Result<void> start();
    // Ctrl-C / SIGTERM: detach everything, tell the server, close.
    void shutdown(const std::string& why);
    bool finished() const { return finished_; }
    size_t attached_count() const { return attachments_.size(); }
    const log::Fields& log_fields() const { return session_.log_fields(); }

    // Session::Owner
    void on_ready(const proto::HelloAck& ack, bool resumed) override;
    void on_control(proto::Message&& m) override;
    void on_urb(int64_t stream, proto::Message&& m) override;
    void on_urb_stream_ended(int64_t stream) override;
    void on_urb_writable(int64_t stream) override;
    void on_disconnected(const std::string& why, Nanos retry_in) override;

private:
    void consider(const proto::DeviceInfo& d);
    void on_attach_ok(const proto::AttachOk& ok);
    void on_attach_error(const proto::AttachError& e);
    void on_detached(const proto::Detached& d);
    void on_resume_ok(const proto::ResumeOk& ok);
    void on_port_closed(Attachment& a, const std::string& why);
    void end_attachment(uint32_t attach_id, const std::string& why, bool tell_server);
    void end_all(const std::string& why);
    void on_grace_over();
    Attachment* by_device(uint32_t device_id);
    // Rewrites <rundir>/attach-<pid> for usbhop status: the connection's path and RTT.
    void report_path();
    void report_traffic();

    loop::Loop& loop_;
    Options options_;
    vhci::Vhci vhci_;
    vhci::StateDir state_;
    Session session_;
    std::string peer_id_;
    std::map<uint32_t, proto::DeviceInfo> devices_;  // by device_id, as the server last described them
    std::set<uint32_t> attaching_;                   // device_ids with an Attach out
    std::set<uint32_t> refused_;                     // not attached again (until free again / re-plugged)
    std::set<uint32_t> let_go_;                      // detached here by the user: never again in this run
    std::map<uint32_t, std::unique_ptr<Attachment>> attachments_;  // by attach_id
    // What status reads of each attachment (its state file), by attach_id.
    struct Recorded {
        vhci::AttachedDevice entry;
        RateMeter rate;
    };
    std::map<uint32_t, Recorded> recorded_;
    std::set<uint32_t> resuming_;
    std::vector<std::unique_ptr<Attachment>> retired_;  // destroyed on the next loop turn
    bool connected_once_ = false;
    bool connected_ = false;
    bool stopping_ = false;
    bool finished_ = false;
    bool warned_no_match_ = false;
    bool warned_report_ = false;
    size_t detaches_out_ = 0;
    loop::Timer grace_timer_;
    loop::Timer reaper_;
    loop::Timer stop_timer_;
    loop::Timer report_timer_;
};

}  // namespace usbhop::client
