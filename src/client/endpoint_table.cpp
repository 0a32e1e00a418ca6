#include "client/endpoint_table.hpp"

#include "usb/descriptors.hpp"

namespace usbhop::client {

namespace {

proto::TransferType to_proto(usb::TransferType t) { return static_cast<proto::TransferType>(static_cast<uint8_t>(t)); }

constexpr uint8_t kSetConfiguration = 0x09;
constexpr uint8_t kSetInterface = 0x0b;

}  // namespace

EndpointTable::EndpointTable(const std::vector<Bytes>& configurations, uint8_t active_config) : active_(active_config) {
    for (const Bytes& raw : configurations) {
        auto c = usb::parse_configuration(raw);
        if (c) configs_.push_back(std::move(*c));
    }
}

std::optional<proto::TransferType> EndpointTable::type_of(uint8_t address) const {
    if ((address & 0x0f) == 0) return proto::TransferType::kControl;
    for (const usb::Configuration& c : configs_) {
        if (c.value != active_) continue;
        if (auto ep = usb::find_endpoint(c, alts_, address)) return to_proto(ep->type);
    }
    for (const usb::Configuration& c : configs_)
        for (const usb::Interface& intf : c.interfaces)
            for (const usb::Endpoint& ep : intf.endpoints)
                if (ep.address == address) return to_proto(ep.type);
    return std::nullopt;
}

void EndpointTable::observe_setup(const std::array<std::byte, 8>& setup) {
    auto b = [&](int i) { return std::to_integer<uint8_t>(setup[i]); };
    const uint8_t request_type = b(0), request = b(1);
    const uint8_t value = b(2), index = b(4);
    if (request_type == 0x00 && request == kSetConfiguration) {
        active_ = value;
        alts_.clear();
    } else if (request_type == 0x01 && request == kSetInterface) {
        alts_[index] = value;
    }
}

uint8_t EndpointTable::alt_setting(uint8_t interface) const {
    auto it = alts_.find(interface);
    return it == alts_.end() ? 0 : it->second;
}

}  // namespace usbhop::client
