#include "config/address.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <vector>

#include "config/text.hpp"

namespace usbhop::config {

namespace {

bool is_hostname_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_';
}

Result<uint16_t> parse_port(std::string_view text, std::string_view whole) {
    if (text.empty()) return make_error("missing port after ':' in '" + std::string(whole) + "'");
    unsigned long port = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
    if (ec == std::errc::result_out_of_range || (ec == std::errc() && end == text.data() + text.size() && port > 65535))
        return make_error("port " + std::string(text) + " out of range (1-65535)");
    if (ec != std::errc() || end != text.data() + text.size())
        return make_error("port '" + std::string(text) + "' is not a number");
    if (port == 0) return make_error("port 0 out of range (1-65535)");
    return static_cast<uint16_t>(port);
}

Result<void> check_hostname(std::string_view host, std::string_view whole) {
    if (host.empty()) return make_error("missing host in '" + std::string(whole) + "'");
    if (host.size() > 253) return make_error("host name too long in '" + std::string(whole) + "'");
    for (char c : host) {
        if (!is_hostname_char(c))
            return make_error("unexpected character '" + std::string(1, c) + "' in host '" + std::string(host) + "'");
    }
    // All digits and dots: it must then be a valid IPv4 address, not a typo of one.
    if (host.find_first_not_of("0123456789.") == std::string_view::npos) {
        in_addr a;
        if (inet_pton(AF_INET, std::string(host).c_str(), &a) != 1)
            return make_error("malformed IPv4 address '" + std::string(host) + "'");
    }
    return {};
}

}  // namespace

std::string Address::to_string() const {
    if (is_ipv6()) return "[" + host + "]:" + std::to_string(port);
    return host + ":" + std::to_string(port);
}

bool is_numeric_host(std::string_view host) {
    std::string h(host);
    in6_addr a6;
    in_addr a4;
    return inet_pton(AF_INET6, h.c_str(), &a6) == 1 || inet_pton(AF_INET, h.c_str(), &a4) == 1;
}

Result<Address> parse_address(std::string_view text, uint16_t default_port) {
    std::string_view s = trim(text);
    if (s.empty()) return make_error("empty address (expected host:port)");
    Address out;
    out.port = default_port;
    if (s.front() == '[') {
        size_t close = s.find(']');
        if (close == std::string_view::npos)
            return make_error("missing ']' in '" + std::string(s) + "' (expected [v6-address]:port)");
        std::string host(s.substr(1, close - 1));
        size_t percent = host.find('%');
        std::string bare = host.substr(0, percent);  // a zone ("%eth0", "%2") is allowed after the address
        in6_addr a;
        if (bare.empty() || inet_pton(AF_INET6, bare.c_str(), &a) != 1)
            return make_error("malformed IPv6 address '" + host + "' in '" + std::string(s) + "'");
        if (percent != std::string::npos) {
            // An interface name or index: what the kernel takes (IFNAMSIZ, no '/', ':' or blanks).
            std::string zone = host.substr(percent + 1);
            if (zone.empty()) return make_error("empty zone after '%' in '" + std::string(s) + "'");
            if (zone.size() > 15 || zone.find_first_of("/:% \t") != std::string::npos)
                return make_error("zone '" + zone + "' in '" + std::string(s) +
                                  "' is not an interface name (at most 15 characters, no '/', ':', '%' or blanks)");
        }
        out.host = host;
        std::string_view rest = s.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':')
                return make_error("unexpected '" + std::string(rest) + "' after ']' in '" + std::string(s) + "'");
            auto port = parse_port(rest.substr(1), s);
            if (!port) return port.error();
            out.port = *port;
        }
        return out;
    }
    size_t colon = s.find(':');
    if (colon != std::string_view::npos && s.find(':', colon + 1) != std::string_view::npos)
        return make_error("IPv6 address '" + std::string(s) + "' needs brackets: [" + std::string(s) +
                          "]:" + std::to_string(default_port));
    std::string_view host = s.substr(0, colon);
    if (auto ok = check_hostname(host, s); !ok) return ok.error();
    out.host = std::string(host);
    if (colon != std::string_view::npos) {
        auto port = parse_port(s.substr(colon + 1), s);
        if (!port) return port.error();
        out.port = *port;
    }
    return out;
}

Result<RelayRef> parse_relay_ref(std::string_view text) {
    std::vector<std::string_view> words = split_words(text);
    if (words.size() != 2) return make_error("expected 'host:port node-id', got '" + std::string(trim(text)) + "'");
    auto address = parse_address(words[0]);
    if (!address) return address.error();
    auto node = identity::NodeId::parse(words[1]);
    if (!node) return node.error();
    return RelayRef{*address, *node};
}

}  // namespace usbhop::config
