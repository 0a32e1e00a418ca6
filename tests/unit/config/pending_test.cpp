// The list of recently refused nodes (config/pending.hpp).
#include <doctest/doctest.h>

#include "config/pending.hpp"
#include "test_ids.hpp"

using namespace usbhop;
using namespace usbhop::config;

TEST_CASE("a refusal puts its node first, counted, and keeps when it was first seen") {
    std::vector<PendingNode> list;
    note_refusal(list, test::node(1), "192.0.2.7", 100);
    note_refusal(list, test::node(2), "198.51.100.3", 110);
    note_refusal(list, test::node(1), "192.0.2.8", 120);
    REQUIRE(list.size() == 2);
    CHECK(list[0] == PendingNode{test::node(1), "192.0.2.8", 100, 120, 2});
    CHECK(list[1] == PendingNode{test::node(2), "198.51.100.3", 110, 110, 1});
}

TEST_CASE("the list is bounded: the node quiet longest goes") {
    std::vector<PendingNode> list;
    for (int i = 0; i < static_cast<int>(kMaxPending) + 5; ++i) note_refusal(list, test::node(i), "192.0.2.1", i);
    CHECK(list.size() == kMaxPending);
    CHECK(list.front().node == test::node(static_cast<int>(kMaxPending) + 4));
    CHECK(list.back().node == test::node(5));
}

TEST_CASE("the file reads back what was written, and a bad line is named") {
    std::vector<PendingNode> list;
    note_refusal(list, test::node(1), "192.0.2.7", 1795000000);
    note_refusal(list, test::node(2), "2001:db8::7", 1795000060);
    auto back = parse_pending(format_pending(list));
    REQUIRE(back);
    CHECK(*back == list);
    CHECK(parse_pending("").value().empty());
    auto bad = parse_pending("# header\n" + test::id(1) + " 192.0.2.7 soon 1 1\n");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message == "line 2: times and count are numbers");
    auto typo = parse_pending(test::typo_id(1) + " 192.0.2.7 1 1 1\n");
    REQUIRE_FALSE(typo);
    CHECK(typo.error().message.rfind("line 1: ", 0) == 0);
    CHECK_FALSE(parse_pending("short line\n"));
}

TEST_CASE("trusting a node takes it off the list") {
    std::vector<PendingNode> list;
    note_refusal(list, test::node(1), "192.0.2.7", 1);
    note_refusal(list, test::node(2), "192.0.2.7", 2);
    CHECK(remove_pending(list, test::node(1)));
    CHECK_FALSE(remove_pending(list, test::node(1)));
    REQUIRE(list.size() == 1);
    CHECK(list[0].node == test::node(2));
}

TEST_CASE("the file lives beside the key") {
    CHECK(pending_path("/var/lib/usbhop/identity.key") == "/var/lib/usbhop/pending");
    CHECK(pending_path("identity.key") == "pending");
}
