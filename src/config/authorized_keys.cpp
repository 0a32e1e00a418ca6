#include "config/authorized_keys.hpp"

#include <sys/stat.h>

#include "config/files.hpp"
#include "config/text.hpp"
#include "util/files.hpp"

namespace usbhop::config {

const AuthorizedKey* AuthorizedKeys::find(const identity::NodeId& node) const {
    for (const AuthorizedKey& k : keys) {
        if (k.node == node) return &k;
    }
    return nullptr;
}

Result<AuthorizedKeys> parse_authorized_keys(std::string_view text, const std::string& file, Diagnostics* all) {
    AuthorizedKeys out;
    Diagnostics errors;
    int line_no = 0;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = trim(text.substr(pos, end - pos));
        pos = end + 1;
        ++line_no;
        if (line.empty() || line.front() == '#') continue;
        size_t split = line.find_first_of(" \t");
        std::string_view id_text = line.substr(0, split);
        std::string_view comment = split == std::string_view::npos ? std::string_view() : trim(line.substr(split));
        auto node = identity::NodeId::parse(id_text);
        if (!node) {
            errors.push_back({file, line_no, node.error().message});
            continue;
        }
        if (out.contains(*node)) continue;
        out.keys.push_back({*node, std::string(comment), line_no});
    }
    if (all) *all = errors;
    if (!errors.empty()) return to_error(errors);
    return out;
}

Result<AuthorizedKeys> load_authorized_keys(const std::string& path) {
    auto text = read_text_file(path);
    if (!text) return text.error();
    if (!*text) return AuthorizedKeys{};
    return parse_authorized_keys(**text, path);
}

Diagnostics share_peers_not_trusted(const std::vector<ExportRule>& shares, const AuthorizedKeys& keys,
                                    const std::string& config_file, const std::string& keys_file) {
    Diagnostics out;
    for (const ExportRule& rule : shares) {
        for (const identity::NodeId& node : rule.peers) {
            if (keys.contains(node)) continue;
            std::string id = node.to_string();
            out.push_back({config_file, rule.peers_line ? rule.peers_line : rule.line,
                           "warning: [share \"" + rule.name + "\"] peers names " + id + ", which is not in " +
                               keys_file + ": it cannot connect until `usbhop trust " + id + "`"});
        }
    }
    return out;
}

Result<AppendOutcome> append_authorized_key(const std::string& path, const identity::NodeId& node,
                                            std::string_view comment) {
    auto text = read_text_file(path);
    if (!text) return text.error();
    if (*text) {
        auto existing = parse_authorized_keys(**text, path);
        if (!existing) return existing.error();
        if (existing->contains(node)) return AppendOutcome::already_present;
    }
    size_t slash = path.rfind('/');
    if (slash != std::string::npos && slash > 0) {
        if (auto made = make_directories(path.substr(0, slash), 0755); !made) return made.error();
    }

    // One line, whatever the comment holds: no line breaks may sneak in.
    std::string clean;
    for (char c : trim(comment)) clean.push_back(c == '\n' || c == '\r' || c == '\t' ? ' ' : c);
    std::string line;
    if (*text && !(*text)->empty() && (*text)->back() != '\n') line += "\n";
    line += node.to_string();
    if (!clean.empty()) line += " " + clean;
    line += "\n";

    // Rewritten whole rather than appended to: a reader never sees half a
    // line. A new file is world-readable whatever the umask: it holds public
    // keys, and the service user must read it; an existing one keeps its mode.
    mode_t mode = 0644;
    if (struct stat st; *text && ::stat(path.c_str(), &st) == 0) mode = st.st_mode & 07777;
    std::string whole = *text ? **text + line : line;
    if (auto w = write_file_atomically(path, whole, mode); !w) return w.error();
    return AppendOutcome::added;
}

}  // namespace usbhop::config
