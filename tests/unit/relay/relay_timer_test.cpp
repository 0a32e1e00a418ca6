// quic::wait_until, the relay path's timer arithmetic: Nanos is unsigned, and
// a deadline that has just passed (a punch due the moment a session opened,
// handled more than 1 ms later on a slow machine) once wrapped into a timer
// centuries away, so that a node stopped punching and keeping alive (the lab's
// relay-nat scenarios, issue 7).
#include <doctest/doctest.h>

#include "quic/relay_path.hpp"

using namespace usbhop;

TEST_CASE("a relay path's timer waits until the deadline, at least 1 ms, and 1 ms for a deadline already past") {
    Nanos now = 20 * kSecond;
    CHECK(quic::wait_until(now + 50 * kMillisecond, now) == 50 * kMillisecond);
    CHECK(quic::wait_until(now + 10 * kSecond, now) == 10 * kSecond);
    CHECK(quic::wait_until(now, now) == kMillisecond);
    CHECK(quic::wait_until(now + 1000, now) == kMillisecond);
    CHECK(quic::wait_until(now - 1000, now) == kMillisecond);
    CHECK(quic::wait_until(now - 2 * kMillisecond, now) == kMillisecond);   // wrapped to ~584 years before
    CHECK(quic::wait_until(0, now) == kMillisecond);
}
