#include "config/config.hpp"

#include <ini.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <map>

#include "config/files.hpp"
#include "config/text.hpp"
#include "usbhop_config.h"

namespace usbhop::config {

namespace {

enum class Kind { none, invalid, server, share, client, peer, relay };

struct SectionSpec {
    std::string_view name;
    Kind kind;
    bool labelled;  // [share "name"], [peer "name"]
};
constexpr SectionSpec kSections[] = {
    {"server", Kind::server, false}, {"share", Kind::share, true},  {"client", Kind::client, false},
    {"peer", Kind::peer, true},      {"relay", Kind::relay, false},
};

// What a key's apply function writes into.
struct Target {
    Config& config;
    ExportRule* share = nullptr;
    Peer* peer = nullptr;
};
using Apply = Result<void> (*)(Target&, std::string_view value);

struct KeySpec {
    Kind kind;
    std::string_view key;
    std::string_view value;  // what the value looks like, for docs
    std::string_view default_value;
    Apply apply;
    bool list = false;  // may continue on indented lines (values are appended)
};

// --- value parsers: each returns an error that says what was expected ---

Result<Nanos> parse_duration_value(std::string_view v) {
    auto d = parse_duration(v);
    if (!d) return make_error("expected a duration like 30s, 500ms, 2m or 1h, got '" + std::string(v) + "'");
    return *d;
}

// [relay] keep_alive goes to nodes as whole seconds (REGISTERED's u16).
Result<Nanos> parse_keep_alive_seconds(std::string_view v) {
    auto d = parse_duration_value(v);
    if (!d) return d.error();
    if (*d < kSecond || *d > 3600 * kSecond || *d % kSecond != 0)
        return make_error("expected whole seconds from 1s to 1h, got '" + std::string(v) + "'");
    return *d;
}

// A duration from `min` to `max`: outside them the setting cannot work, and
// `why` says why.
Result<Nanos> parse_duration_within(std::string_view v, Nanos min, Nanos max, std::string_view why) {
    auto d = parse_duration_value(v);
    if (!d) return d.error();
    if (*d < min) return make_error("'" + std::string(v) + "' is below " + format_duration(min) + ": " + std::string(why));
    if (*d > max) return make_error("'" + std::string(v) + "' is above " + format_duration(max) + ": " + std::string(why));
    return *d;
}

constexpr Nanos kNoLimit = UINT64_MAX;

Result<Nanos> parse_idle_timeout(std::string_view v) {
    // QUIC's idle timer (RFC 9000 §10.1) under a second closes a connection
    // between two packets of an ordinary exchange.
    return parse_duration_within(v, kMinIdleTimeout, kNoLimit,
                                 "a connection would close between two packets of a normal exchange");
}

Result<Nanos> parse_grace(std::string_view v) {
    return parse_duration_within(v, 0, kMaxGrace, "HelloAck carries grace as u32 milliseconds (docs/protocol.md)");
}

Result<Nanos> parse_reconnect_max(std::string_view v) {
    return parse_duration_within(v, kMinReconnectMax, kNoLimit, "attach would hammer an unreachable server");
}

// serve and the relay bind the address as written; they resolve no names.
Result<Address> parse_listen(std::string_view v) {
    auto a = parse_address(v);
    if (!a) return a.error();
    if (!is_numeric_host(a->host))
        return make_error("'" + a->host + "' is not a numeric address; listen takes one, like [::]:7575 or "
                          "0.0.0.0:7575 (names are not resolved here)");
    return *a;
}

Result<uint64_t> parse_number(std::string_view v, uint64_t min, uint64_t max) {
    uint64_t n = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec == std::errc::result_out_of_range)
        return make_error(std::string(v) + " out of range (" + std::to_string(min) + "-" + std::to_string(max) + ")");
    if (ec != std::errc() || end != v.data() + v.size())
        return make_error("expected a whole number, got '" + std::string(v) + "'");
    if (n < min || n > max)
        return make_error(std::string(v) + " out of range (" + std::to_string(min) + "-" + std::to_string(max) + ")");
    return n;
}

// "1048576", "512K", "10M", "1G" (binary multiples); 0 means no limit.
Result<uint64_t> parse_rate(std::string_view v) {
    uint64_t scale = 1;
    std::string_view digits = v;
    if (!v.empty()) {
        switch (v.back()) {
        case 'k':
        case 'K': scale = 1ull << 10; break;
        case 'm':
        case 'M': scale = 1ull << 20; break;
        case 'g':
        case 'G': scale = 1ull << 30; break;
        default: break;
        }
        if (scale != 1) digits.remove_suffix(1);
    }
    uint64_t n = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty() || n > UINT64_MAX / scale)
        return make_error("expected bytes per second like 10M, 512K or 0 (no limit), got '" + std::string(v) + "'");
    return n * scale;
}

