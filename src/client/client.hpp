// client/: `usbhop attach` and the commands around it (docs/architecture.md#layers).
//
//   attach   connects to a server, attaches the devices it shares with us
//            (or those named) through vhci_hcd, and keeps them attached
//            across network trouble (Attacher, attach.cpp) until Ctrl-C or
//            SIGTERM, which detach everything cleanly.
//   list     a server's shared devices (list.cpp), once or --watch.
//   detach   and status act on what attach left under /run/usbhop
//            (status.cpp), from any shell.
//
// Each returns the process exit status (0 ok, 1 failed) and prints what a
// person needs: one line per device attached or detached on stdout, errors
// as one line each on stderr saying what to do.
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"
#include "util/time.hpp"

namespace usbhop::client {

struct Context {
    config::Config config;
    std::string home;     // $HOME, for "~/" in [client] identity
    std::string rundir;   // where attach keeps its state files (/run/usbhop)
    std::string sysfs = "/sys";
};

int attach(const Context& ctx, const std::string& peer, const std::vector<std::string>& devices);
int list_remote(const Context& ctx, const std::string& peer, bool watch, bool json);
int detach(const Context& ctx, const std::vector<std::string>& devices, bool all);
// watch_interval 0: print once; else redraw every interval until Ctrl-C.
int status(const Context& ctx, bool json, Nanos watch_interval = 0);

}  // namespace usbhop::client
