#include "usb/usb_thread.hpp"

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "usb/descriptors.hpp"
#include "util/files.hpp"
#include "util/log.hpp"

namespace usbhop::usb {

namespace {

const char kSysfsDevices[] = "/sys/bus/usb/devices/";

// Whether bus `bus` is a root hub of vhci_hcd: sysfs puts it under the
// platform device, /sys/devices/platform/vhci_hcd.N/usbB.
bool on_vhci_bus(uint8_t bus) {
    char link[64];
    std::snprintf(link, sizeof link, "/sys/bus/usb/devices/usb%u", bus);
    char target[PATH_MAX];
    if (!::realpath(link, target)) return false;
    return std::string_view(target).find("/vhci_hcd.") != std::string_view::npos;
}

std::optional<std::string> read_sysfs(const std::string& path, const char* attr) {
    auto text = read_file(kSysfsDevices + path + "/" + attr);
    if (!text) return std::nullopt;
    std::string s = std::move(*text);
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
}

void put_le16(Bytes& out, uint16_t v) {
    out.push_back(std::byte(v & 0xff));
    out.push_back(std::byte(v >> 8));
}

Bytes serialise_device_descriptor(const libusb_device_descriptor& d) {
    Bytes b;
    b.push_back(std::byte(d.bLength));
    b.push_back(std::byte(d.bDescriptorType));
    put_le16(b, d.bcdUSB);
    for (uint8_t v : {d.bDeviceClass, d.bDeviceSubClass, d.bDeviceProtocol, d.bMaxPacketSize0})
        b.push_back(std::byte(v));
    put_le16(b, d.idVendor);
    put_le16(b, d.idProduct);
    put_le16(b, d.bcdDevice);
    for (uint8_t v : {d.iManufacturer, d.iProduct, d.iSerialNumber, d.bNumConfigurations}) b.push_back(std::byte(v));
    return b;
}

void append(Bytes& out, const unsigned char* p, int n) {
    if (p && n > 0)
        out.insert(out.end(), reinterpret_cast<const std::byte*>(p), reinterpret_cast<const std::byte*>(p) + n);
}

// When sysfs cannot be read: rebuild the raw descriptor from libusb's parsed
// copy. libusb keeps every class-specific descriptor in `extra`, in order, so
// only the grouping of alt settings by interface may differ from the device's.
Bytes serialise_config(const libusb_config_descriptor& c) {
    Bytes b;
    b.push_back(std::byte(9));
    b.push_back(std::byte(LIBUSB_DT_CONFIG));
    put_le16(b, 0);  // wTotalLength, filled in below
    for (uint8_t v : {c.bNumInterfaces, c.bConfigurationValue, c.iConfiguration, c.bmAttributes, c.MaxPower})
        b.push_back(std::byte(v));
    append(b, c.extra, c.extra_length);
    for (int i = 0; i < c.bNumInterfaces; ++i) {
        const libusb_interface& intf = c.interface[i];
        for (int a = 0; a < intf.num_altsetting; ++a) {
            const libusb_interface_descriptor& id = intf.altsetting[a];
            for (uint8_t v :
                 {uint8_t(9), uint8_t(LIBUSB_DT_INTERFACE), id.bInterfaceNumber, id.bAlternateSetting, id.bNumEndpoints,
                  id.bInterfaceClass, id.bInterfaceSubClass, id.bInterfaceProtocol, id.iInterface})
                b.push_back(std::byte(v));
            append(b, id.extra, id.extra_length);
            for (int e = 0; e < id.bNumEndpoints; ++e) {
                const libusb_endpoint_descriptor& ed = id.endpoint[e];
                uint8_t len = ed.bLength >= 9 ? 9 : 7;  // audio endpoints carry bRefresh and bSynchAddress
                b.push_back(std::byte(len));
                b.push_back(std::byte(LIBUSB_DT_ENDPOINT));
                b.push_back(std::byte(ed.bEndpointAddress));
                b.push_back(std::byte(ed.bmAttributes));
                put_le16(b, ed.wMaxPacketSize);
                b.push_back(std::byte(ed.bInterval));
                if (len == 9) {
                    b.push_back(std::byte(ed.bRefresh));
                    b.push_back(std::byte(ed.bSynchAddress));
                }
                append(b, ed.extra, ed.extra_length);
            }
        }
    }
    b[2] = std::byte(b.size() & 0xff);
    b[3] = std::byte(b.size() >> 8);
    return b;
}

}  // namespace

UsbThread::UsbThread(libusb_context* ctx, Sink sink) : ctx_(ctx), sink_(std::move(sink)) {}

DeviceInfo UsbThread::describe(libusb_device* dev, DeviceId id) {
    DeviceInfo info;
    info.id = id;
    info.bus = libusb_get_bus_number(dev);
    info.address = libusb_get_device_address(dev);
    uint8_t ports[8];
    int n = libusb_get_port_numbers(dev, ports, sizeof ports);
    info.path = format_bus_path(info.bus, std::span<const uint8_t>(ports, n > 0 ? size_t(n) : 0));
    info.speed = speed_from_libusb(libusb_get_device_speed(dev));

    libusb_device_descriptor dd{};
    libusb_get_device_descriptor(dev, &dd);  // cached by libusb, cannot fail since 1.0.16
    info.vendor = dd.idVendor;
    info.product = dd.idProduct;
    info.bcd_device = dd.bcdDevice;
    info.device_class = dd.bDeviceClass;
    info.device_subclass = dd.bDeviceSubClass;
    info.device_protocol = dd.bDeviceProtocol;
    info.is_hub = dd.bDeviceClass == kClassHub;
    info.imported = on_vhci_bus(info.bus);

    // sysfs has the raw bytes of every configuration and the strings the
    // kernel read at enumeration: no I/O to the device, no permission needed.
    bool from_sysfs = false;
    if (auto raw = read_sysfs(info.path, "descriptors")) {
        if (auto split = split_descriptors(as_bytes(*raw))) {
            info.device_descriptor = split->device;
            for (const Bytes& c : split->configurations) {
                auto parsed = parse_configuration(c);
                if (!parsed) {
                    log::write(log::Level::warning, log_fields(info), "%s: %s", info.path.c_str(),
                               parsed.error().message.c_str());
                    continue;
                }
                info.configurations.push_back(std::move(*parsed));
            }
            from_sysfs = true;
        }
    }
    if (!from_sysfs) {
        info.device_descriptor = serialise_device_descriptor(dd);
        info.configurations.clear();
        for (uint8_t i = 0; i < dd.bNumConfigurations; ++i) {
            libusb_config_descriptor* c = nullptr;
            if (libusb_get_config_descriptor(dev, i, &c) != 0) continue;
            auto parsed = parse_configuration(serialise_config(*c));
            libusb_free_config_descriptor(c);
            if (parsed) info.configurations.push_back(std::move(*parsed));
        }
    }
    if (auto v = read_sysfs(info.path, "bConfigurationValue")) {
        info.active_config = static_cast<uint8_t>(std::atoi(v->c_str()));
    } else {
        libusb_config_descriptor* c = nullptr;
        if (libusb_get_active_config_descriptor(dev, &c) == 0) {
            info.active_config = c->bConfigurationValue;
            libusb_free_config_descriptor(c);
        }
    }
    info.manufacturer = read_sysfs(info.path, "manufacturer").value_or("");
    info.product_name = read_sysfs(info.path, "product").value_or("");
    info.serial = read_sysfs(info.path, "serial").value_or("");
    return info;
}

Result<void> UsbThread::start() {
    auto done = registered_.get_future();
    thread_ = std::thread([this] {
        int rc = LIBUSB_ERROR_NOT_SUPPORTED;
        if (libusb_has_capability(LIBUSB_CAP_HAS_HOTPLUG)) {
            rc = libusb_hotplug_register_callback(
                ctx_,
                static_cast<libusb_hotplug_event>(LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED |
                                                  LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT),
                LIBUSB_HOTPLUG_ENUMERATE, LIBUSB_HOTPLUG_MATCH_ANY, LIBUSB_HOTPLUG_MATCH_ANY, LIBUSB_HOTPLUG_MATCH_ANY,
                &UsbThread::on_hotplug_trampoline, this, &hotplug_handle_);
        }
        if (rc == LIBUSB_SUCCESS) {
            hotplug_registered_ = true;
        } else {
            // Without hot-plug the devices present now are all we will see.
            log::warning("libusb hot-plug is unavailable (%s): devices plugged in later will not be seen",
                         libusb_error_text(rc).c_str());
            libusb_device** list = nullptr;
            ssize_t n = libusb_get_device_list(ctx_, &list);
            for (ssize_t i = 0; i < n; ++i) arrive(list[i]);
            if (n >= 0) libusb_free_device_list(list, 1);
        }
        process_hotplug();
        registered_.set_value(Result<void>());
        run();
    });
    return done.get();
}

void UsbThread::stop() {
    if (!thread_.joinable()) return;
    stop_ = true;
    if (hotplug_registered_) libusb_hotplug_deregister_callback(ctx_, hotplug_handle_);
    libusb_interrupt_event_handler(ctx_);
    thread_.join();
    pending_.clear();
    known_.clear();
}

int UsbThread::on_hotplug_trampoline(libusb_context*, libusb_device* dev, libusb_hotplug_event event, void* self) {
    return static_cast<UsbThread*>(self)->on_hotplug(dev, event);
}

int UsbThread::on_hotplug(libusb_device* dev, libusb_hotplug_event event) {
    std::lock_guard lock(pending_mutex_);
    pending_.emplace_back(DeviceRef(dev), event);
    return 0;  // stay registered
}

void UsbThread::run() {
    while (!stop_) {
        timeval tv{0, 200'000};  // bounds how late a hot-plug seen on another thread is processed
        int rc = libusb_handle_events_timeout_completed(ctx_, &tv, nullptr);
        if (rc != 0 && rc != LIBUSB_ERROR_INTERRUPTED) {
            log::error("libusb event handling failed: %s", libusb_error_text(rc).c_str());
            tv = {0, 100'000};
            select(0, nullptr, nullptr, nullptr, &tv);  // do not spin on a persistent failure
        }
        process_hotplug();
    }
}

void UsbThread::process_hotplug() {
    std::vector<std::pair<DeviceRef, libusb_hotplug_event>> batch;
    {
        std::lock_guard lock(pending_mutex_);
        batch.swap(pending_);
    }
    for (auto& [dev, event] : batch) {
        if (event == LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED) arrive(dev.get());
        else leave(dev.get());
    }
}

void UsbThread::arrive(libusb_device* dev) {
    // With ENUMERATE libusb may report one arrival twice (its documentation says so).
    if (known_.count(dev)) return;
    DeviceId id = next_id_++;
    known_.emplace(dev, std::make_pair(DeviceRef(dev), id));
    DeviceInfo info = describe(dev, id);
    log::write(log::Level::debug, log_fields(info), "usb: %s arrived (%04x:%04x, id %u)", info.path.c_str(),
               info.vendor, info.product, id);
    sink_.arrived(std::move(info), DeviceRef(dev));
}

void UsbThread::leave(libusb_device* dev) {
    auto it = known_.find(dev);
    if (it == known_.end()) return;  // a departure without an arrival (ENUMERATE race)
    DeviceId id = it->second.second;
    uint8_t ports[8];
    int n = libusb_get_port_numbers(dev, ports, sizeof ports);
    std::string path =
        format_bus_path(libusb_get_bus_number(dev), std::span<const uint8_t>(ports, n > 0 ? size_t(n) : 0));
    known_.erase(it);
    log::write(log::Level::debug, log::Fields().busid(path), "usb: %s left (id %u)", path.c_str(), id);
    sink_.left(id, std::move(path));
}

}  // namespace usbhop::usb
