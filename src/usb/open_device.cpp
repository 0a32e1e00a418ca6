#include "usb/open_device.hpp"

#include <cerrno>
#include <vector>

#include "util/log.hpp"

namespace usbhop::usb {

namespace {

std::string open_error(const std::string& path, int rc) {
    std::string msg = path + ": cannot open the device: " + libusb_error_text(rc);
    if (rc == LIBUSB_ERROR_ACCESS)
        msg += "; run usbhop serve as root or install its udev rules so the service user may open USB devices";
    return msg;
}

// Interface numbers of the active configuration; empty when unconfigured.
std::vector<uint8_t> active_interfaces(libusb_device* dev) {
    std::vector<uint8_t> out;
    libusb_config_descriptor* c = nullptr;
    if (libusb_get_active_config_descriptor(dev, &c) != 0) return out;
    for (int i = 0; i < c->bNumInterfaces; ++i)
        if (c->interface[i].num_altsetting > 0) out.push_back(c->interface[i].altsetting[0].bInterfaceNumber);
    libusb_free_config_descriptor(c);
    return out;
}

}  // namespace

Result<std::unique_ptr<OpenDevice>> OpenDevice::open(const DeviceRef& dev, const std::string& path) {
    libusb_device_handle* handle = nullptr;
    int rc = libusb_open(dev.get(), &handle);
    if (rc != 0) return make_error(open_error(path, rc), rc == LIBUSB_ERROR_NO_DEVICE ? -ENODEV : -EACCES);
    std::unique_ptr<OpenDevice> d(new OpenDevice(dev, handle, path));
    int value = 0;
    if (libusb_get_configuration(handle, &value) == 0) d->config_ = d->original_config_ = static_cast<uint8_t>(value);
    if (auto claimed = d->claim_all(); !claimed) {
        d->release_interfaces();
        libusb_device_handle* h = d->handle_;
        for (uint8_t intf : active_interfaces(dev.get())) libusb_attach_kernel_driver(h, intf);
        return claimed.error();
    }
    return d;
}

OpenDevice::~OpenDevice() { close(); }

Result<void> OpenDevice::claim_all() {
    for (uint8_t intf : active_interfaces(dev_.get())) {
        if (libusb_kernel_driver_active(handle_, intf) == 1) {
            int rc = libusb_detach_kernel_driver(handle_, intf);
            if (rc != 0 && rc != LIBUSB_ERROR_NOT_FOUND)
                return make_error(path_ + ": cannot detach the kernel driver from interface " + std::to_string(intf) +
                                  ": " + libusb_error_text(rc));
        }
        int rc = libusb_claim_interface(handle_, intf);
        if (rc == LIBUSB_ERROR_BUSY)
            return make_error(path_ + ": interface " + std::to_string(intf) +
                                  " is in use by another program on this machine; stop it and try again",
                              -EBUSY);
        if (rc != 0)
            return make_error(path_ + ": cannot claim interface " + std::to_string(intf) + ": " + libusb_error_text(rc),
                              rc == LIBUSB_ERROR_NO_DEVICE ? -ENODEV : -EIO);
        claimed_.insert(intf);
    }
    return {};
}

void OpenDevice::release_interfaces() {
    for (uint8_t intf : claimed_) libusb_release_interface(handle_, intf);
    claimed_.clear();
}

int OpenDevice::set_configuration(uint8_t value) {
    // usbfs refuses to change the configuration while any interface is
    // claimed; the new configuration's interfaces may attract kernel drivers,
    // which claim_all() detaches again.
    release_interfaces();
    int rc = libusb_set_configuration(handle_, value);
    int now = 0;
    if (libusb_get_configuration(handle_, &now) == 0) config_ = static_cast<uint8_t>(now);
    if (auto claimed = claim_all(); !claimed)
        log::write(log::Level::warning, log::Fields().busid(path_), "%s", claimed.error().message.c_str());
    return rc;
}

int OpenDevice::set_interface(uint8_t interface, uint8_t alt) {
    return libusb_set_interface_alt_setting(handle_, interface, alt);
}

int OpenDevice::clear_halt(uint8_t endpoint) { return libusb_clear_halt(handle_, endpoint); }

int OpenDevice::reset() { return libusb_reset_device(handle_); }

void OpenDevice::release(bool reset_device, bool present) {
    if (!handle_) return;
    release_interfaces();
    if (present) {
        if (reset_device) {
            int rc = libusb_reset_device(handle_);
            if (rc != 0 && rc != LIBUSB_ERROR_NOT_FOUND && rc != LIBUSB_ERROR_NO_DEVICE)
                log::write(log::Level::warning, log::Fields().busid(path_), "%s: reset on release failed: %s",
                           path_.c_str(), libusb_error_text(rc).c_str());
        }
        int now = 0;
        if (original_config_ != 0 && libusb_get_configuration(handle_, &now) == 0 && now != original_config_) {
            int rc = libusb_set_configuration(handle_, original_config_);
            if (rc != 0)
                log::write(log::Level::warning, log::Fields().busid(path_), "%s: cannot restore configuration %u: %s",
                           path_.c_str(), original_config_, libusb_error_text(rc).c_str());
        }
        // Every interface, not only those we detached: the device should look
        // freshly plugged to this machine. "No driver wants it" and "already
        // bound" are fine.
        for (uint8_t intf : active_interfaces(dev_.get())) {
            int rc = libusb_attach_kernel_driver(handle_, intf);
            if (rc != 0 && rc != LIBUSB_ERROR_NOT_FOUND && rc != LIBUSB_ERROR_BUSY && rc != LIBUSB_ERROR_NO_DEVICE)
                log::write(log::Level::debug, log::Fields().busid(path_),
                           "%s: interface %u: kernel driver not re-attached: %s", path_.c_str(), intf,
                           libusb_error_text(rc).c_str());
        }
    }
    close();
}

void OpenDevice::close() {
    if (!handle_) return;
    libusb_close(handle_);
    handle_ = nullptr;
}

}  // namespace usbhop::usb
