// quic/path_report: what `usbhop status` says about a connection — direct or
// relayed (and through which relay), the peer's address, the smoothed RTT —
// and the small file in which a running `usbhop attach` or `usbhop serve`
// keeps that up to date under /run/usbhop, for `usbhop status` in another
// shell. One codec for both writers and the reader (docs/serve.md "Status").
//
// The file, <dir>/<role>-<pid> (role attach or serve), rewritten atomically
// every second while the process runs, removed when it stops:
//
//   # usbhop serve (pid 4242): its connections, read by usbhop status
//   peer=<node-id> state=ready path=direct via=- address=198.51.100.7:41234 rtt_us=1840 cipher=aes-128-gcm sent=1048576 received=20480 packets=760 lost=2
//   peer=<node-id> state=ready path=relayed via=203.0.113.5:7576 address=192.0.2.77:5000 rtt_us=48210 ...
//
// Values never hold spaces; "-" stands for none. Unknown keys are ignored so
// that newer writers stay readable.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "identity/identity.hpp"
#include "quic/endpoint.hpp"
#include "quic/relay_path.hpp"
#include "util/result.hpp"
#include "util/time.hpp"

namespace usbhop::quic {

enum class PathKind { none, direct, relayed };
const char* path_kind_name(PathKind k);  // "none", "direct", "relayed"

struct PathReport {
    std::string peer;              // node ID, in full
    std::string state = "ready";   // attach: its session's state (connecting, backoff, ...)
    PathKind path = PathKind::none;  // none: not connected now
    std::string via;               // relayed: the relay's address; else empty
    // direct: where our packets go; relayed: the peer's public address as the
    // relay saw it (empty until the relay has said).
    std::string address;
    Nanos rtt = 0;                 // smoothed RTT (RFC 9002 §5.3); 0 when not connected
    std::string cipher;            // the connection's AEAD (cipher.hpp); empty when not connected
    // Since the connection began (PathInfo): UDP payload bytes each way,
    // QUIC packets sent, and of those the ones with stream data declared lost.
    uint64_t bytes_sent = 0;
    uint64_t bytes_received = 0;
    uint64_t packets_sent = 0;
    uint64_t packets_lost = 0;
    // serve: the bus paths of the devices this peer has attached here, for
    // `usbhop list`'s "in use by" (attach writes none).
    std::vector<std::string> devices;

    bool operator==(const PathReport&) const = default;
};

// A live connection's report. relay: the process's RelayPath, if it has one
// (for the relay's address and the peer's public address).
PathReport describe(const identity::NodeId& peer, const PathInfo& path, const RelayPath* relay);

// Pure: the file's text and back.
std::string format_reports(std::string_view role, int pid, const std::vector<PathReport>& reports);
Result<std::vector<PathReport>> parse_reports(std::string_view text);

// What one running process reported.
struct ReportFile {
    std::string role;   // "attach" or "serve"
    int pid = 0;
    std::vector<PathReport> reports;
};

// Writes <dir>/<role>-<pid> atomically, mode kStatusFileMode (0640), creating
// dir (0755).
Result<void> save_reports(const std::string& dir, std::string_view role, int pid,
                          const std::vector<PathReport>& reports);
void remove_reports(const std::string& dir, std::string_view role, int pid);
// Every report file in dir, by role then pid. Files of processes that are
// gone (alive(pid) false) are removed where we may and skipped; unreadable or
// malformed files are skipped. A missing dir is empty.
std::vector<ReportFile> load_reports(const std::string& dir, const std::function<bool(int)>& alive);

}  // namespace usbhop::quic
