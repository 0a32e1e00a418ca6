#include "client/selection.hpp"

#include <cctype>
#include <cstdio>

#include "util/printable.hpp"

namespace usbhop::client {

namespace {

bool is_bus_path(std::string_view s) {
    // <bus>-<port>[.<port>...]
    size_t dash = s.find('-');
    if (dash == 0 || dash == std::string_view::npos || dash + 1 >= s.size()) return false;
    for (size_t i = 0; i < dash; ++i)
        if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    bool digit_before = false;
    for (size_t i = dash + 1; i < s.size(); ++i) {
        char c = s[i];
        if (std::isdigit(static_cast<unsigned char>(c))) digit_before = true;
        else if (c == '.' && digit_before) digit_before = false;
        else return false;
    }
    return digit_before;
}

// "*" -> nullopt; 1-4 hex digits -> value; anything else -> error.
bool parse_hex16(std::string_view s, std::optional<uint16_t>& out) {
    if (s == "*") {
        out.reset();
        return true;
    }
    if (s.size() >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s.remove_prefix(2);
    if (s.empty() || s.size() > 4) return false;
    uint16_t v = 0;
    for (char c : s) {
        if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
        v = static_cast<uint16_t>(v * 16 + (std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : (std::tolower(c) - 'a' + 10)));
    }
    out = v;
    return true;
}

uint16_t le16(const Bytes& b, size_t at) {
    if (b.size() < at + 2) return 0;
    return static_cast<uint16_t>(std::to_integer<uint16_t>(b[at]) | std::to_integer<uint16_t>(b[at + 1]) << 8);
}

}  // namespace

Result<DeviceSelector> parse_selector(std::string_view text) {
    DeviceSelector s;
    s.text = std::string(text);
    if (text.empty()) return make_error("an empty device name: give a bus path (1-1.2), vendor:product (0781:5583) or a serial");
    if (is_bus_path(text)) {
        s.kind = DeviceSelector::Kind::kBusPath;
        return s;
    }
    if (size_t colon = text.find(':'); colon != std::string_view::npos) {
        if (parse_hex16(text.substr(0, colon), s.vendor) && parse_hex16(text.substr(colon + 1), s.product)) {
            s.kind = DeviceSelector::Kind::kVendorProduct;
            return s;
        }
    }
    s.kind = DeviceSelector::Kind::kSerial;
    return s;
}

Result<std::vector<DeviceSelector>> parse_selectors(const std::vector<std::string>& texts) {
    std::vector<DeviceSelector> out;
    for (const std::string& t : texts) {
        auto s = parse_selector(t);
        if (!s) return s.error();
        out.push_back(std::move(*s));
    }
    return out;
}

bool DeviceSelector::matches(std::string_view bus_path, uint16_t vendor_id, uint16_t product_id,
                             std::string_view serial) const {
    switch (kind) {
    case Kind::kBusPath: return bus_path == text;
    case Kind::kVendorProduct:
        return (!vendor || *vendor == vendor_id) && (!product || *product == product_id);
    case Kind::kSerial: return !serial.empty() && serial == text;
    }
    return false;
}

bool DeviceSelector::matches(const proto::DeviceInfo& d) const {
    return matches(d.bus_path, vendor_of(d), product_of(d), d.serial);
}

bool selected(const std::vector<DeviceSelector>& selectors, const proto::DeviceInfo& d) {
    if (selectors.empty()) return true;
    for (const DeviceSelector& s : selectors)
        if (s.matches(d)) return true;
    return false;
}

uint16_t vendor_of(const proto::DeviceInfo& d) { return le16(d.device_descriptor, 8); }
uint16_t product_of(const proto::DeviceInfo& d) { return le16(d.device_descriptor, 10); }

std::string describe(const proto::DeviceInfo& d) {
    char id[16];
    std::snprintf(id, sizeof id, "%04x:%04x", vendor_of(d), product_of(d));
    std::string name = util::printable(d.manufacturer);
    std::string product = util::printable(d.product);
    if (!product.empty()) name += (name.empty() ? "" : " ") + product;
    std::string out = id;
    if (!name.empty()) out += " " + name;
    out += " (" + util::printable(d.bus_path) + ")";
    return out;
}

log::Fields device_fields(log::Fields peer, const proto::DeviceInfo& d) {
    peer.device(vendor_of(d), product_of(d), util::printable(d.bus_path));
    return peer;
}

}  // namespace usbhop::client
