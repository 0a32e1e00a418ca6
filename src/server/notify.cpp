#include "server/notify.hpp"

#include <systemd/sd-daemon.h>

#include "util/log.hpp"

namespace usbhop::server {

Notifier::Notifier(loop::Loop& loop) {
    uint64_t usec = 0;
    // WATCHDOG_USEC is only meant for this process (WATCHDOG_PID checks it).
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
        watchdog_ = usec * 1000;
        watchdog_timer_ = std::make_unique<loop::Timer>(loop, [this] { send("WATCHDOG=1"); });
        watchdog_timer_->start(watchdog_ / 2, watchdog_ / 2);
        log::info("systemd watchdog every %s; pinging at half of that", format_duration(watchdog_).c_str());
    }
}

void Notifier::send(const std::string& text) {
    int rc = sd_notify(0, text.c_str());
    if (rc < 0) log::debug("sd_notify(\"%s\") failed: %d", text.c_str(), rc);
}

void Notifier::ready() { send("READY=1"); }

void Notifier::reloading() {
    send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(monotonic_ns() / 1000));
}

void Notifier::stopping() { send("STOPPING=1"); }

void Notifier::status(const std::string& text) {
    if (text == last_status_) return;
    last_status_ = text;
    send("STATUS=" + text);
}

}  // namespace usbhop::server
