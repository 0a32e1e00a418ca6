// The modes and the commands that talk to them. Each later issue replaces its
// handler's body with a call into its layer (server::run, client::attach,
// relay::run, ...); until then the command says so and fails.
#include "cli/commands.hpp"

namespace usbhop::cli {

namespace {
int not_available(const Invocation& inv) {
    print_error("'" + std::string(inv.command.name) + "' is not available in this build yet");
    return kExitFailure;
}
}  // namespace

int run_relay(const Invocation& inv) { return not_available(inv); }

}  // namespace usbhop::cli
