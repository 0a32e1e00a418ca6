// The one piece of state two threads share: a FIFO the libusb side pushes
// into and the loop thread empties. The caller's wake() (server/ wires it to
// uv_async_send) is called when the queue goes from empty to non-empty, so a
// burst of completions costs one wake-up; take_all() takes everything.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <utility>
#include <vector>

namespace usbhop::usb {

template <typename T>
class HandoffQueue {
public:
    explicit HandoffQueue(std::function<void()> wake) : wake_(std::move(wake)) {}
    HandoffQueue(const HandoffQueue&) = delete;
    HandoffQueue& operator=(const HandoffQueue&) = delete;

    // Any thread. wake() runs outside the lock, so it may take locks of its own.
    void push(T item) {
        bool was_empty;
        {
            std::lock_guard lock(mutex_);
            was_empty = items_.empty();
            items_.push_back(std::move(item));
        }
        cond_.notify_all();
        if (was_empty && wake_) wake_();
    }

    std::vector<T> take_all() {
        std::vector<T> out;
        std::lock_guard lock(mutex_);
        out.swap(items_);
        return out;
    }

    // For shutdown only: waits until something is queued or the time is up.
    bool wait_for(std::chrono::milliseconds timeout) {
        std::unique_lock lock(mutex_);
        return cond_.wait_for(lock, timeout, [&] { return !items_.empty(); });
    }

private:
    std::function<void()> wake_;
    std::mutex mutex_;
    std::condition_variable cond_;
    std::vector<T> items_;
};

}  // namespace usbhop::usb
