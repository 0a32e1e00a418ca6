#include "server/local_list.hpp"

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "server/exports.hpp"
#include "usb/host.hpp"
#include "usb/storage_guard.hpp"
#include "util/json.hpp"
#include "util/printable.hpp"

namespace usbhop::server {

namespace {

std::string display_name(const usb::DeviceInfo& d) {
    std::string name = d.manufacturer;
    if (!d.product_name.empty()) name += (name.empty() ? "" : " ") + d.product_name;
    // Device strings come from the device; one column wide in the table
    // (--json has the whole strings).
    return name.empty() ? "-" : util::printable(name, 31);
}

// Why serve would refuse a device a rule shares (a storage device mounted
// here, without `force`), as usb::Host's claim would say it; "" when it would not.
std::string refusal(const std::vector<const config::ExportRule*>& rules, const usb::DeviceInfo& d) {
    if (rules.empty()) return "";
    for (const config::ExportRule* r : rules)
        if (r->force) return "";
    auto unused = usb::check_storage_unused(d.path);
    if (unused) return "";
    std::string why = unused.error().message;
    if (why.rfind(d.path + ": ", 0) == 0) why.erase(0, d.path.size() + 2);  // the table's first column says it
    return why;
}

// "laptop (4sbkbtrd…)", or the short ID alone when the key has no comment.
std::string holder_text(const Holder& h) {
    std::string id = h.peer.substr(0, 8) + "\u2026";
    return h.name.empty() ? id : util::printable(h.name, 40) + " (" + id + ")";
}

// docs/json.md, "usbhop list".
void print_json(const config::Config& config, const std::map<std::string, Holder>& holders,
                const std::vector<const usb::DeviceInfo*>& devices) {
    util::Json all = util::Json::array();
    for (const usb::DeviceInfo* d : devices) {
        auto rules = matching_rules(config.shares, *d);
        util::Json o = util::device_json({d->path, d->vendor, d->product, speed_name(d->speed)});
        o["manufacturer"] = d->manufacturer;
        o["product_name"] = d->product_name;
        o["serial"] = d->serial;
        o["busnum"] = d->bus;
        o["devnum"] = d->address;
        o["device_id"] = wire_device_id(*d);
        o["hub"] = d->is_hub;
        o["imported"] = d->imported;
        o["shared"] = !rules.empty();
        util::Json shares = util::Json::array();
        for (const config::ExportRule* r : rules) {
            util::Json peers = "all";
            if (!r->peers.empty()) {
                peers = util::Json::array();
                for (const auto& p : r->peers) peers.push_back(p.to_string());
            }
            shares.push_back({{"name", r->name}, {"peers", peers}});
        }
        o["shares"] = std::move(shares);
        std::string refused = refusal(rules, *d);
        o["refused"] = refused.empty() ? util::Json() : util::Json(refused);
        util::Json in_use;
        if (auto h = holders.find(d->path); h != holders.end())
            in_use = {{"peer", h->second.peer}, {"name", h->second.name.empty() ? util::Json() : util::Json(h->second.name)}};
        o["in_use_by"] = std::move(in_use);
        all.push_back(std::move(o));
    }
    std::printf("%s\n", util::json_lines(all).c_str());
}

void print_table(const config::Config& config, const std::map<std::string, Holder>& holders,
                 const std::vector<const usb::DeviceInfo*>& devices) {
    if (devices.empty()) {
        puts("no USB devices on this machine");
        return;
    }
    printf("%-10s %-9s %-10s %-32s %-16s %s\n", "PATH", "ID", "SPEED", "NAME", "SERIAL", "SHARED");
    for (const usb::DeviceInfo* d : devices) {
        std::string shared;
        if (d->is_hub) shared = "no (hub)";
        auto rules = matching_rules(config.shares, *d);
        for (const config::ExportRule* r : rules) {
            if (!shared.empty()) shared += "; ";
            shared += "\"" + r->name + "\" with " + shared_with(*r);
        }
        if (shared.empty() && d->imported)
            shared = "no (imported here over USB/IP: only a [share] rule with its path exports it)";
        if (shared.empty()) shared = "no (no [share] rule matches)";
        if (auto h = holders.find(d->path); h != holders.end()) shared += "; in use by " + holder_text(h->second);
        else if (std::string why = refusal(rules, *d); !why.empty()) shared += "; but serve refuses it: " + why;
        std::string serial = d->serial.empty() ? "-" : util::printable(d->serial);
        printf("%-10s %s:%s %-10s %-32s %-16s %s\n", d->path.c_str(), util::hex4(d->vendor).c_str(),
               util::hex4(d->product).c_str(), speed_name(d->speed), display_name(*d).c_str(), serial.c_str(),
               shared.c_str());
    }
}

}  // namespace

std::map<std::string, Holder> holders_from(const std::vector<quic::ReportFile>& files,
                                           const config::AuthorizedKeys& keys) {
    std::map<std::string, Holder> out;
    for (const quic::ReportFile& f : files) {
        if (f.role != "serve") continue;
        for (const quic::PathReport& r : f.reports) {
            Holder h{r.peer, {}};
            if (auto node = identity::NodeId::parse(r.peer))
                if (const config::AuthorizedKey* k = keys.find(*node)) h.name = k->comment;
            for (const std::string& path : r.devices) out[path] = h;
        }
    }
    return out;
}

int print_local_devices(const config::Config& config, const std::map<std::string, Holder>& holders, bool json) {
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
    if (json) print_json(config, holders, devices);
    else print_table(config, holders, devices);
    return 0;
}

}  // namespace usbhop::server
