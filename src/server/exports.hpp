// server/exports: which of this machine's devices a peer may see and attach.
//
// Rules × registry × peer → visible devices, and nothing else: pure functions
// over config::ExportRule and usb::DeviceInfo, so the unit tests and `usbhop
// list` agree with serve. A device is exported to a peer when some [share]
// rule matches it and allows that peer; the first such rule (file order)
// names the share. Hubs are never exported, whatever a rule says.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "config/export_rule.hpp"
#include "identity/identity.hpp"
#include "proto/messages.hpp"
#include "usb/types.hpp"

namespace usbhop::server {

config::DeviceFacts facts_of(const usb::DeviceInfo& device);

// Every rule that matches the device (file order); empty for hubs.
std::vector<const config::ExportRule*> matching_rules(std::span<const config::ExportRule> rules,
                                                      const usb::DeviceInfo& device);
// The first rule that matches the device and allows the peer, or null: the
// device is invisible to that peer.
const config::ExportRule* rule_for_peer(std::span<const config::ExportRule> rules, const usb::DeviceInfo& device,
                                        const identity::NodeId& peer);
// "everyone in authorized_keys" or the short node IDs a rule names.
std::string shared_with(const config::ExportRule& rule);

// The device's name on the wire: (busnum << 16) | devnum, the USB/IP devid.
uint32_t wire_device_id(const usb::DeviceInfo& device);

// The DeviceInfo a peer is shown.
proto::DeviceInfo to_wire(const usb::DeviceInfo& device, const std::string& share, proto::DeviceState state,
                          const std::string& holder);

const char* speed_name(usb::Speed speed);

}  // namespace usbhop::server
