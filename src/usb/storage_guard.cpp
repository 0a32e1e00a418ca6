#include "usb/storage_guard.hpp"

#include <filesystem>
#include <system_error>

#include "util/files.hpp"

namespace usbhop::usb {

namespace fs = std::filesystem;

namespace {

// sysfs and /proc files: root's (or, under /proc/self, ours); "" when unreadable.
std::string read_text(const fs::path& p) {
    auto text = read_file(p.string());
    return text ? std::move(*text) : std::string();
}

std::string trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
}

// mountinfo escapes blanks in paths as \040 and friends (octal).
std::string unescape_octal(std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        auto octal = [&](size_t j) { return s[j] >= '0' && s[j] <= '7'; };
        if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] <= '3' && octal(i + 1) && octal(i + 2) && octal(i + 3)) {
            out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
            i += 3;
        } else {
            out += s[i];
        }
    }
    return out;
}

std::vector<std::string_view> split_fields(std::string_view line) {
    std::vector<std::string_view> fields;
    size_t pos = 0;
    while (pos < line.size()) {
        while (pos < line.size() && (line[pos] == ' ' || line[pos] == '\t')) ++pos;
        size_t end = pos;
        while (end < line.size() && line[end] != ' ' && line[end] != '\t') ++end;
        if (end > pos) fields.push_back(line.substr(pos, end - pos));
        pos = end;
    }
    return fields;
}

template <typename F>
void for_each_line(std::string_view text, F f) {
    size_t pos = 0;
    while (pos < text.size()) {
        size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        f(text.substr(pos, end - pos));
        pos = end + 1;
    }
}

void add_block(const fs::path& dir, bool partition_of_disk, std::vector<BlockDevice>& out) {
    std::error_code ec;
    if (!fs::exists(dir / "dev", ec)) return;
    BlockDevice b;
    b.name = dir.filename().string();
    b.number = trim(read_text(dir / "dev"));
    b.held = !fs::is_empty(dir / "holders", ec) && !ec;
    out.push_back(b);
    if (partition_of_disk) return;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        if (entry.is_directory(ec) && !entry.is_symlink(ec) && fs::exists(entry.path() / "partition", ec))
            add_block(entry.path(), true, out);
    }
}

}  // namespace

std::vector<Mount> parse_mountinfo(std::string_view text) {
    std::vector<Mount> mounts;
    for_each_line(text, [&](std::string_view line) {
        auto f = split_fields(line);
        // 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
        if (f.size() < 5 || f[2].find(':') == std::string_view::npos) return;
        mounts.push_back(Mount{std::string(f[2]), unescape_octal(f[4])});
    });
    return mounts;
}

std::vector<std::string> parse_swaps(std::string_view text) {
    std::vector<std::string> swaps;
    bool header = true;
    for_each_line(text, [&](std::string_view line) {
        if (header) {
            header = false;
            return;
        }
        auto f = split_fields(line);
        if (!f.empty()) swaps.push_back(unescape_octal(f[0]));
    });
    return swaps;
}

std::vector<BlockDevice> block_devices_of(const std::string& sysfs_device_dir) {
    std::vector<BlockDevice> out;
    std::error_code ec;
    fs::path root = fs::canonical(sysfs_device_dir, ec);
    if (ec) return out;
    // Disks sit deep below the USB device (…/1-1:1.0/host0/target0:0:0/0:0:0:0/block/sda);
    // directory symlinks are not followed, so the walk stays inside the device.
    for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (it->is_symlink(ec) || !it->is_directory(ec)) continue;
        if (it->path().filename() != "block") continue;
        for (const auto& disk : fs::directory_iterator(it->path(), ec)) add_block(disk.path(), false, out);
        it.disable_recursion_pending();
    }
    return out;
}

std::string describe_use(const std::vector<BlockDevice>& blocks, const std::vector<Mount>& mounts,
                         const std::vector<std::string>& swaps) {
    std::string out;
    auto add = [&](const std::string& s) { out += (out.empty() ? "" : ", ") + s; };
    for (const BlockDevice& b : blocks) {
        for (const Mount& m : mounts)
            if (m.device == b.number) add("/dev/" + b.name + " is mounted on " + m.mount_point);
        for (const std::string& s : swaps)
            if (s == "/dev/" + b.name) add("/dev/" + b.name + " is in use as swap");
        if (b.held) add("/dev/" + b.name + " is held by device-mapper or md");
    }
    return out;
}

Result<void> check_storage_unused(const std::string& path, const std::string& sysfs_root) {
    auto blocks = block_devices_of(sysfs_root + "/" + path);
    if (blocks.empty()) return {};
    std::string use =
        describe_use(blocks, parse_mountinfo(read_text("/proc/self/mountinfo")), parse_swaps(read_text("/proc/swaps")));
    if (use.empty()) return {};
    return make_error(path + ": refusing to take this storage device away from this machine: " + use +
                      " (unmount it first, or set 'force' in its [share] rule to take it anyway)");
}

}  // namespace usbhop::usb
