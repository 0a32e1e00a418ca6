#include "config/files.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "util/files.hpp"

namespace usbhop::config {

Result<std::optional<std::string>> read_text_file(const std::string& path) {
    auto text = read_file(path);
    if (text) return std::optional<std::string>(std::move(*text));
    if (text.error().code == -ENOENT) return std::optional<std::string>();
    return text.error();
}

Result<void> make_directories(const std::string& path, unsigned mode) {
    if (path.empty()) return {};
    size_t pos = 0;
    while (pos != std::string::npos) {
        pos = path.find('/', pos + 1);
        std::string dir = path.substr(0, pos);
        if (dir.empty()) continue;
        if (mkdir(dir.c_str(), static_cast<mode_t>(mode)) != 0 && errno != EEXIST)
            return make_error("cannot create directory " + dir + ": " + strerror(errno), -errno);
    }
    return {};
}

std::string expand_home(const std::string& path, const std::string& home) {
    if (path == "~") return home;
    if (path.starts_with("~/")) return home + path.substr(1);
    return path;
}

}  // namespace usbhop::config
