// server/local_list: `usbhop list` without a peer — this machine's USB
// devices, each with its bus path, ids, names, speed, and which [share] rule
// exports it to whom (server::exports decides, exactly as serve does).
// A device a running serve has handed to a peer says "in use by" that peer.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "config/authorized_keys.hpp"
#include "config/config.hpp"
#include "quic/path_report.hpp"

namespace usbhop::server {

struct Holder {
    std::string peer;   // node ID, in full
    std::string name;   // its authorized_keys comment; empty when it has none
};

// Pure: which peer holds which bus path, from serve's report files (the
// devices= key, docs/serve.md "Status"), named by authorized_keys.
std::map<std::string, Holder> holders_from(const std::vector<quic::ReportFile>& files,
                                           const config::AuthorizedKeys& keys);

// Prints a table (or, with json, one JSON array) on stdout; returns the exit
// status: 0, or 1 when libusb cannot start (the reason goes to stderr).
int print_local_devices(const config::Config& config, const std::map<std::string, Holder>& holders, bool json);

}  // namespace usbhop::server
