// What `usbhop status` shows of an attached device's traffic: counters the
// Attachment keeps, and the rate over the last few seconds worked out from
// them each time attach rewrites the device's state file (about once a
// second). Pure.
#pragma once

#include <cstdint>
#include <deque>

#include "util/time.hpp"

namespace usbhop::client {

// Since the attach; in_flight comes from the UrbBridge.
struct UrbCounters {
    uint64_t urbs = 0;
    uint64_t bytes_in = 0, bytes_out = 0;
    uint64_t errors = 0;
    uint64_t unlinks = 0;
};

// Bytes per second from cumulative totals: (newest - oldest) / (time
// between them), over the samples of the last `window`. 0 until two samples
// are at least 100 ms apart.
class RateMeter {
public:
    explicit RateMeter(Nanos window = 5 * kSecond) : window_(window) {}
    void sample(Nanos now, uint64_t total_in, uint64_t total_out);
    uint64_t rate_in() const { return rate_in_; }
    uint64_t rate_out() const { return rate_out_; }

private:
    struct Sample {
        Nanos at;
        uint64_t in, out;
    };
    Nanos window_;
    std::deque<Sample> samples_;
    uint64_t rate_in_ = 0, rate_out_ = 0;
};

}  // namespace usbhop::client
