// relay_tamper: `usbhop relay` that flips one bit in every Nth packet it
// forwards — the relay a lab scenario uses to show that peers notice (QUIC's
// AEAD drops the packet, it is sent again) and no data is ever corrupted.
//
//   relay_tamper CONFIG N      [relay] settings from CONFIG; logs the flips on SIGTERM
#include <csignal>
#include <cstdio>
#include <cstdlib>

#include "config/authorized_keys.hpp"
#include "config/config.hpp"
#include "relay/relay.hpp"
#include "util/log.hpp"

using namespace usbhop;

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: relay_tamper CONFIG N\n");
        return 2;
    }
    auto conf = config::load(argv[1], true);
    if (!conf) {
        std::fprintf(stderr, "%s\n", conf.error().message.c_str());
        return 2;
    }
    uint64_t every = std::strtoull(argv[2], nullptr, 10);
    auto key = identity::NodeKey::load(conf->relay.identity);
    auto keys = config::load_authorized_keys(conf->relay.authorized_keys);
    const config::Address& l = conf->relay.listen;
    auto listen = loop::SocketAddress::parse(l.is_ipv6() ? "[" + l.host + "]:" + std::to_string(l.port)
                                                          : l.host + ":" + std::to_string(l.port));
    if (!key || !keys || !listen || every == 0) {
        std::fprintf(stderr, "relay_tamper: cannot load the key, authorized_keys or listen address\n");
        return 2;
    }
    loop::Loop loop;
    uint64_t n = 0, flipped = 0;
    relay::Options o;
    o.listen = *listen;
    o.trust = [&](const identity::NodeId& id) { return keys->contains(id); };
    o.tamper = [&](Bytes& pkt) {
        if (++n % every == 0 && pkt.size() > 32) {
            pkt[pkt.size() / 2] ^= std::byte{0x10};
            ++flipped;
        }
    };
    auto relay = relay::Relay::create(loop, *key, o);
    if (!relay) {
        std::fprintf(stderr, "relay_tamper: %s\n", relay.error().message.c_str());
        return 1;
    }
    log::notice("tampering relay on %s: one bit flipped in every %llu forwarded packets",
                (*relay)->local_address().to_string().c_str(), static_cast<unsigned long long>(every));
    loop::Signal term(loop, SIGTERM, [&] { loop.stop(); });
    loop.run();
    log::notice("tampering relay stopping: %llu of %llu forwarded packets had a bit flipped",
                static_cast<unsigned long long>(flipped), static_cast<unsigned long long>(n));
    return 0;
}
