#include "proto/descriptors.hpp"

namespace usbhop::proto {

namespace {

constexpr uint8_t kConfigurationType = 2;
constexpr uint8_t kInterfaceType = 4;
constexpr uint8_t kEndpointType = 5;

uint8_t at(ByteSpan b, size_t i) { return std::to_integer<uint8_t>(b[i]); }

}  // namespace

Result<Configuration> parse_configuration(ByteSpan raw) {
    auto fail = [](size_t offset, const std::string& why) {
        return make_error("configuration descriptor, offset " + std::to_string(offset) + ": " + why);
    };
    if (raw.size() < 9 || at(raw, 0) < 9 || at(raw, 1) != kConfigurationType)
        return fail(0, "not a CONFIGURATION descriptor");
    size_t total = at(raw, 2) | size_t{at(raw, 3)} << 8;
    if (total != raw.size())
        return fail(2, "wTotalLength " + std::to_string(total) + " but " + std::to_string(raw.size()) + " bytes");
    if (at(raw, 0) > total)
        return fail(0, "bLength " + std::to_string(at(raw, 0)) + " is more than wTotalLength " + std::to_string(total));
    Configuration c;
    c.value = at(raw, 5);
    c.attributes = at(raw, 7);
    c.max_power = at(raw, 8);

    size_t pos = at(raw, 0);
    while (pos < raw.size()) {
        if (raw.size() - pos < 2) return fail(pos, "a descriptor header is cut off");
        size_t length = at(raw, pos);
        uint8_t type = at(raw, pos + 1);
        if (length < 2) return fail(pos, "bLength " + std::to_string(length) + " is less than 2");
        if (length > raw.size() - pos) return fail(pos, "bLength " + std::to_string(length) + " runs past the end");
        ByteSpan d = raw.subspan(pos, length);
        if (type == kInterfaceType) {
            if (length < 9) return fail(pos, "INTERFACE descriptor of " + std::to_string(length) + " bytes");
            InterfaceDescriptor i;
            i.number = at(d, 2);
            i.alternate_setting = at(d, 3);
            i.class_code = at(d, 5);
            i.subclass = at(d, 6);
            i.protocol = at(d, 7);
            c.interfaces.push_back(std::move(i));
        } else if (type == kEndpointType) {
            if (length < 7) return fail(pos, "ENDPOINT descriptor of " + std::to_string(length) + " bytes");
            if (c.interfaces.empty()) return fail(pos, "ENDPOINT descriptor before any INTERFACE");
            EndpointDescriptor e;
            e.address = at(d, 2);
            e.attributes = at(d, 3);
            e.max_packet_size = static_cast<uint16_t>(at(d, 4) | at(d, 5) << 8);
            e.interval = at(d, 6);
            c.interfaces.back().endpoints.push_back(e);
        }
        pos += length;
    }
    return c;
}

std::optional<TransferType> endpoint_type(const Configuration& config, uint8_t address,
                                          const std::function<uint8_t(uint8_t)>& alt_of) {
    if ((address & 0x0f) == 0) return TransferType::kControl;
    for (const InterfaceDescriptor& i : config.interfaces) {
        uint8_t alt = alt_of ? alt_of(i.number) : 0;
        if (i.alternate_setting != alt) continue;
        for (const EndpointDescriptor& e : i.endpoints)
            if (e.address == address) return e.type();
    }
    return std::nullopt;
}

std::optional<Configuration> find_configuration(const DeviceInfo& device, uint8_t value) {
    for (const Bytes& raw : device.configurations) {
        auto c = parse_configuration(raw);
        if (c && c->value == value) return std::move(*c);
    }
    return std::nullopt;
}

}  // namespace usbhop::proto
