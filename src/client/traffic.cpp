#include "client/traffic.hpp"

namespace usbhop::client {

void RateMeter::sample(Nanos now, uint64_t total_in, uint64_t total_out) {
    samples_.push_back({now, total_in, total_out});
    // Keep one sample at or before the window's start, so the span is the whole window.
    while (samples_.size() > 2 && now - samples_[1].at >= window_) samples_.pop_front();
    const Sample& a = samples_.front();
    const Sample& b = samples_.back();
    Nanos span = b.at - a.at;
    if (span < 100 * kMillisecond) {
        rate_in_ = rate_out_ = 0;
        return;
    }
    auto per_second = [span](uint64_t from, uint64_t to) {
        return to <= from ? uint64_t{0}
                          : static_cast<uint64_t>(static_cast<double>(to - from) * kSecond / static_cast<double>(span));
    };
    rate_in_ = per_second(a.in, b.in);
    rate_out_ = per_second(a.out, b.out);
}

}  // namespace usbhop::client
