// server/local_list: `usbhop list` without a peer — this machine's USB
// devices, each with its bus path, ids, names, speed, and which [share] rule
// exports it to whom (server::exports decides, exactly as serve does).
#pragma once

#include "config/config.hpp"

namespace usbhop::server {

// Prints a table (or, with json, one JSON array) on stdout; returns the exit
// status: 0, or 1 when libusb cannot start (the reason goes to stderr).
int print_local_devices(const config::Config& config, bool json);

}  // namespace usbhop::server
