// proto/relay_frames: the frames a peer and `usbhop relay` exchange on the
// peer's own QUIC socket (docs/relay.md). Pure, bounds-checked, fuzzed.
//
// Every frame starts with a type byte below 0x40. QUIC v1 packets always have
// the fixed bit (0x40) set while grease_quic_bit is off (RFC 9000 §17,
// RFC 9287), so one socket carries both and the first byte tells them apart.
// The relay parses only the header of a FORWARD frame; the QUIC packet after
// it is end-to-end encrypted and is passed on unchanged.
//
// No answer the relay sends to an unverified address is larger than what that
// address sent: HELLO is padded to kMinHelloSize, which is more than a
// CHALLENGE takes (kMaxChallengeSize).
//
// Wire version 3 (docs/relay.md "Wire format"): REGISTERED hands the node a
// random registration tag, and every later frame between that node and the
// relay (KEEP-ALIVE and its ACK, CONNECT, SESSION, FORWARD, RELEASE) carries
// it, and REFUSED echoes what the refused frame carried (REGISTER's relay
// nonce, CONNECT's tag), so that neither side acts on a frame merely because
// of its source address. HELLO carries the version; a relay drops HELLOs of
// another version.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <variant>

#include "util/bytes.hpp"
#include "util/result.hpp"

