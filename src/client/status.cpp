// `usbhop status` and `usbhop detach`: what attach processes on this machine
// have attached, read from their state files under /run/usbhop (pruned of
// entries whose owner or port is gone), and detaching from another shell.
// status also shows the connections that running attach and serve processes
// report there (quic/path_report.hpp): direct or relayed, and the RTT.
// Detaching a port makes the kernel close its socket; the owning attach
// process sees that, lets the device go at the server and prints the line.
#include <algorithm>
#include <cstdio>
#include <ctime>

#include "client/client.hpp"
#include "client/json.hpp"
#include "client/selection.hpp"
#include "client/status.hpp"
#include "quic/path_report.hpp"
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

std::string rtt_text(const quic::PathReport& r) {
    if (r.path == quic::PathKind::none) return "-";
    char b[32];
    std::snprintf(b, sizeof b, "%.1f ms", static_cast<double>(r.rtt) / kMillisecond);
    return b;
}

std::string path_text(const quic::PathReport& r) {
    if (r.path == quic::PathKind::relayed) return r.via.empty() ? "relayed" : "relayed via " + r.via;
    return quic::path_kind_name(r.path);
}

std::string json_or_null(const std::string& s) { return s.empty() ? "null" : json_string(s); }

bool names(const vhci::AttachedDevice& d, const std::string& text) {
    if (text == std::to_string(d.port)) return true;
    auto sel = parse_selector(text);
    return sel && sel->matches(d.bus_path, d.vendor, d.product, "");
}

}  // namespace

std::string connection_json(std::string_view role, int pid, const quic::PathReport& r) {
    std::string rtt = "null";
    if (r.path != quic::PathKind::none) {
        char b[32];
        std::snprintf(b, sizeof b, "%.3f", static_cast<double>(r.rtt) / kMillisecond);
        rtt = b;
    }
    return "{\"role\":" + json_string(role) + ",\"pid\":" + std::to_string(pid) + ",\"peer\":" + json_string(r.peer) +
           ",\"state\":" + json_string(r.state) + ",\"path\":" + json_string(quic::path_kind_name(r.path)) +
           ",\"via\":" + json_or_null(r.via) + ",\"address\":" + json_or_null(r.address) + ",\"rtt_ms\":" + rtt +
           ",\"cipher\":" + json_or_null(r.cipher) + "}";
}

std::string connection_line(std::string_view role, const quic::PathReport& r) {
    char b[256];
    std::snprintf(b, sizeof b, "%-7s %-9s %-10s %-30s %-24s %-9s %s", std::string(role).c_str(),
                  r.peer.substr(0, 8).c_str(), r.state.c_str(), path_text(r).c_str(),
                  r.address.empty() ? "-" : r.address.c_str(), rtt_text(r).c_str(),
                  r.cipher.empty() ? "-" : r.cipher.c_str());
    return b;
}

int status(const Context& ctx, bool json) {
    auto entries = live_entries(ctx);
    if (!entries) {
        log::error("cannot read %s: %s", ctx.rundir.c_str(), entries.error().message.c_str());
        return 1;
    }
    auto files = quic::load_reports(ctx.rundir, vhci::process_alive);
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
        o += entries->empty() ? "],\"connections\":[" : "\n],\"connections\":[";
        bool first = true;
        for (const auto& f : files)
            for (const auto& r : f.reports) {
                o += first ? "\n  " : ",\n  ";
                o += connection_json(f.role, f.pid, r);
                first = false;
            }
        o += first ? "]}" : "\n]}";
        std::printf("%s\n", o.c_str());
        return 0;
    }
    if (entries->empty()) {
        std::printf("no devices attached (usbhop attach <peer> attaches some)\n");
    } else {
        std::printf("%-5s %-10s %-8s %-10s %-20s %-8s %s\n", "PORT", "DEVICE", "BUS", "PEER", "SINCE", "PID",
                    "DESCRIPTION");
        for (const auto& d : *entries)
            std::printf("%-5u %-10s %-8s %-10s %-20s %-8d %s\n", d.port, id_of(d).c_str(), d.bus_path.c_str(),
                        d.peer.substr(0, 8).c_str(), since(d.attached_at).c_str(), d.pid, d.description.c_str());
    }
    bool header = false;
    for (const auto& f : files)
        for (const auto& r : f.reports) {
            if (!header) {
                std::printf("\n%-7s %-9s %-10s %-30s %-24s %-9s %s\n", "ROLE", "PEER", "STATE", "PATH", "ADDRESS",
                            "RTT", "CIPHER");
                header = true;
            }
            std::printf("%s\n", connection_line(f.role, r).c_str());
        }
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
