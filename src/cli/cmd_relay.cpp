// `usbhop relay`: the rendezvous and NAT fallback mode (src/relay/, relay::run).
#include "cli/commands.hpp"
#include "relay/relay.hpp"

namespace usbhop::cli {

int run_relay(const Invocation& inv) {
    relay::RunOptions options;
    options.config_path = inv.config_path;
    options.home = inv.home;
    return relay::run(inv.config, options);
}

}  // namespace usbhop::cli
