// Fuzzes the /run/usbhop state entry parser (vhci::parse_state) and its
// writer: usbhop status and detach read these files, which anyone with root
// (or a crash mid-write elsewhere) may have left in any shape.
//
// Input: the entry's text. Checks: an error names what is wrong; a parsed
// entry written again with format_state() parses back equal; any input used as
// the free-text fields (peer, bus path, description) comes back on one line,
// control characters turned to spaces, every other field unchanged.
#include <cstdint>
#include <string>
#include <string_view>

#include "../fuzz_check.hpp"
#include "vhci/state.hpp"

using namespace usbhop;
using namespace usbhop::vhci;

namespace {

std::string spaced(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
    return out;
}

void check_free_text(std::string_view text) {
    AttachedDevice d;
    d.port = 9;
    d.devid = 0x00010003;
    d.speed = speed::kSuper;
    d.peer = text;
    d.bus_path = text;
    d.vendor = 0x0781;
    d.product = 0x5583;
    d.description = text;
    d.attached_at = -1;
    d.pid = 4242;
    auto back = parse_state(format_state(d));
    FUZZ_CHECK(back.ok());
    d.peer = d.bus_path = d.description = spaced(text);
    FUZZ_CHECK(*back == d);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    check_free_text(text.substr(0, 256));

    auto entry = parse_state(text);
    if (!entry) {
        const std::string& m = entry.error().message;
        FUZZ_CHECK(m.rfind("line ", 0) == 0 || m.rfind("missing key '", 0) == 0);
        return 0;
    }
    FUZZ_CHECK(entry->pid > 0);
    std::string written = format_state(*entry);
    auto again = parse_state(written);
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(*again == *entry);
    FUZZ_CHECK(format_state(*again) == written);
    return 0;
}
