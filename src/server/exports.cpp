#include "server/exports.hpp"

namespace usbhop::server {

config::DeviceFacts facts_of(const usb::DeviceInfo& device) {
    config::DeviceFacts f;
    f.vendor = device.vendor;
    f.product = device.product;
    f.serial = device.serial;
    f.path = device.path;
    f.device_class = device.device_class;
    f.interface_classes = device.interface_classes();
    f.imported = device.imported;
    return f;
}

std::vector<const config::ExportRule*> matching_rules(std::span<const config::ExportRule> rules,
                                                      const usb::DeviceInfo& device) {
    std::vector<const config::ExportRule*> out;
    if (device.is_hub) return out;
    const config::DeviceFacts facts = facts_of(device);
    for (const config::ExportRule& r : rules)
        if (config::matches(r, facts)) out.push_back(&r);
    return out;
}

const config::ExportRule* rule_for_peer(std::span<const config::ExportRule> rules, const usb::DeviceInfo& device,
                                        const identity::NodeId& peer) {
    for (const config::ExportRule* r : matching_rules(rules, device))
        if (config::allows_peer(*r, peer)) return r;
    return nullptr;
}

std::string shared_with(const config::ExportRule& rule) {
    if (rule.peers.empty()) return "everyone in authorized_keys";
    std::string out;
    for (const identity::NodeId& n : rule.peers) {
        if (!out.empty()) out += " ";
        out += n.short_string();
    }
    return out;
}

uint32_t wire_device_id(const usb::DeviceInfo& device) {
    return static_cast<uint32_t>(device.bus) << 16 | device.address;
}

proto::DeviceInfo to_wire(const usb::DeviceInfo& device, const std::string& share, proto::DeviceState state,
                          const std::string& holder) {
    proto::DeviceInfo w;
    w.device_id = wire_device_id(device);
    w.busnum = device.bus;
    w.devnum = device.address;
    w.speed = static_cast<proto::Speed>(device.speed);
    w.active_config = device.active_config;
    w.state = state;
    w.bus_path = device.path;
    w.share = share;
    w.holder = holder;
    w.manufacturer = device.manufacturer;
    w.product = device.product_name;
    w.serial = device.serial;
    w.device_descriptor = device.device_descriptor;
    for (const usb::Configuration& c : device.configurations) w.configurations.push_back(c.raw);
    return w;
}

const char* speed_name(usb::Speed speed) {
    switch (speed) {
    case usb::Speed::low: return "low";
    case usb::Speed::full: return "full";
    case usb::Speed::high: return "high";
    case usb::Speed::super: return "super";
    case usb::Speed::super_plus: return "super-plus";  // as list <peer> and status say it
    case usb::Speed::unknown: break;
    }
    return "unknown";
}

}  // namespace usbhop::server
