// usb/: this machine's USB devices, as `usbhop serve` exports them.
//
// usb::Host owns libusb. It keeps a registry of the devices plugged in (with
// their descriptors, names, bus path and speed), claims a device for export
// (kernel drivers detached, every interface claimed) and gives it back
// (interfaces released, device reset, kernel drivers bound again), and runs
// URBs as libusb asynchronous transfers, many in flight per endpoint.
//
// Threads (docs/architecture.md#threads):
//   - the caller's loop thread calls every method here;
//   - the libusb event thread (UsbThread) runs libusb_handle_events: hot-plug
//     and transfer completions;
//   - a worker thread runs the libusb calls that block: claiming, releasing,
//     reset and the intercepted SET_CONFIGURATION / SET_INTERFACE /
//     CLEAR_FEATURE(ENDPOINT_HALT), so neither the loop nor the event thread
//     ever waits on a device.
// The two threads only push into one queue; then the caller's wake() runs
// (on their thread: make it uv_async_send or similar). The loop thread calls
// drain(), which applies everything to the registry and returns it as
// Events. The registry, the transfers in flight and all device state belong
// to the loop thread alone.
//
// Promises: every submit() that returns ok is answered by exactly one
// TransferDone, also when the device is unplugged (status no_device) or
// released (cancelled); DeviceLeft comes after a device's last TransferDone;
// every claim()/release()/reset() that returns ok is answered by exactly one
// DeviceOpDone (except release of a device that left: DeviceLeft answers).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "usb/types.hpp"
#include "util/result.hpp"

namespace usbhop::usb {

struct HostOptions {
    // Bytes of transfer buffers one device may have in flight. Linux caps all
    // of usbfs at /sys/module/usbcore/parameters/usbfs_memory_mb (16 MB by
    // default); 0 takes a quarter of that (at least 1 MiB), so that four busy
    // devices fit. A submit past the limit fails with a clear error.
    size_t max_inflight_bytes = 0;
    // Control transfers only; 0 (the default) means none, as for bulk and
    // interrupt transfers: the client's driver decides when to give up, by
    // unlinking, as with usbip-host. Some drivers wait longer than any fixed
    // limit here would (timeout 0 in usb_control_msg, firmware updates), and a
    // libusb timeout costs a timerfd_settime on submit and another on completion.
    std::chrono::milliseconds control_timeout{0};
};

struct ClaimOptions {
    // Take a storage device even though its file systems are mounted here.
    bool force = false;
    // Reset the device when it is given back (skipped anyway for devices on
    // the built-in list of those that do not survive a reset).
    bool reset_on_release = true;
};

class Host {
public:
    // Starts libusb, the event thread and the worker. When this returns, a
    // DeviceArrived for every device already plugged in is queued (so the
    // first drain() lists them all). `wake` must stay callable until the Host
    // is destroyed; it runs on the libusb threads.
    static Result<std::unique_ptr<Host>> start(std::function<void()> wake, HostOptions options = {});
    // Cancels what is in flight, gives every claimed device back to its
    // kernel drivers and stops both threads (waits up to a few seconds).
    ~Host();
    Host(const Host&) = delete;
    Host& operator=(const Host&) = delete;

    // Everything that happened since the last call, oldest first.
    std::vector<Event> drain();

    // The registry as of the events drained so far.
    const DeviceInfo* device(DeviceId id) const;
    std::vector<const DeviceInfo*> devices() const;

    // Opens the device and claims it; answered by DeviceOpDone{claim}.
    // Refused at once for hubs, unknown ids and devices already claimed.
    Result<void> claim(DeviceId id, ClaimOptions options = {});
    // Cancels every transfer in flight (each answered by its TransferDone),
    // then gives the device back; answered by DeviceOpDone{release}.
    Result<void> release(DeviceId id);
    // USB port reset (libusb_reset_device); answered by DeviceOpDone{reset}.
    Result<void> reset(DeviceId id);
    bool is_claimed(DeviceId id) const;

    // The endpoint as the active configuration and alt settings define it;
    // how server/ learns a URB's transfer type (USB/IP only carries the
    // endpoint number and direction). Endpoint 0 is control.
    std::optional<Endpoint> endpoint(DeviceId id, uint8_t address) const;

    // Starts one transfer on a claimed device. SET_CONFIGURATION,
    // SET_INTERFACE, CLEAR_FEATURE(ENDPOINT_HALT) and a hub-port reset are
    // carried out with libusb's own calls on the worker thread, not sent raw.
    // An error means no transfer started and no TransferDone will come; its
    // code is the negative errno a USB/IP RET_SUBMIT would carry.
    Result<void> submit(DeviceId id, Urb urb);
    // Asks libusb to cancel; true if the transfer was still in flight. Its
    // TransferDone then says cancelled, or completed if the device was
    // faster: the caller decides which answer its peer gets. Intercepted
    // requests cannot be cancelled (false).
    bool cancel(DeviceId id, uint64_t seqnum);
    size_t in_flight(DeviceId id) const;
    size_t max_inflight_bytes() const;

    struct Impl;

private:
    explicit Host(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// Devices that must not be reset when given back, as usbredir keeps them.
bool is_on_no_reset_list(uint16_t vendor, uint16_t product);

}  // namespace usbhop::usb
