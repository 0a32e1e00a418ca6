// The rate `usbhop status` shows for an attached device (client/traffic.hpp).
#include <doctest/doctest.h>

#include "client/traffic.hpp"

using namespace usbhop;
using client::RateMeter;

TEST_CASE("the rate is the growth of the totals over the last few seconds") {
    RateMeter m(5 * kSecond);
    m.sample(10 * kSecond, 0, 0);
    CHECK(m.rate_in() == 0);  // one sample: no rate yet
    m.sample(11 * kSecond, 2'000'000, 500);
    CHECK(m.rate_in() == 2'000'000);
    CHECK(m.rate_out() == 500);
    for (int s = 12; s <= 20; ++s) m.sample(static_cast<Nanos>(s) * kSecond, 2'000'000, 500);
    // Idle for longer than the window: the rate falls to 0.
    CHECK(m.rate_in() == 0);
    CHECK(m.rate_out() == 0);
    m.sample(21 * kSecond, 12'000'000, 500);
    CHECK(m.rate_in() == 2'000'000);  // 10 MB over the 5 s window
}

TEST_CASE("samples closer than 100 ms give no rate rather than a wild one") {
    RateMeter m;
    m.sample(kSecond, 0, 0);
    m.sample(kSecond + 10 * kMillisecond, 1'000'000, 0);
    CHECK(m.rate_in() == 0);
}

TEST_CASE("a total that goes down (a new attachment's counters) is not a negative rate") {
    RateMeter m;
    m.sample(kSecond, 5'000, 5'000);
    m.sample(2 * kSecond, 1'000, 9'000);
    CHECK(m.rate_in() == 0);
    CHECK(m.rate_out() == 4'000);
}
