// Logging, journal-aware.
//
// On a terminal: plain "usbhop: message" lines on stderr, the fields appended
// as name=value. Under systemd (stderr is the journal stream named by
// JOURNAL_STREAM) each record goes to the journal with PRIORITY= and the
// fields given, so `journalctl USBHOP_PEER=<node-id>` finds every line about
// that peer (usbhop(1) JOURNAL FIELDS). -v / -q move the threshold.
#pragma once

#include <cstdarg>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace usbhop::log {

enum class Level { error = 3, warning = 4, notice = 5, info = 6, debug = 7 };

struct Field {
    std::string_view name;  // upper case, journald style: "USBHOP_PEER"
    std::string value;
};

// Which peer or device a line is about, as journal fields (usbhop(1) JOURNAL
// FIELDS). Built once where the peer or device becomes known and kept by its
// owner (a connection, a session, an attachment), so every line about it
// carries the same full values while the message keeps a short label.
class Fields {
public:
    // USBHOP_PEER= the full node ID; USBHOP_PEER_NAME= what this machine calls
    // it (authorized_keys comment, [peer] name), when it has a name. The name
    // comes from a file or a peer: it is passed through util::printable.
    Fields& peer(std::string node_id, std::string_view name = {});
    // USBHOP_ADDRESS= the peer's ip:port.
    Fields& address(std::string address);
    // USBHOP_DEVICE= vid:pid (4+4 lower-case hex), USBHOP_BUSID= the server's bus path.
    Fields& device(uint16_t vendor, uint16_t product, std::string busid);
    // USBHOP_BUSID= alone, where the vid:pid is not known.
    Fields& busid(std::string busid);
    // Sets one field, replacing an earlier value of that name.
    Fields& set(std::string_view name, std::string value);

    std::span<const Field> items() const { return items_; }

private:
    std::vector<Field> items_;
};

void set_threshold(Level level);
Level threshold();
bool enabled(Level level);
// Sends records to the journal instead of stderr (auto-detected by init()).
void init();

void write(Level level, std::initializer_list<Field> fields, const char* fmt, ...)
    __attribute__((format(printf, 3, 4)));
void write(Level level, const Fields& fields, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
void vwrite(Level level, std::span<const Field> fields, const char* fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

// printf-style, checked by the compiler like write(): a format that does not
// match its arguments, or a message passed as the format, fails the build.
#define USBHOP_LOG_DEFINE(name, lvl)                                                               \
    __attribute__((format(printf, 1, 2))) inline void name(const char* fmt, ...) {                 \
        if (!enabled(Level::lvl)) return;                                                          \
        va_list ap;                                                                                \
        va_start(ap, fmt);                                                                         \
        vwrite(Level::lvl, {}, fmt, ap);                                                           \
        va_end(ap);                                                                                \
    }
USBHOP_LOG_DEFINE(error, error)
USBHOP_LOG_DEFINE(warning, warning)
USBHOP_LOG_DEFINE(notice, notice)
USBHOP_LOG_DEFINE(info, info)
USBHOP_LOG_DEFINE(debug, debug)
#undef USBHOP_LOG_DEFINE

}  // namespace usbhop::log
