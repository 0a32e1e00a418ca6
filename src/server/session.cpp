#include "server/session.hpp"

#include "server/peer_link.hpp"
#include "util/log.hpp"

namespace usbhop::server {

Session::Session(loop::Loop& loop, identity::NodeId peer, proto::Token token, uint64_t capabilities, Nanos grace,
                 std::function<void(Session&)> on_expired)
    : peer_(peer),
      label_(peer.short_string()),
      token_(token),
      caps_(capabilities),
      grace_(grace),
      grace_timer_(loop, [this] {
          log::write(log::Level::notice, fields_, "%s did not come back within %s; its session ends", label_.c_str(),
                     format_duration(grace_).c_str());
          expire();
      }),
      on_expired_(std::move(on_expired)) {}

void Session::connect(PeerLink& link, uint64_t capabilities, bool resumed) {
    grace_timer_.stop();
    link_ = &link;
    fields_ = link.log_fields();
    caps_ = capabilities;
    state_ = State::connected;
    watching = false;
    needs_resume_.clear();
    resumed_ = resumed;
    if (resumed)
        for (const auto& [id, a] : attachments_) needs_resume_.insert(id);
    for (const auto& [id, a] : attachments_) a->set_outbox(nullptr);
}

void Session::disconnect(PeerLink& link) {
    if (link_ != &link) return;  // a replaced connection
    link_ = nullptr;
    watching = false;
    for (const auto& [id, a] : attachments_) a->set_outbox(nullptr);
    if (state_ == State::expired) return;
    if (!resumable() || grace_ == 0) {
        expire();
        return;
    }
    state_ = State::waiting;
    if (!attachments_.empty())
        log::write(log::Level::info, fields_, "%s disconnected; its %zu device(s) stay claimed for %s", label_.c_str(),
                   attachments_.size(), format_duration(grace_).c_str());
    grace_timer_.start(grace_);
}

void Session::expire() {
    if (state_ == State::expired) return;
    state_ = State::expired;
    grace_timer_.stop();
    on_expired_(*this);
}

Attachment* Session::find(uint32_t attach_id) {
    auto it = attachments_.find(attach_id);
    return it == attachments_.end() ? nullptr : it->second.get();
}

Attachment& Session::add(std::unique_ptr<Attachment> attachment) {
    uint32_t id = attachment->id();
    auto& slot = attachments_[id];
    slot = std::move(attachment);
    return *slot;
}

void Session::remove(uint32_t attach_id) {
    attachments_.erase(attach_id);
    needs_resume_.erase(attach_id);
}

}  // namespace usbhop::server
