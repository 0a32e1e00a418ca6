#include "vhci/status.hpp"

#include <algorithm>
#include <charconv>

#include "util/bytes.hpp"

namespace usbhop::vhci {

namespace {

std::vector<std::string_view> split_fields(std::string_view line) {
    std::vector<std::string_view> out;
    size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
        size_t start = i;
        while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
        if (i > start) out.push_back(line.substr(start, i - start));
    }
    return out;
}

template <typename T>
bool parse_number(std::string_view s, T& out, int base = 10) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out, base);
    return ec == std::errc() && end == s.data() + s.size();
}

Error line_error(size_t line_no, std::string_view what, std::string_view line) {
    return make_error("vhci_hcd status line " + std::to_string(line_no) + ": " + std::string(what) + ": '" +
                      std::string(line) + "'");
}

}  // namespace

Result<std::vector<PortStatus>> parse_status(std::string_view text) {
    std::vector<PortStatus> ports;
    size_t line_no = 0;
    bool header_seen = false;
    while (!text.empty()) {
        std::string_view line = take_line(text);
        ++line_no;
        auto fields = split_fields(line);
        if (fields.empty()) continue;

        if (!header_seen) {
            // Kernels before 4.13 had no "hub" column and no super-speed hub;
            // their ports cannot be told apart by speed, so refuse them.
            if (fields[0] != "hub") return line_error(line_no, "expected the 'hub port sta ...' header", line);
            header_seen = true;
            continue;
        }
        if (fields.size() != 7) return line_error(line_no, "expected 7 fields", line);

        PortStatus p;
        if (fields[0] == "hs") {
            p.hub = Hub::high_speed;
        } else if (fields[0] == "ss") {
            p.hub = Hub::super_speed;
        } else {
            return line_error(line_no, "unknown hub (want hs or ss)", line);
        }
        unsigned state = 0;
        uint64_t sockfd = 0;
        if (!parse_number(fields[1], p.port)) return line_error(line_no, "bad port number", line);
        if (!parse_number(fields[2], state)) return line_error(line_no, "bad state", line);
        if (state < static_cast<unsigned>(PortState::free) || state > static_cast<unsigned>(PortState::error))
            return line_error(line_no, "unknown port state " + std::to_string(state), line);
        p.state = static_cast<PortState>(state);
        if (!parse_number(fields[3], p.speed)) return line_error(line_no, "bad speed", line);
        // attach_store() in vhci_sysfs.c puts a device on the hub its speed
        // needs; one on the other hub means the columns are not what we think.
        if (auto hub = hub_for_speed(p.speed); hub && *hub != p.hub)
            return line_error(
                line_no, std::string(speed_name(p.speed)) + "-speed device on the " + hub_name(p.hub) + " hub", line);
        if (!parse_number(fields[4], p.devid, 16)) return line_error(line_no, "bad devid", line);
        // The socket column is an fd number on newer kernels and a zeroed
        // pointer on a controller that is not ready; only its form matters.
        if (!parse_number(fields[5], sockfd)) return line_error(line_no, "bad sockfd", line);
        p.local_busid = std::string(fields[6]);
        ports.push_back(std::move(p));
    }
    if (!header_seen) return make_error("vhci_hcd status is empty");
    return ports;
}

std::optional<Hub> hub_for_speed(uint32_t usbip_speed) {
    switch (usbip_speed) {
    case speed::kLow:
    case speed::kFull:
    case speed::kHigh: return Hub::high_speed;
    case speed::kSuper:
    case speed::kSuperPlus: return Hub::super_speed;
    default: return std::nullopt;
    }
}

std::vector<uint32_t> free_ports_for_speed(const std::vector<PortStatus>& ports, uint32_t usbip_speed) {
    std::vector<uint32_t> out;
    auto hub = hub_for_speed(usbip_speed);
    if (!hub) return out;
    for (const auto& p : ports)
        if (p.hub == *hub && p.is_free()) out.push_back(p.port);
    std::sort(out.begin(), out.end());
    return out;
}

const PortStatus* find_port(const std::vector<PortStatus>& ports, uint32_t port) {
    for (const auto& p : ports)
        if (p.port == port) return &p;
    return nullptr;
}

const char* hub_name(Hub hub) { return hub == Hub::high_speed ? "high-speed" : "super-speed"; }

const char* speed_name(uint32_t usbip_speed) {
    switch (usbip_speed) {
    case speed::kLow: return "low";
    case speed::kFull: return "full";
    case speed::kHigh: return "high";
    case speed::kSuper: return "super";
    case speed::kSuperPlus: return "super-plus";
    default: return "unknown";
    }
}

}  // namespace usbhop::vhci
