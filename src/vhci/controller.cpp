#include "vhci/controller.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <thread>

#include "util/files.hpp"
#include "util/log.hpp"

namespace usbhop::vhci {

namespace {

constexpr const char* kModprobeHint = "run 'modprobe vhci-hcd' as root";

Error not_loaded(const std::string& dir) {
    return make_error("vhci_hcd is not loaded (no " + dir + "): " + kModprobeHint, errc::kNotLoaded);
}

// sysfs attributes are root's regular files in root's directories: the
// default read_file policy holds, and no attribute comes near 1 MiB.
Result<std::string> read_attribute(const std::string& path) { return read_file(path); }

// A sysfs store either takes the whole line or fails with the errno the
// driver returned; there are no partial writes to retry.
Result<void> write_attribute(const std::string& path, const std::string& line) {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
    if (!fd) return attribute_write_error(path, line, errno);
    ssize_t n;
    do {
        n = ::write(fd.get(), line.data(), line.size());
    } while (n < 0 && errno == EINTR);
    if (n < 0) return attribute_write_error(path, line, errno);
    if (static_cast<size_t>(n) != line.size()) return make_error("short write to " + path + " ('" + line + "')", -EIO);
    return {};
}

Error unsupported_speed(uint32_t usbip_speed) {
    return make_error("cannot attach a device of USB/IP speed " + std::to_string(usbip_speed) +
                          " (vhci_hcd takes low, full, high, super and super-plus)",
                      -EINVAL);
}

Error no_free_port(const std::vector<PortStatus>& table, uint32_t usbip_speed) {
    Hub hub = hub_for_speed(usbip_speed).value_or(Hub::high_speed);
    size_t total = 0;
    for (const auto& p : table) total += p.hub == hub;
    return make_error("no free vhci_hcd port for a " + std::string(speed_name(usbip_speed)) + "-speed device (all " +
                          std::to_string(total) + " " + hub_name(hub) +
                          " ports are in use): detach one first (usbhop detach); the number of ports is fixed "
                          "when the kernel is built (CONFIG_USBIP_VHCI_HC_PORTS, CONFIG_USBIP_VHCI_NR_HCS)",
                      errc::kNoFreePort);
}

bool is_directory(const std::string& path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

Error attribute_write_error(const std::string& path, const std::string& line, int err) {
    switch (err) {
    case EACCES:
    case EPERM: {
        // Both attributes are mode 0200: only root writes them.
        std::string command = path.ends_with("/detach") ? "usbhop detach" : "usbhop attach";
        return make_error(
            command + " needs root to write " + path + ": run it as root (sudo), or as the usbhop-attach@ service",
            errc::kPermission);
    }
    case EROFS:
        return make_error(path + " is read-only (sysfs mounted read-only, as in many containers): attach from the host",
                          -EROFS);
    case ENOENT: return make_error("vhci_hcd is not loaded (no " + path + "): " + kModprobeHint, errc::kNotLoaded);
    case EBUSY: return make_error("vhci_hcd port in use ('" + line + "' to " + path + ")", -EBUSY);
    case EAGAIN:
        return make_error("vhci_hcd controller is not ready ('" + line + "' to " + path +
                              "): reload the module (modprobe -r vhci-hcd; modprobe vhci-hcd)",
                          -EAGAIN);
    default:
        return make_error("the kernel refused '" + line + "' on " + path + ": " + std::strerror(err) +
                              " (see dmesg for vhci_hcd's reason)",
                          -err);
    }
}

Vhci::Vhci(std::string sysfs_root) : root_(std::move(sysfs_root)), dir_(root_ + "/devices/platform/vhci_hcd.0") {}

Result<void> Vhci::check_loaded() const {
    if (!is_directory(dir_)) return not_loaded(dir_);
    return {};
}

Result<void> Vhci::check_usable() const {
    if (auto loaded = check_loaded(); !loaded) return loaded;
    const std::string path = dir_ + "/attach";
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd) return attribute_write_error(path, "", errno);
    return {};
}

// One platform device vhci_hcd.N per controller (module parameter nr_hcs);
// all of their status files hang off vhci_hcd.0.
Result<uint32_t> Vhci::count_controllers() const {
    std::string platform = root_ + "/devices/platform";
    DIR* d = ::opendir(platform.c_str());
    if (!d) return not_loaded(dir_);
    uint32_t count = 0;
    while (dirent* e = ::readdir(d)) {
        std::string_view name = e->d_name;
        constexpr std::string_view kPrefix = "vhci_hcd.";
        if (name.substr(0, kPrefix.size()) != kPrefix) continue;
        uint32_t n = 0;
        auto digits = name.substr(kPrefix.size());
        auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
        if (ec == std::errc() && end == digits.data() + digits.size() && !digits.empty()) ++count;
    }
    ::closedir(d);
    if (count == 0) return not_loaded(dir_);
    return count;
}

Result<std::vector<PortStatus>> Vhci::ports() const {
    if (auto loaded = check_loaded(); !loaded) return loaded.error();
    auto controllers = count_controllers();
    if (!controllers) return controllers.error();

    std::vector<PortStatus> all;
    for (uint32_t i = 0; i < *controllers; ++i) {
        std::string path = dir_ + (i == 0 ? "/status" : "/status." + std::to_string(i));
        auto text = read_attribute(path);
        if (!text) return text.error();
        auto parsed = parse_status(*text);
        if (!parsed) return make_error(path + ": " + parsed.error().message);
        all.insert(all.end(), parsed->begin(), parsed->end());
    }

    // nports counts both hubs of every controller; a mismatch means we are
    // reading a layout we do not understand, and attaching would be a guess.
    auto nports_text = read_attribute(dir_ + "/nports");
    if (!nports_text) return nports_text.error();
    uint32_t nports = 0;
    std::string_view s = *nports_text;
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.remove_suffix(1);
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), nports);
    if (ec != std::errc() || end != s.data() + s.size())
        return make_error(dir_ + "/nports: not a number: '" + std::string(s) + "'");
    if (nports != all.size())
        return make_error(dir_ + "/nports says " + std::to_string(nports) + " ports but the status files list " +
                          std::to_string(all.size()));
    return all;
}

