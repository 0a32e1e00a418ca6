#include "loop/udp.hpp"

#include <netinet/udp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <vector>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

namespace usbhop::loop {

namespace {
// libuv hands recvmmsg one buffer and splits it into 64 KiB slots (at most 20).
constexpr size_t kSlot = 64 * 1024;
constexpr size_t kMmsgSlots = 20;

struct SendRequest {
    uv_udp_send_t req;
    Bytes data;
    std::function<void(int)> done;
};
}  // namespace

struct Udp::Block : detail::HandleBlock {
    uv_udp_t h;
    OnDatagram on_datagram;
    std::vector<char> rx;
    uv_handle_t* handle() override { return reinterpret_cast<uv_handle_t*>(&h); }
};

Udp::~Udp() = default;
Udp::Udp(Udp&&) noexcept = default;
Udp& Udp::operator=(Udp&&) noexcept = default;

Udp::Udp(Loop& loop, bool recvmmsg) : b_(new Block) {
    uv_udp_init_ex(loop.raw(), &b_->h, AF_UNSPEC | (recvmmsg ? UV_UDP_RECVMMSG : 0));
    b_->h.data = static_cast<detail::HandleBlock*>(b_.get());
    b_->rx.resize(recvmmsg ? kSlot * kMmsgSlots : kSlot);
}

Result<void> Udp::bind(const SocketAddress& addr) {
    int rc = uv_udp_bind(&b_->h, addr.get(), 0);
    if (rc != 0) return make_error("cannot bind UDP " + addr.to_string() + ": " + uv_error_text(rc), rc);
    return {};
}

namespace {
// One of a socket's buffers: asked for with `option`, forced past the sysctl
// cap with `force` when asking fell short (EPERM without CAP_NET_ADMIN: the
// capped size stays). A capped receive buffer drops datagrams whenever the
// loop falls behind a burst: with 64 KiB packets, 212992 bytes hold three.
int grow_buffer(int fd, int option, int force, int bytes) {
    auto granted = [&] {
        int value = 0;
        socklen_t len = sizeof value;
        if (getsockopt(fd, SOL_SOCKET, option, &value, &len) != 0) return 0;
        return value / 2;   // socket(7): the kernel doubles the value set
    };
    setsockopt(fd, SOL_SOCKET, option, &bytes, sizeof bytes);
    if (granted() < bytes) setsockopt(fd, SOL_SOCKET, force, &bytes, sizeof bytes);
    return granted();
}
}  // namespace

Udp::BufferSizes Udp::set_buffer_sizes(int receive_bytes, int send_bytes) {
    int sock = fd();
    if (sock < 0) return {};
    return {grow_buffer(sock, SO_RCVBUF, SO_RCVBUFFORCE, receive_bytes),
            grow_buffer(sock, SO_SNDBUF, SO_SNDBUFFORCE, send_bytes)};
}

Result<void> Udp::start_receiving(OnDatagram on_datagram) {
    b_->on_datagram = std::move(on_datagram);
    int rc = uv_udp_recv_start(
        &b_->h,
        [](uv_handle_t* h, size_t, uv_buf_t* buf) {
            auto* b = static_cast<Block*>(static_cast<detail::HandleBlock*>(h->data));
            *buf = uv_buf_init(b->rx.data(), static_cast<unsigned>(b->rx.size()));
        },
        [](uv_udp_t* h, ssize_t nread, const uv_buf_t* buf, const sockaddr* from, unsigned flags) {
            // nread == 0 with no address: the socket is drained (or the
            // final UV_UDP_MMSG_FREE call); the buffer is ours, nothing to free.
            if (nread <= 0 || !from || (flags & UV_UDP_PARTIAL)) return;
            auto* b = detail::live<Block>(h->data);
            if (!b) return;
            b->on_datagram(ByteSpan(reinterpret_cast<const std::byte*>(buf->base), static_cast<size_t>(nread)),
                           SocketAddress(from));
        });
    if (rc != 0) return make_error("cannot receive on UDP socket: " + uv_error_text(rc), rc);
    return {};
}


int Udp::try_send(ByteSpan data, const SocketAddress& to) {
    uv_buf_t buf = uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(data.data())),
                               static_cast<unsigned>(data.size()));
    return uv_udp_try_send(&b_->h, &buf, 1, to.get());
}

int Udp::try_send_segments(ByteSpan data, size_t segment_size, const SocketAddress& to) {
    if (send_queue_count() != 0) return UV_EAGAIN;
    int sock = fd();
    if (sock < 0) return UV_EBADF;
    iovec iov{const_cast<std::byte*>(data.data()), data.size()};
    msghdr msg{};
    msg.msg_name = const_cast<sockaddr*>(to.get());
    msg.msg_namelen = to.size();
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(uint16_t))] = {};
    if (segment_size > 0 && data.size() > segment_size) {
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        cmsghdr* cm = CMSG_FIRSTHDR(&msg);
        cm->cmsg_level = SOL_UDP;
        cm->cmsg_type = UDP_SEGMENT;
        cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
        uint16_t seg = static_cast<uint16_t>(segment_size);
        std::memcpy(CMSG_DATA(cm), &seg, sizeof seg);
    }
    ssize_t n;
    do n = sendmsg(sock, &msg, MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    if (n < 0) return errno == EWOULDBLOCK ? UV_EAGAIN : -errno;
    return static_cast<int>(n);
}

void Udp::send(ByteSpan data, const SocketAddress& to, std::function<void(int status)> done) {
    auto* r = new SendRequest;
    r->data.assign(data.begin(), data.end());
    r->done = std::move(done);
    r->req.data = r;
    uv_buf_t buf = uv_buf_init(reinterpret_cast<char*>(r->data.data()), static_cast<unsigned>(r->data.size()));
    int rc = uv_udp_send(&r->req, &b_->h, &buf, 1, to.get(), [](uv_udp_send_t* req, int status) {
        auto* sr = static_cast<SendRequest*>(req->data);
        // A send cancelled by the owner's destruction must not call back into it.
        if (sr->done && detail::live<Block>(req->handle->data)) sr->done(status);
        delete sr;
    });
    if (rc != 0) {
        auto cb = std::move(r->done);
        delete r;
        if (cb) cb(rc);
    }
}

size_t Udp::send_queue_count() const { return uv_udp_get_send_queue_count(&b_->h); }

SocketAddress Udp::local_address() const {
    sockaddr_storage ss{};
    int len = sizeof ss;
    if (uv_udp_getsockname(&b_->h, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return {};
    return SocketAddress(reinterpret_cast<const sockaddr*>(&ss));
}

int Udp::fd() const {
    uv_os_fd_t fd = -1;
    if (uv_fileno(reinterpret_cast<const uv_handle_t*>(&b_->h), &fd) != 0) return -1;
    return fd;
}

}  // namespace usbhop::loop
