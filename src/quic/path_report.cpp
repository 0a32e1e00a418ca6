#include "quic/path_report.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <memory>
#include <tuple>

#include "util/bytes.hpp"
#include "util/files.hpp"
#include "util/unique_fd.hpp"

namespace usbhop::quic {

namespace {

constexpr std::string_view kRoles[] = {"attach", "serve"};
constexpr Nanos kMicrosecond = 1000;

// Addresses as a person writes them: IPv4-mapped IPv6 shown as IPv4.
std::string address_text(const loop::SocketAddress& a) {
    return a.empty() ? std::string() : for_family(a, AF_INET).to_string();
}

// A value as the file holds it: no spaces or control characters, "-" for none.
std::string value_text(std::string_view v) {
    if (v.empty()) return "-";
    std::string out(v);
    for (char& c : out)
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) c = '_';
    return out;
}

std::string_view value_from(std::string_view v) { return v == "-" ? std::string_view{} : v; }

// "serve-4242" -> {"serve", 4242}
bool parse_file_name(std::string_view name, std::string& role, int& pid) {
    size_t dash = name.find('-');
    if (dash == std::string_view::npos) return false;
    std::string_view r = name.substr(0, dash), p = name.substr(dash + 1);
    if (std::find(std::begin(kRoles), std::end(kRoles), r) == std::end(kRoles) || p.empty()) return false;
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), pid);
    if (ec != std::errc() || end != p.data() + p.size() || pid <= 0) return false;
    role = std::string(r);
    return true;
}

// A whole decimal number that fits in 64 bits.
bool parse_count(std::string_view v, uint64_t& out) {
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    return ec == std::errc() && end == v.data() + v.size() && !v.empty();
}

std::string file_path(const std::string& dir, std::string_view role, int pid) {
    return dir + "/" + std::string(role) + "-" + std::to_string(pid);
}

}  // namespace

const char* path_kind_name(PathKind k) {
    switch (k) {
    case PathKind::none: return "none";
    case PathKind::direct: return "direct";
    case PathKind::relayed: return "relayed";
    }
    return "none";
}

PathReport describe(const identity::NodeId& peer, const PathInfo& path, const RelayPath* relay) {
    PathReport r;
    r.peer = peer.to_string();
    r.rtt = path.smoothed_rtt;
    r.cipher = path.cipher;
    r.bytes_sent = path.bytes_sent;
    r.bytes_received = path.bytes_received;
    r.packets_sent = path.packets_sent;
    r.packets_lost = path.packets_lost;
    if (!is_relayed(path)) {
        r.path = PathKind::direct;
        r.address = address_text(path.remote);
        return r;
    }
    r.path = PathKind::relayed;
    if (!relay) return r;
    r.via = address_text(relay->relay_address());
    for (const RelaySessionInfo& s : relay->sessions())
        if (s.peer == peer && !s.direct && !s.peer_public.empty()) r.address = address_text(s.peer_public);
    return r;
}

std::string format_reports(std::string_view role, int pid, const std::vector<PathReport>& reports) {
    std::string s = "# usbhop " + std::string(role) + " (pid " + std::to_string(pid) +
                    "): its connections, read by usbhop status\n";
    for (const PathReport& r : reports) {
        s += "peer=" + value_text(r.peer) + " state=" + value_text(r.state) + " path=" + path_kind_name(r.path) +
             " via=" + value_text(r.via) + " address=" + value_text(r.address) +
             " rtt_us=" + std::to_string(r.rtt / kMicrosecond) + " cipher=" + value_text(r.cipher) +
             " sent=" + std::to_string(r.bytes_sent) + " received=" + std::to_string(r.bytes_received) +
             " packets=" + std::to_string(r.packets_sent) + " lost=" + std::to_string(r.packets_lost);
        if (!r.devices.empty()) {
            std::string list;
            for (const std::string& d : r.devices) list += (list.empty() ? "" : ",") + value_text(d);
            s += " devices=" + list;
        }
        s += "\n";
    }
    return s;
}

