// The client's commands: attach, detach, status, and list (here, or a peer's).
// Each hands its parsed arguments to client/ (or, for a local list, to
// server/'s view of this machine's devices).
#include <cstdlib>

#include "cli/commands.hpp"
#include "client/client.hpp"
#include "usbhop_config.h"

#if __has_include("server/local_list.hpp")
#include "config/files.hpp"
#include "server/local_list.hpp"
#include "vhci/state.hpp"
#define USBHOP_HAVE_LOCAL_LIST 1
#endif

namespace usbhop::cli {

namespace {

client::Context context(const Invocation& inv) {
    client::Context ctx;
    ctx.config = inv.config;
    ctx.home = inv.home;
    ctx.rundir = runtime_dir();
    return ctx;
}

}  // namespace

std::string runtime_dir() {
    const char* dir = std::getenv("USBHOP_RUNDIR");
    return dir && dir[0] == '/' ? dir : USBHOP_RUNDIR;
}

int run_attach(const Invocation& inv) {
    const auto& pos = inv.args.positionals;
    std::vector<std::string> devices(pos.begin() + 1, pos.end());
    return client::attach(context(inv), pos.front(), devices);
}

int run_detach(const Invocation& inv) {
    return client::detach(context(inv), inv.args.positionals, inv.args.has("all"));
}

int run_status(const Invocation& inv) {
    Nanos interval = 0;
    if (inv.args.has("watch")) {
        const std::string text = inv.args.get("watch");
        char* end = nullptr;
        double seconds = std::strtod(text.c_str(), &end);
        if (text.empty() || *end != '\0' || !(seconds >= 0.1 && seconds <= 3600)) {
            print_error("--watch takes a number of seconds from 0.1 to 3600, not '" + text + "'");
            return kExitUsage;
        }
        if (inv.args.has("json")) {
            print_error("--watch redraws the table; for scripts, run usbhop status --json each time");
            return kExitUsage;
        }
        interval = static_cast<Nanos>(seconds * kSecond);
    }
    return client::status(context(inv), inv.args.has("json"), interval);
}

int run_list(const Invocation& inv) {
    const bool json = inv.args.has("json");
    if (!inv.args.positionals.empty())
        return client::list_remote(context(inv), inv.args.positionals.front(), inv.args.has("watch"), json);
    if (inv.args.has("watch")) {
        print_error("--watch needs a peer: usbhop list <peer> --watch");
        return kExitUsage;
    }
#ifdef USBHOP_HAVE_LOCAL_LIST
    // A running serve's report files say which peer holds which device; its
    // authorized_keys names them. Either missing: no "in use by".
    auto keys = config::load_authorized_keys(config::expand_home(inv.config.server.authorized_keys, inv.home));
    auto holders = server::holders_from(quic::load_reports(runtime_dir(), vhci::process_alive),
                                        keys ? *keys : config::AuthorizedKeys{});
    return server::print_local_devices(inv.config, holders, json);
#else
    print_error("this build lists only a peer's devices: usbhop list <peer>");
    return kExitFailure;
#endif
}

}  // namespace usbhop::cli
