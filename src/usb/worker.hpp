// A thread that runs jobs one at a time, in the order they were posted. usb/
// uses it for the libusb calls that block (claiming, SET_CONFIGURATION,
// SET_INTERFACE, clear halt, reset, release) so that neither the loop thread
// nor the libusb event thread ever waits on them. Internal to usb/.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace usbhop::usb {

class Worker {
public:
    Worker() : thread_([this] { run(); }) {}
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;
    ~Worker() { stop(); }

    void post(std::function<void()> job) {
        {
            std::lock_guard lock(mutex_);
            jobs_.push_back(std::move(job));
        }
        cond_.notify_one();
    }

    // Runs every job already posted, then joins.
    void stop() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        cond_.notify_one();
        if (thread_.joinable()) thread_.join();
    }

private:
    void run() {
        for (;;) {
            std::function<void()> job;
            {
                std::unique_lock lock(mutex_);
                cond_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
                if (jobs_.empty()) return;
                job = std::move(jobs_.front());
                jobs_.pop_front();
            }
            job();
        }
    }

    std::mutex mutex_;
    std::condition_variable cond_;
    std::deque<std::function<void()>> jobs_;
    bool stopping_ = false;
    std::thread thread_;  // last: starts after the members it uses exist
};

}  // namespace usbhop::usb
