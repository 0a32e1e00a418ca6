#include <doctest/doctest.h>

#include "util/time.hpp"

using namespace usbhop;

TEST_CASE("durations parse as people write them in config") {
    CHECK(parse_duration("30s") == 30 * kSecond);
    CHECK(parse_duration("30") == 30 * kSecond);
    CHECK(parse_duration("250ms") == 250 * kMillisecond);
    CHECK(parse_duration("2m") == 120 * kSecond);
    CHECK(parse_duration("1h") == 3600 * kSecond);
    CHECK(parse_duration("15us") == 15000u);
    CHECK_FALSE(parse_duration(""));
    CHECK_FALSE(parse_duration("s"));
    CHECK_FALSE(parse_duration("-5s"));
    CHECK_FALSE(parse_duration("5 s"));
    CHECK_FALSE(parse_duration("5d"));
    CHECK_FALSE(parse_duration("99999999999999999999s"));
    CHECK(format_duration(30 * kSecond) == "30s");
    CHECK(format_duration(120 * kSecond) == "2m");
    CHECK(format_duration(250 * kMillisecond) == "250ms");
}

TEST_CASE("monotonic time moves forward") {
    Nanos a = monotonic_ns();
    Nanos b = monotonic_ns();
    CHECK(b >= a);
}
