// The libusb event thread (docs/architecture.md#threads). It runs
// libusb_handle_events, so transfer completions are delivered on it, and it
// receives hot-plug arrivals and departures, describes each new device
// (descriptors, names, path, speed) and hands both to its sink. It owns
// nothing but libusb's event handling and its own device-to-id map; the sink
// must only hand data on (Host's sink pushes into the HandoffQueue).
// Internal to usb/: server/ sees usb::Host.
#pragma once

#include <atomic>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "usb/libusb_ptr.hpp"
#include "usb/types.hpp"
#include "util/result.hpp"

namespace usbhop::usb {

class UsbThread {
public:
    struct Sink {
        std::function<void(DeviceInfo, DeviceRef)> arrived;
        std::function<void(DeviceId, std::string path)> left;
    };

    UsbThread(libusb_context* ctx, Sink sink);
    UsbThread(const UsbThread&) = delete;
    UsbThread& operator=(const UsbThread&) = delete;
    ~UsbThread() { stop(); }

    // Starts the thread and waits until it has registered for hot-plug and
    // reported every device already present.
    Result<void> start();
    // Deregisters, interrupts libusb_handle_events and joins.
    void stop();

    // Builds the description of `dev` (also used when hot-plug is missing).
    static DeviceInfo describe(libusb_device* dev, DeviceId id);

private:
    static int on_hotplug_trampoline(libusb_context*, libusb_device* dev, libusb_hotplug_event event, void* self);
    int on_hotplug(libusb_device* dev, libusb_hotplug_event event);
    void run();
    void process_hotplug();
    void arrive(libusb_device* dev);
    void leave(libusb_device* dev);

    libusb_context* ctx_;
    Sink sink_;
    std::promise<Result<void>> registered_;
    std::thread thread_;
    std::atomic<bool> stop_{false};
    bool hotplug_registered_ = false;
    libusb_hotplug_callback_handle hotplug_handle_ = 0;

    // Hot-plug callbacks run on whichever thread is handling libusb events at
    // the time, so they only queue here; run() does the work.
    std::mutex pending_mutex_;
    std::vector<std::pair<DeviceRef, libusb_hotplug_event>> pending_;

    // Touched by the event thread only.
    std::map<libusb_device*, std::pair<DeviceRef, DeviceId>> known_;
    DeviceId next_id_ = 1;
};

}  // namespace usbhop::usb
