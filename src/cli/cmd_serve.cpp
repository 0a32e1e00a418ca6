// `usbhop serve`: the USB server mode (src/server/, server::run).
#include "cli/commands.hpp"
#include "server/server.hpp"

namespace usbhop::cli {

int run_serve(const Invocation& inv) {
    server::RunOptions options;
    options.config_path = inv.config_path;
    options.home = inv.home;
    options.rundir = runtime_dir();
    return server::run(inv.config, options);
}

}  // namespace usbhop::cli
