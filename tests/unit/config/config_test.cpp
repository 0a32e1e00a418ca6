#include <doctest/doctest.h>

#include "config/config.hpp"
#include "test_ids.hpp"

using namespace usbhop;
using namespace usbhop::config;

namespace {

ParseResult parse_text(const std::string& text) { return parse(text, "usbhop.conf"); }

// The only diagnostic of a file expected to have exactly one.
std::string only_error(const std::string& text) {
    ParseResult r = parse_text(text);
    REQUIRE(r.errors.size() == 1);
    return r.errors[0].to_string();
}

}  // namespace

TEST_CASE("an empty file gives the defaults") {
    ParseResult r = parse_text("");
    REQUIRE(r.ok());
    CHECK(r.config.server.listen == Address{"::", 7575});
    CHECK(r.config.server.identity == default_state_dir() + "/identity.key");
    CHECK(r.config.server.authorized_keys == default_sysconf_dir() + "/authorized_keys");
    CHECK(r.config.server.grace == 30 * kSecond);
    CHECK_FALSE(r.config.server.relay.has_value());
    CHECK(r.config.relay.authorized_keys == default_sysconf_dir() + "/relay_authorized_keys");
    CHECK(r.config.relay.max_sessions_per_node == 8);
    CHECK(r.config.client.identity == "");
    CHECK(r.config.shares.empty());
    CHECK(r.config.peers.empty());
}

TEST_CASE("the roles a file configures, and the only one") {
    using Role = Config::Role;
    CHECK_FALSE(parse_text("").config.only_role().has_value());
    CHECK(parse_text("[relay]\n").config.only_role() == Role::relay);
    CHECK(parse_text("[share \"a\"]\n").config.only_role() == Role::server);
    CHECK(parse_text("[server]\n[share \"a\"]\n").config.only_role() == Role::server);
    CHECK(parse_text("[peer \"pi\"]\nnode = " + test::id(1) + "\n").config.only_role() == Role::client);
    CHECK_FALSE(parse_text("[server]\n[relay]\n").config.only_role().has_value());
    CHECK_FALSE(parse_text("[client]\n[share \"a\"]\n").config.only_role().has_value());
}

TEST_CASE("a missing file gives the defaults, unless it must exist") {
    auto c = load("/nonexistent/usbhop.conf");
    REQUIRE(c.ok());
    CHECK(c->server.listen.port == 7575);
    auto strict = load("/nonexistent/usbhop.conf", true);
    REQUIRE_FALSE(strict.ok());
    CHECK(strict.error().message == "cannot read /nonexistent/usbhop.conf: No such file or directory");
}

TEST_CASE("a full file parses into typed settings") {
    std::string text = R"(# usbhop.conf
[server]
listen = [2001:db8::1]:7000
identity = /var/lib/usbhop/node.key
authorized_keys = /etc/usbhop/ak
relay = relay.example.org:7575 )" +
                       test::id(9) + R"(
grace = 2m
keep_alive = 10s   # inline comment
idle_timeout = 45s ; and the other kind
max_peers = 4
max_udp_payload = 65000

[share "flash"]
match = 0781:5583
serial = 4C530001
path = 1-1.2
class = 08
peers = )" + test::id(1) +
                       " " + test::id(2) + R"(
  )" + test::id(3) + R"(
force = yes

[share "keyboards"]
match = *:*
class = 03

[client]
identity = ~/.config/usbhop/identity.key
relay = relay.example.org )" +
                       test::id(9) + R"(
keep_alive = 5s
idle_timeout = 30s
reconnect_max = 1m
max_udp_payload = 9000

[peer "pi"]
node = )" + test::id(4) +
                       R"(
address = pi.example.org

[peer "far"]
node = )" + test::id(5) +
                       R"(

