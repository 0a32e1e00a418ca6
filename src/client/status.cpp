// `usbhop status` and `usbhop detach`: what attach processes on this machine
// have attached, read from their state files under /run/usbhop (pruned of
// entries whose owner or port is gone), and detaching from another shell.
// status also shows the connections that running attach and serve processes
// report there (quic/path_report.hpp): direct or relayed, and the RTT.
// Detaching a port makes the kernel close its socket; the owning attach
// process sees that, lets the device go at the server and prints the line.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "client/client.hpp"
#include "client/selection.hpp"
#include "client/status.hpp"
#include "quic/path_report.hpp"
#include "util/json.hpp"
#include "util/log.hpp"
#include "vhci/vhci.hpp"

namespace usbhop::client {

namespace {

std::string id_of(const vhci::AttachedDevice& d) {
    char b[16];
    std::snprintf(b, sizeof b, "%04x:%04x", d.vendor, d.product);
    return b;
}

std::string since(int64_t t) { return format_local_time(t); }

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

// Lost packets as a share of those sent: "0.12%", "-" before any was sent.
std::string loss_text(const quic::PathReport& r) {
    if (r.packets_sent == 0) return "-";
    char b[32];
    std::snprintf(b, sizeof b, "%.2f%%", 100.0 * static_cast<double>(r.packets_lost) / static_cast<double>(r.packets_sent));
    return b;
}

std::string path_text(const quic::PathReport& r) {
    if (r.path == quic::PathKind::relayed) return r.via.empty() ? "relayed" : "relayed via " + r.via;
    return quic::path_kind_name(r.path);
}

util::Json string_or_null(const std::string& s) { return s.empty() ? util::Json() : util::Json(s); }

bool names(const vhci::AttachedDevice& d, const std::string& text) {
    if (text == std::to_string(d.port)) return true;
    auto sel = parse_selector(text);
    return sel && sel->matches(d.bus_path, d.vendor, d.product, "");
}

}  // namespace

static util::Json connection_object(std::string_view role, int pid, const quic::PathReport& r) {
    util::Json rtt;  // null when not connected
    if (r.path != quic::PathKind::none) rtt = std::round(static_cast<double>(r.rtt) / (kMillisecond / 1000)) / 1000.0;  // ms, three decimals
    return {{"role", role},
            {"pid", pid},
            {"peer", r.peer},
            {"state", r.state},
            {"path", quic::path_kind_name(r.path)},
            {"via", string_or_null(r.via)},
            {"address", string_or_null(r.address)},
            {"rtt_ms", rtt},
            {"cipher", string_or_null(r.cipher)},
            {"bytes_sent", r.bytes_sent},
            {"bytes_received", r.bytes_received},
            {"packets_sent", r.packets_sent},
            {"packets_lost", r.packets_lost}};
}

std::string connection_json(std::string_view role, int pid, const quic::PathReport& r) {
    return util::json_text(connection_object(role, pid, r));
}

std::string connection_header() {
    char b[256];
    std::snprintf(b, sizeof b, "%-7s %-9s %-10s %-30s %-24s %-9s %-6s %-6s %-6s %s", "ROLE", "PEER", "STATE", "PATH",
                  "ADDRESS", "RTT", "SENT", "RECV", "LOSS", "CIPHER");
    return b;
}

std::string connection_line(std::string_view role, const quic::PathReport& r) {
    char b[384];
    std::snprintf(b, sizeof b, "%-7s %-9s %-10s %-30s %-24s %-9s %-6s %-6s %-6s %s", std::string(role).c_str(),
                  r.peer.substr(0, 8).c_str(), r.state.c_str(), path_text(r).c_str(),
                  r.address.empty() ? "-" : r.address.c_str(), rtt_text(r).c_str(), rate_text(r.bytes_sent).c_str(),
                  rate_text(r.bytes_received).c_str(), loss_text(r).c_str(), r.cipher.empty() ? "-" : r.cipher.c_str());
    return b;
}

std::string rate_text(uint64_t bytes_per_second) {
    static const char* const kUnits[] = {"", "k", "M", "G"};
    double v = static_cast<double>(bytes_per_second);
    size_t unit = 0;
    while (v >= 1000 && unit + 1 < std::size(kUnits)) {
        v /= 1000;
        ++unit;
    }
    char b[32];
    if (unit == 0) std::snprintf(b, sizeof b, "%llu", static_cast<unsigned long long>(bytes_per_second));
    else std::snprintf(b, sizeof b, v < 10 ? "%.1f%s" : "%.0f%s", v, kUnits[unit]);
    return b;
}

std::string device_header() {
    char b[256];
    std::snprintf(b, sizeof b, "%-5s %-10s %-8s %-10s %-20s %-8s %-5s %-6s %-6s %-5s %s", "PORT", "DEVICE", "BUS", "PEER",
                  "SINCE", "PID", "URBS", "IN/s", "OUT/s", "ERR", "DESCRIPTION");
    return b;
}

std::string device_line(const vhci::AttachedDevice& d, const std::string& since_text) {
    char b[512];
    const auto& t = d.traffic;
    std::snprintf(b, sizeof b, "%-5u %-10s %-8s %-10s %-20s %-8d %-5llu %-6s %-6s %-5llu %s", d.port, id_of(d).c_str(),
                  d.bus_path.c_str(), d.peer.substr(0, 8).c_str(), since_text.c_str(), d.pid,
                  static_cast<unsigned long long>(t.in_flight), rate_text(t.rate_in).c_str(),
                  rate_text(t.rate_out).c_str(), static_cast<unsigned long long>(t.errors), d.description.c_str());
    return b;
}

namespace {

int print_status(const Context& ctx, bool json) {
    auto entries = live_entries(ctx);
    if (!entries) {
        log::error("cannot read %s: %s", ctx.rundir.c_str(), entries.error().message.c_str());
        return 1;
    }
    auto files = quic::load_reports(ctx.rundir, vhci::process_alive);
    if (json) {
        // docs/json.md, "usbhop status".
        util::Json devices = util::Json::array(), connections = util::Json::array();
        for (const auto& d : *entries) {
            util::Json o{{"port", d.port}};
            o.update(util::device_json({d.bus_path, d.vendor, d.product, vhci::speed_name(d.speed)}));
            o["description"] = d.description;
            o["peer"] = d.peer;
            o["devid"] = d.devid;
            o["attached_at"] = d.attached_at;
            o["pid"] = d.pid;
            const auto& t = d.traffic;
            o["urbs_in_flight"] = t.in_flight;
            o["urbs"] = t.urbs;
            o["bytes_in"] = t.bytes_in;
            o["bytes_out"] = t.bytes_out;
            o["rate_in"] = t.rate_in;
            o["rate_out"] = t.rate_out;
            o["errors"] = t.errors;
            o["unlinks"] = t.unlinks;
            devices.push_back(std::move(o));
        }
        for (const auto& f : files)
            for (const auto& r : f.reports) connections.push_back(connection_object(f.role, f.pid, r));
        std::printf("{\"devices\":%s,\n\"connections\":%s}\n", util::json_lines(devices).c_str(),
                    util::json_lines(connections).c_str());
        return 0;
    }
    if (entries->empty()) {
        std::printf("no devices attached (usbhop attach <peer> attaches some)\n");
    } else {
        std::printf("%s\n", device_header().c_str());
        for (const auto& d : *entries) std::printf("%s\n", device_line(d, since(d.attached_at)).c_str());
    }
    bool header = false;
    for (const auto& f : files)
        for (const auto& r : f.reports) {
            if (!header) {
                std::printf("\n%s\n", connection_header().c_str());
                header = true;
            }
            std::printf("%s\n", connection_line(f.role, r).c_str());
        }
    return 0;
}

}  // namespace

int status(const Context& ctx, bool json, Nanos watch_interval) {
    if (watch_interval == 0) return print_status(ctx, json);
    // Like watch(1): the screen redrawn in place until Ctrl-C (which ends
    // the process as it would end watch).
    for (;;) {
        std::printf("\033[H\033[2J");
        std::printf("every %.1f s: usbhop status  (Ctrl-C to end)\n\n", static_cast<double>(watch_interval) / kSecond);
        if (int rc = print_status(ctx, false); rc != 0) return rc;
        std::fflush(stdout);
        timespec ts{static_cast<time_t>(watch_interval / kSecond), static_cast<long>(watch_interval % kSecond)};
        while (::nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        }
    }
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
