#include <doctest/doctest.h>

#include "cli/options.hpp"

using namespace usbhop::cli;

namespace {

const Option kExtra[] = {
    {"relay", 0, "", "relay"},
    {"port", 'p', "N", "port"},
};

usbhop::Result<ParsedArgs> parse(std::vector<std::string> args, bool stop = false) {
    return parse_args(args, kExtra, "usbhop test", stop);
}

}  // namespace

TEST_CASE("options and positionals in any order") {
    auto r = parse({"a", "--relay", "-p", "5", "b", "--config=/x.conf", "-v", "-v"});
    REQUIRE(r.ok());
    CHECK(r->positionals == std::vector<std::string>{"a", "b"});
    CHECK(r->has("relay"));
    CHECK(r->get("port") == "5");
    CHECK(r->get("config") == "/x.conf");
    CHECK(r->verbosity == 2);
}

TEST_CASE("value forms: --opt value, --opt=value, -ovalue") {
    CHECK(parse({"--port", "1"})->get("port") == "1");
    CHECK(parse({"--port=2"})->get("port") == "2");
    CHECK(parse({"-p3"})->get("port") == "3");
    CHECK(parse({"-c", "/f"})->get("config") == "/f");
}

TEST_CASE("-- ends the options") {
    auto r = parse({"--", "--relay", "-q"});
    REQUIRE(r.ok());
    CHECK(r->positionals == std::vector<std::string>{"--relay", "-q"});
    CHECK_FALSE(r->has("relay"));
}

TEST_CASE("the global part stops at the command") {
    auto r = parse({"-q", "--config", "/f", "trust", "--relay", "x"}, true);
    REQUIRE(r.ok());
    CHECK(r->verbosity == -1);
    CHECK(r->positionals == std::vector<std::string>{"trust", "--relay", "x"});
}

TEST_CASE("mistakes are one line naming the option") {
    struct Case {
        std::vector<std::string> args;
        const char* message;
    };
    const Case cases[] = {
        {{"--bogus"}, "unknown option '--bogus' (try 'usbhop test --help')"},
        {{"--bogus=1"}, "unknown option '--bogus' (try 'usbhop test --help')"},
        {{"-x"}, "unknown option '-x' (try 'usbhop test --help')"},
        {{"-vq"}, "unknown option '-vq' (try 'usbhop test --help')"},
        {{"--port"}, "option '--port' needs a value (N) (try 'usbhop test --help')"},
        {{"--relay=yes"}, "option '--relay' takes no value (try 'usbhop test --help')"},
    };
    for (const Case& c : cases) {
        auto r = parse(c.args);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().message == c.message);
    }
}

TEST_CASE("help lists visible options with their value names") {
    const Option opts[] = {{"json", 0, "", "print JSON"}, {"secret", 0, "", "hidden", true}, {"port", 'p', "N", "p"}};
    std::string text = format_options(opts);
    CHECK(text.find("    --json") != std::string::npos);
    CHECK(text.find("-p, --port N") != std::string::npos);
    CHECK(text.find("secret") == std::string::npos);
}
