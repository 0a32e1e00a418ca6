#include <doctest/doctest.h>

#include "config/files.hpp"
#include "config/text.hpp"

using namespace usbhop::config;

TEST_CASE("edit distance counts a swap of neighbours as one edit") {
    CHECK(edit_distance("listen", "listen") == 0);
    CHECK(edit_distance("listne", "listen") == 1);
    CHECK(edit_distance("lsten", "listen") == 1);
    CHECK(edit_distance("", "abc") == 3);
    CHECK(edit_distance("kitten", "sitting") == 3);
}

TEST_CASE("closest suggests only plausible typos") {
    std::string_view keys[] = {"listen", "identity", "authorized_keys", "relay", "grace"};
    CHECK(closest("listne", keys) == "listen");
    CHECK(closest("authorised_keys", keys) == "authorized_keys");
    CHECK(closest("relya", keys) == "relay");
    CHECK(closest("completely_else", keys) == "");
}

TEST_CASE("split_words and trim") {
    CHECK(trim("  a b \t") == "a b");
    auto w = split_words("  a  bb\tc ");
    REQUIRE(w.size() == 3);
    CHECK(w[1] == "bb");
}

TEST_CASE("~/ in a configured path is the home directory") {
    CHECK(expand_home("~/.config/usbhop/identity.key", "/home/ada") == "/home/ada/.config/usbhop/identity.key");
    CHECK(expand_home("~", "/home/ada") == "/home/ada");
    CHECK(expand_home("/etc/usbhop/authorized_keys", "/home/ada") == "/etc/usbhop/authorized_keys");
    CHECK(expand_home("~ada/x", "/home/ada") == "~ada/x");
}