Result<VhciPort> Vhci::attach(uint32_t devid, uint32_t usbip_speed) const {
    if (!hub_for_speed(usbip_speed)) return unsupported_speed(usbip_speed);
    auto table = ports();
    if (!table) return table.error();
    auto candidates = free_ports_for_speed(*table, usbip_speed);
    if (candidates.empty()) return no_free_port(*table, usbip_speed);
    return attach_at(candidates, devid, usbip_speed);
}

Result<VhciPort> Vhci::attach_at(const std::vector<uint32_t>& candidates, uint32_t devid, uint32_t usbip_speed) const {
    auto hub = hub_for_speed(usbip_speed);
    if (!hub) return unsupported_speed(usbip_speed);
    auto table = ports();
    if (!table) return table.error();
    for (uint32_t port : candidates) {
        const PortStatus* p = find_port(*table, port);
        if (!p) return make_error("vhci_hcd has no port " + std::to_string(port), -EINVAL);
        if (p->hub != *hub)
            return make_error("vhci_hcd port " + std::to_string(port) + " is on the " + hub_name(p->hub) + " hub; a " +
                                  speed_name(usbip_speed) + "-speed device needs a " + hub_name(*hub) + " port",
                              -EINVAL);
    }

    const std::string attach_path = dir_ + "/attach";
    for (uint32_t port : candidates) {
        int fds[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
            int err = errno;
            return make_error(std::string("cannot create the USB/IP socketpair: ") + std::strerror(err), -err);
        }
        UniqueFd ours(fds[0]);
        UniqueFd kernel_end(fds[1]);

        std::string line = std::to_string(port) + " " + std::to_string(kernel_end.get()) + " " + std::to_string(devid) +
                           " " + std::to_string(usbip_speed);
        auto written = write_attribute(attach_path, line);
        if (!written) {
            // Another process attached there since we read the table.
            if (written.error().code == -EBUSY) {
                log::debug("vhci port %u is in use, trying the next", port);
                continue;
            }
            return written.error();
        }
        // sockfd_lookup took the kernel's own reference to the socket; our
        // copy of that end goes when kernel_end leaves scope.
        log::debug("vhci: attached devid %08x (%s speed) to port %u", devid, speed_name(usbip_speed), port);
        return VhciPort(dir_ + "/detach", port, devid, usbip_speed, std::move(ours));
    }
    return no_free_port(*table, usbip_speed);
}

Result<void> Vhci::detach(uint32_t port) const {
    if (auto loaded = check_loaded(); !loaded) return loaded.error();
    auto written = write_attribute(dir_ + "/detach", std::to_string(port));
    if (!written && written.error().code == -EINVAL)
        return make_error("vhci_hcd port " + std::to_string(port) + " has nothing attached (or no such port)", -EINVAL);
    return written;
}

Result<void> Vhci::wait_until_free(uint32_t port, std::chrono::milliseconds timeout) const {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        auto table = ports();
        if (!table) return table.error();
        const PortStatus* p = find_port(*table, port);
        if (!p) return make_error("vhci_hcd has no port " + std::to_string(port), -EINVAL);
        if (p->is_free()) return {};
        if (std::chrono::steady_clock::now() >= deadline)
            return make_error("vhci_hcd port " + std::to_string(port) + " still in use after " +
                                  std::to_string(timeout.count()) + " ms",
                              -ETIMEDOUT);
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

VhciPort::~VhciPort() {
    if (!attached()) return;
    if (auto r = detach(); !r) log::warning("%s", r.error().message.c_str());
}

VhciPort& VhciPort::operator=(VhciPort&& other) noexcept {
    if (this != &other) {
        if (attached()) {
            if (auto r = detach(); !r) log::warning("%s", r.error().message.c_str());
        }
        detach_path_ = std::move(other.detach_path_);
        port_ = other.port_;
        devid_ = other.devid_;
        speed_ = other.speed_;
        socket_ = std::move(other.socket_);
    }
    return *this;
}

Result<void> VhciPort::detach() {
    if (!attached()) return {};
    auto written = write_attribute(detach_path_, std::to_string(port_));
    // Close after the detach request: the kernel's shutdown then finds the
    // port already going down rather than reporting a socket error first.
    socket_.reset();
    // EINVAL: the port is already free, because the kernel detached it on
    // its own when the connection failed. That is the state we wanted.
    if (!written && written.error().code == -EINVAL) return {};
    return written;
}

}  // namespace usbhop::vhci
