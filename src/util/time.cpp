#include "util/time.hpp"

#include <charconv>
#include <ctime>

namespace usbhop {

Nanos monotonic_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<Nanos>(ts.tv_sec) * kSecond + static_cast<Nanos>(ts.tv_nsec);
}

std::optional<Nanos> parse_duration(std::string_view text) {
    uint64_t n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || end == text.data()) return std::nullopt;
    std::string_view unit(end, static_cast<size_t>(text.data() + text.size() - end));
    Nanos scale;
    if (unit.empty() || unit == "s") scale = kSecond;
    else if (unit == "ms") scale = kMillisecond;
    else if (unit == "us") scale = 1000;
    else if (unit == "m" || unit == "min") scale = 60 * kSecond;
    else if (unit == "h") scale = 3600 * kSecond;
    else return std::nullopt;
    if (n > UINT64_MAX / scale) return std::nullopt;
    return n * scale;
}

std::string format_duration(Nanos ns) {
    if (ns % kSecond == 0) {
        uint64_t s = ns / kSecond;
        if (s != 0 && s % 3600 == 0) return std::to_string(s / 3600) + "h";
        if (s != 0 && s % 60 == 0) return std::to_string(s / 60) + "m";
        return std::to_string(s) + "s";
    }
    if (ns % kMillisecond == 0) return std::to_string(ns / kMillisecond) + "ms";
    return std::to_string(ns / 1000) + "us";
}

std::string format_local_time(int64_t unix_seconds) {
    char b[32];
    std::time_t tt = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    localtime_r(&tt, &tm);
    std::strftime(b, sizeof b, "%Y-%m-%d %H:%M:%S", &tm);
    return b;
}

}  // namespace usbhop
