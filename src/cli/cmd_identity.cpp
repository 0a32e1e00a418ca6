// `usbhop id` and `usbhop trust`: this node's ID, and the IDs it lets in.
#include <unistd.h>

#include <cstdio>

#include "cli/commands.hpp"
#include "config/authorized_keys.hpp"
#include "config/files.hpp"
#include "identity/identity.hpp"
#include "util/log.hpp"

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

int run_trust(const Invocation& inv) {
    const std::string& text = inv.args.positionals[0];
    auto node = identity::NodeId::parse(text);
    if (!node) {
        print_error("cannot trust '" + text + "': " + node.error().message);
        return kExitUsage;
    }
    std::string comment;
    for (size_t i = 1; i < inv.args.positionals.size(); ++i) {
        if (!comment.empty()) comment += " ";
        comment += inv.args.positionals[i];
    }
    // A relay's own configuration file has only [relay]: its clients go there.
    bool relay = inv.args.has("relay") || inv.config.only_role() == Role::relay;
    std::string path =
        config::expand_home(relay ? inv.config.relay.authorized_keys : inv.config.server.authorized_keys, inv.home);
    auto outcome = config::append_authorized_key(path, *node, comment);
    if (!outcome) {
        print_error(outcome.error().message);
        return kExitFailure;
    }
    if (*outcome == config::AppendOutcome::already_present) {
        std::printf("%s is already in %s\n", node->to_string().c_str(), path.c_str());
    } else {
        std::printf("added %s to %s\n", node->to_string().c_str(), path.c_str());
        std::printf("a running %s reads it again on 'systemctl reload %s'\n", relay ? "relay" : "server",
                    relay ? "usbhop-relay" : "usbhop");
    }
    return kExitOk;
}

}  // namespace usbhop::cli