Result<std::vector<PathReport>> parse_reports(std::string_view text) {
    std::vector<PathReport> out;
    size_t line_no = 0;
    while (!text.empty()) {
        std::string_view line = take_line(text);
        ++line_no;
        if (line.empty() || line[0] == '#') continue;
        auto bad = [&](std::string_view what) {
            return make_error("line " + std::to_string(line_no) + ": " + std::string(what) + ": '" +
                              std::string(line) + "'");
        };
        PathReport r;
        bool have_peer = false, have_path = false;
        while (!line.empty()) {
            size_t sp = line.find(' ');
            std::string_view field = line.substr(0, sp);
            line = sp == std::string_view::npos ? std::string_view{} : line.substr(sp + 1);
            if (field.empty()) continue;
            size_t eq = field.find('=');
            if (eq == std::string_view::npos) return bad("expected key=value");
            std::string_view key = field.substr(0, eq), value = field.substr(eq + 1);
            if (key == "peer") {
                r.peer = std::string(value_from(value));
                have_peer = !r.peer.empty();
            } else if (key == "state") {
                r.state = std::string(value_from(value));
            } else if (key == "path") {
                if (value == "none") r.path = PathKind::none;
                else if (value == "direct") r.path = PathKind::direct;
                else if (value == "relayed") r.path = PathKind::relayed;
                else return bad("path is none, direct or relayed");
                have_path = true;
            } else if (key == "via") {
                r.via = std::string(value_from(value));
            } else if (key == "address") {
                r.address = std::string(value_from(value));
            } else if (key == "cipher") {
                r.cipher = std::string(value_from(value));
            } else if (key == "rtt_us") {
                uint64_t us = 0;
                if (!parse_count(value, us) || us > UINT32_MAX * uint64_t{1000})
                    return bad("rtt_us is a number of microseconds");
                r.rtt = us * kMicrosecond;
            } else if (key == "sent" || key == "received" || key == "packets" || key == "lost") {
                uint64_t& n = key == "sent"       ? r.bytes_sent
                              : key == "received" ? r.bytes_received
                              : key == "packets"  ? r.packets_sent
                                                  : r.packets_lost;
                if (!parse_count(value, n)) return bad(std::string(key) + " is a count");
            } else if (key == "devices") {
                r.devices.clear();
                for (std::string_view rest = value_from(value); !rest.empty();) {
                    size_t comma = rest.find(',');
                    std::string_view one = rest.substr(0, comma);
                    if (one.empty()) return bad("devices is a comma-separated list of bus paths");
                    r.devices.emplace_back(one);
                    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
                    if (comma != std::string_view::npos && rest.empty())
                        return bad("devices is a comma-separated list of bus paths");
                }
            }
        }
        if (!have_peer || !have_path) return bad("a connection needs peer= and path=");
        out.push_back(std::move(r));
    }
    return out;
}

Result<void> save_reports(const std::string& dir, std::string_view role, int pid,
                          const std::vector<PathReport>& reports) {
    auto fail = [&](const std::string& what, int err) {
        return make_error("cannot " + what + " " + dir + ": " + std::strerror(err), -err);
    };
    if (::mkdir(dir.c_str(), 0755) == 0) (void)::chmod(dir.c_str(), 0755);  // whatever the umask
    else if (errno != EEXIST) return fail("create", errno);
    // 0640: readable by the directory's group (usbhop, which the set-group-ID
    // /run/usbhop gives every file in it), not by everyone: the files list
    // peers' node IDs and addresses. Written whole under a random temp name.
    return write_file_atomically(file_path(dir, role, pid), format_reports(role, pid, reports), kStatusFileMode);
}

void remove_reports(const std::string& dir, std::string_view role, int pid) {
    ::unlink(file_path(dir, role, pid).c_str());
}

std::vector<ReportFile> load_reports(const std::string& dir, const std::function<bool(int)>& alive) {
    std::vector<ReportFile> out;
    std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), ::closedir);
    if (!d) return out;
    while (dirent* e = ::readdir(d.get())) {
        ReportFile f;
        if (!parse_file_name(e->d_name, f.role, f.pid)) continue;
        if (!alive(f.pid)) {
            remove_reports(dir, f.role, f.pid);  // left by a process that crashed; we may not be allowed
            continue;
        }
        auto text = read_file(file_path(dir, f.role, f.pid), {.max_size = kMaxFileSize, .trusted_owner = false});
        if (!text) continue;
        auto reports = parse_reports(*text);
        if (!reports) continue;
        f.reports = std::move(*reports);
        out.push_back(std::move(f));
    }
    d.reset();
    std::sort(out.begin(), out.end(),
              [](const ReportFile& a, const ReportFile& b) { return std::tie(a.role, a.pid) < std::tie(b.role, b.pid); });
    return out;
}

}  // namespace usbhop::quic
