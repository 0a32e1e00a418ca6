// A device opened and claimed for export: the libusb_device_handle, the
// interfaces we claimed and the kernel drivers we detached to do so, so that
// releasing gives the device back to this machine as we found it. Every
// method blocks (ioctls, a reset can take a second): Host calls them on its
// Worker thread only. Internal to usb/.
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>

#include "usb/libusb_ptr.hpp"
#include "usb/types.hpp"
#include "util/result.hpp"

namespace usbhop::usb {

class OpenDevice {
public:
    // Opens `dev`, detaches kernel drivers from every interface of the active
    // configuration and claims them all; on failure nothing stays changed.
    static Result<std::unique_ptr<OpenDevice>> open(const DeviceRef& dev, const std::string& path);

    OpenDevice(const OpenDevice&) = delete;
    OpenDevice& operator=(const OpenDevice&) = delete;
    ~OpenDevice();  // closes without resetting; release() is the polite way

    libusb_device_handle* handle() const { return handle_; }
    uint8_t configuration() const { return config_; }

    // The intercepted standard requests; each returns a libusb_error (0 = ok).
    int set_configuration(uint8_t value);
    int set_interface(uint8_t interface, uint8_t alt);
    int clear_halt(uint8_t endpoint);
    int reset();

    // Releases our interfaces, resets the device when asked (and it is still
    // there), restores the configuration it had and lets the kernel drivers
    // bind again. Then closes. Errors are logged, not returned: there is
    // nothing a caller could do about them.
    void release(bool reset_device, bool present);

private:
    OpenDevice(DeviceRef dev, libusb_device_handle* handle, std::string path)
        : dev_(std::move(dev)), handle_(handle), path_(std::move(path)) {}
    Result<void> claim_all();
    void release_interfaces();
    void close();

    DeviceRef dev_;
    libusb_device_handle* handle_ = nullptr;
    std::string path_;
    uint8_t config_ = 0;           // current bConfigurationValue
    uint8_t original_config_ = 0;  // what it was when we opened it
    std::set<uint8_t> claimed_;
};

}  // namespace usbhop::usb