Result<bool> parse_bool(std::string_view v) {
    for (std::string_view t : {"yes", "true", "on", "1"})
        if (v == t) return true;
    for (std::string_view f : {"no", "false", "off", "0"})
        if (v == f) return false;
    return make_error("expected yes or no, got '" + std::string(v) + "'");
}

Result<std::string> parse_path(std::string_view v) {
    if (v.front() != '/' && !v.starts_with("~/"))
        return make_error("expected an absolute path (or one starting with ~/), got '" + std::string(v) + "'");
    return std::string(v);
}

Result<identity::NodeId> parse_node(std::string_view v) {
    auto node = identity::NodeId::parse(v);
    if (!node) return node.error();
    return *node;
}

// Each helper assigns on success and passes an error through.
template <typename T, typename F>
Result<void> set(T& field, F&& parse_fn, std::string_view v) {
    auto r = parse_fn(v);
    if (!r) return r.error();
    field = std::move(*r);
    return {};
}

Result<void> set_count(uint32_t& field, std::string_view v, uint64_t min, uint64_t max) {
    auto r = parse_number(v, min, max);
    if (!r) return r.error();
    field = static_cast<uint32_t>(*r);
    return {};
}

// clang-format off
const KeySpec kKeys[] = {
    {Kind::server, "listen", "address:port", "[::]:7575",
     [](Target& t, std::string_view v) { return set(t.config.server.listen, parse_listen, v); }},
    {Kind::server, "identity", "path", USBHOP_STATEDIR "/identity.key",
     [](Target& t, std::string_view v) { return set(t.config.server.identity, parse_path, v); }},
    {Kind::server, "authorized_keys", "path", USBHOP_SYSCONFDIR "/authorized_keys",
     [](Target& t, std::string_view v) { return set(t.config.server.authorized_keys, parse_path, v); }},
    {Kind::server, "relay", "host:port node-id", "none",
     [](Target& t, std::string_view v) { return set(t.config.server.relay, parse_relay_ref, v); }},
    {Kind::server, "grace", "duration", "30s",
     [](Target& t, std::string_view v) { return set(t.config.server.grace, parse_grace, v); }},
    {Kind::server, "keep_alive", "duration", "15s",
     [](Target& t, std::string_view v) { return set(t.config.server.keep_alive, parse_duration_value, v); }},
    {Kind::server, "idle_timeout", "duration", "60s",
     [](Target& t, std::string_view v) { return set(t.config.server.idle_timeout, parse_idle_timeout, v); }},
    {Kind::server, "max_peers", "number", "16",
     [](Target& t, std::string_view v) { return set_count(t.config.server.max_peers, v, 1, 4096); }},
    {Kind::server, "max_udp_payload", "bytes", "1452",
     [](Target& t, std::string_view v) { return set_count(t.config.server.max_udp_payload, v, 1200, 65000); }},

    {Kind::share, "match", "vendor:product", "*:*",
     [](Target& t, std::string_view v) -> Result<void> {
         auto vp = parse_vendor_product(v);
         if (!vp) return vp.error();
         t.share->vendor = vp->vendor;
         t.share->product = vp->product;
         return {};
     }},
    {Kind::share, "serial", "string", "any",
     [](Target& t, std::string_view v) -> Result<void> { t.share->serial = std::string(v); return {}; }},
    {Kind::share, "path", "bus path", "any",
     [](Target& t, std::string_view v) -> Result<void> {
         if (v.find_first_not_of("0123456789-.") != std::string_view::npos || v.find('-') == std::string_view::npos)
             return make_error("expected a bus path like 1-1.2, got '" + std::string(v) + "'");
         t.share->path = std::string(v);
         return {};
     }},
    {Kind::share, "class", "hex class code", "any",
     [](Target& t, std::string_view v) { return set(t.share->device_class, parse_usb_class, v); }},
    {Kind::share, "peers", "node-id ...", "everyone in authorized_keys",
     [](Target& t, std::string_view v) -> Result<void> {
         for (std::string_view word : split_words(v)) {
             auto node = parse_node(word);
             if (!node) return node.error();
             t.share->peers.push_back(*node);
         }
         return {};
     }, true},
    {Kind::share, "force", "yes|no", "no",
     [](Target& t, std::string_view v) { return set(t.share->force, parse_bool, v); }},

    {Kind::client, "identity", "path", "~/.config/usbhop/identity.key (root: " USBHOP_ATTACH_STATEDIR "/identity.key)",
     [](Target& t, std::string_view v) { return set(t.config.client.identity, parse_path, v); }},
    {Kind::client, "relay", "host:port node-id", "none",
     [](Target& t, std::string_view v) { return set(t.config.client.relay, parse_relay_ref, v); }},
    {Kind::client, "keep_alive", "duration", "15s",
     [](Target& t, std::string_view v) { return set(t.config.client.keep_alive, parse_duration_value, v); }},
    {Kind::client, "idle_timeout", "duration", "60s",
     [](Target& t, std::string_view v) { return set(t.config.client.idle_timeout, parse_idle_timeout, v); }},
    {Kind::client, "reconnect_max", "duration", "30s",
     [](Target& t, std::string_view v) { return set(t.config.client.reconnect_max, parse_reconnect_max, v); }},
    {Kind::client, "max_udp_payload", "bytes", "1452",
     [](Target& t, std::string_view v) { return set_count(t.config.client.max_udp_payload, v, 1200, 65000); }},

    {Kind::peer, "node", "node-id", "required",
     [](Target& t, std::string_view v) { return set(t.peer->node, parse_node, v); }},
    {Kind::peer, "address", "host:port", "none (through the relay)",
     [](Target& t, std::string_view v) { return set(t.peer->address, [](auto s) { return parse_address(s); }, v); }},
    {Kind::peer, "relay", "host:port node-id", "[client] relay",
     [](Target& t, std::string_view v) { return set(t.peer->relay, parse_relay_ref, v); }},

    {Kind::relay, "listen", "address:port", "[::]:7575",
     [](Target& t, std::string_view v) { return set(t.config.relay.listen, parse_listen, v); }},
    {Kind::relay, "identity", "path", USBHOP_RELAY_STATEDIR "/identity.key",
     [](Target& t, std::string_view v) { return set(t.config.relay.identity, parse_path, v); }},
    {Kind::relay, "authorized_keys", "path", USBHOP_SYSCONFDIR "/relay_authorized_keys",
     [](Target& t, std::string_view v) { return set(t.config.relay.authorized_keys, parse_path, v); }},
    {Kind::relay, "max_sessions", "number", "1024",
     [](Target& t, std::string_view v) { return set_count(t.config.relay.max_sessions, v, 1, 1000000); }},
    {Kind::relay, "max_sessions_per_node", "number", "8",
     [](Target& t, std::string_view v) { return set_count(t.config.relay.max_sessions_per_node, v, 1, 65535); }},
    {Kind::relay, "bytes_per_second", "size", "10M",
     [](Target& t, std::string_view v) { return set(t.config.relay.bytes_per_second, parse_rate, v); }},
    {Kind::relay, "idle_timeout", "duration", "5m",
     [](Target& t, std::string_view v) { return set(t.config.relay.idle_timeout, parse_duration_value, v); }},
    {Kind::relay, "max_registrations", "number", "4096",
     [](Target& t, std::string_view v) { return set_count(t.config.relay.max_registrations, v, 1, 1000000); }},
    {Kind::relay, "max_registrations_per_address", "number", "16",
     [](Target& t, std::string_view v) { return set_count(t.config.relay.max_registrations_per_address, v, 1, 65535); }},
    {Kind::relay, "keep_alive", "duration", "25s",
     [](Target& t, std::string_view v) { return set(t.config.relay.keep_alive, parse_keep_alive_seconds, v); }},
    {Kind::relay, "registration_timeout", "duration", "90s",
     [](Target& t, std::string_view v) { return set(t.config.relay.registration_timeout, parse_duration_value, v); }},
};
// clang-format on

