#include "vhci/state.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>

#include "util/bytes.hpp"
#include "util/files.hpp"
#include "util/log.hpp"
#include "util/printable.hpp"

namespace usbhop::vhci {

namespace {

constexpr std::string_view kFilePrefix = "port-";

std::string one_line(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
    return out;
}

template <typename T>
bool parse_number(std::string_view s, T& out, int base = 10) {
    if (s.empty()) return false;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out, base);
    return ec == std::errc() && end == s.data() + s.size();
}

// "port-12" -> 12; anything else (temp files, strays) -> nullopt.
std::optional<uint32_t> port_of_file(std::string_view name) {
    if (name.substr(0, kFilePrefix.size()) != kFilePrefix) return std::nullopt;
    uint32_t port = 0;
    if (!parse_number(name.substr(kFilePrefix.size()), port)) return std::nullopt;
    return port;
}

}  // namespace

std::string format_state(const AttachedDevice& d) {
    std::string s = "# usbhop: a device attached through vhci_hcd (read by usbhop status and detach)\n";
    s += "port=" + std::to_string(d.port) + "\n";
    s += "devid=" + std::to_string(d.devid) + "\n";
    s += "speed=" + std::to_string(d.speed) + "\n";
    s += "peer=" + one_line(d.peer) + "\n";
    s += "bus_path=" + one_line(d.bus_path) + "\n";
    s += "device=" + util::hex4(d.vendor) + ":" + util::hex4(d.product) + "\n";
    s += "description=" + one_line(d.description) + "\n";
    s += "attached_at=" + std::to_string(d.attached_at) + "\n";
    s += "pid=" + std::to_string(d.pid) + "\n";
    const AttachedDevice::Traffic& t = d.traffic;
    s += "in_flight=" + std::to_string(t.in_flight) + "\nurbs=" + std::to_string(t.urbs) +
         "\nbytes_in=" + std::to_string(t.bytes_in) + "\nbytes_out=" + std::to_string(t.bytes_out) +
         "\nrate_in=" + std::to_string(t.rate_in) + "\nrate_out=" + std::to_string(t.rate_out) +
         "\nerrors=" + std::to_string(t.errors) + "\nunlinks=" + std::to_string(t.unlinks) + "\n";
    return s;
}

Result<AttachedDevice> parse_state(std::string_view text) {
    AttachedDevice d;
    // Keys every entry needs, in the order format_state writes them.
    static constexpr std::string_view kRequired[] = {"port",     "devid",  "speed",       "peer",
                                                     "bus_path", "device", "attached_at", "pid"};
    std::vector<std::string> seen;
    size_t line_no = 0;
    while (!text.empty()) {
        std::string_view line = take_line(text);
        ++line_no;
        if (line.empty() || line[0] == '#') continue;
        auto bad = [&](std::string_view what) {
            return make_error("line " + std::to_string(line_no) + ": " + std::string(what) + ": '" + std::string(line) +
                              "'");
        };
        size_t eq = line.find('=');
        if (eq == std::string_view::npos) return bad("expected key=value");
        std::string key(line.substr(0, eq));
        std::string_view value = line.substr(eq + 1);
        if (std::find(seen.begin(), seen.end(), key) != seen.end()) return bad("duplicate key");
        seen.push_back(key);

        bool ok = true;
        if (key == "port") {
            ok = parse_number(value, d.port);
        } else if (key == "devid") {
            ok = parse_number(value, d.devid);
        } else if (key == "speed") {
            ok = parse_number(value, d.speed);
        } else if (key == "peer") {
            // Free text reads as format_state() writes it, without control
            // characters, whatever an edited or corrupted file holds.
            d.peer = one_line(value);
        } else if (key == "bus_path") {
            d.bus_path = one_line(value);
        } else if (key == "device") {
            ok = value.size() == 9 && value[4] == ':' && parse_number(value.substr(0, 4), d.vendor, 16) &&
                 parse_number(value.substr(5), d.product, 16);
        } else if (key == "description") {
            d.description = one_line(value);
        } else if (key == "attached_at") {
            ok = parse_number(value, d.attached_at);
        } else if (key == "pid") {
            ok = parse_number(value, d.pid) && d.pid > 0;
        } else if (key == "in_flight") {
            ok = parse_number(value, d.traffic.in_flight);
        } else if (key == "urbs") {
            ok = parse_number(value, d.traffic.urbs);
        } else if (key == "bytes_in") {
            ok = parse_number(value, d.traffic.bytes_in);
        } else if (key == "bytes_out") {
            ok = parse_number(value, d.traffic.bytes_out);
        } else if (key == "rate_in") {
            ok = parse_number(value, d.traffic.rate_in);
        } else if (key == "rate_out") {
            ok = parse_number(value, d.traffic.rate_out);
        } else if (key == "errors") {
            ok = parse_number(value, d.traffic.errors);
        } else if (key == "unlinks") {
            ok = parse_number(value, d.traffic.unlinks);
        }
        if (!ok) return bad("bad value for '" + key + "'");
    }
    for (auto key : kRequired)
        if (std::find(seen.begin(), seen.end(), key) == seen.end())
            return make_error("missing key '" + std::string(key) + "'");
    return d;
}

