// A throwaway directory shaped like the parts of sysfs that vhci reads. Unit
// tests cannot get the real thing: attach/detach here are plain files, so a
// test sees what was written but no kernel answers (no -EBUSY, no socket
// reference); tests/lab/scenarios/vhci-attach.sh covers the real kernel.
#pragma once

#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace usbhop::vhci::testing {

class TempDir {
public:
    TempDir() {
        char tmpl[] = "/tmp/usbhop-vhci-test-XXXXXX";
        path_ = ::mkdtemp(tmpl);
    }
    ~TempDir() { std::filesystem::remove_all(path_); }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

inline void write_file(const std::string& path, const std::string& text) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream(path) << text;
}

inline std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

inline constexpr const char* kHeader = "hub port sta spd dev      sockfd local_busid\n";

// One port line exactly as port_show_vhci() prints it.
inline std::string port_line(const char* hub, unsigned port, unsigned state, unsigned speed = 0, unsigned devid = 0,
                             unsigned sockfd = 0, const char* busid = "0-0") {
    char buf[128];
    std::snprintf(buf, sizeof buf, "%s  %04u %03u %03u %08x %06u %s\n", hub, port, state, speed, devid, sockfd, busid);
    return buf;
}

// The status text of controller `index` with `per_hub` ports on each hub, all free.
inline std::string free_controller(unsigned index, unsigned per_hub) {
    std::string s = kHeader;
    for (unsigned i = 0; i < per_hub; ++i) s += port_line("hs", index * 2 * per_hub + i, 4);
    for (unsigned i = 0; i < per_hub; ++i) s += port_line("ss", index * 2 * per_hub + per_hub + i, 4);
    return s;
}

// <root>/devices/platform/vhci_hcd.N for each controller text given, with
// nports, status / status.N, and empty attach and detach files.
class FakeSysfs {
public:
    explicit FakeSysfs(const std::vector<std::string>& controllers, int nports = -1) {
        unsigned total = 0;
        for (size_t i = 0; i < controllers.size(); ++i) {
            std::filesystem::create_directories(platform() + "/vhci_hcd." + std::to_string(i));
            write_file(dir() + (i == 0 ? "/status" : "/status." + std::to_string(i)), controllers[i]);
            for (char c : controllers[i]) total += c == '\n';
            --total;  // header
        }
        write_file(dir() + "/nports", std::to_string(nports >= 0 ? unsigned(nports) : total) + "\n");
        write_file(dir() + "/attach", "");
        write_file(dir() + "/detach", "");
    }
    std::string root() const { return tmp_.path(); }
    std::string platform() const { return root() + "/devices/platform"; }
    std::string dir() const { return platform() + "/vhci_hcd.0"; }
    std::string attach_written() const { return read_file(dir() + "/attach"); }
    std::string detach_written() const { return read_file(dir() + "/detach"); }

private:
    TempDir tmp_;
};

}  // namespace usbhop::vhci::testing
