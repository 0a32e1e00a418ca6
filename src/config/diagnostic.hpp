// A problem found in a file a person wrote, with the place to fix it.
#pragma once

#include <string>
#include <vector>

#include "util/result.hpp"

namespace usbhop::config {

struct Diagnostic {
    std::string file;
    int line = 0;  // 1-based; 0 when the problem is with the whole file
    std::string message;

    // "FILE:LINE: message" (or "FILE: message" when line is 0).
    std::string to_string() const {
        return line > 0 ? file + ":" + std::to_string(line) + ": " + message : file + ": " + message;
    }
    bool operator==(const Diagnostic&) const = default;
};
using Diagnostics = std::vector<Diagnostic>;

// One Error carrying every diagnostic, one per line.
inline Error to_error(const Diagnostics& diagnostics) {
    std::string text;
    for (const Diagnostic& d : diagnostics) {
        if (!text.empty()) text += "\n";
        text += d.to_string();
    }
    return make_error(std::move(text));
}

}  // namespace usbhop::config
