// Fuzzes the authorized_keys parser (config::parse_authorized_keys): the file
// decides who may connect, so a malformed line must be an error naming it,
// never skipped, and what parses must be exactly what the file says.
//
// Input: the file's text. Checks: an error carries one diagnostic per bad
// line, each naming the file and a line the text has, in order; keys are
// unique, on distinct ascending lines, with one-line trimmed comments; the
// keys written back one per line parse to the same keys.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "../fuzz_check.hpp"
#include "config/authorized_keys.hpp"
#include "config/text.hpp"

using namespace usbhop;
using namespace usbhop::config;

namespace {

const std::string kFile = "/etc/usbhop/authorized_keys";

int count_lines(std::string_view text) {
    int n = 0;
    for (char c : text) n += c == '\n';
    return n + (!text.empty() && text.back() != '\n');
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    int lines = count_lines(text);
    Diagnostics all;
    auto keys = parse_authorized_keys(text, kFile, &all);
    auto quiet = parse_authorized_keys(text, kFile);
    FUZZ_CHECK(keys.ok() == quiet.ok());

    if (!keys) {
        FUZZ_CHECK(!all.empty());
        int last = 0;
        for (const Diagnostic& d : all) {
            FUZZ_CHECK(d.file == kFile && !d.message.empty());
            FUZZ_CHECK(d.line > last && d.line <= lines);
            last = d.line;
        }
        FUZZ_CHECK(keys.error().message == to_error(all).message);
        FUZZ_CHECK(quiet.error().message == keys.error().message);
        return 0;
    }
    FUZZ_CHECK(all.empty());
    int last = 0;
    std::string written;
    for (const AuthorizedKey& k : keys->keys) {
        FUZZ_CHECK(k.line > last && k.line <= lines);
        last = k.line;
        FUZZ_CHECK(keys->find(k.node) == &k);
        FUZZ_CHECK(trim(k.comment) == k.comment && k.comment.find('\n') == std::string::npos);
        written += k.node.to_string() + (k.comment.empty() ? "" : " " + k.comment) + "\n";
    }

    auto again = parse_authorized_keys(written, kFile);
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(again->keys.size() == keys->keys.size());
    for (size_t i = 0; i < keys->keys.size(); ++i) {
        FUZZ_CHECK(again->keys[i].node == keys->keys[i].node);
        FUZZ_CHECK(again->keys[i].comment == keys->keys[i].comment);
        FUZZ_CHECK(again->keys[i].line == static_cast<int>(i) + 1);
    }
    return 0;
}
