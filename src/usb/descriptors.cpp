#include "usb/descriptors.hpp"

#include <algorithm>
#include <cstdio>

#include "proto/descriptors.hpp"

namespace usbhop::usb {

namespace {

uint8_t u8_at(ByteSpan b, size_t i) { return std::to_integer<uint8_t>(b[i]); }
uint16_t u16le_at(ByteSpan b, size_t i) { return static_cast<uint16_t>(u8_at(b, i) | u8_at(b, i + 1) << 8); }

}  // namespace

Result<Configuration> parse_configuration(ByteSpan raw) {
    // A read of sysfs or usbfs can run on past this configuration; the
    // parser takes exactly wTotalLength bytes and checks the rest.
    if (raw.size() >= 4) raw = raw.first(std::min<size_t>(raw.size(), u16le_at(raw, 2)));
    auto parsed = proto::parse_configuration(raw);
    if (!parsed) return parsed.error();

    Configuration config;
    config.value = parsed->value;
    config.attributes = parsed->attributes;
    config.max_power = parsed->max_power;
    config.raw.assign(raw.begin(), raw.end());
    for (const proto::InterfaceDescriptor& i : parsed->interfaces) {
        Interface intf{i.number, i.alternate_setting, i.class_code, i.subclass, i.protocol, {}};
        for (const proto::EndpointDescriptor& e : i.endpoints)
            intf.endpoints.push_back(
                Endpoint{e.address, static_cast<TransferType>(e.attributes & 0x3), e.max_packet_size, e.interval});
        config.interfaces.push_back(std::move(intf));
    }
    return config;
}

Result<RawDescriptors> split_descriptors(ByteSpan raw) {
    if (raw.size() < kDeviceDescriptorSize)
        return make_error("descriptors are " + std::to_string(raw.size()) + " bytes, shorter than a device descriptor");
    if (u8_at(raw, 0) != kDeviceDescriptorSize || u8_at(raw, 1) != kDescriptorDevice)
        return make_error("descriptors do not start with a device descriptor");
    RawDescriptors out;
    out.device.assign(raw.begin(), raw.begin() + kDeviceDescriptorSize);
    size_t pos = kDeviceDescriptorSize;
    while (pos < raw.size()) {
        if (raw.size() - pos < 4)
            return make_error("descriptors end inside a configuration header at byte " + std::to_string(pos));
        if (u8_at(raw, pos + 1) != kDescriptorConfig)
            return make_error("expected a configuration descriptor at byte " + std::to_string(pos));
        uint16_t total = u16le_at(raw, pos + 2);
        if (total < 9 || total > raw.size() - pos)
            return make_error("configuration at byte " + std::to_string(pos) + " has an impossible wTotalLength " +
                              std::to_string(total));
        out.configurations.emplace_back(raw.begin() + pos, raw.begin() + pos + total);
        pos += total;
    }
    return out;
}

std::string format_bus_path(uint8_t bus, std::span<const uint8_t> ports) {
    if (ports.empty()) return "usb" + std::to_string(bus);
    std::string path = std::to_string(bus) + "-";
    for (size_t i = 0; i < ports.size(); ++i) {
        if (i) path += '.';
        path += std::to_string(ports[i]);
    }
    return path;
}

Speed speed_from_libusb(int libusb_speed) {
    switch (libusb_speed) {
    case 1: return Speed::low;
    case 2: return Speed::full;
    case 3: return Speed::high;
    case 4: return Speed::super;
    case 5: return Speed::super_plus;
    default: return Speed::unknown;
    }
}

const char* to_string(Speed speed) {
    switch (speed) {
    case Speed::low: return "1.5M";
    case Speed::full: return "12M";
    case Speed::high: return "480M";
    case Speed::super: return "5000M";
    case Speed::super_plus: return "10000M";
    case Speed::unknown: break;
    }
    return "unknown";
}

std::optional<Endpoint> find_endpoint(const Configuration& config, const std::map<uint8_t, uint8_t>& alts,
                                      uint8_t address) {
    if ((address & 0x7f) == 0) return Endpoint{address, TransferType::control, 0, 0};
    for (const Interface& intf : config.interfaces) {
        auto it = alts.find(intf.number);
        uint8_t alt = it == alts.end() ? 0 : it->second;
        if (intf.alt_setting != alt) continue;
        for (const Endpoint& ep : intf.endpoints)
            if (ep.address == address) return ep;
    }
    return std::nullopt;
}

std::vector<uint8_t> interface_classes(const Configuration& config) {
    std::vector<uint8_t> classes;
    for (const Interface& intf : config.interfaces) {
        if (intf.alt_setting != 0) continue;
        if (std::find(classes.begin(), classes.end(), intf.interface_class) == classes.end())
            classes.push_back(intf.interface_class);
    }
    return classes;
}

std::vector<uint8_t> DeviceInfo::interface_classes() const {
    const Configuration* c = configuration(active_config);
    if (!c && !configurations.empty()) c = &configurations.front();
    return c ? usb::interface_classes(*c) : std::vector<uint8_t>{};
}

const Configuration* DeviceInfo::configuration(uint8_t value) const {
    for (const Configuration& c : configurations)
        if (c.value == value) return &c;
    return nullptr;
}

}  // namespace usbhop::usb
