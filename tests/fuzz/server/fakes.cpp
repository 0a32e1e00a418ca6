// See fakes.hpp: the target's quic::Connection and usb::Host.
#include "fakes.hpp"

#include "../fuzz_check.hpp"

namespace usbhop::quic {

Connection::Connection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) { impl_->self = this; }
Connection::~Connection() = default;
void Connection::set_handlers(Handlers handlers) { impl_->handlers = std::move(handlers); }
const identity::NodeId& Connection::peer() const { return impl_->peer; }
bool Connection::established() const { return !impl_->closed; }
bool Connection::is_server() const { return true; }

size_t Connection::write(int64_t stream, ByteSpan data, bool fin) {
    Impl& c = *impl_;
    if (c.closed) return 0;
    Impl::Stream& s = c.streams[stream];
    // Nothing may follow a FIN (RFC 9000 §4.5): ngtcp2 would refuse it.
    FUZZ_CHECK(!s.fin || data.empty());
    if (s.fin) return 0;
    size_t took = std::min(data.size(), c.room);
    s.decoder.feed(data.first(took));
    s.unacked += took;
    while (true) {
        auto f = s.decoder.next();
        FUZZ_CHECK(static_cast<bool>(f));  // every byte the server sends is a well-formed frame
        if (!*f) break;
        auto m = proto::decode(**f);
        if (!m) std::fprintf(stderr, "stream %lld: %s\n", static_cast<long long>(stream), m.error().message.c_str());
        FUZZ_CHECK(m && m->has_value());  // and a message this build knows
        auto kind = stream == 0 ? proto::StreamKind::kControl : proto::StreamKind::kUrb;
        FUZZ_CHECK(static_cast<bool>(proto::check_allowed(**m, kind, proto::Sender::kServer)));
        c.received.emplace_back(stream, std::move(**m));
    }
    if (fin && took == data.size()) {
        FUZZ_CHECK(s.decoder.buffered() == 0);  // a FIN never ends a stream inside a frame
        s.fin = true;
    }
    return took;
}

size_t Connection::unacknowledged(int64_t stream) const {
    auto it = impl_->streams.find(stream);
    return it == impl_->streams.end() ? 0 : it->second.unacked;
}

void Connection::stop_sending(int64_t stream, uint64_t) { impl_->streams[stream].stopped = true; }

void Connection::close(uint64_t code, std::string_view) {
    if (impl_->closed) return;
    impl_->closed = true;
    impl_->close_code = code;
}

PathInfo Connection::path() const { return {}; }

}  // namespace usbhop::quic

namespace usbhop::usb {

Host::Impl* fake_host = nullptr;

Host::Host(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) { fake_host = impl_.get(); }
Host::~Host() { fake_host = nullptr; }

Result<std::unique_ptr<Host>> Host::start(std::function<void()>, HostOptions) {
    auto impl = std::make_unique<Impl>();
    DeviceInfo& d = impl->device;
    d.id = 1;
    d.bus = 1;
    d.address = 2;
    d.path = "1-1";
    d.vendor = 0x1234;
    d.product = 0x5678;
    d.speed = Speed::high;
    d.active_config = 1;
    d.device_descriptor = Bytes(18);
    d.device_descriptor[0] = std::byte{18};  // bLength, bDescriptorType DEVICE
    d.device_descriptor[1] = std::byte{1};
    return std::unique_ptr<Host>(new Host(std::move(impl)));
}

const DeviceInfo* Host::device(DeviceId id) const { return id == impl_->device.id ? &impl_->device : nullptr; }

Result<void> Host::claim(DeviceId id, ClaimOptions) {
    if (id != impl_->device.id || impl_->claimed) return make_error("1-1 is already claimed");
    impl_->claimed = true;
    impl_->claim_pending = true;
    return {};
}

Result<void> Host::release(DeviceId id) {
    if (id != impl_->device.id || !impl_->claimed || impl_->release_pending) return make_error("1-1 is not claimed");
    impl_->release_pending = true;
    return {};
}

// The device's endpoints: control 0, bulk IN 0x81 and OUT 0x02, interrupt
// IN 0x83, isochronous IN 0x84.
std::optional<Endpoint> Host::endpoint(DeviceId id, uint8_t address) const {
    if (id != impl_->device.id) return std::nullopt;
    switch (address) {
    case 0x00:
    case 0x80: return Endpoint{0, TransferType::control, 64, 0};
    case 0x81: return Endpoint{0x81, TransferType::bulk, 512, 0};
    case 0x02: return Endpoint{0x02, TransferType::bulk, 512, 0};
    case 0x83: return Endpoint{0x83, TransferType::interrupt, 8, 4};
    case 0x84: return Endpoint{0x84, TransferType::isochronous, 1024, 1};
    default: return std::nullopt;
    }
}

Result<void> Host::submit(DeviceId id, Urb urb) {
    if (id != impl_->device.id || !impl_->claimed) return make_error("not claimed", -19);  // ENODEV
    for (const auto& [u, cancel] : impl_->in_flight)
        FUZZ_CHECK(u.seqnum != urb.seqnum);  // host.hpp: unique among the device's transfers in flight
    impl_->in_flight.emplace_back(std::move(urb), false);
    return {};
}

bool Host::cancel(DeviceId id, uint64_t seqnum) {
    if (id != impl_->device.id) return false;
    for (auto& [u, cancel] : impl_->in_flight)
        if (u.seqnum == seqnum) {
            cancel = true;
            return true;
        }
    return false;
}

size_t Host::in_flight(DeviceId) const { return impl_->in_flight.size(); }
size_t Host::max_inflight_bytes() const { return 4u << 20; }

}  // namespace usbhop::usb
