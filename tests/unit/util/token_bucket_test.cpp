// util/token_bucket: a bucket gives its burst, then its rate; a table of
// buckets gives each key its own and stays within its capacity, forgetting
// the key used least recently.
#include <doctest/doctest.h>

#include "util/token_bucket.hpp"

using namespace usbhop;

TEST_CASE("a token bucket gives its burst at once, then its rate, and never saves more than its burst") {
    Nanos t = 1000 * kSecond;
    TokenBucket b(10, 5, t);
    for (int i = 0; i < 5; ++i) CHECK(b.take(t));
    CHECK_FALSE(b.take(t));
    CHECK_FALSE(b.take(t + 50 * kMillisecond));   // half a token
    CHECK(b.take(t + 100 * kMillisecond));
    CHECK_FALSE(b.full(t + 100 * kMillisecond));
    CHECK(b.full(t + 10 * kSecond));
    for (int i = 0; i < 5; ++i) CHECK(b.take(t + 10 * kSecond));   // an hour idle saves 5, not 100
    CHECK_FALSE(b.take(t + 10 * kSecond));
    CHECK_FALSE(b.take(t + 10 * kSecond - kSecond));   // a clock read earlier does not refill
    b.charge(t + 10 * kSecond, 10);                     // debt: 10 tokens owed
    CHECK_FALSE(b.take(t + 10 * kSecond + 900 * kMillisecond));
    CHECK(b.take(t + 11 * kSecond + 100 * kMillisecond));
    CHECK_FALSE(b.take(t + 11 * kSecond, 100));   // more than the burst: never
}

TEST_CASE("keyed token buckets: one key's flood spends its own bucket; the table keeps its capacity") {
    Nanos t = 1000 * kSecond;
    KeyedTokenBuckets k(1, 3, 4);
    for (int i = 0; i < 3; ++i) CHECK(k.take("flood", t));
    CHECK_FALSE(k.take("flood", t));
    CHECK(k.take("quiet", t));   // another key is untouched
    for (int i = 0; i < 100; ++i) k.take("key" + std::to_string(i), t);
    CHECK(k.size() == 4);
    // "flood" was forgotten (least recently used): it comes back with a fresh bucket.
    CHECK(k.take("flood", t));
    // The most recent keys stay: key99 already spent one of its three.
    CHECK(k.take("key99", t));
    CHECK(k.take("key99", t));
    CHECK_FALSE(k.take("key99", t));
}
