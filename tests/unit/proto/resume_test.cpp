#include <doctest/doctest.h>

#include "proto/resume.hpp"

using namespace usbhop;
using namespace usbhop::proto;

TEST_CASE("resume: the client resends only what the server never saw, and gets held results once") {
    struct Case {
        const char* name;
        SeqRanges pending;
        std::vector<uint64_t> held;
        std::vector<uint64_t> in_flight;
        ResumePlan want;
    };
    const Case cases[] = {
        {"nothing pending, nothing held", {}, {}, {}, {}},
        {"all pending in flight", {{1, 3}}, {}, {1, 2, 3}, {{}, {}, {}}},
        {"server saw nothing", {{4, 3}}, {}, {}, {{{4, 3}}, {}, {}}},
        {"results the client already has are forgotten", {{5, 1}}, {1, 2, 3}, {5}, {{}, {1, 2, 3}, {}}},
        {"held results the client waits for are sent again", {{1, 2}}, {1, 2}, {}, {{}, {}, {1, 2}}},
        {"a mix: 10 in flight, 11 held, 12-13 lost, 20 held, 21 lost",
         {{10, 4}, {20, 2}},
         {20, 11, 9},
         {10},
         {{{12, 2}, {21, 1}}, {9}, {11, 20}}},
        {"a hole in the middle of a run", {{1, 5}}, {3}, {}, {{{1, 2}, {4, 2}}, {}, {3}}},
        {"a huge pending run is split, not expanded", {{1, 0xffffffff}}, {}, {2}, {{{1, 1}, {3, 0xfffffffd}}, {}, {}}},
    };
    for (const Case& c : cases) {
        CAPTURE(c.name);
        auto plan = plan_resume(c.pending, c.held, c.in_flight);
        REQUIRE(plan.ok());
        CHECK(plan->missing == c.want.missing);
        CHECK(plan->forget == c.want.forget);
        CHECK(plan->resend == c.want.resend);
    }
}

TEST_CASE("resume: a URB in flight that the client does not wait for is an error") {
    auto plan = plan_resume({{1, 1}}, {}, std::vector<uint64_t>{1, 2});
    REQUIRE_FALSE(plan.ok());
    CHECK(plan.error().message ==
          "proto: Resume: seqnum 2 is still in flight here but the client does not wait for it");
}
