// Command-line parsing for usbhop: global options, a command, its options and
// its arguments. Pure (no I/O) so the rules are table-tested: options may come
// before or after the command, "--" ends them, and every mistake is one line
// naming the option or command at fault.
#pragma once

#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace usbhop::cli {

struct Option {
    std::string_view long_name;   // "config" for --config
    char short_name = 0;          // 'c' for -c, 0 for none
    std::string_view value_name;  // "FILE" when the option takes a value, "" for a flag
    std::string_view help;        // one line, ending with the default where there is one
    bool hidden = false;          // left out of --help (for tests and scripts)
};

// The options every command accepts.
std::span<const Option> global_options();

struct ParsedArgs {
    std::map<std::string, std::string, std::less<>> options;  // long name -> value ("" for a flag); last one wins
    std::vector<std::string> positionals;
    int verbosity = 0;  // +1 per -v, -1 per -q

    bool has(std::string_view name) const { return options.find(name) != options.end(); }
    std::string get(std::string_view name, std::string fallback = "") const {
        auto it = options.find(name);
        return it == options.end() ? fallback : it->second;
    }
};

// Parses args against global_options() plus `extra`. `context` names where
// the args are ("usbhop trust") for messages. With stop_at_positional, parsing
// ends at the first positional (it and everything after go to positionals):
// how the global part before the command is read.
Result<ParsedArgs> parse_args(std::span<const std::string> args, std::span<const Option> extra,
                              std::string_view context, bool stop_at_positional = false);

// "  -c, --config FILE   help" lines, aligned, hidden options left out.
std::string format_options(std::span<const Option> options);

}  // namespace usbhop::cli
