// One owner for each libusb object usb/ holds, freed in its destructor:
// the context, a reference to a device, a transfer. Internal to usb/.
#pragma once

#include <libusb.h>

#include <memory>
#include <string>

namespace usbhop::usb {

struct ContextExit {
    void operator()(libusb_context* c) const { libusb_exit(c); }
};
using ContextPtr = std::unique_ptr<libusb_context, ContextExit>;

struct TransferFree {
    void operator()(libusb_transfer* t) const { libusb_free_transfer(t); }
};
using TransferPtr = std::unique_ptr<libusb_transfer, TransferFree>;

// A counted reference to a libusb_device (libusb_ref_device/unref are
// thread-safe, so a DeviceRef may be handed from one thread to another).
class DeviceRef {
public:
    DeviceRef() = default;
    // Takes a new reference on `dev`.
    explicit DeviceRef(libusb_device* dev) : dev_(dev ? libusb_ref_device(dev) : nullptr) {}
    DeviceRef(const DeviceRef& o) : DeviceRef(o.dev_) {}
    DeviceRef(DeviceRef&& o) noexcept : dev_(o.dev_) { o.dev_ = nullptr; }
    DeviceRef& operator=(DeviceRef o) noexcept {
        std::swap(dev_, o.dev_);
        return *this;
    }
    ~DeviceRef() {
        if (dev_) libusb_unref_device(dev_);
    }
    libusb_device* get() const { return dev_; }
    explicit operator bool() const { return dev_ != nullptr; }

private:
    libusb_device* dev_ = nullptr;
};

// "LIBUSB_ERROR_BUSY: Resource busy" style text for messages.
inline std::string libusb_error_text(int code) {
    return std::string(libusb_error_name(code)) + " (" + libusb_strerror(code) + ")";
}

}  // namespace usbhop::usb
