// server/session: one peer's session — what survives a dropped connection
// (protocol.md §5 "Session", §11). It holds the session token, the
// attachments, and which of them were resumed on the current connection.
//
// States:  connected ──link lost──► waiting (grace timer) ──resume──► connected
//                                       └──grace over──► expired (attachments ended)
// Without the RESUME capability there is no waiting: the session expires as
// soon as its connection is gone.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "identity/identity.hpp"
#include "loop/loop.hpp"
#include "proto/messages.hpp"
#include "server/attachment.hpp"
#include "util/log.hpp"

namespace usbhop::server {

class PeerLink;

class Session {
public:
    enum class State { connected, waiting, expired };

    Session(loop::Loop& loop, identity::NodeId peer, proto::Token token, uint64_t capabilities, Nanos grace,
            std::function<void(Session&)> on_expired);
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    const identity::NodeId& peer() const { return peer_; }
    const std::string& label() const { return label_; }  // short node ID
    // The journal fields of the peer, as its latest connection gave them.
    const log::Fields& log_fields() const { return fields_; }
    const proto::Token& token() const { return token_; }
    uint64_t capabilities() const { return caps_; }
    bool resumable() const { return caps_ & proto::kCapResume; }
    State state() const { return state_; }

    PeerLink* link() const { return link_; }
    // A connection takes the session (new, or resumed: then every attachment
    // must be resumed again before it can be bound).
    void connect(PeerLink& link, uint64_t capabilities, bool resumed);
    // The connection is gone: keep everything for the grace period.
    void disconnect(PeerLink& link);
    // Marks the session expired (grace over, peer removed, shutdown).
    void expire();

    Attachment* find(uint32_t attach_id);
    uint32_t next_attach_id() { return next_attach_id_++; }
    Attachment& add(std::unique_ptr<Attachment> attachment);
    void remove(uint32_t attach_id);
    const std::map<uint32_t, std::unique_ptr<Attachment>>& attachments() const { return attachments_; }

    // §11: Bind is refused until the attachment was resumed on this connection.
    bool bindable(uint32_t attach_id) const { return !needs_resume_.count(attach_id); }
    // §11: Resume is answered only on a connection that resumed the session
    // (HelloAck{resumed = 1}), once per attachment.
    bool resumed() const { return resumed_; }
    bool awaiting_resume(uint32_t attach_id) const { return needs_resume_.count(attach_id) > 0; }
    void mark_resumed(uint32_t attach_id) { needs_resume_.erase(attach_id); }

    bool watching = false;  // ListDevices{watch} on the current connection

private:
    identity::NodeId peer_;
    std::string label_;
    log::Fields fields_;
    proto::Token token_;
    uint64_t caps_;
    Nanos grace_;
    State state_ = State::connected;
    PeerLink* link_ = nullptr;
    std::map<uint32_t, std::unique_ptr<Attachment>> attachments_;
    std::set<uint32_t> needs_resume_;
    bool resumed_ = false;  // the current connection resumed this session
    uint32_t next_attach_id_ = 1;
    loop::Timer grace_timer_;
    std::function<void(Session&)> on_expired_;
};

}  // namespace usbhop::server
