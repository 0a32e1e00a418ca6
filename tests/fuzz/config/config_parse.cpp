// Fuzzes usbhop.conf parsing (config::parse) and the text a user gives on the
// command line for a peer (config::resolve_peer, parse_address,
// parse_relay_ref): a person writes both, so any typo must end as a message
// naming the place, never a crash, an exception or a setting out of range.
//
// Input: the file's text; each of its first lines is also tried as a peer
// and an address. Checks: parse does not throw; every diagnostic names the
// file and a line the text has; a line with a NUL byte gets one; a file
// without diagnostics gives settings in their documented ranges, and each
// [peer] resolves by its name to itself; an address that parses prints as
// text that parses back to it.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "../fuzz_check.hpp"
#include "config/config.hpp"

using namespace usbhop;
using namespace usbhop::config;

namespace {

const std::string kFile = "/etc/usbhop/usbhop.conf";

// Lines as the parser counts them: a last line without '\n' counts too.
int count_lines(std::string_view text) {
    int n = 0;
    for (char c : text) n += c == '\n';
    return n + (!text.empty() && text.back() != '\n');
}

bool is_path(const std::string& p) { return !p.empty() && (p.front() == '/' || p.starts_with("~/")); }

void check_address(std::string_view text) {
    auto a = parse_address(text);
    if (!a) {
        FUZZ_CHECK(!a.error().message.empty());
        return;
    }
    FUZZ_CHECK(!a->host.empty() && a->port != 0);
    auto again = parse_address(a->to_string());
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(*again == *a);
}

void check_settings(const Config& c, int lines) {
    FUZZ_CHECK(c.file == kFile);
    FUZZ_CHECK(c.server.listen.port != 0 && c.relay.listen.port != 0);
    FUZZ_CHECK(is_path(c.server.identity) && is_path(c.server.authorized_keys));
    FUZZ_CHECK(is_path(c.relay.identity) && is_path(c.relay.authorized_keys));
    FUZZ_CHECK(c.client.identity.empty() || is_path(c.client.identity));
    FUZZ_CHECK(c.server.max_peers >= 1 && c.server.max_peers <= 4096);
    FUZZ_CHECK(c.relay.max_sessions >= 1 && c.relay.max_sessions <= 1000000);
    FUZZ_CHECK(c.relay.max_sessions_per_node >= 1 && c.relay.max_sessions_per_node <= 65535);
    for (const ExportRule& s : c.shares) FUZZ_CHECK(!s.name.empty() && s.line >= 1 && s.line <= lines);
    for (const Peer& p : c.peers) {
        FUZZ_CHECK(!p.name.empty() && p.line >= 1 && p.line <= lines);
        FUZZ_CHECK(c.find_peer(p.name) == &p);
        FUZZ_CHECK(p.address || p.relay || c.client.relay || !p.node.valid());
        auto t = resolve_peer(c, p.name);
        FUZZ_CHECK(t.ok());
        FUZZ_CHECK(t->name == p.name && t->node == p.node && t->address == p.address);
        FUZZ_CHECK(t->relay == (p.relay ? p.relay : c.client.relay));
    }
}

// inih would read a line only up to a NUL: outside comments, one must be named.
void check_nul_lines(std::string_view text, const Diagnostics& errors) {
    size_t pos = 0;
    for (int line = 1; pos < text.size(); ++line) {
        size_t end = std::min(text.find('\n', pos), text.size());
        std::string_view l = text.substr(pos, end - pos);
        pos = end + 1;
        if (l.find('\0') == std::string_view::npos || l.find_first_of("#;") != std::string_view::npos) continue;
        bool named = false;
        for (const Diagnostic& d : errors) named |= d.line == line;
        FUZZ_CHECK(named);
    }
}

void check_peer_text(const Config& c, std::string_view text) {
    auto t = resolve_peer(c, text);
    if (!t) {
        FUZZ_CHECK(!t.error().message.empty());
        return;
    }
    if (!t->name.empty()) FUZZ_CHECK(c.find_peer(t->name) != nullptr);
    if (t->address) FUZZ_CHECK(t->address->port != 0 && !t->address->host.empty());
    if (t->name.empty()) FUZZ_CHECK(t->node.to_string().size() == identity::kNodeIdLength);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    ParseResult r;
    try {
        r = parse(text, kFile);
    } catch (...) {
        FUZZ_CHECK(!"config::parse threw");
    }
    int lines = count_lines(text);
    for (const Diagnostic& d : r.errors) {
        FUZZ_CHECK(d.file == kFile);
        FUZZ_CHECK(d.line >= 1 && d.line <= lines);
        FUZZ_CHECK(!d.message.empty());
        FUZZ_CHECK(d.to_string().starts_with(kFile + ":" + std::to_string(d.line) + ": "));
    }
    if (r.ok()) check_settings(r.config, lines);
    check_nul_lines(text, r.errors);

    // The first lines double as what a user types for `usbhop attach <peer>`.
    size_t pos = 0;
    for (int i = 0; i < 8 && pos < text.size(); ++i) {
        size_t end = std::min(text.find('\n', pos), text.size());
        std::string_view line = text.substr(pos, end - pos);
        pos = end + 1;
        check_peer_text(r.config, line);
        check_address(line);
        if (auto relay = parse_relay_ref(line)) check_address(relay->address.to_string());
    }
    return 0;
}
