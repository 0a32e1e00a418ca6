// Half-open handshakes as an attacker holds them (issue 18 item 1): a client
// endpoint whose packets leave through a virtual path to a real UDP socket
// bound to `from`. Of the server's answers only Retry packets are let in, so
// every handshake gets past address validation, the server keeps state for
// it, and it never finishes. Used by the quic integration test and, through
// half_open_flood.cpp, by serve's.
#pragma once

#include <algorithm>
#include <memory>
#include <vector>

#include "identity/identity.hpp"
#include "loop/loop.hpp"
#include "loop/udp.hpp"
#include "quic/endpoint.hpp"

namespace usbhop::test {

class HalfOpenFlood {
public:
    // Fails (empty endpoint) when `from` cannot be bound.
    HalfOpenFlood(loop::Loop& loop, const identity::NodeKey& key, const loop::SocketAddress& from,
                  const loop::SocketAddress& server, const identity::NodeId& server_id)
        : loop_(loop), server_(server), server_id_(server_id), udp_(loop, false), pacer_(loop, [this] { pace(); }) {
        quic::Config cfg;
        cfg.handshake_timeout = 60 * kSecond;   // keep retransmitting; the server decides when to give up
        loop::SocketAddress bind = from;
        auto ep = quic::Endpoint::create(loop, key, bind, cfg);
        if (!ep || !udp_.bind(from)) return;
        udp_.set_buffer_sizes(8 << 20, 8 << 20);
        endpoint_ = std::move(*ep);
        label_ = *loop::SocketAddress::parse("192.0.2.1:1");
        endpoint_->add_virtual_path(label_, [this](const loop::SocketAddress& to, ByteSpan packets, size_t segment) {
            for (size_t off = 0; off < packets.size(); off += segment) {
                if (udp_.try_send(packets.subspan(off, std::min(segment, packets.size() - off)), to) >= 0) ++sent_;
            }
        });
        (void)udp_.start_receiving([this](ByteSpan data, const loop::SocketAddress& peer) {
            // A v1 long header of type Retry (RFC 9000 §17.2.5): 0b1111xxxx.
            if (!data.empty() && (std::to_integer<uint8_t>(data[0]) & 0xf0) == 0xf0) {
                ++retries_;
                endpoint_->receive_virtual(label_, peer, data);
            }
        });
    }

    bool ok() const { return endpoint_ != nullptr; }
    // Starts `count` handshakes, `per_tick` every millisecond.
    void start(size_t count, size_t per_tick = 20) {
        wanted_ = count;
        per_tick_ = per_tick;
        pacer_.start(1 * kMillisecond, 1 * kMillisecond);
    }
    bool started_all() const { return started_ == wanted_; }
    size_t started() const { return started_; }
    size_t retries() const { return retries_; }
    size_t datagrams_sent() const { return sent_; }

private:
    void pace() {
        for (size_t i = 0; i < per_tick_ && started_ < wanted_; ++i, ++started_)
            (void)endpoint_->connect(server_, server_id_, {}, label_);
        if (started_ == wanted_) pacer_.stop();
    }

    loop::Loop& loop_;
    loop::SocketAddress server_;
    identity::NodeId server_id_;
    loop::SocketAddress label_;
    loop::Udp udp_;
    loop::Timer pacer_;
    std::unique_ptr<quic::Endpoint> endpoint_;
    size_t wanted_ = 0, per_tick_ = 0, started_ = 0, retries_ = 0, sent_ = 0;
};

}  // namespace usbhop::test
