// Text from outside the process made safe to log or print: a peer's
// CONNECTION_CLOSE reason, Hello.software, an ErrorMsg, a USB string
// descriptor. One helper for every such site, so that none of them can write
// a forged log line, a terminal escape or invalid UTF-8.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace usbhop::util {

// A default cap that keeps one log line readable.
constexpr size_t kPrintableMax = 200;

// Returns `untrusted` with control characters (C0, DEL, C1), backslash,
// Unicode line separators and bidi overrides written as escapes (\n, \t, \\,
// \xNN, \u{NNNN}), every byte that is not part of valid UTF-8 as \xNN, and
// valid printable UTF-8 kept as it is. The result is valid UTF-8 without
// control characters; it holds at most `max` bytes of text, then "…" when
// `untrusted` went on (escapes and characters are never cut in half).
std::string printable(std::string_view untrusted, size_t max = kPrintableMax);

// A USB vendor or product ID as every output and file writes it: "04b4".
std::string hex4(uint16_t value);

}  // namespace usbhop::util
