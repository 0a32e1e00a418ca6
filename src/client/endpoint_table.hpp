// Which transfer type each endpoint of an attached device has right now, from
// the configuration descriptors the server sent in DeviceInfo (§6.5): the
// type picks the URB stream (§7.1) and is never guessed from USB/IP's
// number_of_packets (docs/architecture.md#usb-facts). SET_CONFIGURATION and
// SET_INTERFACE on endpoint 0 change which endpoints exist; the table follows
// them as the kernel submits them. Pure.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "proto/messages.hpp"
#include "usb/types.hpp"
#include "util/bytes.hpp"

namespace usbhop::client {

class EndpointTable {
public:
    // Descriptors that do not parse are left out (their endpoints then fall
    // back to what the other configurations say).
    EndpointTable(const std::vector<Bytes>& configurations, uint8_t active_config);

    // The type of endpoint `address` (bit 7 = IN) in the active configuration
    // and alternate settings; failing that, in any configuration or setting
    // (a driver may race our view of SET_INTERFACE); nullopt when no
    // descriptor has it. Endpoint 0 is always control.
    std::optional<proto::TransferType> type_of(uint8_t address) const;

    // Looks at a control transfer's setup packet on endpoint 0 and follows
    // SET_CONFIGURATION / SET_INTERFACE (USB 2.0 §9.4.7, §9.4.10).
    void observe_setup(const std::array<std::byte, 8>& setup);

    uint8_t active_config() const { return active_; }
    uint8_t alt_setting(uint8_t interface) const;

private:
    std::vector<usb::Configuration> configs_;
    uint8_t active_ = 0;
    std::map<uint8_t, uint8_t> alts_;
};

}  // namespace usbhop::client
