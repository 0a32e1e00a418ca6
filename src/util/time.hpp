// Monotonic time in nanoseconds (what ngtcp2 and the timers speak), and
// durations as people write them in config: "30s", "500ms", "2m", "1h".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace usbhop {

using Nanos = uint64_t;
constexpr Nanos kMillisecond = 1'000'000;
constexpr Nanos kSecond = 1'000'000'000;

Nanos monotonic_ns();

// "30s", "250ms", "2m", "1h", "1500us"; a bare number means seconds.
std::optional<Nanos> parse_duration(std::string_view text);
std::string format_duration(Nanos ns);

// Unix seconds as local time for tables: "2026-12-06 02:00:00".
std::string format_local_time(int64_t unix_seconds);

}  // namespace usbhop
