// `usbhop relay`: the process around relay::Relay — settings, key,
// authorized_keys, signals and systemd notifications (usbhop-relay.service is
// Type=notify with a watchdog).
#include <systemd/sd-daemon.h>

#include <algorithm>
#include <csignal>
#include <ctime>

#include "config/authorized_keys.hpp"
#include "config/files.hpp"
#include "config/pending.hpp"
#include "loop/loop.hpp"
#include "relay/relay.hpp"
#include "util/log.hpp"

namespace usbhop::relay {

namespace {

void notify(const std::string& text) { sd_notify(0, text.c_str()); }

Result<loop::SocketAddress> listen_address(const config::Address& a) {
    std::string text = a.is_ipv6() ? "[" + a.host + "]:" + std::to_string(a.port) : a.host + ":" + std::to_string(a.port);
    auto addr = loop::SocketAddress::parse(text);
    if (!addr)
        return make_error("[relay] listen = " + a.to_string() + ": the relay listens on a numeric address (" +
                          addr.error().message + ")");
    return addr;
}

}  // namespace

Limits limits_from(const config::RelaySettings& s) {
    Limits l;
    l.max_sessions = s.max_sessions;
    l.max_sessions_per_node = s.max_sessions_per_node;
    l.bytes_per_second = s.bytes_per_second;
    l.session_idle_timeout = s.idle_timeout;
    l.max_registrations = s.max_registrations;
    l.max_registrations_per_address = s.max_registrations_per_address;
    l.keep_alive_seconds = static_cast<uint16_t>(std::min<Nanos>(s.keep_alive / kSecond, 65535));
    l.registration_timeout = s.registration_timeout;
    return l;
}

int run(const config::Config& config, const RunOptions& options) {
    const config::RelaySettings& settings = config.relay;
    auto expand = [&](const std::string& p) { return config::expand_home(p, options.home); };
    std::string identity_path =
        expand(settings.identity.empty() ? config::default_relay_state_dir() + "/identity.key" : settings.identity);
    std::string keys_path = expand(settings.authorized_keys.empty()
                                       ? config::default_sysconf_dir() + "/relay_authorized_keys"
                                       : settings.authorized_keys);
    auto key = identity::NodeKey::load_or_create(identity_path);
    if (!key) {
        log::error("%s", key.error().message.c_str());
        return 1;
    }
    auto keys = config::load_authorized_keys(keys_path);
    if (!keys) {
        log::error("%s", keys.error().message.c_str());
        return 1;
    }
    auto listen = listen_address(settings.listen);
    if (!listen) {
        log::error("%s", listen.error().message.c_str());
        return 1;
    }
    auto trusted = std::make_shared<config::AuthorizedKeys>(std::move(*keys));
    loop::Loop loop;
    Options ro;
    ro.listen = *listen;
    ro.limits = limits_from(settings);
    ro.trust = [trusted](const identity::NodeId& n) { return trusted->contains(n); };
    // Refused nodes for `usbhop pending --relay`, written with the status (config/pending.hpp).
    config::PendingFile pending(config::pending_path(identity_path));
    ro.on_refused = [&pending](const identity::NodeId& n, const loop::SocketAddress& from) {
        pending.note(n, from.host_string(), static_cast<int64_t>(std::time(nullptr)));
    };
    bool warned_pending = false;
    auto relay = Relay::create(loop, *key, ro);
    if (!relay) {
        log::error("%s", relay.error().message.c_str());
        return 1;
    }
    if (trusted->keys.empty())
        log::notice("relay: %s lists no nodes: nobody can use this relay until you add node IDs with "
                    "'usbhop trust --relay <node-id>' and reload (systemctl reload usbhop-relay)",
                    keys_path.c_str());
    log::notice("relay %s listening on %s; %zu trusted nodes (%s)", (*relay)->id().to_string().c_str(),
                (*relay)->local_address().to_string().c_str(), trusted->keys.size(), keys_path.c_str());

    bool stopping = false;
    auto stop = [&] {
        if (stopping) return;
        stopping = true;
        notify("STOPPING=1");
        log::notice("relay stopping: %s", (*relay)->summary().c_str());
        loop.stop();
    };
    loop::Signal sigterm(loop, SIGTERM, stop);
    loop::Signal sigint(loop, SIGINT, stop);
    loop::Signal sighup(loop, SIGHUP, [&] {
        notify("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(monotonic_ns() / 1000));
        auto next = config::load_authorized_keys(keys_path);
        if (!next) {
            log::error("reload: %s; keeping the previous list", next.error().message.c_str());
        } else {
            *trusted = std::move(*next);
            pending.forget_trusted([&](const identity::NodeId& n) { return trusted->contains(n); });
            (*relay)->set_trust([trusted](const identity::NodeId& n) { return trusted->contains(n); });
            log::notice("reload: %zu trusted nodes (%s)", trusted->keys.size(), keys_path.c_str());
        }
        notify("READY=1");
    });
    std::string last_status;
    loop::Timer status_timer(loop, [&] {
        std::string s = (*relay)->summary();
        if (s != last_status) notify("STATUS=" + s);
        last_status = s;
        if (auto saved = pending.flush(); !saved && !warned_pending) {
            warned_pending = true;
            log::warning("usbhop pending --relay will not list refused nodes: %s", saved.error().message.c_str());
        }
    });
    status_timer.start(0, 2 * kSecond);
    std::unique_ptr<loop::Timer> watchdog;
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
        watchdog = std::make_unique<loop::Timer>(loop, [] { notify("WATCHDOG=1"); });
        watchdog->start(usec * 500, usec * 500);
    }
    notify("READY=1");
    loop.run();
    return 0;
}

}  // namespace usbhop::relay
