// Fuzzes the peer's side of the relay (quic::RelayPath::receive, what the
// endpoint calls for every datagram that is no QUIC packet): a fresh
// RelayPath per input, registered with a relay the harness plays (it answers
// HELLO and REGISTER properly), then the input's datagrams from the relay's
// address or from a stranger.
//
// Input: records of source (1) · flags (1) · length (2) · bytes. Source bit 0:
// from the relay's address, else a stranger's. Flags help the fuzzer past
// what it cannot guess: bit 0 writes our registration tag where SESSION,
// FORWARD, REFUSED and KEEP-ALIVE-ACK carry it; bit 1 writes the id of a session we hold.
// Checks: no crash or undefined behaviour; nothing without our tag or from
// another address opens a session; at most kMaxResponderSessions sessions;
// punches within kPunchesPerSecond (plus the first second's burst).
#include <cstdint>
#include <cstring>
#include <memory>

#include "../fuzz_check.hpp"
#include "loop/udp.hpp"
#include "proto/relay_frames.hpp"
#include "quic/relay_path.hpp"
#include "util/log.hpp"

using namespace usbhop;
namespace wire = proto::relay;

namespace {

const identity::NodeKey& fixed_key(int i) {
    // Made once: generating keys is not what is under test.
    static const identity::NodeKey keys[2] = {*identity::NodeKey::generate(), *identity::NodeKey::generate()};
    return keys[i];
}

uint16_t get_u16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

struct World {
    loop::Loop loop;
    const identity::NodeKey& relay_key = fixed_key(0);
    const identity::NodeKey& node_key = fixed_key(1);
    loop::Udp relay_udp{loop};
    loop::SocketAddress relay_at;
    std::unique_ptr<quic::Endpoint> endpoint;
    std::unique_ptr<quic::RelayPath> path;
    wire::Tag tag{};

    World() {
        log::set_threshold(log::Level::error);
        FUZZ_CHECK(relay_udp.bind(*loop::SocketAddress::parse("127.0.0.1:0")));
        relay_at = relay_udp.local_address();
        FUZZ_CHECK(relay_udp.start_receiving([this](ByteSpan d, const loop::SocketAddress& from) { play_relay(d, from); }));
        auto ep = quic::Endpoint::create(loop, node_key, *loop::SocketAddress::parse("127.0.0.1:0"));
        FUZZ_CHECK(ep);
        endpoint = std::move(*ep);
        quic::RelayPathOptions o;
        o.relay = relay_at;
        o.relay_node = relay_key.id();
        path = std::make_unique<quic::RelayPath>(loop, *endpoint, node_key, o);
        path->start();
        for (int i = 0; i < 10000 && !path->registered(); ++i) loop.run_once(false);
        FUZZ_CHECK(path->registered());
    }

    // The relay's side of registration, answered straight into the path.
    void play_relay(ByteSpan d, const loop::SocketAddress& from) {
        auto f = wire::decode(d);
        if (!f) return;
        if (auto* h = std::get_if<wire::Hello>(&*f)) {
            wire::Challenge c{h->peer_nonce, {}, quic::to_wire(from), {}};
            c.relay_nonce.fill(std::byte{7});
            auto sig = relay_key.sign(wire::challenge_signed_bytes(c, h->node));
            FUZZ_CHECK(sig);
            std::copy(sig->begin(), sig->end(), c.relay_signature.begin());
            path->receive(wire::encode(c), relay_at);
        } else if (std::holds_alternative<wire::RegisterNode>(*f)) {
            tag.fill(std::byte{0x5a});
            path->receive(wire::encode(wire::Registered{quic::to_wire(from), 25, tag}), relay_at);
        }
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    World w;
    loop::SocketAddress stranger = *loop::SocketAddress::parse("127.0.0.1:9");
    Nanos start = monotonic_ns();
    size_t off = 0;
    while (off + 4 <= size) {
        bool from_relay = data[off] & 1;
        uint8_t flags = data[off + 1];
        size_t len = std::min<size_t>(get_u16(data + off + 2), size - off - 4);
        Bytes d(reinterpret_cast<const std::byte*>(data + off + 4), reinterpret_cast<const std::byte*>(data + off + 4 + len));
        off += 4 + len;
        if (d.empty()) continue;
        uint8_t type = std::to_integer<uint8_t>(d[0]);
        bool tagged = false;
        if (flags & 1) {
            // SESSION and FORWARD: after the id; REFUSED: after reason and id
            // (its echo); KEEP-ALIVE-ACK: after the address.
            size_t at = type == 0x07 || type == 0x08 ? 9
                        : type == 0x05             ? 10
                                                   : (d.size() > 1 && std::to_integer<uint8_t>(d[1]) == 6 ? 20 : 8);
            if (d.size() >= at + wire::kTagSize) {
                std::memcpy(d.data() + at, w.tag.data(), wire::kTagSize);
                tagged = type == 0x07;
            }
        }
        auto held = w.path->sessions();
        if ((flags & 2) && !held.empty() && d.size() >= 9)
            for (int i = 0; i < 8; ++i) d[1 + i] = std::byte(static_cast<uint8_t>(held[0].id >> (56 - 8 * i)));
        w.path->receive(d, from_relay ? w.relay_at : stranger);
        w.loop.run_once(false);
        size_t now_held = w.path->sessions().size();
        if (!(from_relay && tagged)) FUZZ_CHECK(now_held <= held.size());
        FUZZ_CHECK(now_held <= quic::kMaxResponderSessions);
    }
    double seconds = static_cast<double>(monotonic_ns() - start) / kSecond;
    FUZZ_CHECK(static_cast<double>(w.path->stats().punches_sent) <= quic::kPunchesPerSecond * (1 + seconds) + 1);
    return 0;
}
