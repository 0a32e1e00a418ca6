// Test helper: bytes from a hex string; spaces are ignored so that vectors can
// be written in the 32-bit words of usbip_protocol.rst.
#pragma once

#include <cassert>
#include <string_view>

#include "util/bytes.hpp"

namespace usbhop::test {

inline Bytes from_hex(std::string_view hex) {
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    Bytes out;
    int high = -1;
    for (char c : hex) {
        if (c == ' ' || c == '\n') continue;
        int v = nibble(c);
        assert(v >= 0);
        if (high < 0) {
            high = v;
        } else {
            out.push_back(static_cast<std::byte>(high << 4 | v));
            high = -1;
        }
    }
    assert(high < 0);
    return out;
}

}  // namespace usbhop::test