std::string_view section_name(Kind k) {
    for (const SectionSpec& s : kSections)
        if (s.kind == k) return s.name;
    return "";
}

bool is_label_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.';
}

// Feeds inih one line at a time and keeps the bookkeeping inih lacks: line
// numbers, section headers (also of empty sections), duplicates and
// continuation lines. inih splits "key = value".
class Parser {
public:
    Parser(std::string_view text, const std::string& file) : text_(text), file_(file) {
        result_.config = defaults();
        result_.config.file = file;
    }

    ParseResult run() {
        ini_parse_stream(&Parser::read_line, this, &Parser::on_pair, this);
        finish_section();
        cross_check();
        return std::move(result_);
    }

private:
    static char* read_line(char* str, int num, void* self) { return static_cast<Parser*>(self)->next_line(str, num); }
    static int on_pair(void* self, const char*, const char* name, const char* value) {
        static_cast<Parser*>(self)->on_key(name, value);
        return 1;
    }

    void error(std::string message, int line = 0) {
        result_.errors.push_back({file_, line ? line : line_, std::move(message)});
    }

    // What inih sees for each line: blank for what this class handled itself.
    char* next_line(char* str, int num) {
        if (pos_ >= text_.size()) return nullptr;
        size_t end = text_.find('\n', pos_);
        if (end == std::string_view::npos) end = text_.size();
        std::string_view raw = text_.substr(pos_, end - pos_);
        pos_ = end + 1;
        ++line_;
        std::string out = preprocess(raw);
        if (out.size() + 3 > static_cast<size_t>(num)) {
            // Longer than inih's line buffer: split it here the way inih would
            // (preprocess() made sure it is "key = value").
            size_t eq = out.find('=');
            on_key(trim(std::string_view(out).substr(0, eq)), trim(std::string_view(out).substr(eq + 1)));
            out.clear();
        }
        std::memcpy(str, out.data(), out.size());
        str[out.size()] = '\n';
        str[out.size() + 1] = '\0';
        return str;
    }

