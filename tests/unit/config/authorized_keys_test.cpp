#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/authorized_keys.hpp"
#include "config/config.hpp"
#include "test_ids.hpp"

using namespace usbhop::config;

namespace {

std::string temp_dir() {
    char tmpl[] = "/tmp/usbhop-ak-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    return tmpl;
}

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace

TEST_CASE("authorized_keys: IDs, comments, comment lines and blank lines") {
    std::string text =
        "# who may use this server\n"
        "\n" +
        test::id(1) + "\n" + "  " + test::id(2) + "   laptop of ada  \n" + test::id(3) + "\tpi\n";
    auto keys = parse_authorized_keys(text, "ak");
    REQUIRE(keys.ok());
    REQUIRE(keys->keys.size() == 3);
    CHECK(keys->keys[0].node == test::node(1));
    CHECK(keys->keys[0].comment == "");
    CHECK(keys->keys[0].line == 3);
    CHECK(keys->keys[1].comment == "laptop of ada");
    CHECK(keys->keys[2].comment == "pi");
    CHECK(keys->contains(test::node(3)));
    CHECK_FALSE(keys->contains(test::node(4)));
}

TEST_CASE("authorized_keys: a repeated ID keeps its first line") {
    auto keys = parse_authorized_keys(test::id(1) + " a\n" + test::id(1) + " b\n", "ak");
    REQUIRE(keys.ok());
    REQUIRE(keys->keys.size() == 1);
    CHECK(keys->keys[0].comment == "a");
}

TEST_CASE("authorized_keys: malformed lines are errors with file:line") {
    struct Case {
        std::string text;
        std::string message;
    };
    const Case cases[] = {
        {"# ok\nnot-a-key\n", "/etc/usbhop/authorized_keys:2: node ID 'not-a-key' has 9 characters, expected 56"},
        {test::id(1) + "\n" + test::typo_id(2) + " typo\n",
         "/etc/usbhop/authorized_keys:2: node ID '" + test::typo_id(2) + "' has a bad checksum (typo?)"},
        {"\n\n\n" + test::id(1).substr(0, 55) + "1\n",
         "/etc/usbhop/authorized_keys:4: node ID has invalid character '1' at position 56 (only a-z and 2-7 are used)"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.text);
        auto keys = parse_authorized_keys(c.text, "/etc/usbhop/authorized_keys");
        REQUIRE_FALSE(keys.ok());
        CHECK(keys.error().message == c.message);
    }
}

TEST_CASE("authorized_keys: every malformed line is reported") {
    Diagnostics all;
    auto keys = parse_authorized_keys("x\n" + test::id(1) + "\ny\n", "ak", &all);
    CHECK_FALSE(keys.ok());
    REQUIRE(all.size() == 2);
    CHECK(all[0].line == 1);
    CHECK(all[1].line == 3);
}

TEST_CASE("authorized_keys: a missing file trusts nobody") {
    auto keys = load_authorized_keys("/nonexistent/usbhop/authorized_keys");
    REQUIRE(keys.ok());
    CHECK(keys->keys.empty());
}

TEST_CASE("append creates file and directory, and never adds an ID twice") {
    std::string dir = temp_dir();
    std::string path = dir + "/etc/usbhop/authorized_keys";
    auto first = append_authorized_key(path, test::node(1), "ada's laptop");
    REQUIRE(first.ok());
    CHECK(*first == AppendOutcome::added);
    struct stat st;
    REQUIRE(stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0644);

    auto again = append_authorized_key(path, test::node(1), "other comment");
    REQUIRE(again.ok());
    CHECK(*again == AppendOutcome::already_present);

    auto second = append_authorized_key(path, test::node(2), "line\nbreak");
    REQUIRE(second.ok());
    CHECK(slurp(path) == test::id(1) + " ada's laptop\n" + test::id(2) + " line break\n");

    auto loaded = load_authorized_keys(path);
    REQUIRE(loaded.ok());
    CHECK(loaded->keys.size() == 2);
    std::filesystem::remove_all(dir);
}

TEST_CASE("append adds the missing newline of a hand-edited file") {
    std::string dir = temp_dir();
    std::string path = dir + "/authorized_keys";
    std::ofstream(path) << test::id(1);
    REQUIRE(append_authorized_key(path, test::node(2), "").ok());
    CHECK(slurp(path) == test::id(1) + "\n" + test::id(2) + "\n");
    std::filesystem::remove_all(dir);
}

TEST_CASE("append refuses a file that does not parse") {
    std::string dir = temp_dir();
    std::string path = dir + "/authorized_keys";
    std::ofstream(path) << "garbage\n";
    auto r = append_authorized_key(path, test::node(2), "");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == path + ":1: node ID 'garbage' has 7 characters, expected 56");
    CHECK(slurp(path) == "garbage\n");
    std::filesystem::remove_all(dir);
}

TEST_CASE("a [share] peers entry missing from authorized_keys is warned about at its line") {
    std::string text = "[share \"flash\"]\nmatch = *:*\npeers = " + test::id(1) + "\n  " + test::id(2) +
                       "\n[share \"all\"]\nmatch = *:*\n";
    auto parsed = parse(text, "usbhop.conf");
    REQUIRE(parsed.ok());
    auto keys = parse_authorized_keys(test::id(1) + " laptop\n", "ak");
    REQUIRE(keys);
    auto warnings = share_peers_not_trusted(parsed.config.shares, *keys, "usbhop.conf", "/etc/usbhop/authorized_keys");
    REQUIRE(warnings.size() == 1);
    CHECK(warnings[0].to_string() == "usbhop.conf:3: warning: [share \"flash\"] peers names " + test::id(2) +
                                         ", which is not in /etc/usbhop/authorized_keys: it cannot connect until "
                                         "`usbhop trust " +
                                         test::id(2) + "`");
    auto both = parse_authorized_keys(test::id(1) + "\n" + test::id(2) + "\n", "ak");
    CHECK(share_peers_not_trusted(parsed.config.shares, *both, "usbhop.conf", "ak").empty());
}
