#include "server/local_list.hpp"

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "server/exports.hpp"
#include "usb/host.hpp"
#include "util/printable.hpp"

namespace usbhop::server {

namespace {

std::string json_string(std::string_view s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\t': out += "\\t"; break;
        default:
            if (c < 0x20) {
                char buf[8];
                snprintf(buf, sizeof buf, "\\u%04x", c);
                out += buf;
            } else {
                out += static_cast<char>(c);
            }
        }
    }
    return out + "\"";
}

std::string hex4(uint16_t v) {
    char buf[8];
    snprintf(buf, sizeof buf, "%04x", v);
    return buf;
}

std::string display_name(const usb::DeviceInfo& d) {
    std::string name = d.manufacturer;
    if (!d.product_name.empty()) name += (name.empty() ? "" : " ") + d.product_name;
    // Device strings come from the device; one column wide in the table
    // (--json has the whole strings).
    return name.empty() ? "-" : util::printable(name, 31);
}

void print_json(const config::Config& config, const std::vector<const usb::DeviceInfo*>& devices) {
    std::string out = "[";
    bool first = true;
    for (const usb::DeviceInfo* d : devices) {
        auto rules = matching_rules(config.shares, *d);
        out += first ? "\n" : ",\n";
        first = false;
        out += "  {\"bus_path\": " + json_string(d->path) + ", \"busnum\": " + std::to_string(d->bus) +
               ", \"devnum\": " + std::to_string(d->address) + ", \"device_id\": " +
               std::to_string(wire_device_id(*d)) + ", \"vendor\": \"" + hex4(d->vendor) + "\", \"product\": \"" +
               hex4(d->product) + "\", \"manufacturer\": " + json_string(d->manufacturer) +
               ", \"product_name\": " + json_string(d->product_name) + ", \"serial\": " + json_string(d->serial) +
               ", \"speed\": \"" + speed_name(d->speed) + "\", \"hub\": " + (d->is_hub ? "true" : "false") +
               ", \"shared\": " + (rules.empty() ? "false" : "true") + ", \"shares\": [";
        for (size_t i = 0; i < rules.size(); ++i) {
            const config::ExportRule& r = *rules[i];
            out += (i ? ", " : "") + std::string("{\"name\": ") + json_string(r.name) + ", \"peers\": ";
            if (r.peers.empty()) {
                out += "\"all\"";
            } else {
                out += "[";
                for (size_t j = 0; j < r.peers.size(); ++j)
                    out += (j ? ", " : "") + json_string(r.peers[j].to_string());
                out += "]";
            }
            out += "}";
        }
        out += "]}";
    }
    out += first ? "]\n" : "\n]\n";
    fputs(out.c_str(), stdout);
}

void print_table(const config::Config& config, const std::vector<const usb::DeviceInfo*>& devices) {
    if (devices.empty()) {
        puts("no USB devices on this machine");
        return;
    }
    printf("%-10s %-9s %-6s %-32s %-16s %s\n", "PATH", "ID", "SPEED", "NAME", "SERIAL", "SHARED");
    for (const usb::DeviceInfo* d : devices) {
        std::string shared;
        if (d->is_hub) shared = "no (hub)";
        for (const config::ExportRule* r : matching_rules(config.shares, *d)) {
            if (!shared.empty()) shared += "; ";
            shared += "\"" + r->name + "\" with " + shared_with(*r);
        }
        if (shared.empty()) shared = "no";
        std::string serial = d->serial.empty() ? "-" : util::printable(d->serial);
        printf("%-10s %s:%s %-6s %-32s %-16s %s\n", d->path.c_str(), hex4(d->vendor).c_str(),
               hex4(d->product).c_str(), speed_name(d->speed), display_name(*d).c_str(), serial.c_str(),
               shared.c_str());
    }
}

}  // namespace

int print_local_devices(const config::Config& config, bool json) {
    auto host = usb::Host::start([] {});
    if (!host) {
        fprintf(stderr, "usbhop: %s (is there a USB bus on this machine?)\n", host.error().message.c_str());
        return 1;
    }
    (*host)->drain();  // every device already plugged in arrives in the first drain
    std::vector<const usb::DeviceInfo*> devices = (*host)->devices();
    std::sort(devices.begin(), devices.end(), [](const usb::DeviceInfo* a, const usb::DeviceInfo* b) {
        return a->bus != b->bus ? a->bus < b->bus : a->path < b->path;
    });
    if (json) print_json(config, devices);
    else print_table(config, devices);
    return 0;
}

}  // namespace usbhop::server
