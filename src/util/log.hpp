// Logging, journal-aware.
//
// On a terminal: plain "usbhop: message" lines on stderr. Under systemd (stderr
// is the journal stream named by JOURNAL_STREAM) each record goes to the
// journal with PRIORITY= and any fields given (PEER=, DEVICE=, ...), so
// `journalctl -u usbhop PEER=...` works. -v / -q move the threshold.
#pragma once

#include <cstdarg>
#include <initializer_list>
#include <string>
#include <string_view>

namespace usbhop::log {

enum class Level { error = 3, warning = 4, notice = 5, info = 6, debug = 7 };

struct Field {
    std::string_view name;   // upper case, journald style: "PEER"
    std::string value;
};

void set_threshold(Level level);
Level threshold();
bool enabled(Level level);
// Sends records to the journal instead of stderr (auto-detected by init()).
void init();

void write(Level level, std::initializer_list<Field> fields, const char* fmt, ...)
    __attribute__((format(printf, 3, 4)));
void vwrite(Level level, std::initializer_list<Field> fields, const char* fmt, va_list ap)
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
