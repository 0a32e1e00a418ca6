// Reading USB descriptors: pure functions from raw bytes (USB 2.0 §9.6,
// USB 3.2 §9.6) to the structs in types.hpp, plus the small mappings the
// registry needs (bus path, speed). No libusb, no I/O: table-tested.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "usb/types.hpp"
#include "util/bytes.hpp"
#include "util/result.hpp"

namespace usbhop::usb {

inline constexpr uint8_t kDescriptorDevice = 1;
inline constexpr uint8_t kDescriptorConfig = 2;
inline constexpr uint8_t kClassHub = 0x09;
inline constexpr uint8_t kClassMassStorage = 0x08;
inline constexpr size_t kDeviceDescriptorSize = 18;

// One configuration descriptor with everything after it (wTotalLength bytes;
// extra bytes past wTotalLength are ignored), read by proto's parser
// (proto/descriptors.hpp, which says what it refuses) into usb's structs.
// Class-specific descriptors are skipped but stay in `raw`.
Result<Configuration> parse_configuration(ByteSpan raw);

// The layout of /sys/bus/usb/devices/<path>/descriptors (and of reading a
// usbfs node): the 18-byte device descriptor, then every configuration
// descriptor back to back, each wTotalLength long.
struct RawDescriptors {
    Bytes device;
    std::vector<Bytes> configurations;
};
Result<RawDescriptors> split_descriptors(ByteSpan raw);

// "1-1.2" from bus 1 and ports {1, 2}; a root hub (no ports) is "usb1", the
// kernel's name for it in /sys/bus/usb/devices.
std::string format_bus_path(uint8_t bus, std::span<const uint8_t> ports);

// libusb's enum libusb_speed (0 unknown, 1 low, 2 full, 3 high, 4 super,
// 5 super+) to the USB/IP numbering in Speed.
Speed speed_from_libusb(int libusb_speed);
const char* to_string(Speed speed);

// The endpoints usable right now: those of the given configuration in the
// alt setting `alts` names for each interface (0 when absent).
// Endpoint 0 is always there, as control.
std::optional<Endpoint> find_endpoint(const Configuration& config, const std::map<uint8_t, uint8_t>& alts,
                                      uint8_t address);

// Class of each interface in alt setting 0, in order, without duplicates.
std::vector<uint8_t> interface_classes(const Configuration& config);

}  // namespace usbhop::usb
