// server/: `usbhop serve` — this machine's USB devices, exported over QUIC.
//
// server::run is the whole mode: it loads the identity and authorized_keys,
// binds the QUIC endpoint (only peers in authorized_keys complete a
// handshake), starts usb::Host (libusb thread + worker, woken through a
// loop::Async), tells systemd READY=1 once both are up, and then routes:
// connections → PeerLink (protocol), peers → Session (survives reconnects for
// [server] grace), claimed devices → Attachment (URBs, exactly-once),
// rules × devices × peer → exports.hpp. SIGHUP reloads the config and
// authorized_keys; SIGTERM/SIGINT detach everything and give devices back.
//
// Without USB (libusb cannot start, e.g. no /sys/bus/usb on a build machine)
// serve still runs, with no devices, and logs one warning: so that the
// network side can be tested anywhere.
#pragma once

#include <string>

#include "config/config.hpp"

namespace usbhop::server {

struct RunOptions {
    std::string config_path;  // for reloads: the file `config` came from
    std::string home;         // $HOME, for "~/" in paths
    // Where serve keeps serve-<pid>, its connections (direct or relayed, RTT)
    // for usbhop status (quic/path_report.hpp); empty: nowhere.
    std::string rundir;
};

// Runs until SIGTERM or SIGINT; returns the process exit status.
int run(const config::Config& config, const RunOptions& options);

}  // namespace usbhop::server
