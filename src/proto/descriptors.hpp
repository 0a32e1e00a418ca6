// Reading USB configuration descriptors: which interfaces and endpoints a
// configuration has, and each endpoint's transfer type — what the client
// needs to pick a URB stream (Bind.type) and the server to check a Bind
// (docs/protocol.md §7.1). USB 2.0 §9.6.3-9.6.6. This is the one parser of
// configuration descriptors: usb/ reads a device's with it too
// (usb::parse_configuration), so both ends see the same interfaces.
//
// Bounds-checked and fuzzed: the bytes come from the other side of the
// network, or from a device.
#pragma once

#include <functional>
#include <optional>
#include <vector>

#include "proto/messages.hpp"

namespace usbhop::proto {

struct EndpointDescriptor {
    uint8_t address = 0;     // bEndpointAddress: bit 7 IN, bits 0-3 number
    uint8_t attributes = 0;  // bmAttributes: bits 0-1 transfer type
    uint16_t max_packet_size = 0;
    uint8_t interval = 0;
    TransferType type() const { return static_cast<TransferType>(attributes & 3); }
    bool operator==(const EndpointDescriptor&) const = default;
};

struct InterfaceDescriptor {
    uint8_t number = 0;
    uint8_t alternate_setting = 0;
    uint8_t class_code = 0;
    uint8_t subclass = 0;
    uint8_t protocol = 0;
    std::vector<EndpointDescriptor> endpoints;
    bool operator==(const InterfaceDescriptor&) const = default;
};

struct Configuration {
    uint8_t value = 0;  // bConfigurationValue
    uint8_t attributes = 0;
    uint8_t max_power = 0;                        // in the unit of the device's speed (2 mA or 8 mA)
    std::vector<InterfaceDescriptor> interfaces;  // every alternate setting, in descriptor order
    bool operator==(const Configuration&) const = default;
};

// Parses a full configuration descriptor: exactly wTotalLength bytes. Fails,
// naming the offset, on a descriptor that runs past the end, a bLength under
// 2 (or under 9 for CONFIGURATION and INTERFACE, 7 for ENDPOINT), or an
// ENDPOINT before any INTERFACE. Descriptors of other types (class-specific,
// IAD, SuperSpeed companions) are skipped. An ENDPOINT descriptor for
// endpoint 0 (which USB 2.0 §9.6.6 says has none) is kept as it is: lookups
// answer control for endpoint 0 before they look.
Result<Configuration> parse_configuration(ByteSpan raw);

// The transfer type of endpoint `address` in a configuration, with each
// interface in the alternate setting alt_of(interface) (default: 0).
// Endpoint 0 is always control. nullopt: no such endpoint.
std::optional<TransferType> endpoint_type(const Configuration& config, uint8_t address,
                                          const std::function<uint8_t(uint8_t interface)>& alt_of = nullptr);

// The configuration among a device's whose bConfigurationValue is value.
std::optional<Configuration> find_configuration(const DeviceInfo& device, uint8_t value);

}  // namespace usbhop::proto
