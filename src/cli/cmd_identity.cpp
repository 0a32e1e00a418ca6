// `usbhop id` and `usbhop trust`: this node's ID, and the IDs it lets in.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <optional>

#include "cli/commands.hpp"
#include "config/authorized_keys.hpp"
#include "config/files.hpp"
#include "config/pending.hpp"
#include "identity/identity.hpp"
#include "quic/path_report.hpp"
#include "util/json.hpp"
#include "util/log.hpp"
#include "util/time.hpp"
#include "vhci/state.hpp"

namespace usbhop::cli {

namespace {

using Role = config::Config::Role;

// The role `usbhop id` speaks for: the option given, else the only role the
// configuration file has sections for, else the client.
Result<Role> id_role(const Invocation& inv) {
    int chosen = inv.args.has("server") + inv.args.has("relay") + inv.args.has("client");
    if (chosen > 1) return make_error("choose one of --server, --relay and --client");
    if (inv.args.has("server")) return Role::server;
    if (inv.args.has("relay")) return Role::relay;
    if (inv.args.has("client")) return Role::client;
    return inv.config.only_role().value_or(Role::client);
}

std::string identity_path(const Invocation& inv, Role role) {
    std::string path;
    if (role == Role::server) {
        path = inv.config.server.identity;
    } else if (role == Role::relay) {
        path = inv.config.relay.identity;
    } else {
        path = inv.config.client.identity.empty() ? identity::default_identity_path() : inv.config.client.identity;
    }
    return config::expand_home(path, inv.home);
}

}  // namespace

int run_id(const Invocation& inv) {
    auto role = id_role(inv);
    if (!role) {
        print_error(role.error().message);
        return kExitUsage;
    }
    std::string path = identity_path(inv, *role);
    bool existed = ::access(path.c_str(), F_OK) == 0;
    auto key = identity::NodeKey::load_or_create(path);
    if (!key) {
        print_error(key.error().message);
        return kExitFailure;
    }
    if (!existed) log::notice("created a new identity in %s", path.c_str());
    log::debug("identity %s", path.c_str());
    std::printf("%s\n", key->id().to_string().c_str());
    if (*role == Role::server && inv.config.server.relay) {
        // On stderr, so that $(usbhop id --server) stays the bare node ID.
        const config::RelayRef& r = *inv.config.server.relay;
        std::fprintf(stderr, "usbhop: ticket for 'usbhop attach' through the relay: %s+%s@%s\n",
                     key->id().to_string().c_str(), r.node.to_string().c_str(), r.address.to_string().c_str());
    }
    return kExitOk;
}

namespace {

// Whose list and authorized_keys: the relay's with --relay or a relay-only
// configuration file, else the server's.
bool for_relay(const Invocation& inv) { return inv.args.has("relay") || inv.config.only_role() == Role::relay; }

std::string pending_file(const Invocation& inv, bool relay) {
    return config::pending_path(
        config::expand_home(relay ? inv.config.relay.identity : inv.config.server.identity, inv.home));
}

// Tells a running serve to read authorized_keys again: SIGHUP to each serve
// that reports under the rundir. False when there was none (or it is not ours
// to signal).
bool reload_serve() {
    bool told = false;
    for (const quic::ReportFile& f : quic::load_reports(runtime_dir(), vhci::process_alive))
        if (f.role == "serve" && ::kill(f.pid, SIGHUP) == 0) {
            std::printf("told usbhop serve (pid %d) to read it again\n", f.pid);
            told = true;
        }
    return told;
}

}  // namespace

int run_pending(const Invocation& inv) {
    bool relay = for_relay(inv);
    std::string path = pending_file(inv, relay);
    auto list = config::load_pending(path);
    if (!list) {
        print_error(list.error().message);
        return kExitFailure;
    }
    if (inv.args.has("json")) {
        util::Json all = util::Json::array();
        int n = 0;
        for (const config::PendingNode& p : *list)
            all.push_back({{"number", ++n}, {"node", p.node.to_string()}, {"address", p.address},
                           {"first", p.first}, {"last", p.last}, {"count", p.count}});
        std::printf("%s\n", util::json_lines(all).c_str());
        return kExitOk;
    }
    if (list->empty()) {
        std::printf("no node was refused recently (%s)\n", path.c_str());
        return kExitOk;
    }
    std::printf("%-3s %-56s %-24s %-19s  %-19s  %s\n", "N", "NODE", "ADDRESS", "FIRST", "LAST", "TIMES");
    int n = 0;
    for (const config::PendingNode& p : *list)
        std::printf("%-3d %-56s %-24s %-19s  %-19s  %llu\n", ++n, p.node.to_string().c_str(), p.address.c_str(),
                    format_local_time(p.first).c_str(), format_local_time(p.last).c_str(), static_cast<unsigned long long>(p.count));
    std::printf("to let one in: usbhop trust%s --pending N [comment]\n", relay ? " --relay" : "");
    return kExitOk;
}

int run_trust(const Invocation& inv) {
    const bool relay = for_relay(inv);
    const auto& pos = inv.args.positionals;
    std::optional<identity::NodeId> node;
    size_t comment_from = 1;
    std::string pending_path;
    if (inv.args.has("pending")) {
        const std::string n_text = inv.args.get("pending");
        char* end = nullptr;
        long n = std::strtol(n_text.c_str(), &end, 10);
        if (n_text.empty() || *end != '\0' || n < 1) {
            print_error("--pending takes the number 'usbhop pending' shows (1, 2, ...), not '" + n_text + "'");
            return kExitUsage;
        }
        pending_path = pending_file(inv, relay);
        auto list = config::load_pending(pending_path);
        if (!list) {
            print_error(list.error().message);
            return kExitFailure;
        }
        if (static_cast<size_t>(n) > list->size()) {
            print_error("there is no pending node " + n_text + ": 'usbhop" + (relay ? " --relay" : "") +
                        " pending' lists " + std::to_string(list->size()));
            return kExitUsage;
        }
        node = (*list)[static_cast<size_t>(n) - 1].node;
        comment_from = 0;
    } else {
        if (pos.empty()) {
            print_error("missing arguments: usage is usbhop trust [options] <node-id> [comment...], or usbhop trust "
                        "--pending N [comment...] (try 'usbhop trust --help')");
            return kExitUsage;
        }
        auto parsed = identity::NodeId::parse(pos[0]);
        if (!parsed) {
            print_error("cannot trust '" + pos[0] + "': " + parsed.error().message);
            return kExitUsage;
        }
        node = *parsed;
    }
    std::string comment;
    for (size_t i = comment_from; i < pos.size(); ++i) {
        if (!comment.empty()) comment += " ";
        comment += pos[i];
    }
    std::string path =
        config::expand_home(relay ? inv.config.relay.authorized_keys : inv.config.server.authorized_keys, inv.home);
    auto outcome = config::append_authorized_key(path, *node, comment);
    if (!outcome) {
        print_error(outcome.error().message);
        return kExitFailure;
    }
    if (!pending_path.empty()) {
        // Off the list: re-read it, since serve may have rewritten it meanwhile.
        if (auto list = config::load_pending(pending_path); list && config::remove_pending(*list, *node))
            (void)config::save_pending(pending_path, *list);
    }
    if (*outcome == config::AppendOutcome::already_present) {
        std::printf("%s is already in %s\n", node->to_string().c_str(), path.c_str());
        return kExitOk;
    }
    std::printf("added %s to %s\n", node->to_string().c_str(), path.c_str());
    if (relay || !reload_serve())
        std::printf("a running %s reads it again on 'systemctl reload %s'\n", relay ? "relay" : "server",
                    relay ? "usbhop-relay" : "usbhop");
    return kExitOk;
}

}  // namespace usbhop::cli
