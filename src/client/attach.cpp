#include "client/attach.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "client/client.hpp"
#include "config/files.hpp"
#include "quic/path_report.hpp"
#include "util/log.hpp"
#include "util/printable.hpp"

namespace usbhop::client {

namespace {

constexpr Nanos kShutdownWait = 3 * kSecond;
constexpr Nanos kGraceMargin = 2 * kSecond;
// How often usbhop status's view of the connection is refreshed: the RTT
// moves, and a relayed session may go direct at any time.
constexpr Nanos kReportInterval = 1 * kSecond;

void say(const std::string& line) {
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
}

std::string reason_text(proto::Reason r, const std::string& message) {
    std::string m = util::printable(message);
    std::string name = proto::reason_name(r);
    return m.empty() ? name : name + ": " + m;
}

}  // namespace

Attacher::Attacher(loop::Loop& loop, const identity::NodeKey& key, Session::Options session, Options options)
    : loop_(loop),
      options_(std::move(options)),
      vhci_(options_.sysfs),
      state_(options_.rundir),
      session_(loop, key, session, *this),
      peer_id_(session.server_node.to_string()),
      grace_timer_(loop, [this] { on_grace_over(); }),
      reaper_(loop, [this] { retired_.clear(); }),
      stop_timer_(loop, [this] {
          session_.stop("usbhop attach is stopping");
          finished_ = true;
      }),
      report_timer_(loop, [this] {
          report_path();
          report_traffic();
      }) {}

Attacher::~Attacher() {
    for (auto& [id, a] : attachments_) {
        if (auto r = a->detach_port(); !r)
            log::write(log::Level::warning, a->log_fields(), "%s", r.error().message.c_str());
        (void)state_.remove(a->port_number());
    }
    quic::remove_reports(options_.rundir, "attach", static_cast<int>(::getpid()));
}

Result<void> Attacher::start() {
    auto started = session_.start();
    if (started) report_timer_.start(0, kReportInterval);
    return started;
}

void Attacher::report_path() {
    quic::PathReport r;
    quic::Connection* c = session_.connection();
    if (c && session_.ready()) {
        r = quic::describe(c->peer(), c->path(), session_.relay());
    } else {
        r.peer = peer_id_;
    }
    r.state = session_state_name(session_.state());
    if (auto saved = quic::save_reports(options_.rundir, "attach", static_cast<int>(::getpid()), {r});
        !saved && !warned_report_) {
        warned_report_ = true;
        log::warning("usbhop status will not show this connection: %s", saved.error().message.c_str());
    }
}

// Rewrites each attached device's state file with its live numbers (status
// shows them), when they changed.
void Attacher::report_traffic() {
    const Nanos now = monotonic_ns();
    for (auto it = recorded_.begin(); it != recorded_.end();) {
        auto a = attachments_.find(it->first);
        if (a == attachments_.end()) {
            it = recorded_.erase(it);
            continue;
        }
        const UrbCounters& c = a->second->counters();
        Recorded& r = it->second;
        r.rate.sample(now, c.bytes_in, c.bytes_out);
        vhci::AttachedDevice::Traffic t{a->second->urbs_in_flight(), c.urbs, c.bytes_in, c.bytes_out,
                                        r.rate.rate_in(), r.rate.rate_out(), c.errors, c.unlinks};
        if (t != r.entry.traffic) {
            r.entry.traffic = t;
            (void)state_.save(r.entry);  // the first save, at attach time, said why if it failed
        }
        ++it;
    }
}

Attachment* Attacher::by_device(uint32_t device_id) {
    for (auto& [id, a] : attachments_)
        if (a->info().device_id == device_id) return a.get();
    return nullptr;
}

void Attacher::on_ready(const proto::HelloAck& ack, bool resumed) {
    grace_timer_.stop();
    connected_ = true;
    report_path();
    if (connected_once_)
        log::write(log::Level::notice, session_.log_fields(), "connection to %s is back%s",
                   session_.server_name().c_str(), resumed ? ", session resumed" : "");
    connected_once_ = true;
    if (resumed) {
        for (auto& [id, a] : attachments_) {
            resuming_.insert(id);
            session_.send_control(a->resume_request());
        }
    } else {
        end_all("the server no longer had our session");
    }
    session_.send_control(proto::ListDevices{(ack.capabilities & proto::kCapHotplug) != 0});
}

void Attacher::on_control(proto::Message&& m) {
    if (auto* list = std::get_if<proto::DeviceList>(&m)) {
        for (const proto::DeviceInfo& d : list->devices) {
            devices_[d.device_id] = d;
            consider(d);
        }
        if (list->last && attachments_.empty() && attaching_.empty() && !warned_no_match_) {
            warned_no_match_ = true;
            log::write(log::Level::notice, session_.log_fields(),
                       "%s shares no device with us%s; waiting for one to be plugged in",
                       session_.server_name().c_str(), options_.selectors.empty() ? "" : " that matches");
        }
    } else if (auto* a = std::get_if<proto::DeviceArrived>(&m)) {
        devices_[a->device.device_id] = a->device;
        refused_.erase(a->device.device_id);
        consider(a->device);
    } else if (auto* c = std::get_if<proto::DeviceChanged>(&m)) {
        devices_[c->device.device_id] = c->device;
        if (c->device.state == proto::DeviceState::kAvailable) refused_.erase(c->device.device_id);
        consider(c->device);
    } else if (auto* l = std::get_if<proto::DeviceLeft>(&m)) {
        devices_.erase(l->device_id);
        refused_.erase(l->device_id);
    } else if (auto* ok = std::get_if<proto::AttachOk>(&m)) {
        on_attach_ok(*ok);
    } else if (auto* e = std::get_if<proto::AttachError>(&m)) {
        on_attach_error(*e);
    } else if (auto* d = std::get_if<proto::Detached>(&m)) {
        on_detached(*d);
    } else if (auto* r = std::get_if<proto::ResumeOk>(&m)) {
        on_resume_ok(*r);
    } else if (auto* err = std::get_if<proto::ErrorMsg>(&m)) {
        log::write(log::Level::warning, session_.log_fields(), "server %s: %s", session_.server_name().c_str(),
                   reason_text(err->code, err->message).c_str());
    }
}

void Attacher::consider(const proto::DeviceInfo& d) {
    if (stopping_ || !session_.ready()) return;
    if (!selected(options_.selectors, d)) return;
    if (by_device(d.device_id) || attaching_.count(d.device_id) || refused_.count(d.device_id) ||
        let_go_.count(d.device_id))
        return;
    if (d.state == proto::DeviceState::kInUse) {
        log::write(log::Level::notice, device_fields(session_.log_fields(), d),
                   "%s is in use by %s; waiting for it to be free", describe(d).c_str(),
                   util::printable(d.holder).c_str());
        refused_.insert(d.device_id);
        return;
    }
    attaching_.insert(d.device_id);
    session_.send_control(proto::Attach{d.device_id});
}

void Attacher::on_attach_ok(const proto::AttachOk& ok) {
    attaching_.erase(ok.device_id);
    if (attachments_.count(ok.attach_id)) return;
    auto dev = devices_.find(ok.device_id);
    if (dev == devices_.end() || stopping_) {
        session_.send_control(proto::Detach{ok.attach_id});
        return;
    }
    const proto::DeviceInfo& info = dev->second;
    auto port = vhci_.attach(info.device_id, static_cast<uint32_t>(info.speed));
    if (!port) {
        log::write(log::Level::error, device_fields(session_.log_fields(), info), "cannot attach %s: %s",
                   describe(info).c_str(), port.error().message.c_str());
        refused_.insert(info.device_id);
        session_.send_control(proto::Detach{ok.attach_id});
        return;
    }
    const uint32_t number = port->port();
    auto a = std::make_unique<Attachment>(loop_, session_, info, ok.attach_id, std::move(*port),
                                          [this](Attachment& at, const std::string& why) { on_port_closed(at, why); });
    vhci::AttachedDevice entry;
    entry.port = number;
    entry.devid = info.device_id;
    entry.speed = static_cast<uint32_t>(info.speed);
    entry.peer = peer_id_;
    entry.bus_path = util::printable(info.bus_path);
    entry.vendor = vendor_of(info);
    entry.product = product_of(info);
    entry.description = util::printable(info.manufacturer + (info.manufacturer.empty() ? "" : " ") + info.product);
    entry.attached_at = static_cast<int64_t>(std::time(nullptr));
    entry.pid = static_cast<int>(::getpid());
    if (auto r = state_.save(entry); !r)
        log::write(log::Level::warning, a->log_fields(), "cannot record the attachment for usbhop status/detach: %s",
                   r.error().message.c_str());
    a->go_live();
    attachments_.emplace(ok.attach_id, std::move(a));
    recorded_[ok.attach_id] = Recorded{entry, RateMeter()};
    say("attached " + describe(info) + " from " + session_.server_name() + " on vhci port " + std::to_string(number));
}

void Attacher::on_attach_error(const proto::AttachError& e) {
    attaching_.erase(e.device_id);
    refused_.insert(e.device_id);
    auto dev = devices_.find(e.device_id);
    std::string what = dev == devices_.end() ? "device " + std::to_string(e.device_id) : describe(dev->second);
    log::write(log::Level::error,
               dev == devices_.end() ? session_.log_fields() : device_fields(session_.log_fields(), dev->second),
               "cannot attach %s: %s", what.c_str(), reason_text(e.reason, e.message).c_str());
}

void Attacher::on_detached(const proto::Detached& d) {
    resuming_.erase(d.attach_id);
    if (stopping_) {
        if (detaches_out_ > 0 && --detaches_out_ == 0) {
            stop_timer_.stop();
            session_.stop("usbhop attach is stopping");
            finished_ = true;
        }
        return;
    }
    if (!attachments_.count(d.attach_id)) return;
    std::string why = d.reason == proto::Reason::kGone ? "unplugged at the server" : reason_text(d.reason, d.message);
    end_attachment(d.attach_id, why, false);
}

void Attacher::on_resume_ok(const proto::ResumeOk& ok) {
    auto it = attachments_.find(ok.attach_id);
    if (it == attachments_.end() || !resuming_.erase(ok.attach_id)) {
        session_.protocol_error("ResumeOk for attachment " + std::to_string(ok.attach_id) + ", which we did not resume");
        return;
    }
    log::write(log::Level::info, it->second->log_fields(), "%s resumed: %llu URBs to send again",
               describe(it->second->info()).c_str(), static_cast<unsigned long long>(proto::total_count(ok.missing)));
    it->second->on_resume_ok(ok);
}

void Attacher::on_urb(int64_t stream, proto::Message&& m) {
    for (auto& [id, a] : attachments_)
        if (a->owns_stream(stream)) return a->on_urb(stream, std::move(m));
}

void Attacher::on_urb_stream_ended(int64_t stream) {
    for (auto& [id, a] : attachments_)
        if (a->owns_stream(stream)) return a->on_stream_ended(stream);
}

void Attacher::on_urb_writable(int64_t stream) {
    for (auto& [id, a] : attachments_)
        if (a->owns_stream(stream)) return a->on_writable(stream);
}

void Attacher::on_disconnected(const std::string& why, Nanos retry_in) {
    report_path();
    attaching_.clear();
    resuming_.clear();
    for (auto& [id, a] : attachments_) a->connection_lost();
    if (stopping_ || retry_in == 0) {
        finished_ = true;
        return;
    }
    if (connected_) {
        connected_ = false;
        const uint64_t caps = session_.hello_ack().capabilities;
        const Nanos grace = (caps & proto::kCapResume) ? Nanos(session_.hello_ack().grace_ms) * kMillisecond : 0;
        log::write(log::Level::notice, session_.log_fields(),
                   "connection to %s lost (%s); reconnecting, devices stay attached for up to %s",
                   session_.server_name().c_str(), why.c_str(), format_duration(grace).c_str());
        // A little past the server's grace, so that a resume we still manage
        // is never refused here while the server would have taken it.
        if (grace == 0) end_all("the connection was lost and the server keeps no session");
        else grace_timer_.start(grace + kGraceMargin);
    } else if (!connected_once_) {
        log::write(log::Level::notice, session_.log_fields(), "cannot reach %s yet (%s); retrying in %s",
                   session_.server_name().c_str(), why.c_str(), format_duration(retry_in).c_str());
    } else {
        log::write(log::Level::info, session_.log_fields(), "still cannot reach %s (%s); retrying in %s",
                   session_.server_name().c_str(), why.c_str(), format_duration(retry_in).c_str());
    }
}

void Attacher::on_grace_over() {
    if (session_.ready()) return;
    end_all("the server was unreachable for longer than its grace period; it will be attached again when the server is back");
}

void Attacher::on_port_closed(Attachment& a, const std::string& why) {
    const uint32_t id = a.attach_id();
    let_go_.insert(a.info().device_id);
    end_attachment(id, "detached here (" + why + ")", true);
}

void Attacher::end_attachment(uint32_t attach_id, const std::string& why, bool tell_server) {
    auto it = attachments_.find(attach_id);
    if (it == attachments_.end()) return;
    std::unique_ptr<Attachment> a = std::move(it->second);
    attachments_.erase(it);
    resuming_.erase(attach_id);
    if (auto r = a->detach_port(); !r)
        log::write(log::Level::warning, a->log_fields(), "%s", r.error().message.c_str());
    if (auto r = state_.remove(a->port_number()); !r)
        log::write(log::Level::warning, a->log_fields(), "%s", r.error().message.c_str());
    if (tell_server && session_.ready()) session_.send_control(proto::Detach{attach_id});
    say("detached " + describe(a->info()) + " from vhci port " + std::to_string(a->port_number()) + ": " + why);
    retired_.push_back(std::move(a));
    reaper_.start(0);
}

void Attacher::end_all(const std::string& why) {
    std::vector<uint32_t> ids;
    for (auto& [id, a] : attachments_) ids.push_back(id);
    for (uint32_t id : ids) end_attachment(id, why, false);
}

void Attacher::shutdown(const std::string& why) {
    if (stopping_) return;
    std::vector<uint32_t> ids;
    for (auto& [id, a] : attachments_) ids.push_back(id);
    const bool ready = session_.ready();
    for (uint32_t id : ids) end_attachment(id, why, true);
    stopping_ = true;
    detaches_out_ = ready ? ids.size() : 0;
    if (detaches_out_ == 0) {
        session_.stop("usbhop attach is stopping");
        finished_ = true;
        return;
    }
    // Wait (briefly) for the server's Detached so that it releases the
    // devices now rather than after its grace period.
    stop_timer_.start(kShutdownWait);
}

// ---- the command ----------------------------------------------------------

namespace {

}  // namespace

Result<Session::Options> session_options(const Context& ctx, const config::PeerTarget& target) {
    // A peer with an address is reached directly; one without, through its relay.
    auto address = target.address || !target.relay
                       ? resolve_server(target)
                       : quic::resolve_host(target.relay->address.host, target.relay->address.port);
    if (!address) return address.error();
    Session::Options so;
    so.server_node = target.node;
    so.peer_name = target.name;
    so.server_address = *address;
    if (!target.address && target.relay) so.relay_node = target.relay->node;
    so.settings = ctx.config.client;
    return so;
}

Result<identity::NodeKey> load_client_key(const Context& ctx) {
    std::string path = ctx.config.client.identity.empty() ? identity::default_identity_path() : ctx.config.client.identity;
    path = config::expand_home(path, ctx.home);
    auto key = identity::NodeKey::load_or_create(path);
    if (!key) return make_error("cannot load this node's key " + path + ": " + key.error().message);
    return key;
}

int attach(const Context& ctx, const std::string& peer, const std::vector<std::string>& devices) {
    auto selectors = parse_selectors(devices);
    if (!selectors) {
        log::error("%s", selectors.error().message.c_str());
        return 2;
    }
    auto target = config::resolve_peer(ctx.config, peer);
    if (!target) {
        log::error("%s", target.error().message.c_str());
        return 2;
    }
    vhci::Vhci vhci(ctx.sysfs);
    if (auto r = vhci.check_usable(); !r) {
        log::error("%s", r.error().message.c_str());
        return 1;
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
    Session::Options so = std::move(*options);
    Attacher::Options ao;
    ao.selectors = std::move(*selectors);
    ao.rundir = ctx.rundir;
    ao.sysfs = ctx.sysfs;
    int status = 0;
    {
        Attacher attacher(loop, *key, so, ao);
        auto stop = [&] { attacher.shutdown("usbhop attach is stopping"); };
        loop::Signal sigint(loop, SIGINT, stop);
        loop::Signal sigterm(loop, SIGTERM, stop);
        ::signal(SIGPIPE, SIG_IGN);
        if (auto r = attacher.start(); !r) {
            log::error("%s", r.error().message.c_str());
            return 1;
        }
        log::write(log::Level::notice, attacher.log_fields(), "connecting to %s as %s",
                   (target->node.short_string() + "@" + so.server_address.to_string()).c_str(),
                   key->id().short_string().c_str());
        while (!attacher.finished()) loop.run_once(true);
        // Let the close and the last Detach reach the server.
        loop.run_until([] { return false; }, 200 * kMillisecond);
    }
    return status;
}

}  // namespace usbhop::client
