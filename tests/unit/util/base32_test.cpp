#include <doctest/doctest.h>

#include "util/base32.hpp"

using namespace usbhop;

TEST_CASE("base32 matches the RFC 4648 test vectors, lowercase and unpadded") {
    const std::pair<const char*, const char*> cases[] = {
        {"", ""}, {"f", "my"}, {"fo", "mzxq"}, {"foo", "mzxw6"},
        {"foob", "mzxw6yq"}, {"fooba", "mzxw6ytb"}, {"foobar", "mzxw6ytboi"},
    };
    for (auto [plain, coded] : cases) {
        CHECK(base32::encode(as_bytes(plain)) == coded);
        auto back = base32::decode(coded);
        REQUIRE(back);
        CHECK(as_chars(*back) == plain);
    }
}

TEST_CASE("base32 decode refuses what no byte string encodes to") {
    CHECK_FALSE(base32::decode("m"));          // impossible length
    CHECK_FALSE(base32::decode("mzx"));        // impossible length
    CHECK_FALSE(base32::decode("my======"));   // padding is not accepted
    CHECK_FALSE(base32::decode("m1"));         // '1' is not in the alphabet
    CHECK_FALSE(base32::decode("mz"));         // non-zero trailing bits
    CHECK(base32::decode("MY"));               // upper case is fine
}
