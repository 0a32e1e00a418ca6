#include "loop/loop.hpp"

#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cstdio>

namespace usbhop::loop {

namespace {
uint64_t to_ms(Nanos ns) { return (ns + kMillisecond - 1) / kMillisecond; }
}  // namespace

std::string uv_error_text(int code) { return std::string(uv_err_name(code)) + ": " + uv_strerror(code); }

Loop::Loop() : loop_(std::make_unique<uv_loop_t>()) {
    int rc = uv_loop_init(loop_.get());
    assert(rc == 0);
    (void)rc;
}

Loop::~Loop() {
    // Let the close callbacks of handles destroyed last run, then close.
    for (int i = 0; i < 16 && uv_loop_close(loop_.get()) == UV_EBUSY; ++i) uv_run(loop_.get(), UV_RUN_NOWAIT);
}

void Loop::run() { uv_run(loop_.get(), UV_RUN_DEFAULT); }

bool Loop::run_once(bool wait) { return uv_run(loop_.get(), wait ? UV_RUN_ONCE : UV_RUN_NOWAIT) != 0; }

bool Loop::run_until(const std::function<bool()>& pred, Nanos timeout) {
    Nanos deadline = monotonic_ns() + timeout;
    Timer wake(*this, [] {});
    while (!pred()) {
        Nanos now = monotonic_ns();
        if (now >= deadline) return pred();
        wake.start(deadline - now);
        uv_run(loop_.get(), UV_RUN_ONCE);
    }
    return true;
}

void Loop::stop() { uv_stop(loop_.get()); }

namespace detail {
void close(HandleBlock* block) {
    if (!block) return;
    block->closing = true;
    uv_handle_t* h = block->handle();
    h->data = block;
    uv_close(h, [](uv_handle_t* handle) { delete static_cast<HandleBlock*>(handle->data); });
}
}  // namespace detail

struct Timer::Block : detail::HandleBlock {
    uv_timer_t h;
    std::function<void()> on_fire;
    uv_handle_t* handle() override { return reinterpret_cast<uv_handle_t*>(&h); }
};

Timer::~Timer() = default;
Timer::Timer(Timer&&) noexcept = default;
Timer& Timer::operator=(Timer&&) noexcept = default;

Timer::Timer(Loop& loop, std::function<void()> on_fire) : b_(new Block) {
    b_->on_fire = std::move(on_fire);
    uv_timer_init(loop.raw(), &b_->h);
    b_->h.data = static_cast<detail::HandleBlock*>(b_.get());
}

void Timer::start(Nanos timeout, Nanos repeat) {
    uv_timer_start(
        &b_->h,
        [](uv_timer_t* t) {
            if (auto* b = detail::live<Block>(t->data)) b->on_fire();
        },
        to_ms(timeout), to_ms(repeat));
}

void Timer::stop() { uv_timer_stop(&b_->h); }

bool Timer::active() const { return uv_is_active(reinterpret_cast<const uv_handle_t*>(&b_->h)) != 0; }

struct Signal::Block : detail::HandleBlock {
    uv_signal_t h;
    std::function<void()> on_signal;
    uv_handle_t* handle() override { return reinterpret_cast<uv_handle_t*>(&h); }
};

Signal::~Signal() = default;
Signal::Signal(Signal&&) noexcept = default;
Signal& Signal::operator=(Signal&&) noexcept = default;

Signal::Signal(Loop& loop, int signum, std::function<void()> on_signal) : b_(new Block) {
    b_->on_signal = std::move(on_signal);
    uv_signal_init(loop.raw(), &b_->h);
    b_->h.data = static_cast<detail::HandleBlock*>(b_.get());
    uv_signal_start(
        &b_->h,
        [](uv_signal_t* s, int) {
            if (auto* b = detail::live<Block>(s->data)) b->on_signal();
        },
        signum);
}

struct Async::Block : detail::HandleBlock {
    uv_async_t h;
    std::function<void()> on_wake;
    uv_handle_t* handle() override { return reinterpret_cast<uv_handle_t*>(&h); }
};

Async::~Async() = default;
Async::Async(Async&&) noexcept = default;
Async& Async::operator=(Async&&) noexcept = default;

Async::Async(Loop& loop, std::function<void()> on_wake) : b_(new Block) {
    b_->on_wake = std::move(on_wake);
    uv_async_init(loop.raw(), &b_->h, [](uv_async_t* a) {
        if (auto* b = detail::live<Block>(a->data)) b->on_wake();
    });
    b_->h.data = static_cast<detail::HandleBlock*>(b_.get());
}

void Async::send() { uv_async_send(&b_->h); }

struct Poll::Block : detail::HandleBlock {
    uv_poll_t h;
    OnEvent on_event;
    int events = 0;   // what is being watched now; 0 when stopped
    uv_handle_t* handle() override { return reinterpret_cast<uv_handle_t*>(&h); }
};

Poll::~Poll() = default;
Poll::Poll(Poll&&) noexcept = default;
Poll& Poll::operator=(Poll&&) noexcept = default;

Poll::Poll(Loop& loop, int fd, OnEvent on_event) : b_(new Block) {
    b_->on_event = std::move(on_event);
    init_error_ = uv_poll_init(loop.raw(), &b_->h, fd);
    b_->h.data = static_cast<detail::HandleBlock*>(b_.get());
    // A handle whose init failed was never registered with libuv: free it
    // without uv_close; start() reports the error.
    if (init_error_ != 0) delete b_.release();
}

Result<void> Poll::start(int events) {
    if (!b_) return make_error("cannot watch descriptor: " + uv_error_text(init_error_), init_error_);
    // uv_poll_start stops the watcher first (epoll_ctl DEL) and adds it again
    // on the next turn (ADD): two system calls for nothing when the events
    // are the ones watched already, which is what a caller re-arming after
    // every read or write asks for (client::Port did, twice per URB).
    if (events == b_->events) return {};
    if (events == 0) {
        stop();
        return {};
    }
    int rc = uv_poll_start(&b_->h, events, [](uv_poll_t* p, int status, int ev) {
        auto* b = detail::live<Block>(p->data);
        if (!b) return;
        if (status < 0) b->events = 0;   // libuv stops a watcher it reports an error for
        b->on_event(status, ev);
    });
    if (rc != 0) return make_error("cannot watch descriptor: " + uv_error_text(rc), rc);
    b_->events = events;
    return {};
}

void Poll::stop() {
    if (!b_ || b_->events == 0) return;
    uv_poll_stop(&b_->h);
    b_->events = 0;
}

PreciseTimer::PreciseTimer(Loop& loop, std::function<void()> on_fire) : on_fire_(std::move(on_fire)) {
    fd_.reset(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
    assert(fd_);
    poll_ = std::make_unique<Poll>(loop, fd_.get(), [this](int, int) { on_readable(); });
    auto started = poll_->start(UV_READABLE);
    assert(started);
    (void)started;
}

PreciseTimer::~PreciseTimer() {
    poll_.reset();   // uv_close removes the descriptor from epoll before fd_ closes it
}

void PreciseTimer::start(Nanos timeout) { start_at(monotonic_ns() + timeout); }

void PreciseTimer::start_at(Nanos deadline) {
    // An absolute it_value of 0 would disarm: the earliest deadline is 1 ns.
    Nanos t = std::max<Nanos>(deadline, 1);
    if (armed_ && t == deadline_) return;
    itimerspec spec{};
    spec.it_value.tv_sec = static_cast<time_t>(t / kSecond);
    spec.it_value.tv_nsec = static_cast<long>(t % kSecond);
    timerfd_settime(fd_.get(), TFD_TIMER_ABSTIME, &spec, nullptr);
    armed_ = true;
    deadline_ = t;
}

void PreciseTimer::stop() {
    if (!armed_) return;
    itimerspec spec{};
    timerfd_settime(fd_.get(), 0, &spec, nullptr);
    armed_ = false;
}

void PreciseTimer::on_readable() {
    uint64_t expirations;
    if (read(fd_.get(), &expirations, sizeof expirations) != sizeof expirations) return;
    if (!armed_) return;
    armed_ = false;
    on_fire_();
}

}  // namespace usbhop::loop
