#include <doctest/doctest.h>

#include "server/exports.hpp"

using namespace usbhop;

namespace {

identity::NodeId node(uint8_t b) {
    std::array<std::byte, identity::kPublicKeySize> k{};
    k.fill(std::byte{b});
    return identity::NodeId::from_public_key(k);
}

usb::DeviceInfo device(uint16_t vid, uint16_t pid, std::string path, uint8_t iface_class = 0xff) {
    usb::DeviceInfo d;
    d.id = 7;
    d.bus = 1;
    d.address = 3;
    d.vendor = vid;
    d.product = pid;
    d.path = std::move(path);
    d.active_config = 1;
    usb::Configuration c;
    c.value = 1;
    usb::Interface i;
    i.interface_class = iface_class;
    c.interfaces.push_back(i);
    c.raw = Bytes(9, std::byte{0});
    d.configurations.push_back(c);
    d.device_descriptor = Bytes(18, std::byte{0});
    return d;
}

config::ExportRule rule(std::string name, std::optional<uint16_t> vid, std::optional<uint16_t> pid,
                        std::vector<identity::NodeId> peers = {}) {
    config::ExportRule r;
    r.name = std::move(name);
    r.vendor = vid;
    r.product = pid;
    r.peers = std::move(peers);
    return r;
}

}  // namespace

TEST_CASE("nothing is visible without a rule") {
    std::vector<config::ExportRule> rules;
    CHECK(server::rule_for_peer(rules, device(0x1209, 0x5353, "1-1"), node(1)) == nullptr);
}

TEST_CASE("visibility follows vendor:product, bus path, class and the rule's peers") {
    identity::NodeId alice = node(1), bob = node(2);
    std::vector<config::ExportRule> rules = {
        rule("flash", 0x0781, 0x5583),
        rule("only-bob", 0x1209, std::nullopt, {bob}),
    };
    config::ExportRule by_path = rule("port", std::nullopt, std::nullopt);
    by_path.path = "1-1.2";
    rules.push_back(by_path);
    config::ExportRule by_class = rule("storage", std::nullopt, std::nullopt);
    by_class.device_class = 0x08;
    rules.push_back(by_class);

    struct Case {
        usb::DeviceInfo d;
        identity::NodeId peer;
        const char* share;  // nullptr: invisible
    } cases[] = {
        {device(0x0781, 0x5583, "2-1"), alice, "flash"},
        {device(0x0781, 0x5584, "2-1"), alice, nullptr},
        {device(0x1209, 0x0001, "2-1"), alice, nullptr},
        {device(0x1209, 0x0001, "2-1"), bob, "only-bob"},
        {device(0x1111, 0x2222, "1-1.2"), alice, "port"},
        {device(0x1111, 0x2222, "1-1.3"), alice, nullptr},
        {device(0x1111, 0x2222, "3-1", 0x08), alice, "storage"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.d.path);
        const config::ExportRule* r = server::rule_for_peer(rules, c.d, c.peer);
        if (!c.share) {
            CHECK(r == nullptr);
        } else {
            REQUIRE(r != nullptr);
            CHECK(r->name == c.share);
        }
    }
}

TEST_CASE("a later rule can share what an earlier rule keeps from a peer") {
    identity::NodeId alice = node(1), bob = node(2);
    std::vector<config::ExportRule> rules = {rule("bob", 0x1209, 0x5353, {bob}), rule("all", 0x1209, 0x5353)};
    CHECK(server::rule_for_peer(rules, device(0x1209, 0x5353, "1-1"), bob)->name == "bob");
    CHECK(server::rule_for_peer(rules, device(0x1209, 0x5353, "1-1"), alice)->name == "all");
    CHECK(server::matching_rules(rules, device(0x1209, 0x5353, "1-1")).size() == 2);
}

TEST_CASE("hubs are never exported, whatever a rule says") {
    std::vector<config::ExportRule> rules = {rule("everything", std::nullopt, std::nullopt)};
    usb::DeviceInfo hub = device(0x1d6b, 0x0002, "usb1");
    hub.is_hub = true;
    CHECK(server::matching_rules(rules, hub).empty());
    CHECK(server::rule_for_peer(rules, hub, node(1)) == nullptr);
}

TEST_CASE("a device on the wire: devid, state, holder and raw descriptors") {
    usb::DeviceInfo d = device(0x1209, 0x5353, "1-1");
    d.speed = usb::Speed::high;
    proto::DeviceInfo w = server::to_wire(d, "ss", proto::DeviceState::kInUse, "abcdefgh");
    CHECK(w.device_id == (1u << 16 | 3));
    CHECK(w.busnum == 1);
    CHECK(w.devnum == 3);
    CHECK(w.speed == proto::Speed::kHigh);
    CHECK(w.state == proto::DeviceState::kInUse);
    CHECK(w.holder == "abcdefgh");
    CHECK(w.share == "ss");
    CHECK(w.device_descriptor.size() == 18);
    CHECK(w.configurations.size() == 1);
    CHECK(server::shared_with(config::ExportRule{}) == "everyone in authorized_keys");
}