[relay]
listen = 0.0.0.0:443
identity = /var/lib/usbhop/relay.key
authorized_keys = /etc/usbhop/relay_ak
max_sessions = 100
max_sessions_per_node = 2
bytes_per_second = 512K
idle_timeout = 90s
)";
    ParseResult r = parse_text(text);
    for (auto& e : r.errors) MESSAGE(e.to_string());
    REQUIRE(r.ok());
    const Config& c = r.config;
    CHECK(c.server.listen == Address{"2001:db8::1", 7000});
    CHECK(c.server.identity == "/var/lib/usbhop/node.key");
    CHECK(c.server.authorized_keys == "/etc/usbhop/ak");
    REQUIRE(c.server.relay.has_value());
    CHECK(c.server.relay->address == Address{"relay.example.org", 7575});
    CHECK(c.server.relay->node == test::node(9));
    CHECK(c.server.grace == 120 * kSecond);
    CHECK(c.server.keep_alive == 10 * kSecond);
    CHECK(c.server.idle_timeout == 45 * kSecond);
    CHECK(c.server.max_peers == 4);
    CHECK(c.server.max_udp_payload == 65000);

    REQUIRE(c.shares.size() == 2);
    const ExportRule& flash = c.shares[0];
    CHECK(flash.name == "flash");
    CHECK(flash.line == 13);
    CHECK(*flash.vendor == 0x0781);
    CHECK(*flash.product == 0x5583);
    CHECK(*flash.serial == "4C530001");
    CHECK(*flash.path == "1-1.2");
    CHECK(*flash.device_class == 0x08);
    REQUIRE(flash.peers.size() == 3);
    CHECK(flash.peers[2] == test::node(3));
    CHECK(flash.force);
    CHECK_FALSE(c.shares[1].vendor.has_value());
    CHECK_FALSE(c.shares[1].force);

    CHECK(c.client.identity == "~/.config/usbhop/identity.key");
    CHECK(c.client.relay->address.port == 7575);
    CHECK(c.client.reconnect_max == 60 * kSecond);
    CHECK(c.client.max_udp_payload == 9000);

    REQUIRE(c.peers.size() == 2);
    CHECK(c.peers[0].name == "pi");
    CHECK(c.peers[0].node == test::node(4));
    CHECK(c.peers[0].address == Address{"pi.example.org", 7575});
    CHECK_FALSE(c.peers[1].address.has_value());

    CHECK(c.relay.listen == Address{"0.0.0.0", 443});
    CHECK(c.relay.max_sessions == 100);
    CHECK(c.relay.max_sessions_per_node == 2);
    CHECK(c.relay.bytes_per_second == 512 * 1024);
    CHECK(c.relay.idle_timeout == 90 * kSecond);
}

