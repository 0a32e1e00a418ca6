// `usbhop check-config`: the configuration and the authorized_keys files it
// names, checked the way `sshd -t` checks sshd_config.
#include <unistd.h>

#include <cstdio>

#include "cli/commands.hpp"
#include "config/authorized_keys.hpp"
#include "config/files.hpp"
#include "util/log.hpp"

namespace usbhop::cli {

int run_check_config(const Invocation& inv) {
    if (inv.args.has("list-keys")) {
        for (const config::KeyDoc& k : config::known_keys())
            std::printf("%s %s\n", std::string(k.section).c_str(), std::string(k.key).c_str());
        return kExitOk;
    }
    // The file itself was checked before this handler ran (cli.cpp).
    int status = kExitOk;
    for (bool relay : {false, true}) {
        const std::string& path = relay ? inv.config.relay.authorized_keys : inv.config.server.authorized_keys;
        std::string full = config::expand_home(path, inv.home);
        auto keys = config::load_authorized_keys(full);
        if (!keys) {
            print_error(keys.error().message);
            status = kExitUsage;
        } else {
            log::debug("%s: %zu node IDs", full.c_str(), keys->keys.size());
            if (!relay)
                for (const config::Diagnostic& d :
                     config::share_peers_not_trusted(inv.config.shares, *keys, inv.config_path, full))
                    print_error(d.to_string());
        }
    }
    if (status == kExitOk) {
        if (::access(inv.config_path.c_str(), F_OK) != 0)
            log::info("%s does not exist: all settings have their defaults", inv.config_path.c_str());
        else log::debug("%s: configuration OK", inv.config_path.c_str());
    }
    return status;
}

}  // namespace usbhop::cli
