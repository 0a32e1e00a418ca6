#include "harness.hpp"

using namespace usbhop;
using namespace usbhop::test;

TEST_CASE("handshake succeeds when both keys are the expected ones") {
    Pair p;
    bool up = false;
    quic::Handlers h;
    h.on_established = [&] { up = true; };
    auto c = p.client->connect(p.server->local_address(), p.server_key.id(), h);
    REQUIRE(c);
    REQUIRE(p.run_until([&] { return up && p.accepted; }));
    CHECK((*c)->peer() == p.server_key.id());
    CHECK(p.accepted->peer() == p.client_key.id());
    CHECK((*c)->established());
    CHECK(p.server->stats().retries_sent == 1);   // address validated first
    auto path = (*c)->path();
    CHECK(path.remote == p.server->local_address());
    CHECK(path.smoothed_rtt > 0);
}
