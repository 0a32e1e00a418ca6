#include "client/port.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/log.hpp"

namespace usbhop::client {

namespace {
constexpr size_t kReadChunk = 256 * 1024;
}

Port::Port(loop::Loop& loop, vhci::VhciPort port, Events events)
    : port_(std::move(port)), events_(std::move(events)), poll_(loop, port_.socket(), [this](int s, int e) { on_poll(s, e); }) {
    int fd = port_.socket();
    int flags = ::fcntl(fd, F_GETFL);
    if (flags >= 0) ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    rearm();
}

Port::~Port() { *alive_ = false; }

void Port::rearm() {
    if (closed_) return;
    int events = 0;
    if (!paused_) events |= UV_READABLE;
    if (queued_bytes() > 0) events |= UV_WRITABLE;
    if (events == 0) {
        poll_.stop();
        return;
    }
    if (auto r = poll_.start(events); !r) close("cannot watch the vhci socket: " + r.error().message);
}

void Port::pause(bool paused) {
    if (paused == paused_) return;
    paused_ = paused;
    rearm();
}

void Port::on_poll(int status, int events) {
    if (closed_) return;
    if (status < 0) {
        close("vhci socket: " + loop::uv_error_text(status));
        return;
    }
    std::shared_ptr<bool> alive = alive_;
    if (events & UV_WRITABLE) flush();
    if (!*alive || closed_) return;
    if (events & UV_READABLE) read_some();
}

void Port::read_some() {
    std::shared_ptr<bool> alive = alive_;
    static thread_local Bytes buf(kReadChunk);
    ssize_t n = ::read(port_.socket(), buf.data(), buf.size());
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) return;
        close(std::string("reading the vhci socket: ") + std::strerror(errno));
        return;
    }
    if (n == 0) {
        close("the kernel closed the vhci socket");
        return;
    }
    decoder_.feed(ByteSpan(buf.data(), static_cast<size_t>(n)));
    for (;;) {
        auto next = decoder_.next();
        if (!next) {
            close("vhci sent what USB/IP does not allow: " + next.error().message);
            return;
        }
        if (!next->has_value()) break;
        usbip::Pdu& pdu = **next;
        if (auto* cmd = std::get_if<usbip::CmdSubmit>(&pdu)) {
            if (events_.on_submit) events_.on_submit(std::move(*cmd));
        } else if (auto* un = std::get_if<usbip::CmdUnlink>(&pdu)) {
            if (events_.on_unlink) events_.on_unlink(*un);
        }
        if (!*alive || closed_ || paused_) return;
    }
}

void Port::send(const usbip::Pdu& pdu) {
    if (closed_) return;
    const bool was_empty = queued_bytes() == 0;
    usbip::encode(pdu, out_);
    if (was_empty) flush();
    else rearm();
}

void Port::flush() {
    while (out_pos_ < out_.size()) {
        ssize_t n = ::write(port_.socket(), out_.data() + out_pos_, out_.size() - out_pos_);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) break;
            close(std::string("writing the vhci socket: ") + std::strerror(errno));
            return;
        }
        out_pos_ += static_cast<size_t>(n);
    }
    if (out_pos_ == out_.size()) {
        out_.clear();
        out_pos_ = 0;
    } else if (out_pos_ > (1u << 20) && out_pos_ * 2 > out_.size()) {
        out_.erase(out_.begin(), out_.begin() + static_cast<std::ptrdiff_t>(out_pos_));
        out_pos_ = 0;
    }
    rearm();
}

void Port::close(const std::string& why) {
    if (closed_) return;
    closed_ = true;
    poll_.stop();
    if (events_.on_closed) events_.on_closed(why);
}

Result<void> Port::detach() {
    closed_ = true;
    poll_.stop();
    return port_.detach();
}

}  // namespace usbhop::client
