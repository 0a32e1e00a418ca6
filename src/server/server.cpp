#include "server/server.hpp"

#include <unistd.h>

#include <algorithm>

#include <sys/random.h>

#include <csignal>
#include <ctime>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include "config/authorized_keys.hpp"
#include "config/files.hpp"
#include "config/pending.hpp"
#include "loop/loop.hpp"
#include "quic/endpoint.hpp"
#include "quic/path_report.hpp"
#include "quic/relay_path.hpp"
#include "server/attachment.hpp"
#include "server/exports.hpp"
#include "server/notify.hpp"
#include "server/peer_link.hpp"
#include "server/session.hpp"
#include "usb/host.hpp"
#include "usbhop_config.h"
#include "util/log.hpp"
#include "util/printable.hpp"

namespace usbhop::server {

namespace {

constexpr Nanos kShutdownWait = 5 * kSecond;
// How often serve-<pid> (usbhop status) is rewritten: RTTs move, and a
// relayed session may go direct at any time.
constexpr Nanos kReportInterval = 1 * kSecond;

proto::Token random_token() {
    proto::Token t{};
    size_t got = 0;
    while (got < t.size()) {
        ssize_t n = getrandom(t.data() + got, t.size() - got, 0);
        if (n > 0) got += static_cast<size_t>(n);
    }
    return t;
}

bool is_zero(const proto::Token& t) {
    for (std::byte b : t)
        if (b != std::byte{0}) return false;
    return true;
}

std::string clock_now() {
    time_t now = time(nullptr);
    struct tm tm {};
    localtime_r(&now, &tm);
    char buf[16];
    strftime(buf, sizeof buf, "%H:%M", &tm);
    return buf;
}

Result<loop::SocketAddress> listen_address(const config::Address& a) {
    std::string text = a.is_ipv6() ? "[" + a.host + "]:" + std::to_string(a.port) : a.host + ":" + std::to_string(a.port);
    auto addr = loop::SocketAddress::parse(text);
    if (!addr) return make_error("[server] listen = " + a.to_string() + ": serve listens on a numeric address (" +
                                 addr.error().message + ")");
    return addr;
}

// The device table, the sessions and the connections, wired to the loop.
class Server final : public PeerHost {
public:
    Server(loop::Loop& loop, config::Config config, RunOptions options)
        : loop_(loop),
          config_(std::move(config)),
          options_(std::move(options)),
          notifier_(loop),
          reaper_(loop, [this] { reap(); }),
          shutdown_timer_(loop, [this] { shutdown_step(); }),
          sighup_(loop, SIGHUP, [this] { reload(); }),
          sigterm_(loop, SIGTERM, [this] { shutdown("SIGTERM"); }),
          sigint_(loop, SIGINT, [this] { shutdown("SIGINT"); }),
          report_timer_(loop, [this] { report_paths(); }) {}

    ~Server() {
        if (!options_.rundir.empty()) quic::remove_reports(options_.rundir, "serve", static_cast<int>(::getpid()));
        // Sessions and links go before the endpoint and usb::Host they use.
        sessions_.clear();
        links_.clear();
        graveyard_.clear();
    }

    Result<void> start();

    // PeerHost
    Session* open_session(PeerLink& link, const proto::Hello& hello) override;
    void list_devices(PeerLink& link, Session& session, bool watch) override;
    void attach(Session& session, uint32_t device_id) override;
    void settle(Session& session) override;
    void link_closed(PeerLink& link) override;

private:
    struct Holding {
        Session* session = nullptr;
        Attachment* attachment = nullptr;
        std::string since;
    };

    std::string expand(const std::string& path) const { return config::expand_home(path, options_.home); }
    void on_connection(quic::Connection& connection);
    bool trusted(const identity::NodeId& node) const { return keys_.contains(node); }
    // A peer's journal fields: full ID, authorized_keys comment, address.
    log::Fields peer_fields(const identity::NodeId& node, const loop::SocketAddress& address) const {
        const config::AuthorizedKey* key = keys_.find(node);
        return std::move(log::Fields().peer(node.to_string(), key ? key->comment : "").address(address.to_string()));
    }

