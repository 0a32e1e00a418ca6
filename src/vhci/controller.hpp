// The kernel's USB/IP virtual host controller (vhci_hcd) as seen through
// sysfs: read the port table, attach a remote device to a free port by
// handing the kernel one end of a socketpair, detach it again.
//
// All attributes live in <sysfs>/devices/platform/vhci_hcd.0 (nports, status,
// status.N for controller N, attach, detach) whatever the number of
// controllers (drivers/usb/usbip/vhci_sysfs.c, vhci_hcd.c). The sysfs root is
// a parameter so that tests can point it at a fake tree.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "util/result.hpp"
#include "vhci/status.hpp"
#include "util/unique_fd.hpp"

namespace usbhop::vhci {

// Error::code values a caller may want to tell apart (negative errno style).
namespace errc {
constexpr int kNotLoaded = -2;    // -ENOENT: vhci_hcd is not loaded
constexpr int kPermission = -13;  // -EACCES: not root
constexpr int kNoFreePort = -16;  // -EBUSY: every port of that speed is in use
}  // namespace errc

class VhciPort;

class Vhci {
public:
    static constexpr const char* kDefaultSysfsRoot = "/sys";

    explicit Vhci(std::string sysfs_root = kDefaultSysfsRoot);

    // <sysfs>/devices/platform/vhci_hcd.0
    const std::string& dir() const { return dir_; }

    // Ok when vhci_hcd is loaded; otherwise an error that says to modprobe it.
    Result<void> check_loaded() const;

    // check_loaded(), and that this process may write attach (root): the
    // up-front check before connecting anywhere. Opening the attribute
    // without writing changes nothing in the kernel.
    Result<void> check_usable() const;

    // Every port of every controller, in the kernel's order.
    Result<std::vector<PortStatus>> ports() const;

    // Makes a remote device appear: picks a free port of the hub its speed
    // needs (trying the next on -EBUSY, when another process took it first),
    // writes "PORT FD DEVID SPEED" to attach, and returns the port holding our
    // end of the socket. The kernel sends USBIP_CMD_SUBMIT on it at once.
    // devid is (busnum << 16) | devnum on the server; usbip_speed as in
    // status.hpp.
    Result<VhciPort> attach(uint32_t devid, uint32_t usbip_speed) const;

    // The same, trying only these ports, in this order. Each must be on the
    // hub the speed needs: the kernel picks the hub from the speed and keeps
    // only the port's index within it, so a port of the other hub would
    // attach the device elsewhere than we recorded.
    Result<VhciPort> attach_at(const std::vector<uint32_t>& candidates, uint32_t devid, uint32_t usbip_speed) const;

    // Detaches whatever is on the port (the owner of the socket sees it
    // close). For `usbhop detach` when the owning process is gone; an owner
    // detaches through its VhciPort.
    Result<void> detach(uint32_t port) const;

    // Detach is asynchronous in the kernel: this polls status until the port
    // reads free (004) again, or the timeout passes.
    Result<void> wait_until_free(uint32_t port, std::chrono::milliseconds timeout) const;

private:
    Result<uint32_t> count_controllers() const;

    std::string root_;
    std::string dir_;
};

// One attached vhci port and our end of its USB/IP socket. Destroying it
// detaches the port (errors are logged); detach() does the same and reports.
class VhciPort {
public:
    VhciPort() = default;
    ~VhciPort();
    VhciPort(VhciPort&&) noexcept = default;
    VhciPort& operator=(VhciPort&& other) noexcept;
    VhciPort(const VhciPort&) = delete;
    VhciPort& operator=(const VhciPort&) = delete;

    bool attached() const { return socket_.valid(); }
    uint32_t port() const { return port_; }
    uint32_t devid() const { return devid_; }
    uint32_t speed() const { return speed_; }
    // Our end of the socketpair: read USBIP_CMD_SUBMIT/UNLINK here, write
    // RET_SUBMIT/UNLINK. Blocking and close-on-exec; the caller may set
    // O_NONBLOCK for its event loop. Stays owned by this object.
    int socket() const { return socket_.get(); }

    // Writes PORT to detach and closes our socket. A port the kernel has
    // already let go (it does when the socket fails) counts as detached.
    Result<void> detach();

private:
    friend class Vhci;
    VhciPort(std::string detach_path, uint32_t port, uint32_t devid, uint32_t speed, UniqueFd socket)
        : detach_path_(std::move(detach_path)), port_(port), devid_(devid), speed_(speed), socket_(std::move(socket)) {}

    std::string detach_path_;
    uint32_t port_ = 0;
    uint32_t devid_ = 0;
    uint32_t speed_ = 0;
    UniqueFd socket_;
};

// The user-facing message for a failed write to a vhci attribute
// (attach/detach), by errno. Exposed for tests.
Error attribute_write_error(const std::string& path, const std::string& line, int err);

}  // namespace usbhop::vhci
