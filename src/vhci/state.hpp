// What `usbhop attach` leaves under /run/usbhop so that `usbhop status` and
// `usbhop detach` in another shell can see and act on its devices: one small
// key=value file per attached vhci port, written atomically (temp + rename).
// Entries whose owner died or whose port no longer holds that device are
// stale, and pruned.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "usbhop_config.h"
#include "util/result.hpp"
#include "vhci/controller.hpp"
#include "vhci/status.hpp"

namespace usbhop::vhci {

struct AttachedDevice {
    uint32_t port = 0;     // vhci port number
    uint32_t devid = 0;    // as given to attach, (busnum << 16) | devnum on the server
    uint32_t speed = 0;    // USB/IP speed
    std::string peer;      // node ID of the server
    std::string bus_path;  // the device's bus path on the server, "1-1.2"
    uint16_t vendor = 0;
    uint16_t product = 0;
    std::string description;  // manufacturer and product strings, for people
    int64_t attached_at = 0;  // Unix time, seconds
    int pid = 0;              // the usbhop attach process that owns the port

    // Live numbers, rewritten every second by the owning attach for `usbhop
    // status`. Optional in the file (0 when absent).
    struct Traffic {
        uint64_t in_flight = 0;  // URBs the kernel gave us that have no answer yet
        uint64_t urbs = 0;       // URBs submitted since the attach
        uint64_t bytes_in = 0, bytes_out = 0;  // payload, device to host and host to device
        uint64_t rate_in = 0, rate_out = 0;    // bytes per second over the last few seconds
        uint64_t errors = 0;     // URBs answered with an error status (unlinks apart)
        uint64_t unlinks = 0;    // URBs the kernel took back (CMD_UNLINK)
        bool operator==(const Traffic&) const = default;
    } traffic;

    bool operator==(const AttachedDevice&) const = default;
};

// Pure: the file's text and back. Values are one line each; control
// characters in free text (description) become spaces. Unknown keys are
// ignored so that newer writers stay readable.
std::string format_state(const AttachedDevice& device);
Result<AttachedDevice> parse_state(std::string_view text);

enum class Staleness {
    live,
    owner_gone,    // the owning process is no longer running
    port_missing,  // vhci_hcd has no such port (module reloaded or unloaded)
    port_free,     // the port is free: the device was detached
    port_reused,   // the port now holds a different device
};
const char* staleness_reason(Staleness s);

// Pure: is this entry still true, given whether its owner runs and the
// current port table (empty when vhci_hcd is not loaded)?
Staleness check_staleness(const AttachedDevice& device, bool owner_alive, const std::vector<PortStatus>& ports);

// kill(pid, 0): the process exists (EPERM counts, it exists but is not ours).
bool process_alive(int pid);

class StateDir {
public:
    // USBHOP_RUNDIR: meson option rundir, /run/usbhop by default.
    static constexpr const char* kDefaultRoot = USBHOP_RUNDIR;

    explicit StateDir(std::string root = kDefaultRoot);
    const std::string& root() const { return root_; }

    // <root>/port-<N>
    std::string path_for(uint32_t port) const;

    // Writes <root>/port-<N> atomically, creating root if needed.
    Result<void> save(const AttachedDevice& device) const;
    // Removes the port's entry; a missing entry is fine.
    Result<void> remove(uint32_t port) const;
    // Every readable entry, by port. Unreadable or malformed files are
    // logged and skipped (prune removes them). A missing root is empty.
    Result<std::vector<AttachedDevice>> list() const;
    // Removes stale entries (and malformed ones) and returns the live ones.
    Result<std::vector<AttachedDevice>> prune(const std::vector<PortStatus>& ports,
                                              const std::function<bool(int)>& alive = process_alive) const;

private:
    Result<std::vector<AttachedDevice>> scan(bool remove_malformed) const;

    std::string root_;
};

// `usbhop detach` from another shell: detaches the entry's port if it still
// holds the entry's device, waits until the port reads free, and removes the
// entry. The owning usbhop attach then sees the kernel close its socket (its
// cue that the user detached the device, not to re-attach it). A port that is
// already free or holds another device is left alone; the entry goes anyway.
Result<void> detach_entry(const Vhci& vhci, const StateDir& dir, const AttachedDevice& entry,
                          std::chrono::milliseconds timeout = std::chrono::seconds(5));

}  // namespace usbhop::vhci
