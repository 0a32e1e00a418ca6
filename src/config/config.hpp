// config/: usbhop.conf, parsed into typed settings for the three modes.
//
// Promises: a file that parses yields settings that are each valid on their
// own (ports in range, addresses well formed, node IDs with an intact
// checksum, durations with a unit that exists); anything else is a
// Diagnostic "FILE:LINE: what is wrong", all of them collected, not just the
// first. Unknown sections and keys are errors with a "did you mean" hint.
// A missing file means defaults. Nothing here opens a socket or a device.
// The key names are the contract of docs/architecture.md#config-at-a-glance and
// usbhop.conf(5); known_keys() lists them so a test can hold the two together.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/address.hpp"
#include "config/diagnostic.hpp"
#include "config/export_rule.hpp"
#include "identity/identity.hpp"
#include "util/result.hpp"
#include "util/time.hpp"

namespace usbhop::config {

struct ServerSettings {
    Address listen{"::", kDefaultPort};
    std::string identity;         // default: kDefaultStateDir + "/identity.key"
    std::string authorized_keys;  // default: kDefaultSysconfDir + "/authorized_keys"
    std::optional<RelayRef> relay;
    Nanos grace = 30 * kSecond;         // how long a disconnected peer's devices stay claimed
    Nanos keep_alive = 15 * kSecond;    // a control-stream ping after this much silence
    Nanos idle_timeout = 60 * kSecond;  // a peer silent this long is disconnected
    uint32_t max_peers = 16;            // concurrent peer connections
    uint32_t max_udp_payload = 1452;    // largest QUIC packet sent (fits 1500-byte Ethernet over IPv6)
};

struct ClientSettings {
    std::string identity;           // "" means identity::default_identity_path()
    std::optional<RelayRef> relay;  // for peers named by a bare node ID or without address/relay
    Nanos keep_alive = 15 * kSecond;
    Nanos idle_timeout = 60 * kSecond;
    Nanos reconnect_max = 30 * kSecond;  // the longest wait between reconnect attempts
    uint32_t max_udp_payload = 1452;     // largest QUIC packet sent
};

struct Peer {
    std::string name;  // [peer "pi"]
    int line = 0;
    identity::NodeId node;
    std::optional<Address> address;  // none: through the relay
    std::optional<RelayRef> relay;
};

struct RelaySettings {
    Address listen{"::", kDefaultPort};
    std::string identity;                     // default: kDefaultStateDir + "/identity.key"
    std::string authorized_keys;              // default: kDefaultSysconfDir + "/relay_authorized_keys"
    uint32_t max_sessions = 1024;             // flows across all nodes
    uint32_t max_sessions_per_node = 8;       // flows one node may hold at once
    uint64_t bytes_per_second = 10ull << 20;  // per flow; 0 means no limit
    Nanos idle_timeout = 5 * 60 * kSecond;    // a flow with no packets this long is dropped
    uint32_t max_registrations = 4096;         // nodes registered at once
    uint32_t max_registrations_per_address = 16;   // nodes registered from one source IP address
    Nanos keep_alive = 25 * kSecond;           // what nodes are told (beats conntrack's 30 s for unreplied UDP)
    Nanos registration_timeout = 90 * kSecond; // a node with no keep-alive this long is forgotten
};

struct Config {
    std::string file;  // where it came from, "" for pure defaults
    ServerSettings server;
    std::vector<ExportRule> shares;  // [share "name"], in file order
    ClientSettings client;
    std::vector<Peer> peers;  // [peer "name"], in file order
    RelaySettings relay;

    // The roles the file has a section for ([share] counts as server, [peer]
    // as client). `usbhop id` and `usbhop trust` default to the role of a file
    // that configures only one.
    enum class Role { server, client, relay };
    struct Roles {
        bool server = false, client = false, relay = false;
    } roles;
    std::optional<Role> only_role() const;

    const Peer* find_peer(std::string_view name) const;
};

// Defaults as installed (from usbhop_config.h): "/etc/usbhop", "/var/lib/usbhop".
std::string default_config_path();
std::string default_sysconf_dir();
std::string default_state_dir();

// A config with every default filled in.
Config defaults();

struct ParseResult {
    Config config;
    Diagnostics errors;  // empty when the text is valid
    bool ok() const { return errors.empty(); }
};
// Pure: parses text that came from `file` (used only in messages).
ParseResult parse(std::string_view text, const std::string& file);

// Reads and parses path. A missing file gives defaults unless must_exist.
// The error carries every diagnostic, one "FILE:LINE: message" per line.
Result<Config> load(const std::string& path, bool must_exist = false);

// The keys the parser knows, for docs and tests.
struct KeyDoc {
    std::string_view section;  // "server", "share", "client", "peer", "relay"
    std::string_view key;
    std::string_view value;  // what the value looks like: "host:port", "duration", ...
    std::string_view default_value;
};
std::vector<KeyDoc> known_keys();

// A peer as named on the command line: a [peer] name, a bare node ID (through
// the relay), or node-id@host:port.
struct PeerTarget {
    identity::NodeId node;
    std::optional<Address> address;
    std::optional<RelayRef> relay;
    std::string name;  // the [peer] name when it came from one
};
Result<PeerTarget> resolve_peer(const Config& config, std::string_view text);

}  // namespace usbhop::config