    std::string preprocess(std::string_view raw) {
        if (line_ == 1 && raw.starts_with("\xEF\xBB\xBF")) raw.remove_prefix(3);
        std::string_view t = trim(raw);
        if (t.empty() || t.front() == '#' || t.front() == ';') return "";
        // An inline comment starts at '#' or ';' after whitespace.
        for (size_t i = 1; i < t.size(); ++i) {
            if ((t[i] == '#' || t[i] == ';') && (t[i - 1] == ' ' || t[i - 1] == '\t')) {
                t = trim(t.substr(0, i));
                break;
            }
        }
        // inih reads a line only up to a NUL and would drop the rest unseen.
        if (t.find('\0') != std::string_view::npos) {
            error("unexpected NUL byte in a line (is this a text file?)");
            return "";
        }
        bool indented = raw.front() == ' ' || raw.front() == '\t';
        bool continues = indented && !last_key_.empty() && t.find('=') == std::string_view::npos;
        if (t.front() == '[' && !(continues && !names_section(t))) {
            on_section(t);
            return "";
        }
        if (t.find('=') == std::string_view::npos) {
            if (indented && !last_key_.empty()) on_continuation(t);
            else error("expected 'key = value' or a [section], got '" + std::string(t) + "'");
            return "";
        }
        if (size_t colon = t.find(':'); colon < t.find('=')) {
            error("expected 'key = value', got '" + std::string(t) + "'");
            return "";
        }
        if (t.front() == '=') {
            error("missing key before '='");
            return "";
        }
        return std::string(t);
    }