TEST_CASE("each kind of mistake is named with its line") {
    struct Case {
        std::string text;
        std::string message;
    };
    const std::string id1 = test::id(1);
    const Case cases[] = {
        {"[server]\nlistne = [::]:7575\n", "usbhop.conf:2: unknown key 'listne' in [server] (did you mean 'listen'?)"},
        {"[server]\nfrobnicate = 1\n", "usbhop.conf:2: unknown key 'frobnicate' in [server]"},
        {"# c\n[servre]\nlisten = [::]:1\n", "usbhop.conf:2: unknown section [servre] (did you mean [server]?)"},
        {"[bogus]\n",
         "usbhop.conf:1: unknown section [bogus] (known: [server], [share \"name\"], [client], [peer \"name\"], "
         "[relay])"},
        {"[server]\nlisten = [::]:70000\n",
         "usbhop.conf:2: invalid listen in [server]: port 70000 out of range (1-65535)"},
        {"[relay]\nlisten = ::1:5\n",
         "usbhop.conf:2: invalid listen in [relay]: IPv6 address '::1:5' needs brackets: [::1:5]:7575"},
        {"[server]\nlisten = host:\n", "usbhop.conf:2: invalid listen in [server]: missing port after ':' in 'host:'"},
        {"[server]\ngrace = 30 seconds\n",
         "usbhop.conf:2: invalid grace in [server]: expected a duration like 30s, 500ms, 2m or 1h, got '30 seconds'"},
        {"[server]\nlisten = [::]:1\n\nlisten = [::]:2\n",
         "usbhop.conf:4: duplicate key 'listen' in [server] (first set on line 2)"},
        {"[server]\n[client]\n[server]\n", "usbhop.conf:3: duplicate section [server] (first on line 1)"},
        {"[share \"a\"]\nmatch = *:*\n[share \"a\"]\nmatch = *:*\n",
         "usbhop.conf:3: duplicate section [share \"a\"] (first on line 1)"},
        {"[share \"a\"]\nmatch = 0781\n",
         "usbhop.conf:2: invalid match in [share \"a\"]: expected vendor:product as four hex digits each or *, like "
         "0781:5583 or *:5583, got '0781'"},
        {"[share \"a\"]\nmatch = *:*\nclass = 8\n",
         "usbhop.conf:3: invalid class in [share \"a\"]: expected a USB class code as two hex digits, like 08 (mass "
         "storage), got '8'"},
        {"[share \"a\"]\nserial = x\npeers = abc\n",
         "usbhop.conf:3: invalid peers in [share \"a\"]: node ID 'abc' has 3 characters, expected 56"},
        {"[share \"a\"]\nmatch = *:*\nforce = maybe\n",
         "usbhop.conf:3: invalid force in [share \"a\"]: expected yes or no, got 'maybe'"},
        {"[share \"a\"]\npath = usb1\n",
         "usbhop.conf:2: invalid path in [share \"a\"]: expected a bus path like 1-1.2, got 'usb1'"},
        {"\n[share \"empty\"]\n\n",
         "usbhop.conf:2: [share \"empty\"] shares nothing: set match, serial, path or class (match = *:* shares every "
         "device)"},
        {"[share]\n", "usbhop.conf:1: [share] needs a name in quotes, like [share \"name\"]"},
        {"[server \"x\"]\n", "usbhop.conf:1: [server] takes no name (got \"x\")"},
        {"[peer \"a b\"]\n",
         "usbhop.conf:1: section name \"a b\" may hold only letters, digits, '-', '_' and '.' (1-64 of them)"},
        {"[peer \"pi\"]\naddress = pi:1\n", "usbhop.conf:1: [peer \"pi\"] needs node = <node-id>"},
        {"[peer \"pi\"]\nnode = " + test::typo_id(1) + "\naddress = pi\n",
         "usbhop.conf:2: invalid node in [peer \"pi\"]: node ID '" + test::typo_id(1) + "' has a bad checksum (typo?)"},
        {"[peer \"pi\"]\nnode = " + id1 + "\n",
         "usbhop.conf:1: [peer \"pi\"] has neither address nor relay, and [client] names no relay"},
        {"[server]\nrelay = relay.example.org\n",
         "usbhop.conf:2: invalid relay in [server]: expected 'host:port node-id', got 'relay.example.org'"},
        {"listen = [::]:7575\n", "usbhop.conf:1: key 'listen' comes before any [section]"},
        {"[server]\njust some words\n", "usbhop.conf:2: expected 'key = value' or a [section], got 'just some words'"},
        {"[server]\nlisten = [::]:1\n  [::]:2\n",
         "usbhop.conf:3: 'listen' takes one value; only lists such as 'peers' continue on indented lines"},
        {"[server]\nidentity = relative/path.key\n",
         "usbhop.conf:2: invalid identity in [server]: expected an absolute path (or one starting with ~/), got "
         "'relative/path.key'"},
        {"[server]\nidentity =\n", "usbhop.conf:2: missing value for 'identity' in [server]"},
        {"[server]\nmax_peers = 0\n", "usbhop.conf:2: invalid max_peers in [server]: 0 out of range (1-4096)"},
        {"[client]\nmax_udp_payload = 1000\n",
         "usbhop.conf:2: invalid max_udp_payload in [client]: 1000 out of range (1200-65000)"},
        {"[relay]\nbytes_per_second = fast\n",
         "usbhop.conf:2: invalid bytes_per_second in [relay]: expected bytes per second like 10M, 512K or 0 (no "
         "limit), got 'fast'"},
        {"[relay]\nmax_sessions_per_node = -1\n",
         "usbhop.conf:2: invalid max_sessions_per_node in [relay]: expected a whole number, got '-1'"},
        {"[server\n", "usbhop.conf:1: malformed section header '[server' (expected [name] or [name \"label\"])"},
        {std::string("[server]\ngrace = 1\0s\n", 21),
         "usbhop.conf:2: unexpected NUL byte in a line (is this a text file?)"},
        {"[server]\nlisten " + std::string(250, 'x') + " = 1\n",
         "usbhop.conf:2: unknown key 'listen " + std::string(250, 'x') + "' in [server]"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.text);
        CHECK(only_error(c.text) == c.message);
    }
}