const char* staleness_reason(Staleness s) {
    switch (s) {
    case Staleness::live: return "live";
    case Staleness::owner_gone: return "its usbhop attach process is gone";
    case Staleness::port_missing: return "vhci_hcd has no such port (module unloaded or reloaded)";
    case Staleness::port_free: return "the port is free (device detached)";
    case Staleness::port_reused: return "the port holds another device now";
    }
    return "unknown";
}

Staleness check_staleness(const AttachedDevice& device, bool owner_alive, const std::vector<PortStatus>& ports) {
    if (!owner_alive) return Staleness::owner_gone;
    const PortStatus* p = find_port(ports, device.port);
    if (!p) return Staleness::port_missing;
    if (p->is_free()) return Staleness::port_free;
    if (p->devid != device.devid) return Staleness::port_reused;
    return Staleness::live;
}

bool process_alive(int pid) {
    if (pid <= 0) return false;
    return ::kill(pid, 0) == 0 || errno == EPERM;
}

StateDir::StateDir(std::string root) : root_(std::move(root)) {}

std::string StateDir::path_for(uint32_t port) const {
    return root_ + "/" + std::string(kFilePrefix) + std::to_string(port);
}

Result<void> StateDir::save(const AttachedDevice& device) const {
    std::error_code ec;
    std::filesystem::create_directories(root_, ec);
    if (ec) return make_error("cannot create " + root_ + ": " + ec.message(), -ec.value());

    // Root writes here, in a directory the usbhop user owns: a random
    // O_EXCL temp name, so nothing planted in advance is followed or reused.
    return write_file_atomically(path_for(device.port), format_state(device), kStatusFileMode);
}

Result<void> StateDir::remove(uint32_t port) const {
    const std::string path = path_for(port);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
        int err = errno;
        return make_error("cannot remove " + path + ": " + std::strerror(err), -err);
    }
    return {};
}

Result<std::vector<AttachedDevice>> StateDir::scan(bool remove_malformed) const {
    std::vector<AttachedDevice> out;
    DIR* d = ::opendir(root_.c_str());
    if (!d) {
        int err = errno;
        if (err == ENOENT) return out;
        return make_error("cannot list " + root_ + ": " + std::strerror(err), -err);
    }
    std::vector<std::pair<uint32_t, std::string>> files;
    while (dirent* e = ::readdir(d)) {
        if (auto port = port_of_file(e->d_name)) files.emplace_back(*port, e->d_name);
    }
    ::closedir(d);
    std::sort(files.begin(), files.end());

    for (const auto& [port, name] : files) {
        const std::string path = root_ + "/" + name;
        auto text = read_file(path, {.max_size = 64 * 1024, .trusted_owner = false});
        if (!text) {
            // Removed between readdir and open: another prune got there first.
            if (text.error().code != -ENOENT) log::warning("%s", text.error().message.c_str());
            continue;
        }
        auto parsed = parse_state(*text);
        if (parsed && parsed->port != port) parsed = make_error("names port " + std::to_string(parsed->port));
        if (!parsed) {
            log::warning("%s: %s%s", path.c_str(), parsed.error().message.c_str(),
                         remove_malformed ? " (removed)" : " (skipped)");
            if (remove_malformed) ::unlink(path.c_str());
            continue;
        }
        out.push_back(std::move(*parsed));
    }
    return out;
}

Result<std::vector<AttachedDevice>> StateDir::list() const { return scan(false); }

Result<std::vector<AttachedDevice>> StateDir::prune(const std::vector<PortStatus>& ports,
                                                    const std::function<bool(int)>& alive) const {
    auto entries = scan(true);
    if (!entries) return entries.error();
    std::vector<AttachedDevice> live;
    for (auto& d : *entries) {
        Staleness s = check_staleness(d, alive(d.pid), ports);
        if (s == Staleness::live) {
            live.push_back(std::move(d));
            continue;
        }
        log::write(log::Level::info, log::Fields().peer(d.peer).device(d.vendor, d.product, d.bus_path),
                   "removing stale entry for vhci port %u (%04x:%04x from %s): %s", d.port, d.vendor, d.product,
                   d.peer.c_str(), staleness_reason(s));
        if (auto r = remove(d.port); !r) return r.error();
    }
    return live;
}

Result<void> detach_entry(const Vhci& vhci, const StateDir& dir, const AttachedDevice& entry,
                          std::chrono::milliseconds timeout) {
    auto ports = vhci.ports();
    // Without vhci_hcd nothing is attached any more; only the entry is left.
    if (ports && check_staleness(entry, true, *ports) == Staleness::live) {
        auto detached = vhci.detach(entry.port);
        // EINVAL: the port went free between reading the table and now.
        if (!detached && detached.error().code != -EINVAL) return detached.error();
        if (auto r = vhci.wait_until_free(entry.port, timeout); !r) return r.error();
    } else if (!ports && ports.error().code != errc::kNotLoaded) {
        return ports.error();
    }
    return dir.remove(entry.port);
}

}  // namespace usbhop::vhci
