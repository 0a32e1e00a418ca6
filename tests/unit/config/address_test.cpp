#include <doctest/doctest.h>

#include "config/address.hpp"
#include "test_ids.hpp"

using namespace usbhop::config;

TEST_CASE("addresses people write parse to host and port") {
    struct Case {
        const char* text;
        const char* host;
        uint16_t port;
    };
    const Case cases[] = {
        {"relay.example.org:7000", "relay.example.org", 7000},
        {"relay.example.org", "relay.example.org", 7575},
        {"192.0.2.1:1", "192.0.2.1", 1},
        {"[::]:7575", "::", 7575},
        {"[2001:db8::1]", "2001:db8::1", 7575},
        {"[fe80::1%eth0]:9", "fe80::1%eth0", 9},
        {"[fe80::1%2]:9", "fe80::1%2", 9},
        {"  pi.local:65535  ", "pi.local", 65535},
    };
    for (const Case& c : cases) {
        CAPTURE(c.text);
        auto a = parse_address(c.text);
        REQUIRE(a.ok());
        CHECK(a->host == c.host);
        CHECK(a->port == c.port);
    }
}

TEST_CASE("malformed addresses are refused with the reason") {
    struct Case {
        const char* text;
        const char* message;
    };
    const Case cases[] = {
        {"", "empty address (expected host:port)"},
        {"host:70000", "port 70000 out of range (1-65535)"},
        {"host:0", "port 0 out of range (1-65535)"},
        {"host:99999999999999999999", "port 99999999999999999999 out of range (1-65535)"},
        {"host:http", "port 'http' is not a number"},
        {"host:", "missing port after ':' in 'host:'"},
        {":7575", "missing host in ':7575'"},
        {"::1", "IPv6 address '::1' needs brackets: [::1]:7575"},
        {"[::1", "missing ']' in '[::1' (expected [v6-address]:port)"},
        {"[nope]:1", "malformed IPv6 address 'nope' in '[nope]:1'"},
        {"[::1]7575", "unexpected '7575' after ']' in '[::1]7575'"},
        {"300.1.1.1:5", "malformed IPv4 address '300.1.1.1'"},
        {"bad host:5", "unexpected character ' ' in host 'bad host'"},
        {"[::1%]:1", "empty zone after '%' in '[::1%]:1'"},
        {"[%eth0]:1", "malformed IPv6 address '%eth0' in '[%eth0]:1'"},
        {"[fe80::1%a/b]:1",
         "zone 'a/b' in '[fe80::1%a/b]:1' is not an interface name (at most 15 characters, no '/', ':', '%' or blanks)"},
        {"[fe80::1%averyveryverylongname]:1",
         "zone 'averyveryverylongname' in '[fe80::1%averyveryverylongname]:1' is not an interface name (at most 15 "
         "characters, no '/', ':', '%' or blanks)"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.text);
        auto a = parse_address(c.text);
        REQUIRE_FALSE(a.ok());
        CHECK(a.error().message == c.message);
    }
}

TEST_CASE("an address prints back the way it parses") {
    CHECK(parse_address("[::1]:5")->to_string() == "[::1]:5");
    CHECK(parse_address("example.org")->to_string() == "example.org:7575");
}

TEST_CASE("a relay reference is an address and a node ID") {
    auto r = parse_relay_ref("relay.example.org:7000 " + test::id(1));
    REQUIRE(r.ok());
    CHECK(r->address.port == 7000);
    CHECK(r->node == test::node(1));
    CHECK_FALSE(parse_relay_ref("relay.example.org:7000").ok());
    CHECK_FALSE(parse_relay_ref("relay.example.org:7000 " + test::typo_id(1)).ok());
}
