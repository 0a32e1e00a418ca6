// Fuzzes the relay's state machine (relay::Relay::receive, what its socket
// calls for every datagram from anyone): a fresh relay per input with two
// nodes, A and B, registered properly (challenge, signature), then the
// input's datagrams from A, B or two strangers.
//
// Input: records of source (1) · flags (1) · length (2) · bytes. The source
// byte picks A, B or a stranger (mod 4). Flags help the fuzzer past what it
// cannot guess: bit 0 writes the sender's registration tag into the frame
// where CONNECT, RELEASE and KEEP-ALIVE carry it; bit 1 writes the other
// node's key as CONNECT's target; bit 2 writes the id of a session the relay
// holds into any frame that starts with one.
// Checks: no crash or undefined behaviour; a stranger never receives more
// bytes than it sent (docs/relay.md: no amplifier); sessions and
// registrations stay within the limits; a stranger never opens a session.
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>

#include "../fuzz_check.hpp"
#include "loop/udp.hpp"
#include "proto/relay_frames.hpp"
#include "relay/relay.hpp"
#include "util/log.hpp"

using namespace usbhop;
namespace wire = proto::relay;

namespace {

wire::NodeKey key_of(const identity::NodeId& n) {
    wire::NodeKey k;
    std::copy(n.public_key().begin(), n.public_key().end(), k.begin());
    return k;
}

// A source with its own socket, so that the relay's answers can be counted.
struct Source {
    loop::Udp udp;
    const identity::NodeKey* key = nullptr;   // A and B only
    loop::SocketAddress address;
    wire::Tag tag{};
    bool registered = false;
    uint64_t sent = 0, received = 0;
    const identity::NodeId* relay_id = nullptr;
    std::function<void(ByteSpan, const loop::SocketAddress&)> to_relay;

    Source(loop::Loop& loop, const char* bind) : udp(loop) {
        FUZZ_CHECK(udp.bind(*loop::SocketAddress::parse(bind)));
        address = udp.local_address();
        FUZZ_CHECK(udp.start_receiving([this](ByteSpan d, const loop::SocketAddress&) { on_answer(d); }));
    }
    void on_answer(ByteSpan d) {
        received += d.size();
        if (!key) return;
        auto f = wire::decode(d);
        if (!f) return;
        if (auto* c = std::get_if<wire::Challenge>(&*f)) {
            auto sig = key->sign(wire::register_signed_bytes(key_of(*relay_id), c->relay_nonce, key_of(key->id())));
            FUZZ_CHECK(sig);
            wire::RegisterNode r{key_of(key->id()), c->relay_nonce, {}};
            std::copy(sig->begin(), sig->end(), r.signature.begin());
            to_relay(wire::encode(r), address);
        } else if (auto* r = std::get_if<wire::Registered>(&*f)) {
            tag = r->tag;
            registered = true;
        }
    }
};

const identity::NodeKey& fixed_key(int i) {
    static const identity::NodeKey keys[3] = {*identity::NodeKey::generate(), *identity::NodeKey::generate(),
                                              *identity::NodeKey::generate()};
    return keys[i];
}

struct World {
    loop::Loop loop;
    // Keys are made once: generating them is not what is under test.
    const identity::NodeKey& relay_key = fixed_key(0);
    std::unique_ptr<relay::Relay> relay;
    std::unique_ptr<Source> sources[4];
    std::optional<uint64_t> session;

    World() {
        log::set_threshold(log::Level::error);   // registrations and sessions are logged at info: not the point here
        sources[0] = std::make_unique<Source>(loop, "127.0.0.1:0");
        sources[1] = std::make_unique<Source>(loop, "127.0.0.1:0");
        sources[2] = std::make_unique<Source>(loop, "127.0.0.1:0");
        sources[3] = std::make_unique<Source>(loop, "127.0.0.2:0");
        relay::Options o;
        o.listen = *loop::SocketAddress::parse("127.0.0.1:0");
        o.limits.max_sessions_per_node = 4;
        o.trust = [this](const identity::NodeId& n) {
            return (sources[0]->key && n == sources[0]->key->id()) || (sources[1]->key && n == sources[1]->key->id());
        };
        auto r = relay::Relay::create(loop, relay_key, o);
        FUZZ_CHECK(r);
        relay = std::move(*r);
        for (int i = 0; i < 2; ++i) {
            Source& s = *sources[i];
            s.key = &fixed_key(1 + i);
            s.relay_id = &relay->id();
            s.to_relay = [this](ByteSpan d, const loop::SocketAddress& from) { relay->receive(d, from); };
            relay->receive(wire::encode(wire::Hello{key_of(s.key->id()), {}}), s.address);
        }
        // The answers are on loopback already: poll without waiting (run_until's timer costs milliseconds).
        for (int i = 0; i < 10000 && !(sources[0]->registered && sources[1]->registered); ++i) loop.run_once(false);
        FUZZ_CHECK(sources[0]->registered && sources[1]->registered);
    }
};

uint16_t get_u16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    World w;
    Source* nodes[2] = {w.sources[0].get(), w.sources[1].get()};
    size_t off = 0;
    while (off + 4 <= size) {
        Source& from = *w.sources[data[off] % 4];
        uint8_t flags = data[off + 1];
        size_t len = std::min<size_t>(get_u16(data + off + 2), size - off - 4);
        Bytes d(reinterpret_cast<const std::byte*>(data + off + 4), reinterpret_cast<const std::byte*>(data + off + 4 + len));
        off += 4 + len;
        if (d.empty()) continue;
        uint8_t type = std::to_integer<uint8_t>(d[0]);
        int me = &from == nodes[0] ? 0 : &from == nodes[1] ? 1 : -1;
        if ((flags & 1) && me >= 0) {
            size_t at = type == 0x0b ? 1 + wire::kNodeKeySize : 9;   // KEEP-ALIVE: after the node; else after the id
            if (d.size() >= at + wire::kTagSize) std::memcpy(d.data() + at, from.tag.data(), wire::kTagSize);
        }
        if ((flags & 2) && me >= 0 && type == 0x06 && d.size() >= 9 + wire::kTagSize + wire::kNodeKeySize) {
            wire::NodeKey other = key_of(nodes[1 - me]->key->id());
            std::memcpy(d.data() + 9 + wire::kTagSize, other.data(), other.size());
        }
        if ((flags & 4) && w.session && d.size() >= 9) {
            for (int i = 0; i < 8; ++i) d[1 + i] = std::byte(static_cast<uint8_t>(*w.session >> (56 - 8 * i)));
        }
        if (me >= 0 && type == 0x06 && d.size() >= 9) {
            uint64_t id = 0;
            for (int i = 0; i < 8; ++i) id = id << 8 | std::to_integer<uint8_t>(d[1 + i]);
            uint64_t before = w.relay->stats().sessions;
            w.relay->receive(d, from.address);
            if (w.relay->stats().sessions > before) w.session = id;
        } else {
            uint64_t before = w.relay->stats().sessions;
            w.relay->receive(d, from.address);
            if (me < 0) FUZZ_CHECK(w.relay->stats().sessions <= before);   // a stranger opens nothing
        }
        from.sent += d.size();
        w.loop.run_once(false);
        FUZZ_CHECK(w.relay->stats().sessions <= 4);
        FUZZ_CHECK(w.relay->stats().registrations <= 2);
    }
    w.loop.run_once(false);
    for (int i = 2; i < 4; ++i) FUZZ_CHECK(w.sources[i]->received <= w.sources[i]->sent);
    return 0;
}