    // "[server]", "[share ...": a header, even when indented ("  [::1]:2" is not).
    static bool names_section(std::string_view t) {
        for (const SectionSpec& s : kSections) {
            std::string_view rest = t.substr(1);
            if (rest.starts_with(s.name) && (rest.size() == s.name.size() || rest[s.name.size()] == ']' ||
                                             rest[s.name.size()] == ' ' || rest[s.name.size()] == '"'))
                return true;
        }
        return false;
    }

    void on_section(std::string_view t) {
        finish_section();
        kind_ = Kind::invalid;
        last_key_.clear();
        section_line_ = line_;
        if (t.back() != ']') {
            error("malformed section header '" + std::string(t) + "' (expected [name] or [name \"label\"])");
            return;
        }
        std::string_view inner = trim(t.substr(1, t.size() - 2));
        size_t split = inner.find_first_of(" \t\"");
        std::string_view word = inner.substr(0, split);
        std::string_view rest = split == std::string_view::npos ? std::string_view() : trim(inner.substr(split));
        const SectionSpec* spec = nullptr;
        for (const SectionSpec& s : kSections)
            if (s.name == word) spec = &s;
        if (!spec) {
            std::vector<std::string_view> names;
            for (const SectionSpec& s : kSections) names.push_back(s.name);
            std::string hint = closest(word, names);
            error("unknown section [" + std::string(word) + "]" +
                  (hint.empty() ? " (known: [server], [share \"name\"], [client], [peer \"name\"], [relay])"
                                : " (did you mean [" + hint + "]?)"));
            return;
        }
        std::string label;
        if (spec->labelled) {
            if (rest.size() < 2 || rest.front() != '"' || rest.back() != '"') {
                error("[" + std::string(word) + "] needs a name in quotes, like [" + std::string(word) + " \"name\"]");
                return;
            }
            label = std::string(rest.substr(1, rest.size() - 2));
            if (label.empty() || label.size() > 64 || !std::all_of(label.begin(), label.end(), is_label_char)) {
                error("section name \"" + label + "\" may hold only letters, digits, '-', '_' and '.' (1-64 of them)");
                return;
            }
        } else if (!rest.empty()) {
            error("[" + std::string(word) + "] takes no name (got " + std::string(rest) + ")");
            return;
        }
        display_ = label.empty() ? "[" + std::string(word) + "]" : "[" + std::string(word) + " \"" + label + "\"]";
        auto [it, inserted] = sections_.emplace(display_, line_);
        if (!inserted) {
            error("duplicate section " + display_ + " (first on line " + std::to_string(it->second) + ")");
            return;
        }
        kind_ = spec->kind;
        keys_.clear();
        Config::Roles& roles = result_.config.roles;
        if (kind_ == Kind::server || kind_ == Kind::share) roles.server = true;
        if (kind_ == Kind::client || kind_ == Kind::peer) roles.client = true;
        if (kind_ == Kind::relay) roles.relay = true;
        if (kind_ == Kind::share) {
            result_.config.shares.push_back({});
            result_.config.shares.back().name = label;
            result_.config.shares.back().line = line_;
        } else if (kind_ == Kind::peer) {
            result_.config.peers.push_back({});
            result_.config.peers.back().name = label;
            result_.config.peers.back().line = line_;
        }
    }

    // Checks that need the whole section.
    void finish_section() {
        if (kind_ == Kind::share) {
            // By key, not value: "match = *:*" is a criterion, and a bad value has its own error.
            bool any = keys_.contains("match") || keys_.contains("serial") || keys_.contains("path") ||
                       keys_.contains("class");
            if (!any)
                error(display_ + " shares nothing: set match, serial, path or class (match = *:* shares every device)",
                      section_line_);
        } else if (kind_ == Kind::peer) {
            if (!keys_.contains("node")) error(display_ + " needs node = <node-id>", section_line_);
        }
        kind_ = Kind::none;
    }

