// Which of a server's devices `usbhop attach <peer> DEVICE...` (and `usbhop
// detach DEVICE`) means: a bus path ("1-1.2"), vendor:product in hex
// ("0781:5583", either side may be "*"), or a serial number. No DEVICE means
// every device the server exports to us. Pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proto/messages.hpp"
#include "util/log.hpp"
#include "util/result.hpp"

namespace usbhop::client {

struct DeviceSelector {
    enum class Kind { kBusPath, kVendorProduct, kSerial };
    Kind kind = Kind::kSerial;
    std::string text;                // as the user wrote it
    std::optional<uint16_t> vendor;  // kVendorProduct; nullopt for "*"
    std::optional<uint16_t> product;

    bool matches(std::string_view bus_path, uint16_t vendor_id, uint16_t product_id, std::string_view serial) const;
    bool matches(const proto::DeviceInfo& d) const;
};

// "1-1.2" is a bus path, "abcd:12ef" (or with "*") vendor:product, anything
// else a serial number. Empty text is an error.
Result<DeviceSelector> parse_selector(std::string_view text);
Result<std::vector<DeviceSelector>> parse_selectors(const std::vector<std::string>& texts);

// No selectors: everything. Otherwise: any selector matches.
bool selected(const std::vector<DeviceSelector>& selectors, const proto::DeviceInfo& d);

// idVendor and idProduct from the raw device descriptor (0 when it is short).
uint16_t vendor_of(const proto::DeviceInfo& d);
uint16_t product_of(const proto::DeviceInfo& d);
// The server's journal fields (peer) with this device's added: USBHOP_DEVICE
// and USBHOP_BUSID (the server's bus path, made printable: it is the peer's text).
log::Fields device_fields(log::Fields peer, const proto::DeviceInfo& d);

// "0781:5583 SanDisk Ultra Fit (1-1.2)" for lines a person reads; strings
// from the server go through util::printable.
std::string describe(const proto::DeviceInfo& d);

}  // namespace usbhop::client
