#include "util/base32.hpp"

namespace usbhop::base32 {

namespace {
constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz234567";

int value_of(char c) {
    if (c >= 'a' && c <= 'z') return c - 'a';
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= '2' && c <= '7') return c - '2' + 26;
    return -1;
}
}  // namespace

std::string encode(ByteSpan in) {
    std::string out;
    out.reserve((in.size() * 8 + 4) / 5);
    unsigned buffer = 0;
    int bits = 0;
    for (std::byte b : in) {
        buffer = (buffer << 8) | std::to_integer<unsigned>(b);
        bits += 8;
        while (bits >= 5) {
            out.push_back(kAlphabet[(buffer >> (bits - 5)) & 31]);
            bits -= 5;
        }
    }
    if (bits > 0) out.push_back(kAlphabet[(buffer << (5 - bits)) & 31]);
    return out;
}

std::optional<Bytes> decode(std::string_view in) {
    // Lengths mod 8 of 1, 3 and 6 cannot come from any byte string.
    switch (in.size() % 8) {
    case 1: case 3: case 6: return std::nullopt;
    default: break;
    }
    Bytes out;
    out.reserve(in.size() * 5 / 8);
    unsigned buffer = 0;
    int bits = 0;
    for (char c : in) {
        int v = value_of(c);
        if (v < 0) return std::nullopt;
        buffer = (buffer << 5) | static_cast<unsigned>(v);
        bits += 5;
        if (bits >= 8) {
            out.push_back(static_cast<std::byte>((buffer >> (bits - 8)) & 0xff));
            bits -= 8;
        }
    }
    if (bits > 0 && (buffer & ((1u << bits) - 1)) != 0) return std::nullopt;
    return out;
}

}  // namespace usbhop::base32
