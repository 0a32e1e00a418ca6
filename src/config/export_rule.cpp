#include "config/export_rule.hpp"

#include <algorithm>

#include "config/text.hpp"

namespace usbhop::config {

namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Exactly `digits` hex digits.
std::optional<unsigned> parse_hex(std::string_view s, size_t digits) {
    if (s.size() != digits) return std::nullopt;
    unsigned v = 0;
    for (char c : s) {
        int d = hex_value(c);
        if (d < 0) return std::nullopt;
        v = v * 16 + static_cast<unsigned>(d);
    }
    return v;
}

}  // namespace

bool matches(const ExportRule& rule, const DeviceFacts& device) {
    if (rule.vendor && *rule.vendor != device.vendor) return false;
    if (rule.product && *rule.product != device.product) return false;
    if (rule.serial && *rule.serial != device.serial) return false;
    if (rule.path && *rule.path != device.path) return false;
    if (device.imported && !rule.path) return false;
    if (rule.device_class) {
        uint8_t c = *rule.device_class;
        bool any = device.device_class == c ||
                   std::find(device.interface_classes.begin(), device.interface_classes.end(), c) !=
                       device.interface_classes.end();
        if (!any) return false;
    }
    return true;
}

bool allows_peer(const ExportRule& rule, const identity::NodeId& peer) {
    return rule.peers.empty() || std::find(rule.peers.begin(), rule.peers.end(), peer) != rule.peers.end();
}

Result<VendorProduct> parse_vendor_product(std::string_view text) {
    std::string_view s = trim(text);
    size_t colon = s.find(':');
    auto bad = [&] {
        return make_error("expected vendor:product as four hex digits each or *, like 0781:5583 or *:5583, got '" +
                          std::string(s) + "'");
    };
    if (colon == std::string_view::npos) return bad();
    VendorProduct out;
    std::string_view v = s.substr(0, colon), p = s.substr(colon + 1);
    if (v != "*") {
        auto x = parse_hex(v, 4);
        if (!x) return bad();
        out.vendor = static_cast<uint16_t>(*x);
    }
    if (p != "*") {
        auto x = parse_hex(p, 4);
        if (!x) return bad();
        out.product = static_cast<uint16_t>(*x);
    }
    return out;
}

Result<uint8_t> parse_usb_class(std::string_view text) {
    std::string_view s = trim(text);
    if (s.starts_with("0x") || s.starts_with("0X")) s.remove_prefix(2);
    auto x = parse_hex(s, 2);
    if (!x)
        return make_error("expected a USB class code as two hex digits, like 08 (mass storage), got '" +
                          std::string(trim(text)) + "'");
    return static_cast<uint8_t>(*x);
}

}  // namespace usbhop::config
