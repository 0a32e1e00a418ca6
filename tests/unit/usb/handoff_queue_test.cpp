#include <doctest/doctest.h>

#include <atomic>
#include <thread>

#include "usb/handoff_queue.hpp"

using namespace usbhop::usb;

TEST_CASE("the handoff queue wakes once per empty-to-busy change and keeps order") {
    int wakes = 0;
    HandoffQueue<int> q([&] { ++wakes; });
    q.push(1);
    q.push(2);
    q.push(3);
    CHECK(wakes == 1);
    CHECK(q.take_all() == std::vector<int>{1, 2, 3});
    CHECK(q.take_all().empty());
    q.push(4);
    CHECK(wakes == 2);
    CHECK(q.take_all() == std::vector<int>{4});
}

TEST_CASE("items pushed from another thread all arrive, in that thread's order") {
    std::atomic<int> wakes{0};
    HandoffQueue<int> q([&] { ++wakes; });
    constexpr int kCount = 100000;
    std::thread producer([&] {
        for (int i = 0; i < kCount; ++i) q.push(i);
    });
    std::vector<int> got;
    while (got.size() < size_t(kCount)) {
        q.wait_for(std::chrono::milliseconds(100));
        for (int v : q.take_all()) got.push_back(v);
    }
    producer.join();
    std::vector<int> expected(kCount);
    for (int i = 0; i < kCount; ++i) expected[i] = i;
    CHECK(got == expected);
    CHECK(wakes >= 1);
    CHECK(wakes <= kCount);
}
