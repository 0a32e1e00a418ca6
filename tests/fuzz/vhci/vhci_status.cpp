// Fuzzes the vhci_hcd port table parser (vhci::parse_status): the status
// file is the kernel's, but a changed kernel or a wrong path must give an
// error, never a wrong table.
//
// Input: the status text. Checks: an error names a line the text has; a
// table's ports have a known state, no device on the wrong hub for its speed,
// and one word of local bus ID; the table printed the kernel's way parses
// back equal; free_ports_for_speed() offers only free ports of the right hub.
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "../fuzz_check.hpp"
#include "vhci/status.hpp"

using namespace usbhop;
using namespace usbhop::vhci;

namespace {

size_t count_lines(std::string_view text) {
    size_t n = 0;
    for (char c : text) n += c == '\n';
    return n + (!text.empty() && text.back() != '\n');
}

// "vhci_hcd status line N: ..." -> N, or 0 for any other message.
size_t line_of(const std::string& message) {
    constexpr std::string_view kPrefix = "vhci_hcd status line ";
    if (message.rfind(kPrefix, 0) != 0) return 0;
    return std::stoul(message.substr(kPrefix.size()));
}

// port_show_vhci() in drivers/usb/usbip/vhci_sysfs.c, with the socket column as 0.
std::string print_like_kernel(const std::vector<PortStatus>& ports) {
    std::string s = "hub port sta spd dev      sockfd local_busid\n";
    for (const PortStatus& p : ports) {
        char buf[96];
        std::snprintf(buf, sizeof buf, "%s  %04u %03u %03u %08x %06u ", p.hub == Hub::high_speed ? "hs" : "ss", p.port,
                      static_cast<unsigned>(p.state), p.speed, p.devid, 0u);
        s += buf + p.local_busid + "\n";
    }
    return s;
}

bool same(const PortStatus& a, const PortStatus& b) {
    return a.hub == b.hub && a.port == b.port && a.state == b.state && a.speed == b.speed && a.devid == b.devid &&
           a.local_busid == b.local_busid;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto ports = parse_status(text);
    if (!ports) {
        const std::string& m = ports.error().message;
        FUZZ_CHECK(m.rfind("vhci_hcd status", 0) == 0);
        if (m != "vhci_hcd status is empty") {
            size_t line = line_of(m);
            FUZZ_CHECK(line >= 1 && line <= count_lines(text));
        }
        return 0;
    }
    FUZZ_CHECK(ports->size() < count_lines(text));  // the header is a line too
    for (const PortStatus& p : *ports) {
        auto s = static_cast<unsigned>(p.state);
        FUZZ_CHECK(s >= static_cast<unsigned>(PortState::free) && s <= static_cast<unsigned>(PortState::error));
        // status.hpp: low/full/high devices sit on the high-speed hub, super/super-plus on the super-speed hub.
        auto hub = hub_for_speed(p.speed);
        FUZZ_CHECK(!hub || *hub == p.hub);
        FUZZ_CHECK(!p.local_busid.empty());
        FUZZ_CHECK(p.local_busid.find_first_of(" \t\n") == std::string::npos);
    }

    auto again = parse_status(print_like_kernel(*ports));
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(again->size() == ports->size());
    for (size_t i = 0; i < ports->size(); ++i) FUZZ_CHECK(same((*again)[i], (*ports)[i]));

    for (uint32_t speed : {speed::kLow, speed::kFull, speed::kHigh, 4u, speed::kSuper, speed::kSuperPlus}) {
        std::vector<uint32_t> free = free_ports_for_speed(*ports, speed);
        auto hub = hub_for_speed(speed);
        FUZZ_CHECK(hub || free.empty());
        for (size_t i = 0; i < free.size(); ++i) {
            FUZZ_CHECK(i == 0 || free[i - 1] <= free[i]);
            bool found = false;
            for (const PortStatus& p : *ports) found |= p.port == free[i] && p.is_free() && p.hub == *hub;
            FUZZ_CHECK(found);
            FUZZ_CHECK(find_port(*ports, free[i]) != nullptr);
        }
    }
    return 0;
}
