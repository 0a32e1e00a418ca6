// `usbhop list <peer>`: the devices a server shares with this node, once or
// (--watch) followed by their arrivals, departures and changes as they happen.
#include <signal.h>

#include <cstdio>
#include <map>

#include "client/attach.hpp"
#include "client/client.hpp"
#include "client/selection.hpp"
#include "client/session.hpp"
#include "util/json.hpp"
#include "util/log.hpp"
#include "util/printable.hpp"

namespace usbhop::client {

namespace {

const char* state_name(proto::DeviceState s) {
    switch (s) {
    case proto::DeviceState::kAvailable: return "available";
    case proto::DeviceState::kAttachedByYou: return "attached by you";
    case proto::DeviceState::kInUse: return "in use";
    }
    return "?";
}

const char* speed_name(proto::Speed s) {
    switch (s) {
    case proto::Speed::kLow: return "low";
    case proto::Speed::kFull: return "full";
    case proto::Speed::kHigh: return "high";
    case proto::Speed::kWireless: return "wireless";
    case proto::Speed::kSuper: return "super";
    case proto::Speed::kSuperPlus: return "super-plus";
    default: return "unknown";
    }
}

// docs/json.md, "usbhop list <peer>". The strings as the server sent them:
// the JSON library escapes them, and replaces what is not UTF-8.
util::Json device_json(const proto::DeviceInfo& d, const char* event) {
    util::Json o;
    if (event) o["event"] = event;
    o.update(util::device_json({d.bus_path, vendor_of(d), product_of(d), speed_name(d.speed)}));
    o["manufacturer"] = d.manufacturer;
    o["product_name"] = d.product;
    o["serial"] = d.serial;
    o["device_id"] = d.device_id;
    o["share"] = d.share;
    o["state"] = state_name(d.state);
    o["holder"] = d.holder;
    return o;
}

std::string device_line(const proto::DeviceInfo& d) {
    std::string line = describe(d) + "  speed " + speed_name(d.speed) + ", " + state_name(d.state);
    if (!d.holder.empty()) line += " (" + util::printable(d.holder) + ")";
    if (!d.share.empty()) line += ", share " + util::printable(d.share);
    if (!d.serial.empty()) line += ", serial " + util::printable(d.serial);
    return line;
}

class Lister : public Session::Owner {
public:
    Lister(bool watch, bool json) : watch_(watch), json_(json) {}
    void set_session(Session* s) { session_ = s; }
    bool done() const { return done_; }
    int status() const { return status_; }

    void on_ready(const proto::HelloAck& ack, bool) override {
        if (watch_ && !(ack.capabilities & proto::kCapHotplug))
            log::write(log::Level::warning, session_->log_fields(),
                       "%s does not send hot-plug events; showing the list only", session_->server_name().c_str());
        session_->send_control(proto::ListDevices{watch_ && (ack.capabilities & proto::kCapHotplug)});
    }
    void on_control(proto::Message&& m) override {
        if (auto* list = std::get_if<proto::DeviceList>(&m)) {
            for (auto& d : list->devices) {
                devices_.push_back(d);
                known_[d.device_id] = d;
            }
            if (list->last) print_list();
        } else if (auto* a = std::get_if<proto::DeviceArrived>(&m)) {
            known_[a->device.device_id] = a->device;
            event("arrived", a->device);
        } else if (auto* c = std::get_if<proto::DeviceChanged>(&m)) {
            known_[c->device.device_id] = c->device;
            event("changed", c->device);
        } else if (auto* l = std::get_if<proto::DeviceLeft>(&m)) {
            auto it = known_.find(l->device_id);
            if (it != known_.end()) {
                event("left", it->second);
                known_.erase(it);
            } else if (json_) {
                std::printf("%s\n", util::json_text({{"event", "left"}, {"device_id", l->device_id}}).c_str());
            } else {
                std::printf("left     device %u\n", l->device_id);
            }
            std::fflush(stdout);
        } else if (auto* e = std::get_if<proto::ErrorMsg>(&m)) {
            log::write(log::Level::error, session_->log_fields(), "%s: %s", session_->server_name().c_str(),
                       util::printable(e->message).c_str());
            status_ = 1;
        }
    }
    void on_urb(int64_t, proto::Message&&) override {}
    void on_urb_stream_ended(int64_t) override {}
    void on_urb_writable(int64_t) override {}
    void on_disconnected(const std::string& why, Nanos) override {
        if (!listed_) {
            log::write(log::Level::error, session_->log_fields(), "cannot list the devices of %s: %s",
                       session_->server_name().c_str(), why.c_str());
            status_ = 1;
        }
        done_ = true;
    }

private:
    void print_list() {
        listed_ = true;
        if (json_) {
            util::Json all = util::Json::array();
            for (const auto& d : devices_) all.push_back(device_json(d, nullptr));
            std::printf("%s\n", util::json_lines(all).c_str());
        } else if (devices_.empty()) {
            std::printf("%s shares no devices with this node\n", session_->server_name().c_str());
        } else {
            for (auto& d : devices_) std::printf("%s\n", device_line(d).c_str());
        }
        std::fflush(stdout);
        if (!watch_) session_->stop("listed", proto::Reason::kNone);
    }
    void event(const char* what, const proto::DeviceInfo& d) {
        if (json_) std::printf("%s\n", util::json_text(device_json(d, what)).c_str());
        else std::printf("%-8s %s\n", what, device_line(d).c_str());
        std::fflush(stdout);
    }

    bool watch_, json_;
    Session* session_ = nullptr;
    std::vector<proto::DeviceInfo> devices_;
    std::map<uint32_t, proto::DeviceInfo> known_;  // for the lines of --watch
    bool listed_ = false;
    bool done_ = false;
    int status_ = 0;
};

}  // namespace

int list_remote(const Context& ctx, const std::string& peer, bool watch, bool json) {
    auto target = config::resolve_peer(ctx.config, peer);
    if (!target) {
        log::error("%s", target.error().message.c_str());
        return 2;
    }
    auto options = session_options(ctx, *target);
    if (!options) {
        log::error("%s", options.error().message.c_str());
        return 1;
    }
    auto key = load_client_key(ctx);
    if (!key) {
        log::error("%s", key.error().message.c_str());
        return 1;
    }
    loop::Loop loop;
    Lister lister(watch, json);
    Session::Options so = std::move(*options);
    so.reconnect = watch;  // a watcher rides out network trouble; a one-shot list reports it
    int status = 0;
    {
        Session session(loop, *key, so, lister);
        lister.set_session(&session);
        auto stop = [&] { session.stop("interrupted"); };
        loop::Signal sigint(loop, SIGINT, stop);
        loop::Signal sigterm(loop, SIGTERM, stop);
        if (auto r = session.start(); !r) {
            log::error("%s", r.error().message.c_str());
            return 1;
        }
        while (!lister.done()) loop.run_once(true);
        loop.run_until([] { return false; }, 100 * kMillisecond);
        status = lister.status();
    }
    return status;
}

}  // namespace usbhop::client