    void cross_check() {
        const RelaySettings& r = result_.config.relay;
        if (r.registration_timeout <= 2 * r.keep_alive)
            error("[relay] registration_timeout (" + format_duration(r.registration_timeout) +
                      ") must be more than twice keep_alive (" + format_duration(r.keep_alive) +
                      "), or nodes are forgotten between keep-alives",
                  relay_timing_line_);
        check_keep_alive("[server]", result_.config.server.keep_alive, result_.config.server.idle_timeout);
        check_keep_alive("[client]", result_.config.client.keep_alive, result_.config.client.idle_timeout);
        for (const Peer& p : result_.config.peers) {
            if (p.node.valid() && !p.address && !p.relay && !result_.config.client.relay)
                error("[peer \"" + p.name + "\"] has neither address nor relay, and [client] names no relay", p.line);
        }
    }

    // A keep-alive that comes no sooner than the idle timeout never keeps anything alive.
    void check_keep_alive(const std::string& section, Nanos keep_alive, Nanos idle_timeout) {
        if (keep_alive < idle_timeout) return;
        int line = std::max(key_line(section, "keep_alive"), key_line(section, "idle_timeout"));
        error(section + " keep_alive (" + format_duration(keep_alive) + ") must be shorter than idle_timeout (" +
                  format_duration(idle_timeout) + "), or idle connections close before a keep-alive is sent",
              line);
    }

    int key_line(const std::string& section, std::string_view key) const {
        auto it = key_lines_.find(section + " " + std::string(key));
        return it == key_lines_.end() ? 0 : it->second;
    }

    Target target() {
        Target t{result_.config};
        if (kind_ == Kind::share) t.share = &result_.config.shares.back();
        if (kind_ == Kind::peer) t.peer = &result_.config.peers.back();
        return t;
    }

    const KeySpec* find_key(std::string_view key) const {
        for (const KeySpec& k : kKeys)
            if (k.kind == kind_ && k.key == key) return &k;
        return nullptr;
    }

    void apply(const KeySpec& spec, std::string_view value) {
        if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
        if (value.empty() && !spec.list) {
            error("missing value for '" + std::string(spec.key) + "' in " + display_);
            return;
        }
        Target t = target();
        if (auto r = spec.apply(t, value); !r)
            error("invalid " + std::string(spec.key) + " in " + display_ + ": " + r.error().message);
        else if (spec.kind == Kind::relay && (spec.key == "keep_alive" || spec.key == "registration_timeout"))
            relay_timing_line_ = line_;
    }