namespace usbhop::proto::relay {

constexpr size_t kMaxDatagram = 1500;        // the relay drops anything larger
constexpr size_t kNodeKeySize = 32;          // an Ed25519 public key (identity::NodeId)
constexpr size_t kSignatureSize = 64;        // Ed25519
constexpr size_t kNonceSize = 16;
constexpr size_t kTagSize = 16;              // a registration tag
constexpr uint8_t kWireVersion = 3;          // in HELLO; version 1 had no tags (and a zero there),
                                             // version 2 none in FORWARD and REFUSED
constexpr size_t kMinHelloSize = 160;
constexpr size_t kForwardHeaderSize = 25;    // type + session id + tag
constexpr uint8_t kFirstQuicByte = 0x40;     // anything from here up is QUIC

using NodeKey = std::array<std::byte, kNodeKeySize>;
using Nonce = std::array<std::byte, kNonceSize>;
using Signature = std::array<std::byte, kSignatureSize>;
// Random, chosen by the relay for each registration, known only to the node
// and the relay (an off-path sender cannot learn it).
using Tag = std::array<std::byte, kTagSize>;

enum class FrameType : uint8_t {
    hello = 0x01,           // peer -> relay: who I am, a nonce of mine; padded
    challenge = 0x02,       // relay -> peer: a single-use nonce, the address seen, signed by the relay
    register_node = 0x03,   // peer -> relay: the relay's nonce signed with the node key
    registered = 0x04,      // relay -> peer: accepted; keep-alive interval
    refused = 0x05,         // relay -> peer: registration or session refused, and why
    connect = 0x06,         // peer -> relay: open session <id> to node <target>
    session = 0x07,         // relay -> both ends: session <id> is open, the other end's address
    forward = 0x08,         // peer <-> relay: session id + one QUIC packet
    punch = 0x09,           // peer <-> peer, direct: opens NAT mappings; answered once
    release = 0x0a,         // peer -> relay: the session went direct, drop it
    keep_alive = 0x0b,      // peer -> relay: still here (answered with keep_alive_ack)
    keep_alive_ack = 0x0c,  // relay -> peer: the address seen, so a peer notices a new NAT mapping
};

// An IPv4 or IPv6 address and port, as the relay saw it.
struct WireAddress {
    uint8_t family = 4;   // 4 or 6
    std::array<std::byte, 16> ip{};   // IPv4 uses the first 4 bytes
    uint16_t port = 0;
    bool operator==(const WireAddress&) const = default;
};

enum class RefuseReason : uint8_t {
    not_trusted = 1,       // the node is not in the relay's authorized_keys
    bad_signature = 2,     // the signature does not match the node key
    stale_nonce = 3,       // the nonce is unknown, used or too old: start again with HELLO
    too_many = 4,          // a limit (registrations per address, sessions per node, total)
    not_registered = 5,    // CONNECT from a source that has not registered
    target_unknown = 6,    // the node asked for is not registered here
    session_in_use = 7,    // the session id belongs to another pair
};
std::string_view to_string(RefuseReason reason);

struct Hello {
    NodeKey node{};
    Nonce peer_nonce{};
    uint8_t version = kWireVersion;
};
struct Challenge {
    Nonce peer_nonce{};
    Nonce relay_nonce{};
    WireAddress observed;
    Signature relay_signature{};   // over challenge_signed_bytes()
};
struct RegisterNode {
    NodeKey node{};
    Nonce relay_nonce{};
    Signature signature{};         // over register_signed_bytes()
};
struct Registered {
    WireAddress observed;
    uint16_t keep_alive_seconds = 25;
    Tag tag{};                     // this registration's; every later frame carries it
};
struct Refused {
    RefuseReason reason = RefuseReason::not_trusted;
    uint64_t session_id = 0;       // for refused CONNECTs, else 0
    // What the refused frame carried, which only its sender and the relay
    // know: a refused REGISTER's relay nonce, a refused CONNECT's tag.
    Tag echo{};
};
struct Connect {
    uint64_t session_id = 0;       // chosen by the initiator (random), reused to resume
    Tag tag{};                     // the sender's registration tag
    NodeKey target{};
};
struct Session {
    uint64_t session_id = 0;
    Tag tag{};                     // the receiver's registration tag
    NodeKey peer{};                // the other end
    WireAddress peer_address;      // the other end's address as the relay sees it
    bool initiator = false;        // true for the end that sent CONNECT
};
struct Forward {
    uint64_t session_id = 0;
    Tag tag{};                     // peer -> relay: the sender's registration tag; relay -> peer: the receiver's
    ByteSpan packet;               // a view into the decoded datagram
};
struct Punch {
    uint64_t session_id = 0;
    bool reply = false;
    Nonce nonce{};
};
struct Release {
    uint64_t session_id = 0;
    Tag tag{};
};
struct KeepAlive {
    NodeKey node{};
    Tag tag{};
};
struct KeepAliveAck {
    WireAddress observed;
    Tag tag{};
};

using Frame = std::variant<Hello, Challenge, RegisterNode, Registered, Refused, Connect, Session, Forward, Punch,
                           Release, KeepAlive, KeepAliveAck>;

// True when a datagram is a relay frame rather than a QUIC packet.
inline bool is_relay_frame(ByteSpan datagram) {
    return !datagram.empty() && std::to_integer<uint8_t>(datagram[0]) < kFirstQuicByte;
}

// Decodes one datagram. Errors say what is wrong ("relay frame: ...");
// trailing bytes after a frame are refused except HELLO's padding.
Result<Frame> decode(ByteSpan datagram);
// Encodes one frame as a datagram (HELLO padded to kMinHelloSize).
Bytes encode(const Frame& frame);

// FORWARD without a copy of the packet into a Frame: header + packet.
void encode_forward(Bytes& out, uint64_t session_id, const Tag& tag, ByteSpan packet);
// The session id of a FORWARD datagram, for the relay's fast path.
std::optional<uint64_t> forward_session(ByteSpan datagram);
// The tag of a datagram forward_session() accepted.
Tag forward_tag(ByteSpan datagram);

// Tags compared in constant time.
bool same_tag(const Tag& a, const Tag& b);

// What the relay signs in CHALLENGE and the node signs in REGISTER. Binding
// the relay's key, both nonces, the node and the address seen prevents replay
// to another relay, for another node or from another address.
Bytes challenge_signed_bytes(const Challenge& c, const NodeKey& node);
Bytes register_signed_bytes(const NodeKey& relay, const Nonce& relay_nonce, const NodeKey& node);

}  // namespace usbhop::proto::relay
