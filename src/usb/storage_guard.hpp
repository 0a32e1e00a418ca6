// Taking a disk away from the machine it is mounted on loses data
// (docs/architecture.md#usb-facts). Before claiming a device we look for block
// devices under it in sysfs and refuse if any is mounted, used as swap or
// held by device-mapper/md, unless the export rule says `force`.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace usbhop::usb {

struct Mount {
    std::string device;  // "8:1", major:minor as in /proc/self/mountinfo field 3
    std::string mount_point;
};

// Parses /proc/self/mountinfo (proc(5)); malformed lines are skipped.
std::vector<Mount> parse_mountinfo(std::string_view text);
// Device paths of active swap areas in /proc/swaps (first column, header skipped).
std::vector<std::string> parse_swaps(std::string_view text);

struct BlockDevice {
    std::string name;    // "sda1"
    std::string number;  // "8:1"
    bool held = false;   // something in /sys/class/block/<name>/holders
};

// Every disk and partition below the USB device's sysfs directory
// (/sys/bus/usb/devices/<path>); empty for anything that is not storage.
std::vector<BlockDevice> block_devices_of(const std::string& sysfs_device_dir);

// What is in use among `blocks`, as a sentence for the user ("/dev/sda1 is
// mounted on /mnt"), or empty when nothing is.
std::string describe_use(const std::vector<BlockDevice>& blocks, const std::vector<Mount>& mounts,
                         const std::vector<std::string>& swaps);

// The whole check for the USB device at `path` ("1-1.2"); sysfs_root is
// /sys/bus/usb/devices outside tests.
Result<void> check_storage_unused(const std::string& path, const std::string& sysfs_root = "/sys/bus/usb/devices");

}  // namespace usbhop::usb
