#include "loop/address.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace usbhop::loop {

SocketAddress::SocketAddress(const sockaddr* addr) {
    if (!addr) return;
    if (addr->sa_family == AF_INET) std::memcpy(&storage_, addr, sizeof(sockaddr_in));
    else if (addr->sa_family == AF_INET6) std::memcpy(&storage_, addr, sizeof(sockaddr_in6));
}

SocketAddress SocketAddress::ipv4(uint32_t host_order_addr, uint16_t port) {
    SocketAddress a;
    auto* in = reinterpret_cast<sockaddr_in*>(&a.storage_);
    in->sin_family = AF_INET;
    in->sin_addr.s_addr = htonl(host_order_addr);
    in->sin_port = htons(port);
    return a;
}

Result<SocketAddress> SocketAddress::parse(std::string_view text) {
    std::string host;
    std::string_view port_text;
    if (!text.empty() && text.front() == '[') {
        auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
            return make_error("address '" + std::string(text) + "' should look like [2001:db8::1]:7575");
        host = text.substr(1, close - 1);
        port_text = text.substr(close + 2);
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string_view::npos || text.find(':') != colon)
            return make_error("address '" + std::string(text) + "' should look like 192.0.2.1:7575 or [2001:db8::1]:7575");
        host = text.substr(0, colon);
        port_text = text.substr(colon + 1);
    }
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535)
        return make_error("address '" + std::string(text) + "' has a bad port '" + std::string(port_text) + "'");
    SocketAddress a;
    auto* in4 = reinterpret_cast<sockaddr_in*>(&a.storage_);
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&a.storage_);
    if (inet_pton(AF_INET, host.c_str(), &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons(static_cast<uint16_t>(port));
    } else if (inet_pton(AF_INET6, host.c_str(), &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(static_cast<uint16_t>(port));
    } else {
        return make_error("address '" + std::string(text) + "': '" + host + "' is not a numeric IPv4 or IPv6 address");
    }
    return a;
}

uint16_t SocketAddress::port() const {
    if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
    if (family() == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
    return 0;
}

socklen_t SocketAddress::size() const {
    if (family() == AF_INET) return sizeof(sockaddr_in);
    if (family() == AF_INET6) return sizeof(sockaddr_in6);
    return 0;
}

std::string SocketAddress::to_string() const {
    char host[INET6_ADDRSTRLEN] = "";
    if (family() == AF_INET) {
        inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, host, sizeof host);
        return std::string(host) + ":" + std::to_string(port());
    }
    if (family() == AF_INET6) {
        inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, host, sizeof host);
        return "[" + std::string(host) + "]:" + std::to_string(port());
    }
    return "(none)";
}

std::string SocketAddress::host_string() const {
    std::string s = to_string();
    return empty() ? s : s.substr(0, s.rfind(':'));
}

bool operator==(const SocketAddress& a, const SocketAddress& b) {
    if (a.family() != b.family()) return false;
    if (a.family() == AF_INET) {
        auto* x = reinterpret_cast<const sockaddr_in*>(&a.storage_);
        auto* y = reinterpret_cast<const sockaddr_in*>(&b.storage_);
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    if (a.family() == AF_INET6) {
        auto* x = reinterpret_cast<const sockaddr_in6*>(&a.storage_);
        auto* y = reinterpret_cast<const sockaddr_in6*>(&b.storage_);
        return x->sin6_port == y->sin6_port && x->sin6_scope_id == y->sin6_scope_id &&
               std::memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
    }
    return true;
}

}  // namespace usbhop::loop