    void on_usb_wake();
    void on_usb_event(usb::Event& event);
    void on_arrived(const usb::DeviceInfo& info);
    void on_left(usb::DeviceId id);

    const usb::DeviceInfo* device_by_wire_id(uint32_t wire_id) const;
    std::optional<proto::DeviceInfo> view(const usb::DeviceInfo& d, const Session& s,
                                          std::span<const config::ExportRule> rules) const;
    void tell_watchers_changed(usb::DeviceId id);
    void session_expired(Session& session);
    void update_status();
    void report_paths();

    void reload();
    void shutdown(const char* why);
    void shutdown_step();
    void reap();

    loop::Loop& loop_;
    config::Config config_;
    RunOptions options_;
    config::AuthorizedKeys keys_;
    Notifier notifier_;
    std::unique_ptr<quic::Endpoint> endpoint_;
    std::unique_ptr<quic::RelayPath> relay_;  // [server] relay: registered under our node ID (docs/relay.md)
    std::unique_ptr<loop::Async> usb_wake_;  // outlives host_, which calls it from its threads
    std::unique_ptr<usb::Host> host_;
    std::map<usb::DeviceId, usb::DeviceInfo> devices_;
    std::map<usb::DeviceId, Holding> holders_;
    std::map<PeerLink*, std::unique_ptr<PeerLink>> links_;
    std::map<proto::Token, std::unique_ptr<Session>> sessions_;
    std::vector<std::unique_ptr<PeerLink>> graveyard_;
    loop::Timer reaper_;
    loop::Timer shutdown_timer_;
    Nanos shutdown_deadline_ = 0;
    bool links_closed_ = false;
    bool ready_ = false;  // READY=1 sent: STATUS= only after it
    bool stopping_ = false;
    loop::Signal sighup_;
    loop::Signal sigterm_;
    loop::Signal sigint_;
    loop::Timer report_timer_;
    bool warned_report_ = false;
    // Nodes refused recently, for `usbhop pending` (config/pending.hpp).
    std::unique_ptr<config::PendingFile> pending_;
    bool warned_pending_ = false;
};

Result<void> Server::start() {
    auto keys = config::load_authorized_keys(expand(config_.server.authorized_keys));
    if (!keys) return keys.error();
    keys_ = std::move(*keys);
    if (keys_.keys.empty())
        log::warning("%s lists no node: nobody can connect until 'usbhop trust <node-id>' adds one and serve "
                     "reloads (SIGHUP)",
                     expand(config_.server.authorized_keys).c_str());

    auto key = identity::NodeKey::load_or_create(expand(config_.server.identity));
    if (!key) return key.error();

    auto bind = listen_address(config_.server.listen);
    if (!bind) return bind.error();
    quic::Config qc;
    qc.idle_timeout = config_.server.idle_timeout;
    qc.keep_alive = 0;  // the client pings (protocol.md §5); the server only answers
    qc.max_udp_payload = config_.server.max_udp_payload;
    qc.max_streams = PeerLink::kMaxStreams;
    auto ep = quic::Endpoint::create(loop_, *key, *bind, qc);
    if (!ep) return make_error("cannot listen on " + config_.server.listen.to_string() + ": " + ep.error().message);
    endpoint_ = std::move(*ep);
    endpoint_->listen([this](const identity::NodeId& n) { return trusted(n); },
                      [this](quic::Connection& c) { on_connection(c); });
    pending_ = std::make_unique<config::PendingFile>(config::pending_path(expand(config_.server.identity)));
    endpoint_->on_refused([this](const identity::NodeId& n, const loop::SocketAddress& from) {
        pending_->note(n, from.host_string(), static_cast<int64_t>(std::time(nullptr)));
    });
    if (const auto& r = config_.server.relay) {
        auto at = quic::resolve_host(r->address.host, r->address.port);
        if (!at) return make_error("[server] relay = " + r->address.to_string() + ": " + at.error().message);
        relay_ = std::make_unique<quic::RelayPath>(loop_, *endpoint_, std::move(*key), quic::RelayPathOptions{*at, r->node});
        relay_->start();
    }

    usb_wake_ = std::make_unique<loop::Async>(loop_, [this] { on_usb_wake(); });
    loop::Async* wake = usb_wake_.get();
    auto host = usb::Host::start([wake] { wake->send(); });
    if (!host) {
        log::warning("USB is not available on this machine (%s); serving no devices", host.error().message.c_str());
    } else {
        host_ = std::move(*host);
        on_usb_wake();  // every device already plugged in
    }
    log::notice("serving as %s on %s with %zu device(s) shared, %zu trusted node(s)",
                endpoint_->id().to_string().c_str(), endpoint_->local_address().to_string().c_str(),
                [this] {
                    size_t n = 0;
                    for (const auto& [id, d] : devices_) n += !matching_rules(config_.shares, d).empty();
                    return n;
                }(),
                keys_.keys.size());
    notifier_.ready();
    ready_ = true;
    update_status();
    report_timer_.start(0, kReportInterval);
    return {};
}

void Server::on_connection(quic::Connection& connection) {
    auto link = std::make_unique<PeerLink>(connection, *this, peer_fields(connection.peer(), connection.path().remote));
    PeerLink& l = *link;
    links_[&l] = std::move(link);
    log::write(log::Level::debug, l.log_fields(), "%s connected from %s", l.label().c_str(),
               connection.path().remote.to_string().c_str());
    if (stopping_) {
        l.close(proto::Reason::kShuttingDown, "the server is stopping");
    } else if (links_.size() > config_.server.max_peers) {
        l.close(proto::Reason::kBusy, "the server already has " + std::to_string(config_.server.max_peers) +
                                          " peers connected ([server] max_peers)");
    }
}

void Server::link_closed(PeerLink& link) {
    if (Session* s = link.session()) {
        s->disconnect(link);
        settle(*s);
    }
    auto it = links_.find(&link);
    if (it != links_.end()) {
        graveyard_.push_back(std::move(it->second));  // we are inside its callback
        links_.erase(it);
        reaper_.start(0);
    }
    update_status();
}

Session* Server::open_session(PeerLink& link, const proto::Hello& hello) {
    if (hello.version_min > proto::kVersionMax || hello.version_max < proto::kVersionMin) {
        std::string msg = "no common protocol version: the client speaks " + std::to_string(hello.version_min) + ".." +
                          std::to_string(hello.version_max) + ", this server " + std::to_string(proto::kVersionMin) +
                          ".." + std::to_string(proto::kVersionMax);
        link.send_control(proto::ErrorMsg{proto::Reason::kVersion, true, 0, msg});
        link.close(proto::Reason::kVersion, msg);
        return nullptr;
    }
    if (stopping_) {
        link.close(proto::Reason::kShuttingDown, "the server is stopping");
        return nullptr;
    }
    uint64_t caps = hello.capabilities & proto::kCapsThisBuild;
    Session* session = nullptr;
    bool resumed = false;
    if (!is_zero(hello.resume_token)) {
        auto it = sessions_.find(hello.resume_token);
        if (it != sessions_.end() && it->second->peer() == link.peer() &&
            it->second->state() != Session::State::expired && (caps & proto::kCapResume)) {
            session = it->second.get();
            resumed = true;
            if (PeerLink* old = session->link()) {
                // §11 step 2: the old connection processes nothing more.
                old->set_session(nullptr);
                old->close(proto::Reason::kNone, "replaced by a resumed connection");
            }
        }
    }
    if (!session) {
        proto::Token token = random_token();
        Nanos grace = (caps & proto::kCapResume) ? config_.server.grace : 0;
        auto s = std::make_unique<Session>(loop_, link.peer(), token, caps, grace,
                                           [this](Session& ss) { session_expired(ss); });
        session = s.get();
        sessions_[token] = std::move(s);
    }
    session->connect(link, caps, resumed);
    link.set_session(session);
    proto::HelloAck ack;
    ack.version = std::min(hello.version_max, proto::kVersionMax);
    ack.capabilities = caps;
    ack.session_token = session->token();
    ack.resumed = resumed;
    // grace_ms is a u32 on the wire: a grace longer than ~49 days is told as the most it can carry.
    ack.grace_ms = (caps & proto::kCapResume)
                       ? static_cast<uint32_t>(std::min<Nanos>(config_.server.grace / kMillisecond, UINT32_MAX))
                       : 0;
    ack.software = "usbhop " USBHOP_VERSION;
    link.send_control(ack);
    log::write(log::Level::info, link.log_fields(), "%s %s session (%s)", link.label().c_str(),
               resumed ? "resumed its" : "started a", util::printable(hello.software).c_str());
    update_status();
    return session;
}

std::optional<proto::DeviceInfo> Server::view(const usb::DeviceInfo& d, const Session& s,
                                              std::span<const config::ExportRule> rules) const {
    const config::ExportRule* rule = rule_for_peer(rules, d, s.peer());
    if (!rule) return std::nullopt;
    proto::DeviceState state = proto::DeviceState::kAvailable;
    std::string holder;
    auto h = holders_.find(d.id);
    if (h != holders_.end()) {
        state = h->second.session == &s ? proto::DeviceState::kAttachedByYou : proto::DeviceState::kInUse;
        holder = h->second.session->label();
    }
    return to_wire(d, rule->name, state, holder);
}

void Server::list_devices(PeerLink& link, Session& session, bool watch) {
    proto::DeviceList list;
    size_t bytes = 0;
    for (const auto& [id, d] : devices_) {
        auto v = view(d, session, config_.shares);
        if (!v) continue;
        size_t size = 64 + d.device_descriptor.size();
        for (const auto& c : d.configurations) size += c.raw.size() + 2;
        if (list.devices.size() == proto::kMaxDevicesPerList || bytes + size > proto::kMaxControlPayload / 2) {
            list.last = false;
            link.send_control(list);
            list.devices.clear();
            bytes = 0;
        }
        list.devices.push_back(std::move(*v));
        bytes += size;
    }
    list.last = true;
    link.send_control(list);
    if (watch) session.watching = true;
}

const usb::DeviceInfo* Server::device_by_wire_id(uint32_t wire_id) const {
    for (const auto& [id, d] : devices_)
        if (wire_device_id(d) == wire_id) return &d;
    return nullptr;
}

void Server::attach(Session& session, uint32_t device_id) {
    PeerLink* link = session.link();
    const usb::DeviceInfo* d = device_by_wire_id(device_id);
    auto refuse = [&](proto::Reason reason, std::string holder, std::string message) {
        log::Fields fields = session.log_fields();
        if (d) fields.device(d->vendor, d->product, d->path);
        log::write(log::Level::info, fields, "%s cannot attach device %u:%u: %s", session.label().c_str(),
                   device_id >> 16, device_id & 0xffff, message.c_str());
        if (link) link->send_control(proto::AttachError{device_id, reason, std::move(holder), std::move(message)});
    };
    if (!d || !host_) return refuse(proto::Reason::kNotFound, "", "no device " + std::to_string(device_id >> 16) + ":" +
                                                                     std::to_string(device_id & 0xffff) + " on this server");
    const config::ExportRule* rule = rule_for_peer(config_.shares, *d, session.peer());
    if (!rule) return refuse(proto::Reason::kNotShared, "", d->path + " is not shared with this node");
    auto h = holders_.find(d->id);
    if (h != holders_.end()) {
        if (h->second.session == &session) {
            if (link) link->send_control(proto::AttachOk{device_id, h->second.attachment->id()});
            return;
        }
        const std::string& who = h->second.session->label();
        return refuse(proto::Reason::kInUse, who, d->path + " is in use by " + who + " since " + h->second.since);
    }
    auto a = std::make_unique<Attachment>(loop_, *host_, *d, session.next_attach_id(), session.resumable(), rule->force,
                                          session.label(), session.log_fields());
    if (auto started = a->start(); !started)
        return refuse(proto::Reason::kClaimFailed, "", started.error().message);
    Attachment& att = session.add(std::move(a));
    holders_[d->id] = Holding{&session, &att, clock_now()};
    log::write(log::Level::info, att.log_fields(), "%s claims %s for %s", "serve", d->path.c_str(),
               session.label().c_str());
}

void Server::settle(Session& session) {
    std::vector<uint32_t> ended;
    for (const auto& [id, a] : session.attachments())
        if (a->ended()) ended.push_back(id);
    for (uint32_t id : ended) {
        Attachment& a = *session.find(id);
        PeerLink* link = session.link();
        if (a.claim_error()) {
            if (link)
                // usb::Host's claim errors already begin with the bus path.
                link->send_control(proto::AttachError{a.wire_device_id(), proto::Reason::kClaimFailed, "",
                                                      a.claim_error()->message});
            log::write(log::Level::warning, a.log_fields(), "cannot claim %s", a.claim_error()->message.c_str());
        } else if (link) {
            link->send_control(proto::Detached{id, a.end_reason(), a.end_message()});
            link->finish_streams(id);
        }
        usb::DeviceId dev = a.device();
        holders_.erase(dev);
        session.remove(id);
        tell_watchers_changed(dev);
    }
    if (!ended.empty()) update_status();
    if (session.state() == Session::State::expired && session.attachments().empty()) reaper_.start(0);
}

void Server::session_expired(Session& session) {
    for (const auto& [id, a] : session.attachments())
        a->end(proto::Reason::kSessionExpired, "the session's grace period is over");
    settle(session);
}

void Server::reap() {
    graveyard_.clear();
    for (auto it = sessions_.begin(); it != sessions_.end();) {
        Session& s = *it->second;
        if (s.state() == Session::State::expired && s.attachments().empty() && !s.link()) it = sessions_.erase(it);
        else ++it;
    }
}

void Server::on_usb_wake() {
    if (!host_) return;
    for (usb::Event& e : host_->drain()) on_usb_event(e);
}

void Server::on_usb_event(usb::Event& event) {
    if (auto* arrived = std::get_if<usb::DeviceArrived>(&event)) {
        on_arrived(arrived->info);
    } else if (auto* left = std::get_if<usb::DeviceLeft>(&event)) {
        on_left(left->id);
    } else if (auto* done = std::get_if<usb::TransferDone>(&event)) {
        auto h = holders_.find(done->device);
        if (h == holders_.end()) return;
        Session& s = *h->second.session;
        h->second.attachment->on_transfer_done(std::move(*done));
        settle(s);
    } else if (auto* op = std::get_if<usb::DeviceOpDone>(&event)) {
        auto h = holders_.find(op->device);
        if (h == holders_.end()) return;
        Session& s = *h->second.session;
        Attachment& a = *h->second.attachment;
        if (op->op == usb::DeviceOp::claim) {
            a.on_claim_done(op->error);
            if (a.state() == Attachment::State::active) {
                if (PeerLink* link = s.link()) {
                    link->send_control(proto::AttachOk{a.wire_device_id(), a.id()});
                    a.set_outbox(link);
                }
                tell_watchers_changed(op->device);
                update_status();
            }
        } else if (op->op == usb::DeviceOp::release) {
            a.on_release_done();
        }
        settle(s);
    }
}

void Server::on_arrived(const usb::DeviceInfo& info) {
    devices_[info.id] = info;
    const usb::DeviceInfo& d = devices_[info.id];
    log::write(log::Level::info, usb::log_fields(d), "USB device %s (%04x:%04x %s) plugged in%s", d.path.c_str(),
               d.vendor, d.product, util::printable(d.product_name).c_str(),
               matching_rules(config_.shares, d).empty() ? "" : ", shared");
    for (auto& [token, s] : sessions_) {
        if (!s->watching || !s->link()) continue;
        if (auto v = view(d, *s, config_.shares)) s->link()->send_control(proto::DeviceArrived{std::move(*v)});
    }
    update_status();
}

void Server::on_left(usb::DeviceId id) {
    auto it = devices_.find(id);
    if (it == devices_.end()) return;
    // Out of the table first: watchers get DeviceLeft, not a last DeviceChanged.
    usb::DeviceInfo gone = std::move(it->second);
    devices_.erase(it);
    auto h = holders_.find(id);
    if (h != holders_.end()) {
        Session& s = *h->second.session;
        h->second.attachment->on_device_left();
        settle(s);
    }
    for (auto& [token, s] : sessions_) {
        if (!s->watching || !s->link()) continue;
        if (rule_for_peer(config_.shares, gone, s->peer())) s->link()->send_control(proto::DeviceLeft{wire_device_id(gone)});
    }
    log::write(log::Level::info, usb::log_fields(gone), "USB device %s unplugged", gone.path.c_str());
    update_status();
}

void Server::tell_watchers_changed(usb::DeviceId id) {
    auto it = devices_.find(id);
    if (it == devices_.end()) return;
    for (auto& [token, s] : sessions_) {
        if (!s->watching || !s->link()) continue;
        if (auto v = view(it->second, *s, config_.shares)) s->link()->send_control(proto::DeviceChanged{std::move(*v)});
    }
}

void Server::update_status() {
    if (!ready_) return;
    size_t shared = 0;
    for (const auto& [id, d] : devices_) shared += !matching_rules(config_.shares, d).empty();
    std::string text = "sharing " + std::to_string(shared) + " device" + (shared == 1 ? "" : "s");
    if (!holders_.empty()) {
        text += "; attached:";
        bool first = true;
        for (const auto& [id, h] : holders_) {
            auto d = devices_.find(id);
            text += std::string(first ? " " : ", ") + (d == devices_.end() ? "?" : d->second.path) + " to " +
                    h.session->label();
            first = false;
        }
    }
    size_t peers = 0, relayed = 0;
    for (const auto& [p, l] : links_) {
        if (!l->session()) continue;
        ++peers;
        relayed += quic::is_relayed(l->path());
    }
    text += "; " + std::to_string(peers) + " peer" + (peers == 1 ? "" : "s") + " connected";
    if (relayed) text += " (" + std::to_string(relayed) + " through the relay)";
    notifier_.status(text);
}

// serve-<pid> for usbhop status: every peer with a session, its path and RTT.
// STATUS= follows too, since a session that went direct changes no other state.
void Server::report_paths() {
    update_status();
    if (auto saved = pending_->flush(); !saved && !warned_pending_) {
        warned_pending_ = true;
        log::warning("usbhop pending will not list refused nodes: %s", saved.error().message.c_str());
    }
    if (options_.rundir.empty()) return;
    std::vector<quic::PathReport> reports;
    for (const auto& [p, l] : links_) {
        if (!l->session()) continue;
        quic::PathReport r = quic::describe(l->peer(), l->path(), relay_.get());
        for (const auto& [id, h] : holders_)
            if (h.session == l->session())
                if (auto d = devices_.find(id); d != devices_.end()) r.devices.push_back(d->second.path);
        reports.push_back(std::move(r));
    }
    if (auto saved = quic::save_reports(options_.rundir, "serve", static_cast<int>(::getpid()), reports);
        !saved && !warned_report_) {
        warned_report_ = true;
        log::warning("usbhop status will not show serve's connections: %s", saved.error().message.c_str());
    }
}

void Server::reload() {
    if (stopping_) return;
    notifier_.reloading();
    log::notice("reloading %s and authorized_keys (SIGHUP)", options_.config_path.c_str());
    auto loaded = config::load(options_.config_path);
    if (!loaded) {
        log::error("keeping the running configuration: %s", loaded.error().message.c_str());
        notifier_.ready();
        return;
    }
    config::Config next = std::move(*loaded);
    auto keys = config::load_authorized_keys(expand(next.server.authorized_keys));
    if (!keys) {
        log::error("keeping the running configuration: %s", keys.error().message.c_str());
        notifier_.ready();
        return;
    }
    if (!(next.server.listen == config_.server.listen) || next.server.identity != config_.server.identity)
        log::notice("[server] listen and identity take effect only after a restart");

    std::vector<config::ExportRule> old_rules = config_.shares;
    next.server.listen = config_.server.listen;
    next.server.identity = config_.server.identity;
    config_ = std::move(next);
    keys_ = std::move(*keys);
    if (pending_) pending_->forget_trusted([this](const identity::NodeId& n) { return trusted(n); });

    // Peers no longer trusted: everything of theirs ends, their connection closes.
    for (auto& [token, s] : sessions_) {
        if (trusted(s->peer()) || s->state() == Session::State::expired) continue;
        log::write(log::Level::notice, s->log_fields(), "%s is no longer in authorized_keys; disconnecting it",
                   s->label().c_str());
        for (const auto& [id, a] : s->attachments()) a->end(proto::Reason::kNotAuthorized, "this node is no longer trusted");
        settle(*s);
        if (PeerLink* link = s->link()) link->close(proto::Reason::kNotAuthorized, "this node is no longer trusted");
        s->expire();
    }
    for (auto& [p, l] : links_)
        if (!l->session() && !trusted(l->peer())) l->close(proto::Reason::kNotAuthorized, "this node is no longer trusted");

    // Devices no longer shared with their holder.
    std::set<Session*> touched;
    for (auto& [id, h] : holders_) {
        auto d = devices_.find(id);
        if (d == devices_.end() || rule_for_peer(config_.shares, d->second, h.session->peer())) continue;
        log::write(log::Level::notice, h.attachment->log_fields(), "%s is no longer shared with %s; detaching it",
                   d->second.path.c_str(), h.session->label().c_str());
        h.attachment->end(proto::Reason::kNotShared, d->second.path + " is no longer shared with this node");
        touched.insert(h.session);
    }
    for (Session* s : touched) settle(*s);

    // Watchers see what the new rules show or hide.
    for (auto& [token, s] : sessions_) {
        if (!s->watching || !s->link()) continue;
        for (const auto& [id, d] : devices_) {
            bool before = rule_for_peer(old_rules, d, s->peer()) != nullptr;
            auto now = view(d, *s, config_.shares);
            if (before && !now) s->link()->send_control(proto::DeviceLeft{wire_device_id(d)});
            else if (!before && now) s->link()->send_control(proto::DeviceArrived{std::move(*now)});
        }
    }
    update_status();
    notifier_.ready();
    log::notice("reloaded: %zu share rule(s), %zu trusted node(s)", config_.shares.size(), keys_.keys.size());
}

void Server::shutdown(const char* why) {
    if (stopping_) return;
    stopping_ = true;
    notifier_.stopping();
    report_timer_.stop();
    if (pending_) (void)pending_->flush();  // the last refusals too
    if (!options_.rundir.empty()) quic::remove_reports(options_.rundir, "serve", static_cast<int>(::getpid()));
    log::notice("stopping (%s): detaching every device", why);
    std::vector<Session*> all;
    for (auto& [token, s] : sessions_) all.push_back(s.get());
    for (Session* s : all) {
        for (const auto& [id, a] : s->attachments()) a->end(proto::Reason::kShuttingDown, "the server is stopping");
        settle(*s);
    }
    shutdown_deadline_ = monotonic_ns() + kShutdownWait;
    shutdown_timer_.start(0, 20 * kMillisecond);
}

// Waits for every device to be given back and every Detached to be
// delivered, then closes the connections and ends the loop.
void Server::shutdown_step() {
    bool late = monotonic_ns() > shutdown_deadline_;
    if (!links_closed_) {
        size_t backlog = 0;
        for (auto& [p, l] : links_) backlog += l->backlog();
        if (!late && (!holders_.empty() || backlog > 0)) return;
        if (!holders_.empty()) log::warning("%zu device(s) still being released; stopping anyway", holders_.size());
        for (auto& [p, l] : links_) l->close(proto::Reason::kShuttingDown, "the server is stopping");
        links_closed_ = true;
        shutdown_deadline_ = monotonic_ns() + 300 * kMillisecond;  // let CONNECTION_CLOSE go out
        return;
    }
    if (!late && !links_.empty()) return;
    shutdown_timer_.stop();
    loop_.stop();
}

}  // namespace

int run(const config::Config& config, const RunOptions& options) {
    loop::Loop loop;
    int status = 0;
    {
        Server server(loop, config, options);
        if (auto started = server.start(); !started) {
            log::error("%s", started.error().message.c_str());
            return 1;
        }
        loop.run();
        // usb::Host's destructor gives every claimed device back to its kernel drivers.
    }
    // Handles closed by the destructors need one more turn to be freed.
    loop.run_once(false);
    log::notice("stopped");
    return status;
}

}  // namespace usbhop::server
