// Logging, journal-aware.
//
// On a terminal: plain "usbhop: message" lines on stderr. Under systemd (stderr
// is the journal stream named by JOURNAL_STREAM) each record goes to the
// journal with PRIORITY= and any fields given (PEER=, DEVICE=, ...), so
// `journalctl -u usbhop PEER=...` works. -v / -q move the threshold.
#pragma once

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
// Whether init() found the journal on stderr.
bool to_journal();

void write(Level level, std::initializer_list<Field> fields, const char* fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define USBHOP_LOG_DEFINE(name, lvl)                                                               \
    template <typename... A>                                                                       \
    inline void name(const char* fmt, A... a) {                                                    \
        if (enabled(Level::lvl)) write(Level::lvl, {}, fmt, a...);                                 \
    }
USBHOP_LOG_DEFINE(error, error)
USBHOP_LOG_DEFINE(warning, warning)
USBHOP_LOG_DEFINE(notice, notice)
USBHOP_LOG_DEFINE(info, info)
USBHOP_LOG_DEFINE(debug, debug)
#undef USBHOP_LOG_DEFINE

}  // namespace usbhop::log
