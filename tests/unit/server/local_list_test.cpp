// usbhop list's "in use by": serve's report files name the peer that holds
// each bus path; authorized_keys gives it a name.
#include <doctest/doctest.h>

#include "config/authorized_keys.hpp"
#include "server/local_list.hpp"

using namespace usbhop;

namespace {

identity::NodeId node(uint8_t b) {
    std::array<std::byte, identity::kPublicKeySize> k{};
    k.fill(std::byte{b});
    return identity::NodeId::from_public_key(k);
}

quic::PathReport holding(const identity::NodeId& peer, std::vector<std::string> devices) {
    quic::PathReport r;
    r.peer = peer.to_string();
    r.path = quic::PathKind::direct;
    r.devices = std::move(devices);
    return r;
}

}  // namespace

TEST_CASE("a device serve has handed to a peer is in use by that peer, named by authorized_keys") {
    identity::NodeId laptop = node(1), unnamed = node(2), stranger = node(3);
    auto keys = config::parse_authorized_keys(laptop.to_string() + " laptop of ana\n" + unnamed.to_string() + "\n",
                                              "authorized_keys");
    REQUIRE(keys);
    std::vector<quic::ReportFile> files = {
        {"serve", 10, {holding(laptop, {"1-1", "1-2.3"}), holding(unnamed, {"2-1"}), holding(stranger, {"3-1"})}},
        // attach's files describe the other side: they hold nothing here.
        {"attach", 11, {holding(node(4), {"4-1"})}},
    };
    auto held = server::holders_from(files, *keys);
    CHECK(held.size() == 4);
    CHECK(held["1-1"].peer == laptop.to_string());
    CHECK(held["1-1"].name == "laptop of ana");
    CHECK(held["1-2.3"].name == "laptop of ana");
    CHECK(held["2-1"].peer == unnamed.to_string());
    CHECK(held["2-1"].name.empty());
    CHECK(held["3-1"].name.empty());   // no longer in authorized_keys: the ID alone
    CHECK(held.count("4-1") == 0);
    CHECK(server::holders_from({}, *keys).empty());
}

TEST_CASE("the devices a peer holds survive serve's report file") {
    quic::PathReport r = holding(node(1), {"1-1", "1-2.3"});
    std::string text = quic::format_reports("serve", 7, {r});
    CHECK(text.find(" devices=1-1,1-2.3\n") != std::string::npos);
    auto back = quic::parse_reports(text);
    REQUIRE(back);
    CHECK((*back)[0].devices == r.devices);
    // None held: no key at all (older readers see the same line as before).
    CHECK(quic::format_reports("serve", 7, {holding(node(1), {})}).find("devices") == std::string::npos);
    for (const char* bad : {"peer=a path=direct devices=1-1,\n", "peer=a path=direct devices=,1-1\n",
                            "peer=a path=direct devices=1-1,,1-2\n"}) {
        CAPTURE(bad);
        CHECK_FALSE(quic::parse_reports(bad));
    }
    auto none = quic::parse_reports("peer=a path=direct devices=-\n");
    REQUIRE(none);
    CHECK((*none)[0].devices.empty());
}
