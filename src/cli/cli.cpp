#include "cli/cli.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "config/text.hpp"
#include "usbhop_config.h"
#include "util/log.hpp"

namespace usbhop::cli {

namespace {

std::string command_usage(const Command& c) {
    std::string out = "usbhop " + std::string(c.name);
    if (!c.options.empty()) out += " [options]";
    if (!c.synopsis.empty()) out += " " + std::string(c.synopsis);
    return out;
}

// Wraps text at 80 columns.
std::string wrap(std::string_view text, size_t width = 80) {
    std::string out, line;
    for (std::string_view word : config::split_words(text)) {
        if (!line.empty() && line.size() + 1 + word.size() > width) {
            out += line + "\n";
            line.clear();
        }
        if (!line.empty()) line += " ";
        line += word;
    }
    if (!line.empty()) out += line + "\n";
    return out;
}

std::string main_help() {
    std::string out = "usbhop " USBHOP_VERSION
                      " - use a USB device that is plugged into another machine, over QUIC\n\n"
                      "Usage: usbhop [global options] <command> [options] [arguments]\n\nCommands:\n";
    size_t width = 0;
    for (const Command& c : commands()) width = std::max(width, c.name.size());
    for (const Command& c : commands())
        out += "  " + std::string(c.name) + std::string(width - c.name.size() + 3, ' ') + std::string(c.summary) + "\n";
    out += "\nGlobal options (accepted before or after the command):\n";
    out += format_options(global_options());
    out += "\nRun 'usbhop <command> --help' for a command's options. Manuals: usbhop(1), usbhop.conf(5).\n";
    return out;
}

std::string command_help(const Command& c) {
    std::string out = "Usage: " + command_usage(c) + "\n\n" + wrap(c.description);
    bool any_visible = false;
    for (const Option& o : c.options) any_visible = any_visible || !o.hidden;
    if (any_visible) out += "\nOptions:\n" + format_options(c.options);
    out += "\nGlobal options:\n" + format_options(global_options());
    return out;
}

void set_log_level(int verbosity) {
    log::init();
    if (verbosity > 0) log::set_threshold(log::Level::debug);
    else if (verbosity < 0) log::set_threshold(log::Level::warning);
    else log::set_threshold(log::Level::info);
}

int usage_error(const std::string& message) {
    print_error(message);
    return kExitUsage;
}

}  // namespace

void print_error(const std::string& message) {
    // One "usbhop: " per line, so every line of a multi-line report stands alone.
    size_t pos = 0;
    while (pos <= message.size()) {
        size_t end = message.find('\n', pos);
        if (end == std::string::npos) end = message.size();
        std::fprintf(stderr, "usbhop: %s\n", message.substr(pos, end - pos).c_str());
        pos = end + 1;
    }
}

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + argc);

    auto global = parse_args(args, {}, "usbhop", true);
    if (!global) return usage_error(global.error().message);
    set_log_level(global->verbosity);
    if (global->has("help")) {
        std::fputs(main_help().c_str(), stdout);
        return kExitOk;
    }
    if (global->has("version")) {
        std::fputs(versions_text().c_str(), stdout);
        return kExitOk;
    }
    if (global->positionals.empty()) return usage_error("no command given (try 'usbhop --help')");

    const std::string& name = global->positionals.front();
    const Command* command = find_command(name);
    if (!command) {
        std::vector<std::string_view> names;
        for (const Command& c : commands()) names.push_back(c.name);
        std::string hint = config::closest(name, names);
        return usage_error("unknown command '" + name + "'" +
                           (hint.empty() ? " (try 'usbhop --help')" : " (did you mean '" + hint + "'?)"));
    }

    std::string context = "usbhop " + std::string(command->name);
    std::vector<std::string> rest(global->positionals.begin() + 1, global->positionals.end());
    auto parsed = parse_args(rest, command->options, context);
    if (!parsed) return usage_error(parsed.error().message);
    // Global options may come on either side of the command; the later ones win.
    for (auto& [key, value] : parsed->options) global->options[key] = value;
    parsed->options = global->options;
    parsed->verbosity += global->verbosity;
    set_log_level(parsed->verbosity);

    if (parsed->has("help")) {
        std::fputs(command_help(*command).c_str(), stdout);
        return kExitOk;
    }
    if (parsed->has("version")) {
        std::fputs(versions_text().c_str(), stdout);
        return kExitOk;
    }
    size_t n = parsed->positionals.size();
    if (n < command->min_args)
        return usage_error("missing arguments: usage is " + command_usage(*command) + " (try '" + context +
                           " --help')");
    if (n > command->max_args)
        return usage_error("unexpected argument '" + parsed->positionals[command->max_args] + "' for '" + context +
                           "' (try '" + context + " --help')");

    const char* home = std::getenv("HOME");
    Invocation inv{*command, std::move(*parsed), "", false, config::defaults(), home ? home : ""};
    inv.config_explicit = inv.args.has("config");
    inv.config_path = inv.config_explicit ? inv.args.get("config") : config::default_config_path();
    if (inv.config_explicit && inv.config_path.empty()) return usage_error("option '--config' needs a file name");
    if (command->reads_config) {
        auto loaded = config::load(inv.config_path, inv.config_explicit);
        if (!loaded) return usage_error(loaded.error().message);
        inv.config = std::move(*loaded);
    }
    return command->run(inv);
}

}  // namespace usbhop::cli
