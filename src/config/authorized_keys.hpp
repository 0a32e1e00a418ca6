// authorized_keys: the node IDs a server (or relay) lets in. One node ID per
// line, optionally followed by whitespace and a comment; '#' starts a comment
// line; blank lines are ignored. A malformed line is an error naming
// file:line, never skipped: a typo must not silently lock someone out or in.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/diagnostic.hpp"
#include "config/export_rule.hpp"
#include "identity/identity.hpp"
#include "util/result.hpp"

namespace usbhop::config {

struct AuthorizedKey {
    identity::NodeId node;
    std::string comment;
    int line = 0;
};

struct AuthorizedKeys {
    std::vector<AuthorizedKey> keys;  // in file order; a repeated node ID keeps its first line

    bool contains(const identity::NodeId& node) const { return find(node) != nullptr; }
    const AuthorizedKey* find(const identity::NodeId& node) const;
};

// Pure: parses text that came from `file` (used only in messages).
Result<AuthorizedKeys> parse_authorized_keys(std::string_view text, const std::string& file,
                                             Diagnostics* all = nullptr);
// Reads and parses path; a missing file is an empty list (nobody is trusted).
Result<AuthorizedKeys> load_authorized_keys(const std::string& path);

// Pure: one warning per [share] peers entry that `keys` (read from
// keys_file) lacks: such a peer is refused before any rule applies, so the
// entry can never take effect. Diagnostics point at the peers line of
// config_file.
Diagnostics share_peers_not_trusted(const std::vector<ExportRule>& shares, const AuthorizedKeys& keys,
                                    const std::string& config_file, const std::string& keys_file);

enum class AppendOutcome { added, already_present };
// Adds "node-id comment" as a new line, unless node is already listed.
// Creates the file (0644) and its directory (0755) when missing; refuses to
// append to a file that does not parse.
Result<AppendOutcome> append_authorized_key(const std::string& path, const identity::NodeId& node,
                                            std::string_view comment);

}  // namespace usbhop::config