    void on_key(std::string_view name, std::string_view value) {
        if (kind_ == Kind::invalid) return;  // the header's error covers its keys
        if (kind_ == Kind::none) {
            error("key '" + std::string(name) + "' comes before any [section]");
            return;
        }
        const KeySpec* spec = find_key(name);
        if (!spec) {
            std::vector<std::string_view> names;
            for (const KeySpec& k : kKeys)
                if (k.kind == kind_) names.push_back(k.key);
            std::string hint = closest(name, names);
            error("unknown key '" + std::string(name) + "' in " + display_ +
                  (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
            last_key_.clear();
            return;
        }
        auto [it, inserted] = keys_.emplace(std::string(name), line_);
        if (!inserted) {
            error("duplicate key '" + std::string(name) + "' in " + display_ + " (first set on line " +
                  std::to_string(it->second) + ")");
            last_key_.clear();
            return;
        }
        last_key_ = std::string(name);
        key_lines_[display_ + " " + std::string(name)] = line_;
        if (kind_ == Kind::share && name == "peers") result_.config.shares.back().peers_line = line_;
        apply(*spec, trim(value));
    }

    void on_continuation(std::string_view value) {
        if (kind_ == Kind::invalid) return;
        const KeySpec* spec = find_key(last_key_);
        if (!spec || !spec->list) {
            error("'" + last_key_ + "' takes one value; only lists such as 'peers' continue on indented lines");
            return;
        }
        apply(*spec, value);
    }

    std::string_view text_;
    std::string file_;
    size_t pos_ = 0;
    int line_ = 0;
    ParseResult result_;

    Kind kind_ = Kind::none;
    std::string display_;  // "[share \"flash\"]"
    int section_line_ = 0;
    int relay_timing_line_ = 0;   // the last [relay] keep_alive or registration_timeout
    std::map<std::string, int> sections_;  // display name -> line
    std::map<std::string, int> keys_;      // key -> line, in the current section
    std::map<std::string, int> key_lines_;  // "[server] keep_alive" -> line, every section
    std::string last_key_;                 // for continuation lines
};

}  // namespace

std::optional<Config::Role> Config::only_role() const {
    if (roles.server + roles.client + roles.relay != 1) return std::nullopt;
    return roles.server ? Role::server : roles.client ? Role::client : Role::relay;
}

const Peer* Config::find_peer(std::string_view name) const {
    for (const Peer& p : peers)
        if (p.name == name) return &p;
    return nullptr;
}

std::string default_config_path() { return USBHOP_SYSCONFDIR "/usbhop.conf"; }
std::string default_sysconf_dir() { return USBHOP_SYSCONFDIR; }
std::string default_state_dir() { return USBHOP_STATEDIR; }
std::string default_relay_state_dir() { return USBHOP_RELAY_STATEDIR; }

Config defaults() {
    Config c;
    c.server.identity = default_state_dir() + "/identity.key";
    c.server.authorized_keys = default_sysconf_dir() + "/authorized_keys";
    c.relay.identity = default_relay_state_dir() + "/identity.key";
    c.relay.authorized_keys = default_sysconf_dir() + "/relay_authorized_keys";
    return c;
}

ParseResult parse(std::string_view text, const std::string& file) { return Parser(text, file).run(); }

Result<Config> load(const std::string& path, bool must_exist) {
    auto text = read_text_file(path);
    if (!text) return text.error();
    if (!*text) {
        if (must_exist) return make_error("cannot read " + path + ": No such file or directory");
        Config c = defaults();
        c.file = path;
        return c;
    }
    ParseResult r = parse(**text, path);
    if (!r.ok()) return to_error(r.errors);
    return std::move(r.config);
}

std::vector<KeyDoc> known_keys() {
    std::vector<KeyDoc> out;
    for (const KeySpec& k : kKeys) out.push_back({section_name(k.kind), k.key, k.value, k.default_value});
    return out;
}

Result<PeerTarget> resolve_peer(const Config& config, std::string_view text) {
    std::string_view s = trim(text);
    if (size_t at = s.find('@'), plus = s.find('+'); at != std::string_view::npos && plus < at) {
        // A ticket from `usbhop id --server`: node-id+relay-node-id@relay-host:port.
        auto node = parse_node(s.substr(0, plus));
        if (!node) return node.error();
        auto relay_node = parse_node(s.substr(plus + 1, at - plus - 1));
        if (!relay_node) return make_error("relay node ID in the ticket: " + relay_node.error().message);
        auto address = parse_address(s.substr(at + 1));
        if (!address) return make_error("relay address in the ticket: " + address.error().message);
        return PeerTarget{*node, std::nullopt, RelayRef{*address, *relay_node}, ""};
    }
    if (size_t at = s.find('@'); at != std::string_view::npos) {
        auto node = parse_node(s.substr(0, at));
        if (!node) return node.error();
        auto address = parse_address(s.substr(at + 1));
        if (!address) return make_error("address after '@': " + address.error().message);
        return PeerTarget{*node, *address, std::nullopt, ""};
    }
    if (const Peer* p = config.find_peer(s)) {
        return PeerTarget{p->node, p->address, p->relay ? p->relay : config.client.relay, p->name};
    }
    if (s.size() == identity::kNodeIdLength) {
        auto node = parse_node(s);
        if (!node) return node.error();
        if (!config.client.relay)
            return make_error("no way to reach " + std::string(s) + ": give node-id@host:port, or set [client] relay");
        return PeerTarget{*node, std::nullopt, config.client.relay, ""};
    }
    std::vector<std::string_view> names;
    for (const Peer& p : config.peers) names.push_back(p.name);
    std::string hint = closest(s, names);
    std::string where = config.file.empty() ? "the configuration" : config.file;
    return make_error("unknown peer '" + std::string(s) + "': not a [peer] in " + where +
                      ", a node ID, or node-id@host:port" + (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
}

}  // namespace usbhop::config
