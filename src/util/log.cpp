#include "util/log.hpp"

#include "util/printable.hpp"

#include <sys/stat.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace usbhop::log {

namespace {
Level g_threshold = Level::info;
bool g_journal = false;

// JOURNAL_STREAM is "DEV:INODE" of the stream systemd connected; only trust it
// when stderr really is that stream (a child may inherit the variable).
bool stderr_is_journal() {
    const char* js = getenv("JOURNAL_STREAM");
    if (!js) return false;
    unsigned long long dev = 0, ino = 0;
    if (sscanf(js, "%llu:%llu", &dev, &ino) != 2) return false;
    struct stat st;
    if (fstat(STDERR_FILENO, &st) != 0) return false;
    return st.st_dev == dev && st.st_ino == ino;
}
}  // namespace

void set_threshold(Level level) { g_threshold = level; }
Level threshold() { return g_threshold; }
bool enabled(Level level) { return static_cast<int>(level) <= static_cast<int>(g_threshold); }
void init() { g_journal = stderr_is_journal(); }

Fields& Fields::set(std::string_view name, std::string value) {
    for (Field& f : items_)
        if (f.name == name) {
            f.value = std::move(value);
            return *this;
        }
    items_.push_back(Field{name, std::move(value)});
    return *this;
}

Fields& Fields::peer(std::string node_id, std::string_view name) {
    set("USBHOP_PEER", std::move(node_id));
    if (!name.empty()) set("USBHOP_PEER_NAME", util::printable(name));
    return *this;
}

Fields& Fields::address(std::string address) { return set("USBHOP_ADDRESS", std::move(address)); }

Fields& Fields::device(uint16_t vendor, uint16_t product, std::string busid) {
    set("USBHOP_DEVICE", util::hex4(vendor) + ":" + util::hex4(product));
    return set("USBHOP_BUSID", std::move(busid));
}

Fields& Fields::busid(std::string busid) { return set("USBHOP_BUSID", std::move(busid)); }

void write(Level level, std::initializer_list<Field> fields, const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vwrite(level, std::span<const Field>(fields.begin(), fields.size()), fmt, ap);
    va_end(ap);
}

void write(Level level, const Fields& fields, const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vwrite(level, fields.items(), fmt, ap);
    va_end(ap);
}

void vwrite(Level level, std::span<const Field> fields, const char* fmt, va_list ap) {
    if (!enabled(level)) return;
    char buf[2048];
    vsnprintf(buf, sizeof buf, fmt, ap);

    if (g_journal) {
        std::vector<std::string> items;
        items.reserve(fields.size() + 3);
        items.push_back(std::string("MESSAGE=") + buf);
        items.push_back("PRIORITY=" + std::to_string(static_cast<int>(level)));
        items.push_back("SYSLOG_IDENTIFIER=usbhop");
        for (const Field& f : fields) items.push_back(std::string(f.name) + "=" + f.value);
        std::vector<struct iovec> iov;
        iov.reserve(items.size());
        for (auto& s : items) iov.push_back({s.data(), s.size()});
        if (sd_journal_sendv(iov.data(), static_cast<int>(iov.size())) >= 0) return;
    }
    std::string line = "usbhop: ";
    if (level == Level::error) line += "error: ";
    else if (level == Level::warning) line += "warning: ";
    line += buf;
    for (const Field& f : fields) {
        line += " ";
        for (char c : f.name) line += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
        line += "=" + f.value;
    }
    line += "\n";
    fputs(line.c_str(), stderr);
}

}  // namespace usbhop::log
