// Fuzzes quic/path_report's parse_reports: `usbhop status` reads the files
// every running attach and serve keep under /run/usbhop, which any process
// of the usbhop group (or a crashed writer's torn write) could have left in
// any shape (docs/serve.md "Status").
//
// Input: a report file's text.
// Checks: a file parse_reports takes is a fixed point of format and parse
// once normalised (what is written reads back as the same reports, and
// writing those again gives the same text); every report has a peer.
#include <cstdint>
#include <string_view>

#include "../fuzz_check.hpp"
#include "quic/path_report.hpp"

using namespace usbhop;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto reports = quic::parse_reports(text);
    if (!reports) {
        FUZZ_CHECK(!reports.error().message.empty());
        return 0;
    }
    for (const quic::PathReport& r : *reports) FUZZ_CHECK(!r.peer.empty());
    std::string once = quic::format_reports("serve", 4242, *reports);
    auto back = quic::parse_reports(once);
    FUZZ_CHECK(back);
    FUZZ_CHECK(back->size() == reports->size());
    FUZZ_CHECK(quic::format_reports("serve", 4242, *back) == once);
    return 0;
}
