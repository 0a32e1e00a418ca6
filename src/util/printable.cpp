#include "util/printable.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>

namespace usbhop::util {

namespace {

constexpr std::string_view kEllipsis = "\xe2\x80\xa6";   // U+2026

// Length of the valid UTF-8 sequence at the front of s and its code point,
// or 0 when the first byte does not start one (RFC 3629 §4: no overlong
// forms, no surrogates, nothing above U+10FFFF).
size_t utf8_sequence(std::string_view s, uint32_t& cp) {
    auto b = [&](size_t i) { return static_cast<uint8_t>(s[i]); };
    uint8_t c = b(0);
    size_t len;
    uint32_t min;
    if (c < 0x80) {
        cp = c;
        return 1;
    } else if ((c & 0xe0) == 0xc0) {
        len = 2, min = 0x80, cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
        len = 3, min = 0x800, cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
        len = 4, min = 0x10000, cp = c & 0x07;
    } else {
        return 0;
    }
    if (s.size() < len) return 0;
    for (size_t i = 1; i < len; ++i) {
        if ((b(i) & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (b(i) & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return len;
}

// Code points that move the cursor, end a line or reorder text on a
// terminal: C0, DEL, C1, U+2028/2029, the bidi embeddings, overrides and
// isolates (Unicode TR9), and the BOM.
bool is_control(uint32_t cp) {
    return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 ||
           (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200e || cp == 0x200f ||
           cp == 0xfeff;
}

std::string escape(uint32_t cp) {
    switch (cp) {
    case '\n': return "\\n";
    case '\r': return "\\r";
    case '\t': return "\\t";
    case '\\': return "\\\\";
    default: break;
    }
    char buf[16];
    if (cp < 0x100) snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(cp));
    else snprintf(buf, sizeof buf, "\\u{%04x}", static_cast<unsigned>(cp));
    return buf;
}

}  // namespace

std::string printable(std::string_view untrusted, size_t max) {
    std::string out;
    out.reserve(std::min(untrusted.size(), max) + kEllipsis.size());
    while (!untrusted.empty()) {
        uint32_t cp = 0;
        size_t len = utf8_sequence(untrusted, cp);
        std::string piece;
        if (len == 0) {
            piece = escape(static_cast<uint8_t>(untrusted[0]));   // a byte that is not UTF-8
            len = 1;
        } else if (is_control(cp) || cp == '\\') {
            piece = escape(cp);
        } else {
            piece.assign(untrusted.substr(0, len));
        }
        if (out.size() + piece.size() > max) {
            out += kEllipsis;
            break;
        }
        out += piece;
        untrusted.remove_prefix(len);
    }
    return out;
}

std::string hex4(uint16_t value) {
    char b[8];
    std::snprintf(b, sizeof b, "%04x", value);
    return b;
}

}  // namespace usbhop::util