TEST_CASE("a line longer than inih's buffer is read like any other") {
    std::string peers;
    for (int i = 1; i <= 8; ++i) peers += " " + test::id(i);
    ParseResult r = parse_text("[share \"a\"]\nmatch = *:*\npeers =" + peers + "\n[server]\ngrace = 5s\n");
    for (auto& e : r.errors) MESSAGE(e.to_string());
    REQUIRE(r.ok());
    REQUIRE(r.config.shares[0].peers.size() == 8);
    CHECK(r.config.shares[0].peers[7] == test::node(8));
    CHECK(r.config.server.grace == 5 * kSecond);
    CHECK(only_error("[share \"a\"]\nmatch = *:*\npeers =" + peers + " nope\n") ==
          "usbhop.conf:3: invalid peers in [share \"a\"]: node ID 'nope' has 4 characters, expected 56");
}

TEST_CASE("every mistake in a file is reported, not just the first") {
    ParseResult r = parse_text("[server]\nlistne = 1\ngrace = x\n[relya]\nfoo = 1\n[client]\nbar = 2\n");
    REQUIRE(r.errors.size() == 4);
    CHECK(r.errors[0].line == 2);
    CHECK(r.errors[1].line == 3);
    CHECK(r.errors[2].line == 4);  // keys of an unknown section are not reported again
    CHECK(r.errors[3].line == 7);
}

TEST_CASE("a peer name, a node ID or node-id@host:port names a peer") {
    std::string text = "[client]\nrelay = r.example.org " + test::id(9) + "\n[peer \"pi\"]\nnode = " + test::id(4) +
                       "\naddress = pi.example.org:7000\n";
    ParseResult r = parse_text(text);
    REQUIRE(r.ok());
    auto pi = resolve_peer(r.config, "pi");
    REQUIRE(pi.ok());
    CHECK(pi->node == test::node(4));
    CHECK(pi->address->port == 7000);
    auto bare = resolve_peer(r.config, test::id(5));
    REQUIRE(bare.ok());
    CHECK_FALSE(bare->address.has_value());
    CHECK(bare->relay->node == test::node(9));
    auto direct = resolve_peer(r.config, test::id(6) + "@[::1]:9");
    REQUIRE(direct.ok());
    CHECK(direct->address == Address{"::1", 9});
    auto ticket = resolve_peer(r.config, test::id(6) + "+" + test::id(7) + "@relay.example.org:7000");
    REQUIRE(ticket.ok());
    CHECK(ticket->node == test::node(6));
    CHECK_FALSE(ticket->address.has_value());
    CHECK(ticket->relay->node == test::node(7));
    CHECK(ticket->relay->address == Address{"relay.example.org", 7000});
    CHECK_FALSE(resolve_peer(r.config, test::id(6) + "+" + test::typo_id(7) + "@relay.example.org").ok());
    auto typo = resolve_peer(r.config, "pj");
    REQUIRE_FALSE(typo.ok());
    CHECK(typo.error().message ==
          "unknown peer 'pj': not a [peer] in usbhop.conf, a node ID, or node-id@host:port (did you mean 'pi'?)");
}

TEST_CASE("known_keys lists every key once per section") {
    auto keys = known_keys();
    CHECK(keys.size() >= 25);
    int listen = 0;
    for (const KeyDoc& k : keys)
        if (k.key == "listen") ++listen;
    CHECK(listen == 2);
}
