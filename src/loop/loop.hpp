// loop/: the one event loop of a usbhop process and RAII owners for the
// libuv handles on it (timer, signal, async, poll; udp in udp.hpp).
//
// Promises: each handle object owns one libuv handle and can be destroyed at
// any time, even from inside its own callback: the destructor calls uv_close
// and the memory goes in the close callback, so libuv never touches freed
// memory and no callback of a destroyed owner ever runs. All handle objects
// of a Loop must be destroyed before the Loop. Only Async::send may be
// called from another thread.
#pragma once

#include <uv.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <utility>

#include "util/result.hpp"
#include "util/time.hpp"
#include "util/unique_fd.hpp"

namespace usbhop::loop {

class Loop {
public:
    Loop();
    ~Loop();
    Loop(const Loop&) = delete;
    Loop& operator=(const Loop&) = delete;

    uv_loop_t* raw() { return loop_.get(); }
    // Runs until nothing is active or stop() is called.
    void run();
    // One turn; waits for an event if wait is true. Returns whether handles remain active.
    bool run_once(bool wait = true);
    // Runs until pred() holds or timeout passes; returns pred(). For tests and shutdown paths.
    bool run_until(const std::function<bool()>& pred, Nanos timeout);
    void stop();

private:
    std::unique_ptr<uv_loop_t> loop_;
};

namespace detail {

// The heap block behind each handle object: the libuv handle plus the owner's
// callbacks. close() hands it to uv_close; the close callback deletes it.
struct HandleBlock {
    bool closing = false;
    virtual ~HandleBlock() = default;
    virtual uv_handle_t* handle() = 0;
};
void close(HandleBlock* block);
struct Closer {
    void operator()(HandleBlock* block) const { close(block); }
};
template <typename Block>
using BlockPtr = std::unique_ptr<Block, Closer>;

// The live block behind a libuv handle, or null once its owner is gone.
template <typename Block>
Block* live(void* data) {
    auto* b = static_cast<HandleBlock*>(data);
    return b->closing ? nullptr : static_cast<Block*>(b);
}

}  // namespace detail

// A one-shot or repeating timer, in nanoseconds rounded up to libuv's milliseconds.
class Timer {
public:
    Timer(Loop& loop, std::function<void()> on_fire);
    ~Timer();
    Timer(Timer&&) noexcept;
    Timer& operator=(Timer&&) noexcept;
    void start(Nanos timeout, Nanos repeat = 0);
    void stop();
    bool active() const;

private:
    struct Block;
    detail::BlockPtr<Block> b_;
};

// Calls on_signal on the loop thread each time signum arrives (SIGHUP, SIGTERM, ...).
class Signal {
public:
    Signal(Loop& loop, int signum, std::function<void()> on_signal);
    ~Signal();
    Signal(Signal&&) noexcept;
    Signal& operator=(Signal&&) noexcept;

private:
    struct Block;
    detail::BlockPtr<Block> b_;
};

// Wakes the loop from any thread. Several send() calls may coalesce into one
// callback, so the callback must take everything that is queued for it.
class Async {
public:
    Async(Loop& loop, std::function<void()> on_wake);
    ~Async();
    Async(Async&&) noexcept;
    Async& operator=(Async&&) noexcept;
    void send();  // thread-safe

private:
    struct Block;
    detail::BlockPtr<Block> b_;
};

// Watches a file descriptor the loop does not own (libusb's, a netlink socket).
class Poll {
public:
    // events: UV_READABLE | UV_WRITABLE | ...; status < 0 is a libuv error.
    using OnEvent = std::function<void(int status, int events)>;
    Poll(Loop& loop, int fd, OnEvent on_event);
    ~Poll();
    Poll(Poll&&) noexcept;
    Poll& operator=(Poll&&) noexcept;
    Result<void> start(int events);
    void stop();

private:
    struct Block;
    detail::BlockPtr<Block> b_;
    int init_error_ = 0;
};

// A one-shot timer with nanosecond resolution (a timerfd watched by the loop),
// for pacing packets: libuv's own timers round up to whole milliseconds,
// which would cap a paced sender at one burst per millisecond.
class PreciseTimer {
public:
    PreciseTimer(Loop& loop, std::function<void()> on_fire);
    ~PreciseTimer();
    PreciseTimer(const PreciseTimer&) = delete;
    PreciseTimer& operator=(const PreciseTimer&) = delete;
    // 0 fires on the next loop turn.
    void start(Nanos timeout);
    // Fires at DEADLINE on monotonic_ns()'s clock (a past one: on the next
    // loop turn). Re-arming for the deadline already set costs no system call.
    void start_at(Nanos deadline);
    void stop();
    bool active() const { return armed_; }
    Nanos deadline() const { return deadline_; }   // meaningful while active()

private:
    void on_readable();
    std::function<void()> on_fire_;
    UniqueFd fd_;   // the timerfd
    bool armed_ = false;
    Nanos deadline_ = 0;
    std::unique_ptr<Poll> poll_;
};

// "EADDRINUSE: address already in use" for a libuv error code.
std::string uv_error_text(int code);

}  // namespace usbhop::loop
