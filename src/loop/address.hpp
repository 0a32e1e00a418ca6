// A socket address (IPv4 or IPv6 with port) as a value: what the UDP wrapper,
// quic/ paths and `usbhop status` pass around. Parsing accepts what people
// write in usbhop.conf: "192.0.2.1:7575", "[2001:db8::1]:7575", "[::]:7575".
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace usbhop::loop {

class SocketAddress {
public:
    SocketAddress() = default;  // AF_UNSPEC; empty() is true
    // Copies addr; len is taken from the family.
    explicit SocketAddress(const sockaddr* addr);
    // Numeric host only (no DNS): "127.0.0.1:7575", "[::1]:7575".
    static Result<SocketAddress> parse(std::string_view text);
    static SocketAddress ipv4(uint32_t host_order_addr, uint16_t port);

    bool empty() const { return storage_.ss_family == AF_UNSPEC; }
    int family() const { return storage_.ss_family; }
    uint16_t port() const;
    const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage_); }
    sockaddr* get() { return reinterpret_cast<sockaddr*>(&storage_); }
    socklen_t size() const;
    // "127.0.0.1:7575" / "[::1]:7575"
    std::string to_string() const;
    // The host alone: "127.0.0.1" / "[::1]" (every port of a host is one source)
    std::string host_string() const;

    friend bool operator==(const SocketAddress& a, const SocketAddress& b);

private:
    sockaddr_storage storage_{};
};

}  // namespace usbhop::loop
