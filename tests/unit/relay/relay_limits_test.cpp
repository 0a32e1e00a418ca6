// [relay] in usbhop.conf -> relay::Limits (relay::limits_from): every limit
// of the relay comes from config with a sane default, and the parser refuses
// values that would break the relay's promises (keep-alives the nodes cannot
// be told, registrations forgotten between two keep-alives).
#include <doctest/doctest.h>

#include "config/config.hpp"
#include "relay/relay.hpp"

using namespace usbhop;

namespace {
config::ParseResult parse(const std::string& text) { return config::parse(text, "usbhop.conf"); }
std::string first_error(const config::ParseResult& r) { return r.errors.empty() ? "" : r.errors[0].to_string(); }
}  // namespace

TEST_CASE("without [relay] settings the relay's limits are the documented defaults") {
    relay::Limits l = relay::limits_from(config::defaults().relay);
    CHECK(l.max_registrations == 4096);
    CHECK(l.max_registrations_per_address == 16);
    CHECK(l.keep_alive_seconds == 25);
    CHECK(l.registration_timeout == 90 * kSecond);
    CHECK(l.max_sessions == 1024);
    CHECK(l.max_sessions_per_node == 8);
    CHECK(l.bytes_per_second == 10u << 20);
    CHECK(l.session_idle_timeout == 5 * 60 * kSecond);
}

TEST_CASE("every relay limit comes from [relay]") {
    auto r = parse("[relay]\n"
                   "max_registrations = 100\n"
                   "max_registrations_per_address = 2\n"
                   "keep_alive = 15s\n"
                   "registration_timeout = 2m\n"
                   "max_sessions = 50\n"
                   "max_sessions_per_node = 3\n"
                   "bytes_per_second = 1M\n"
                   "idle_timeout = 30s\n");
    REQUIRE_MESSAGE(r.ok(), first_error(r));
    relay::Limits l = relay::limits_from(r.config.relay);
    CHECK(l.max_registrations == 100);
    CHECK(l.max_registrations_per_address == 2);
    CHECK(l.keep_alive_seconds == 15);
    CHECK(l.registration_timeout == 120 * kSecond);
    CHECK(l.max_sessions == 50);
    CHECK(l.max_sessions_per_node == 3);
    CHECK(l.bytes_per_second == 1u << 20);
    CHECK(l.session_idle_timeout == 30 * kSecond);
}

TEST_CASE("[relay] limits out of range are refused with the line and what is expected") {
    struct Case {
        const char* text;
        const char* error;
    };
    const Case cases[] = {
        {"[relay]\nmax_registrations = 0\n", "usbhop.conf:2: invalid max_registrations in [relay]"},
        {"[relay]\nmax_registrations_per_address = 70000\n",
         "usbhop.conf:2: invalid max_registrations_per_address in [relay]"},
        {"[relay]\nkeep_alive = 1500ms\n",
         "usbhop.conf:2: invalid keep_alive in [relay]: expected whole seconds from 1s to 1h, got '1500ms'"},
        {"[relay]\nkeep_alive = 2h\n", "usbhop.conf:2: invalid keep_alive in [relay]: expected whole seconds"},
        {"[relay]\nkeep_alive = 25s\nregistration_timeout = 50s\n",
         "usbhop.conf:3: [relay] registration_timeout (50s) must be more than twice keep_alive (25s)"},
        {"[relay]\nregistration_timeout = 40s\n", "usbhop.conf:2: [relay] registration_timeout (40s) must be more"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.text);
        auto r = parse(c.text);
        REQUIRE_FALSE(r.ok());
        CHECK(first_error(r).rfind(c.error, 0) == 0);
        if (first_error(r).rfind(c.error, 0) != 0) MESSAGE(first_error(r));
    }
}
