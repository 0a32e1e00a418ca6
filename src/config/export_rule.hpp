// Export rules: which of this machine's USB devices `usbhop serve` shares,
// and with whom. One rule per [share "name"] section; nothing is shared
// without a rule. matches() is pure so server/ and the tests agree on it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "identity/identity.hpp"
#include "util/result.hpp"

namespace usbhop::config {

// What server/ knows about a plugged-in device, in the terms rules use.
struct DeviceFacts {
    uint16_t vendor = 0;
    uint16_t product = 0;
    std::string serial;                      // iSerialNumber string, "" when the device has none
    std::string path;                        // bus path as sysfs names it: "1-1.2"
    uint8_t device_class = 0;                // bDeviceClass
    std::vector<uint8_t> interface_classes;  // bInterfaceClass of each interface
    bool imported = false;                   // on a vhci_hcd (USB/IP) bus of this machine
};

struct ExportRule {
    std::string name;                 // the section's name: [share "flash"]
    int line = 0;                     // where the section starts, for messages
    std::optional<uint16_t> vendor;   // nullopt: any ("*")
    std::optional<uint16_t> product;  // nullopt: any ("*")
    std::optional<std::string> serial;
    std::optional<std::string> path;
    std::optional<uint8_t> device_class;  // matches bDeviceClass or any bInterfaceClass
    std::vector<identity::NodeId> peers;  // empty: everyone in authorized_keys
    int peers_line = 0;                   // where peers = is set, for messages
    bool force = false;                   // take the device from a kernel driver bound on this machine
};

// True when the device satisfies every criterion the rule sets. A device this
// machine imported over USB/IP matches only a rule that names its path.
bool matches(const ExportRule& rule, const DeviceFacts& device);
// True when the rule shares with this (already authorized) peer.
bool allows_peer(const ExportRule& rule, const identity::NodeId& peer);

// "0781:5583", "*:5583", "0781:*", "*:*" (four hex digits per side).
struct VendorProduct {
    std::optional<uint16_t> vendor;
    std::optional<uint16_t> product;
};
Result<VendorProduct> parse_vendor_product(std::string_view text);
// "08", "0x08", "ff": a USB class code in hex.
Result<uint8_t> parse_usb_class(std::string_view text);

}  // namespace usbhop::config
