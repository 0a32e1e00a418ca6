#include "cli/options.hpp"

#include <algorithm>

#include "usbhop_config.h"

namespace usbhop::cli {

namespace {

const Option kGlobal[] = {
    {"config", 'c', "FILE", "read settings from FILE (default: " USBHOP_SYSCONFDIR "/usbhop.conf)"},
    {"verbose", 'v', "", "log debug messages too (default: info and above)"},
    {"quiet", 'q', "", "log warnings and errors only"},
    {"help", 'h', "", "show help and exit"},
    {"version", 'V', "", "show the versions of usbhop and its libraries and exit"},
};

const Option* find_long(std::string_view name, std::span<const Option> extra) {
    for (const Option& o : extra)
        if (o.long_name == name) return &o;
    for (const Option& o : kGlobal)
        if (o.long_name == name) return &o;
    return nullptr;
}

const Option* find_short(char c, std::span<const Option> extra) {
    for (const Option& o : extra)
        if (o.short_name == c) return &o;
    for (const Option& o : kGlobal)
        if (o.short_name == c) return &o;
    return nullptr;
}

std::string try_help(std::string_view context) { return " (try '" + std::string(context) + " --help')"; }

}  // namespace

std::span<const Option> global_options() { return kGlobal; }

Result<ParsedArgs> parse_args(std::span<const std::string> args, std::span<const Option> extra,
                              std::string_view context, bool stop_at_positional) {
    ParsedArgs out;
    bool options_done = false;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (options_done || a.size() < 2 || a[0] != '-') {
            if (stop_at_positional) {
                out.positionals.assign(args.begin() + static_cast<ptrdiff_t>(i), args.end());
                break;
            }
            out.positionals.push_back(a);
            continue;
        }
        if (a == "--") {
            options_done = true;
            continue;
        }
        const Option* opt = nullptr;
        std::optional<std::string> inline_value;
        std::string shown;  // the option as the user wrote it
        if (a[1] == '-') {
            std::string_view body(a);
            body.remove_prefix(2);
            size_t eq = body.find('=');
            std::string_view name = body.substr(0, eq);
            shown = "--" + std::string(name);
            opt = find_long(name, extra);
            if (opt && eq != std::string_view::npos) inline_value = std::string(body.substr(eq + 1));
        } else {
            shown = a.substr(0, 2);
            opt = find_short(a[1], extra);
            if (opt && a.size() > 2) {
                if (opt->value_name.empty()) return make_error("unknown option '" + a + "'" + try_help(context));
                inline_value = a.substr(2);
            }
        }
        if (!opt) return make_error("unknown option '" + shown + "'" + try_help(context));
        std::string value;
        if (!opt->value_name.empty()) {
            if (inline_value) {
                value = *inline_value;
            } else if (i + 1 < args.size()) {
                value = args[++i];
            } else {
                return make_error("option '" + shown + "' needs a value (" + std::string(opt->value_name) + ")" +
                                  try_help(context));
            }
        } else if (inline_value) {
            return make_error("option '" + shown + "' takes no value" + try_help(context));
        }
        if (opt->long_name == "verbose") ++out.verbosity;
        if (opt->long_name == "quiet") --out.verbosity;
        out.options[std::string(opt->long_name)] = value;
    }
    return out;
}

std::string format_options(std::span<const Option> options) {
    std::vector<std::pair<std::string, std::string_view>> rows;
    size_t width = 0;
    for (const Option& o : options) {
        if (o.hidden) continue;
        std::string left = o.short_name ? std::string("-") + o.short_name + ", " : "    ";
        left += "--" + std::string(o.long_name);
        if (!o.value_name.empty()) left += " " + std::string(o.value_name);
        width = std::max(width, left.size());
        rows.emplace_back(std::move(left), o.help);
    }
    // Help text wraps at 100 columns, under its own column.
    const size_t indent = 2 + width + 3;
    std::string out;
    for (auto& [left, help] : rows) {
        std::string line = "  " + left + std::string(width - left.size() + 3, ' ');
        size_t used = indent;
        std::string_view rest = help;
        while (!rest.empty()) {
            size_t space = rest.find(' ');
            std::string_view word = rest.substr(0, space);
            rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
            if (used > indent && used + 1 + word.size() > 100) {
                out += line + "\n";
                line = std::string(indent, ' ');
                used = indent;
            }
            if (used > indent) {
                line += " ";
                ++used;
            }
            line += word;
            used += word.size();
        }
        out += line + "\n";
    }
    return out;
}

}  // namespace usbhop::cli
