// File reading and directory creation for the config layer's two files.
#pragma once

#include <optional>
#include <string>

#include "util/result.hpp"

namespace usbhop::config {

// The whole file, or nullopt when it does not exist; anything util/files'
// read_file refuses (a FIFO, a device, over 1 MiB, another user's file) is
// an error naming the path.
Result<std::optional<std::string>> read_text_file(const std::string& path);
// mkdir -p with `mode` for each directory it creates.
Result<void> make_directories(const std::string& path, unsigned mode);
// "~/x" -> home + "/x"; anything else unchanged.
std::string expand_home(const std::string& path, const std::string& home);

}  // namespace usbhop::config
