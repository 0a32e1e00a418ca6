// One vhci_hcd port on the client: our end of its USB/IP socket, watched by
// the loop. Bytes from the kernel are cut into CMD_SUBMIT / CMD_UNLINK and
// handed on at once; replies are written without blocking, the rest queued
// until the socket takes more. A decoding error or a closed socket ends the
// port (reported once through on_closed). Destroying the Port detaches the
// vhci port, which gives back every URB the kernel still has out.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "loop/loop.hpp"
#include "usbip/pdu.hpp"
#include "usbip/stream_decoder.hpp"
#include "vhci/controller.hpp"

namespace usbhop::client {

class Port {
public:
    struct Events {
        std::function<void(usbip::CmdSubmit&&)> on_submit;
        std::function<void(const usbip::CmdUnlink&)> on_unlink;
        // The kernel closed the socket or sent bytes we cannot read. The
        // owner should destroy the Port (after this returns).
        std::function<void(const std::string& why)> on_closed;
    };

    Port(loop::Loop& loop, vhci::VhciPort port, Events events);
    ~Port();
    Port(const Port&) = delete;
    Port& operator=(const Port&) = delete;

    uint32_t number() const { return port_.port(); }
    bool open() const { return !closed_; }

    // Queues one reply to the kernel (RET_SUBMIT or RET_UNLINK).
    void send(const usbip::Pdu& pdu);
    // Stops (or resumes) reading commands from the kernel: back-pressure
    // while the network cannot take more.
    void pause(bool paused);
    size_t queued_bytes() const { return out_.size() - out_pos_; }

    // Detaches now and reports what the kernel said.
    Result<void> detach();

private:
    void on_poll(int status, int events);
    void read_some();
    void flush();
    void rearm();
    void close(const std::string& why);

    vhci::VhciPort port_;
    Events events_;
    usbip::StreamDecoder decoder_ = usbip::StreamDecoder::for_commands();
    loop::Poll poll_;
    Bytes out_;
    size_t out_pos_ = 0;
    bool paused_ = false;
    bool closed_ = false;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace usbhop::client
