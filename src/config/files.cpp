#include "config/files.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace usbhop::config {

Result<std::optional<std::string>> read_text_file(const std::string& path) {
    struct stat st;
    if (stat(path.c_str(), &st) != 0) {
        if (errno == ENOENT) return std::optional<std::string>();
        return make_error("cannot read " + path + ": " + strerror(errno), -errno);
    }
    if (S_ISDIR(st.st_mode)) return make_error("cannot read " + path + ": it is a directory");
    std::ifstream in(path, std::ios::binary);
    if (!in) return make_error("cannot read " + path + ": " + strerror(errno), -errno);
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) return make_error("cannot read " + path + ": read error");
    return std::optional<std::string>(text.str());
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
