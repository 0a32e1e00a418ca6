// Network addresses as people write them in usbhop.conf and on the command
// line: "host:port", "host" (port 7575), "[v6]:port", "[v6]". Pure parsing, no
// name resolution: a host stays a name until quic/ resolves it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "identity/identity.hpp"
#include "util/result.hpp"

namespace usbhop::config {

// usbhop's UDP port everywhere (docs/architecture.md#config-at-a-glance).
constexpr uint16_t kDefaultPort = 7575;

struct Address {
    std::string host;  // a name, an IPv4 address, or an IPv6 address without brackets
    uint16_t port = kDefaultPort;

    bool is_ipv6() const { return host.find(':') != std::string::npos; }
    // Brackets an IPv6 host again: "[::1]:7575".
    std::string to_string() const;
    bool operator==(const Address&) const = default;
};

// Errors name what is wrong: "port 70000 out of range (1-65535)",
// "IPv6 address '::1' needs brackets: [::1]:7575", ...
Result<Address> parse_address(std::string_view text, uint16_t default_port = kDefaultPort);

// A relay as [server] relay and [peer] relay name it: "host:port <node-id>".
struct RelayRef {
    Address address;
    identity::NodeId node;
    bool operator==(const RelayRef&) const = default;
};
Result<RelayRef> parse_relay_ref(std::string_view text);

}  // namespace usbhop::config
