// The vhci_hcd port table, as the kernel prints it in
// /sys/devices/platform/vhci_hcd.0/status (controller 0) and status.N
// (controller N), and the choice of a free port for a device. Pure functions
// over text: no file system here (see controller.hpp for that).
//
// Format (drivers/usb/usbip/vhci_sysfs.c, port_show_vhci):
//   hub port sta spd dev      sockfd local_busid
//   hs  0000 004 000 00000000 000000 0-0
//   ss  0008 006 005 00010003 000005 4-1
// Each controller has a high-speed ("hs") and a super-speed ("ss") root hub
// with the same number of ports; port numbers are global across controllers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace usbhop::vhci {

// enum usbip_device_status (include/uapi/linux/usbip.h), vhci values only.
enum class PortState : uint8_t {
    free = 4,          // VDEV_ST_NULL: nothing attached
    not_assigned = 5,  // VDEV_ST_NOTASSIGNED: attached, USB address not yet set
    used = 6,          // VDEV_ST_USED
    error = 7,         // VDEV_ST_ERROR
};

// Which root hub of a controller a port belongs to.
enum class Hub { high_speed, super_speed };

// USB/IP speeds: enum usb_device_speed (include/uapi/linux/usb/ch9.h).
namespace speed {
constexpr uint32_t kLow = 1;
constexpr uint32_t kFull = 2;
constexpr uint32_t kHigh = 3;
constexpr uint32_t kSuper = 5;
constexpr uint32_t kSuperPlus = 6;
}  // namespace speed

struct PortStatus {
    Hub hub = Hub::high_speed;
    uint32_t port = 0;  // the number written to attach/detach
    PortState state = PortState::free;
    uint32_t speed = 0;       // 0 when free
    uint32_t devid = 0;       // (busnum << 16) | devnum on the server; 0 when free
    std::string local_busid;  // the device's name on this machine ("3-1"), "0-0" when free

    bool is_free() const { return state == PortState::free; }
};

// Parses one status file (header line and one line per port). Errors name
// the line that could not be read.
Result<std::vector<PortStatus>> parse_status(std::string_view text);

// The hub that takes a device of this USB/IP speed: low/full/high go to the
// high-speed hub, super/super-plus to the super-speed hub; nullopt otherwise.
std::optional<Hub> hub_for_speed(uint32_t usbip_speed);

// Free ports that can take a device of this speed, lowest first. Empty when
// the speed is unknown or every such port is in use.
std::vector<uint32_t> free_ports_for_speed(const std::vector<PortStatus>& ports, uint32_t usbip_speed);

// The port's line, if it is in the table.
const PortStatus* find_port(const std::vector<PortStatus>& ports, uint32_t port);

const char* hub_name(Hub hub);                 // "high-speed", "super-speed"
const char* speed_name(uint32_t usbip_speed);  // "low", "full", "high", "super", "super-plus", "unknown"

}  // namespace usbhop::vhci
