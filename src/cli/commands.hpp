// The table of usbhop's commands: name, help and handler. A mode that lands
// in a later issue replaces its handler here (serve -> server::run, ...); the
// parsing, help and config check around it stay in cli.cpp.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "cli/options.hpp"
#include "config/config.hpp"

namespace usbhop::cli {

// Exit statuses, as sshd -t and friends use them.
constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;  // the command ran and failed
constexpr int kExitUsage = 2;    // bad command line or bad configuration

struct Command;

// What a handler gets: its parsed arguments and, for commands that read the
// configuration, the settings (already checked; a bad file never gets here).
struct Invocation {
    const Command& command;
    ParsedArgs args;
    std::string config_path;       // the file the settings came from (it may not exist)
    bool config_explicit = false;  // --config was given
    config::Config config;
    std::string home;  // $HOME, for "~/" in paths
};

struct Command {
    std::string_view name;
    std::string_view synopsis;     // arguments after the name: "<node-id> [comment...]"
    std::string_view summary;      // one line for `usbhop --help`
    std::string_view description;  // a paragraph for `usbhop <command> --help`
    std::span<const Option> options;
    size_t min_args = 0;
    size_t max_args = 0;  // kAnyNumber for no limit
    bool reads_config = false;
    int (*run)(const Invocation&) = nullptr;
};
constexpr size_t kAnyNumber = static_cast<size_t>(-1);

std::span<const Command> commands();
const Command* find_command(std::string_view name);

// Handlers (one file per group).
int run_serve(const Invocation&);
int run_attach(const Invocation&);
int run_detach(const Invocation&);
int run_list(const Invocation&);
int run_status(const Invocation&);
int run_relay(const Invocation&);
int run_id(const Invocation&);
int run_trust(const Invocation&);
int run_pending(const Invocation&);
int run_check_config(const Invocation&);
int run_version(const Invocation&);

// Output helpers: "usbhop: message" on stderr (errors a person must read,
// whatever -q says), and the versions text shared by `version` and --version.
void print_error(const std::string& message);
// Where attach keeps its state and attach and serve report their connections
// for detach and status: $USBHOP_RUNDIR if set, else the build's rundir
// (/run/usbhop).
std::string runtime_dir();
std::string versions_text();

}  // namespace usbhop::cli
