// relay/: `usbhop relay`, the rendezvous and NAT fallback (docs/architecture.md#relay,
// docs/relay.md). It speaks only the relay frames of proto/relay_frames on
// one UDP socket and never parses what it forwards.
//
// Promises:
// - Only the holder of a node key registers as that node (challenge-response
//   signed with the key), and only nodes the operator trusts (authorized_keys,
//   default nobody) register or open sessions; a refusal is logged once per
//   node and address with what to do.
// - A session forwards between exactly the two registered nodes it was made
//   for, byte for byte, within a token bucket of bytes per second (which also
//   pays for the SESSION answers to its CONNECTs); unknown session ids and
//   sources are dropped silently.
// - After registration a node's frames are recognised by its registration
//   tag as well as its address; the sessions of a FORWARD by their random id.
// - An address that has not proved it receives (a valid challenge nonce or a
//   registration) never gets an answer larger than what it sent: the relay is
//   no reflector or amplifier.
// - Registrations, sessions per node, registrations per source address,
//   challenges per source IP, CONNECTs per node and idle times are all bounded.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "config/config.hpp"
#include "identity/identity.hpp"
#include "loop/address.hpp"
#include "loop/loop.hpp"
#include "util/bytes.hpp"
#include "util/result.hpp"
#include "util/time.hpp"

namespace usbhop::relay {

// The first eight come from [relay] in usbhop.conf (limits_from; defaults in
// config::RelaySettings); the rest are fixed.
struct Limits {
    uint32_t max_registrations = 4096;
    uint32_t max_registrations_per_address = 16;   // per source IP address
    uint32_t max_sessions = 1024;
    uint32_t max_sessions_per_node = 8;
    uint64_t bytes_per_second = 10ull << 20;       // per session; 0: no limit
    Nanos session_idle_timeout = 5 * 60 * kSecond;
    Nanos registration_timeout = 90 * kSecond;     // no keep-alive this long: forgotten
    uint16_t keep_alive_seconds = 25;              // what nodes are told (beats conntrack's 30 s)
    Nanos challenge_lifetime = 10 * kSecond;
    uint32_t challenges_per_second = 2000;         // signing costs CPU: bounded, in total
    uint32_t challenges_per_source = 20;           // a second, per source IP: one flood spends its own
    uint32_t challenge_sources = 4096;             // source IPs with a bucket; least recent forgotten
    uint32_t connects_per_second = 10;             // CONNECTs answered a second, per registered node
};

// The relay's limits from [relay] settings.
Limits limits_from(const config::RelaySettings& settings);

struct Options {
    loop::SocketAddress listen;
    Limits limits;
    std::function<bool(const identity::NodeId&)> trust;   // nobody when unset
    // Every registration refused because trust() said no (for `usbhop pending --relay`).
    std::function<void(const identity::NodeId&, const loop::SocketAddress& from)> on_refused;
    // For tests of the peers' integrity checks only: changes each forwarded
    // QUIC packet before it leaves (a relay that tampers).
    std::function<void(Bytes& packet)> tamper;
};

struct SessionStats {
    uint64_t id = 0;
    identity::NodeId initiator;
    identity::NodeId target;
    uint64_t bytes_forwarded = 0;
    uint64_t packets_forwarded = 0;
    uint64_t packets_over_limit = 0;   // dropped by the token bucket
    uint64_t answer_bytes = 0;         // SESSION frames sent for CONNECTs (paid from the same bucket)
};

struct Stats {
    uint64_t registrations = 0;        // now
    uint64_t sessions = 0;             // now
    uint64_t bytes_forwarded = 0;      // since start
    uint64_t packets_forwarded = 0;
    uint64_t dropped = 0;              // silently: unknown, malformed, unverified, over limit
    uint64_t refused = 0;              // answered with REFUSED
    uint64_t challenges_sent = 0;
    uint64_t bytes_received = 0;       // every datagram, to check amplification
    uint64_t bytes_sent = 0;
};

class Relay {
public:
    static Result<std::unique_ptr<Relay>> create(loop::Loop& loop, const identity::NodeKey& key, Options options);
    ~Relay();
    Relay(const Relay&) = delete;
    Relay& operator=(const Relay&) = delete;

    // Replaces who may use the relay (SIGHUP); registered nodes no longer
    // trusted are dropped with their sessions.
    void set_trust(std::function<bool(const identity::NodeId&)> trust);

    // One datagram as if it had come on the relay's socket from `from` (the
    // socket calls this; the fuzz target tests/fuzz/relay/relay_state.cpp too).
    void receive(ByteSpan datagram, const loop::SocketAddress& from);

    loop::SocketAddress local_address() const;
    const identity::NodeId& id() const;
    Stats stats() const;
    std::optional<SessionStats> session(uint64_t id) const;
    bool registered(const identity::NodeId& node) const;
    // "3 nodes registered, 1 session, 12.5 MB forwarded" for STATUS= and logs.
    std::string summary() const;

    struct Impl;

private:
    explicit Relay(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// `usbhop relay`: loads [relay] settings, key and authorized_keys, runs until
// SIGTERM/SIGINT (SIGHUP reloads authorized_keys), talks to systemd
// (READY/STATUS/STOPPING). Returns the exit status.
struct RunOptions {
    std::string config_path;
    std::string home;
};
int run(const config::Config& config, const RunOptions& options);

}  // namespace usbhop::relay
