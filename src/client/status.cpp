// `usbhop status` and `usbhop detach`: what attach processes on this machine
// have attached, read from their state files under /run/usbhop (pruned of
// entries whose owner or port is gone), and detaching from another shell.
// Detaching a port makes the kernel close its socket; the owning attach
// process sees that, lets the device go at the server and prints the line.
#include <algorithm>
#include <cstdio>
#include <ctime>

#include "client/client.hpp"
#include "client/json.hpp"
#include "client/selection.hpp"
#include "util/log.hpp"
#include "vhci/vhci.hpp"

namespace usbhop::client {

std::string json_string(std::string_view s) {
    std::string o = "\"";
    for (char c : s) {
        switch (c) {
        case '"': o += "\\\""; break;
        case '\\': o += "\\\\"; break;
        case '\n': o += "\\n"; break;
        case '\t': o += "\\t"; break;
        default:
            if (static_cast<unsigned char>(c) < 0x20) {
                char b[8];
                std::snprintf(b, sizeof b, "\\u%04x", c);
                o += b;
            } else {
                o += c;
            }
        }
    }
    return o + "\"";
}

namespace {

std::string id_of(const vhci::AttachedDevice& d) {
    char b[16];
    std::snprintf(b, sizeof b, "%04x:%04x", d.vendor, d.product);
    return b;
}

std::string since(int64_t t) {
    char b[32];
    std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    localtime_r(&tt, &tm);
    std::strftime(b, sizeof b, "%Y-%m-%d %H:%M:%S", &tm);
    return b;
}

// The live entries, with stale ones pruned. Without vhci_hcd nothing is attached.
Result<std::vector<vhci::AttachedDevice>> live_entries(const Context& ctx) {
    vhci::Vhci vhci(ctx.sysfs);
    vhci::StateDir dir(ctx.rundir);
    auto ports = vhci.ports();
    std::vector<vhci::PortStatus> table;
    if (ports) table = std::move(*ports);
    else if (ports.error().code != vhci::errc::kNotLoaded) return ports.error();
    return dir.prune(table);
}

bool names(const vhci::AttachedDevice& d, const std::string& text) {
    if (text == std::to_string(d.port)) return true;
    auto sel = parse_selector(text);
    return sel && sel->matches(d.bus_path, d.vendor, d.product, "");
}

}  // namespace

int status(const Context& ctx, bool json) {
    auto entries = live_entries(ctx);
    if (!entries) {
        log::error("cannot read %s: %s", ctx.rundir.c_str(), entries.error().message.c_str());
        return 1;
    }
    if (json) {
        std::string o = "{\"devices\":[";
        for (size_t i = 0; i < entries->size(); ++i) {
            const auto& d = (*entries)[i];
            o += i ? ",\n  " : "\n  ";
            o += "{\"port\":" + std::to_string(d.port) + ",\"device\":" + json_string(id_of(d)) +
                 ",\"description\":" + json_string(d.description) + ",\"bus_path\":" + json_string(d.bus_path) +
                 ",\"peer\":" + json_string(d.peer) + ",\"speed\":" + json_string(vhci::speed_name(d.speed)) +
                 ",\"devid\":" + std::to_string(d.devid) + ",\"attached_at\":" + std::to_string(d.attached_at) +
                 ",\"pid\":" + std::to_string(d.pid) + "}";
        }
        o += entries->empty() ? "]}" : "\n]}";
        std::printf("%s\n", o.c_str());
        return 0;
    }
    if (entries->empty()) {
        std::printf("no devices attached (usbhop attach <peer> attaches some)\n");
        return 0;
    }
    std::printf("%-5s %-10s %-8s %-10s %-20s %-8s %s\n", "PORT", "DEVICE", "BUS", "PEER", "SINCE", "PID", "DESCRIPTION");
    for (const auto& d : *entries)
        std::printf("%-5u %-10s %-8s %-10s %-20s %-8d %s\n", d.port, id_of(d).c_str(), d.bus_path.c_str(),
                    d.peer.substr(0, 8).c_str(), since(d.attached_at).c_str(), d.pid, d.description.c_str());
    return 0;
}

int detach(const Context& ctx, const std::vector<std::string>& devices, bool all) {
    if (devices.empty() && !all) {
        log::error("name the devices to detach (vhci port, bus path or vendor:product; see usbhop status) or give --all");
        return 2;
    }
    auto entries = live_entries(ctx);
    if (!entries) {
        log::error("cannot read %s: %s", ctx.rundir.c_str(), entries.error().message.c_str());
        return 1;
    }
    std::vector<vhci::AttachedDevice> chosen;
    for (const auto& d : *entries)
        if (all || std::any_of(devices.begin(), devices.end(), [&](const std::string& t) { return names(d, t); }))
            chosen.push_back(d);
    for (const std::string& t : devices)
        if (std::none_of(entries->begin(), entries->end(), [&](const auto& d) { return names(d, t); })) {
            log::error("no attached device matches '%s' (usbhop status lists them)", t.c_str());
            return 1;
        }
    vhci::Vhci vhci(ctx.sysfs);
    vhci::StateDir dir(ctx.rundir);
    int rc = 0;
    for (const auto& d : chosen) {
        if (auto r = vhci::detach_entry(vhci, dir, d, std::chrono::milliseconds(5000)); !r) {
            log::error("cannot detach %s on vhci port %u: %s", id_of(d).c_str(), d.port, r.error().message.c_str());
            rc = 1;
            continue;
        }
        std::printf("detached %s %s (%s) from vhci port %u\n", id_of(d).c_str(), d.description.c_str(), d.bus_path.c_str(), d.port);
    }
    if (chosen.empty() && all) std::printf("no devices attached\n");
    return rc;
}

}  // namespace usbhop::client
