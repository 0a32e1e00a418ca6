// half_open_flood: holds half-open handshakes against a server, for serve's
// integration test (tests/integration/server/serve_test.py).
//
//   half_open_flood FROM_IP SERVER_ADDR SERVER_ID COUNT SECONDS
//
// Starts COUNT handshakes from FROM_IP with a fresh untrusted key, lets only
// Retry packets in (half_open_flood.hpp), prints "STARTED n RETRIES n" once
// all are started, and keeps them open for SECONDS before exiting.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "half_open_flood.hpp"
#include "util/log.hpp"

using namespace usbhop;

int main(int argc, char** argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: half_open_flood FROM_IP SERVER_ADDR SERVER_ID COUNT SECONDS\n");
        return 2;
    }
    auto from = loop::SocketAddress::parse(std::string(argv[1]) + ":0");
    auto server = loop::SocketAddress::parse(argv[2]);
    auto id = identity::NodeId::parse(argv[3]);
    auto key = identity::NodeKey::generate();
    if (!from || !server || !id || !key) {
        fprintf(stderr, "half_open_flood: bad arguments\n");
        return 2;
    }
    size_t count = std::strtoul(argv[4], nullptr, 10);
    Nanos hold = static_cast<Nanos>(std::strtoul(argv[5], nullptr, 10)) * kSecond;
    log::set_threshold(log::Level::error);
    loop::Loop loop;
    test::HalfOpenFlood flood(loop, *key, *from, *server, *id);
    if (!flood.ok()) {
        fprintf(stderr, "half_open_flood: cannot bind %s\n", argv[1]);
        return 1;
    }
    flood.start(count);
    loop.run_until([&] { return flood.started_all() && flood.retries() >= count; }, hold);
    printf("STARTED %zu RETRIES %zu\n", flood.started(), flood.retries());
    fflush(stdout);
    loop.run_until([] { return false; }, hold);
    return 0;
}
