#include <doctest/doctest.h>

#include <string>

#include "util/printable.hpp"

using usbhop::util::printable;

TEST_CASE("printable keeps plain and valid UTF-8 text as it is") {
    struct Case { std::string in, out; };
    const Case cases[] = {
        {"", ""},
        {"SanDisk Ultra Fit", "SanDisk Ultra Fit"},
        {"Gr\xc3\xbc\xc3\x9f" "e \xe2\x82\xac \xf0\x9f\x94\x8c", "Gr\xc3\xbc\xc3\x9f" "e \xe2\x82\xac \xf0\x9f\x94\x8c"},
    };
    for (const Case& c : cases) CHECK(printable(c.in) == c.out);
}

TEST_CASE("printable escapes control characters so that no line or terminal escape gets through") {
    struct Case { std::string in, out; };
    const Case cases[] = {
        {"bye\nusbhop: error: forged", "bye\\nusbhop: error: forged"},
        {"a\rb\tc", "a\\rb\\tc"},
        {"\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"},
        {std::string("nul\0x", 5), "nul\\x00x"},
        {"del\x7f", "del\\x7f"},
        {"back\\slash", "back\\\\slash"},   // so that an escape in the input cannot pass for ours
        {"c1 \xc2\x9b" "31m", "c1 \\x9b31m"},
        {"line\xe2\x80\xa8sep", "line\\u{2028}sep"},
        {"rtl \xe2\x80\xae" "gpj.exe", "rtl \\u{202e}gpj.exe"},
    };
    for (const Case& c : cases) CHECK(printable(c.in) == c.out);
}

TEST_CASE("printable escapes every byte that is not valid UTF-8") {
    struct Case { std::string in, out; };
    const Case cases[] = {
        {"\xff", "\\xff"},
        {"a\x80z", "a\\x80z"},                        // stray continuation byte
        {"\xc3", "\\xc3"},                            // truncated at the end
        {"\xc3(", "\\xc3("},                          // bad continuation
        {"\xc0\xaf", "\\xc0\\xaf"},                   // overlong '/'
        {"\xe0\x80\xaf", "\\xe0\\x80\\xaf"},          // overlong, three bytes
        {"\xed\xa0\x80", "\\xed\\xa0\\x80"},          // a UTF-16 surrogate
        {"\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"}, // above U+10FFFF
        {"\xf8\x88\x80\x80\x80", "\\xf8\\x88\\x80\\x80\\x80"},
    };
    for (const Case& c : cases) CHECK(printable(c.in) == c.out);
}

TEST_CASE("printable caps the length with an ellipsis and never cuts an escape or a character") {
    CHECK(printable("abcdef", 6) == "abcdef");
    CHECK(printable("abcdefg", 6) == "abcdef\xe2\x80\xa6");
    CHECK(printable("abcd\n", 5) == "abcd\xe2\x80\xa6");            // "\n" would not fit whole
    CHECK(printable("ab\xc3\xbc", 3) == "ab\xe2\x80\xa6");           // nor would the two bytes of u-umlaut
    CHECK(printable(std::string(100000, 'x')).size() == usbhop::util::kPrintableMax + 3);
    CHECK(printable(std::string(1000, '\x1b'), 10) == "\\x1b\\x1b\xe2\x80\xa6");
}
