// server/notify: systemd's service notifications (sd_notify(3)), sent exactly
// where the service's state changes: READY=1 once the socket is bound and
// the devices enumerated, STATUS= whenever what is shared changes,
// RELOADING=1 (with MONOTONIC_USEC=) around a SIGHUP reload, STOPPING=1 on
// SIGTERM, and WATCHDOG=1 at half the interval the unit asks for. Without
// $NOTIFY_SOCKET every call is a no-op.
#pragma once

#include <memory>
#include <string>

#include "loop/loop.hpp"
#include "util/time.hpp"

namespace usbhop::server {

class Notifier {
public:
    explicit Notifier(loop::Loop& loop);
    Notifier(const Notifier&) = delete;
    Notifier& operator=(const Notifier&) = delete;

    void ready();
    void reloading();
    void stopping();
    // Sent only when it differs from the last one.
    void status(const std::string& text);
    // The watchdog interval the unit set (WATCHDOG_USEC), 0 when none.
    Nanos watchdog_interval() const { return watchdog_; }

private:
    void send(const std::string& text);

    Nanos watchdog_ = 0;
    std::string last_status_;
    std::unique_ptr<loop::Timer> watchdog_timer_;
};

}  // namespace usbhop::server
