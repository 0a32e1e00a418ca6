// A UDP socket on the loop: batched receives (recvmmsg), immediate sends with a
// queued fallback, and GSO (UDP_SEGMENT) sends for quic/'s packet batches.
#pragma once

#include <functional>

#include "loop/address.hpp"
#include "loop/loop.hpp"
#include "util/bytes.hpp"

namespace usbhop::loop {

class Udp {
public:
    // Called once per datagram; data is valid only during the call.
    using OnDatagram = std::function<void(ByteSpan data, const SocketAddress& from)>;

    // recvmmsg: receive up to 20 datagrams per system call (UV_UDP_RECVMMSG).
    explicit Udp(Loop& loop, bool recvmmsg = true);
    ~Udp();
    Udp(Udp&&) noexcept;
    Udp& operator=(Udp&&) noexcept;

    // Creates the socket and binds it; port 0 picks a free port. An IPv6
    // wildcard address also receives IPv4 (dual stack).
    Result<void> bind(const SocketAddress& addr);
    // Asks for larger kernel buffers. SO_RCVBUF/SO_SNDBUF are capped at
    // net.core.rmem_max/wmem_max (212992 bytes by default): where that falls
    // short, a process that may (root, CAP_NET_ADMIN) forces the size past the
    // cap. Returns the sizes the kernel granted (what getsockopt reports, which
    // Linux doubles for its own bookkeeping, halved again).
    struct BufferSizes {
        int receive = 0;
        int send = 0;
    };
    BufferSizes set_buffer_sizes(int receive_bytes, int send_bytes);
    Result<void> start_receiving(OnDatagram on_datagram);

    // Sends now if the kernel takes it: bytes sent, or a negative libuv error
    // (UV_EAGAIN when the kernel or libuv's own queue is full).
    int try_send(ByteSpan data, const SocketAddress& to);
    // Sends several equal-size datagrams (the last may be shorter) in one
    // system call with UDP_SEGMENT; only while send_queue_count() is 0.
    // Returns bytes sent or a negative errno-style error (UV_EAGAIN, UV_EIO
    // when the device cannot segment).
    int try_send_segments(ByteSpan data, size_t segment_size, const SocketAddress& to);
    // Queues a copy of data; done (optional) gets 0 or a libuv error.
    void send(ByteSpan data, const SocketAddress& to, std::function<void(int status)> done = {});
    size_t send_queue_count() const;

    SocketAddress local_address() const;
    int fd() const;

private:
    struct Block;
    detail::BlockPtr<Block> b_;
};

}  // namespace usbhop::loop
