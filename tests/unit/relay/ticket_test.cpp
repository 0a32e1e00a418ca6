// The one-line ticket `usbhop id --server` prints when a relay is configured
// (node-id+relay-node-id@relay-host:port): `usbhop attach` reaches the node
// through that relay with nothing else configured.
#include <doctest/doctest.h>

#include "config/config.hpp"

using namespace usbhop;

namespace {
identity::NodeId fresh() {
    auto k = identity::NodeKey::generate();
    REQUIRE(k);
    return k->id();
}
}  // namespace

TEST_CASE("a ticket names the node and the relay to reach it through") {
    identity::NodeId node = fresh(), relay = fresh();
    config::Config none = config::defaults();
    auto t = config::resolve_peer(none, node.to_string() + "+" + relay.to_string() + "@relay.example.org:7000");
    REQUIRE(t);
    CHECK(t->node == node);
    CHECK_FALSE(t->address.has_value());
    REQUIRE(t->relay.has_value());
    CHECK(t->relay->node == relay);
    CHECK(t->relay->address == config::Address{"relay.example.org", 7000});
    auto v6 = config::resolve_peer(none, node.to_string() + "+" + relay.to_string() + "@[2001:db8::1]");
    REQUIRE(v6);
    CHECK(v6->relay->address == config::Address{"2001:db8::1", 7575});
}

TEST_CASE("a damaged ticket says which part is wrong") {
    identity::NodeId node = fresh(), relay = fresh();
    config::Config none = config::defaults();
    std::string bad_relay = relay.to_string();
    bad_relay[3] = bad_relay[3] == 'a' ? 'b' : 'a';
    auto r = config::resolve_peer(none, node.to_string() + "+" + bad_relay + "@relay.example.org");
    REQUIRE_FALSE(r);
    CHECK(r.error().message.rfind("relay node ID in the ticket: ", 0) == 0);
    auto a = config::resolve_peer(none, node.to_string() + "+" + relay.to_string() + "@relay.example.org:99999");
    REQUIRE_FALSE(a);
    CHECK(a.error().message.rfind("relay address in the ticket: ", 0) == 0);
    // node-id@host:port without a '+' is still a direct address.
    auto direct = config::resolve_peer(none, node.to_string() + "@[::1]:9");
    REQUIRE(direct);
    CHECK_FALSE(direct->relay.has_value());
}
