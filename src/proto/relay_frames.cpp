#include "proto/relay_frames.hpp"

#include <algorithm>

namespace usbhop::proto::relay {

namespace {

constexpr std::string_view kChallengeContext = "usbhop relay challenge v3";
constexpr std::string_view kRegisterContext = "usbhop relay register v3";

template <size_t N>
bool get_array(ByteReader& r, std::array<std::byte, N>& out) {
    ByteSpan s;
    if (!r.get_span(N, s)) return false;
    std::copy(s.begin(), s.end(), out.begin());
    return true;
}

template <size_t N>
void put_array(ByteWriter& w, const std::array<std::byte, N>& a) {
    w.put_bytes(ByteSpan(a.data(), a.size()));
}

bool get_address(ByteReader& r, WireAddress& a) {
    if (!r.get_u8(a.family)) return false;
    if (a.family != 4 && a.family != 6) return r.skip(SIZE_MAX);   // fails the reader (sticky)
    ByteSpan ip;
    if (!r.get_span(a.family == 4 ? 4 : 16, ip)) return false;
    a.ip = {};
    std::copy(ip.begin(), ip.end(), a.ip.begin());
    return r.get_u16(a.port);
}

void put_address(ByteWriter& w, const WireAddress& a) {
    w.put_u8(a.family);
    w.put_bytes(ByteSpan(a.ip.data(), a.family == 4 ? 4 : 16));
    w.put_u16(a.port);
}

Error bad(std::string_view what) { return make_error("relay frame: " + std::string(what)); }

template <typename T>
Result<Frame> finish(ByteReader& r, T frame, std::string_view name) {
    if (!r.ok()) return bad(std::string(name) + " is truncated or malformed");
    if (r.remaining() != 0) return bad(std::string(name) + " has " + std::to_string(r.remaining()) + " trailing bytes");
    return Frame(std::move(frame));
}

}  // namespace

std::string_view to_string(RefuseReason reason) {
    switch (reason) {
        case RefuseReason::not_trusted: return "this node is not in the relay's authorized_keys";
        case RefuseReason::bad_signature: return "the signature does not match the node key";
        case RefuseReason::stale_nonce: return "the challenge is unknown, used or expired";
        case RefuseReason::too_many: return "a relay limit was reached";
        case RefuseReason::not_registered: return "not registered with the relay";
        case RefuseReason::target_unknown: return "the node asked for is not registered with the relay";
        case RefuseReason::session_in_use: return "the session id is in use by another pair";
    }
    return "unknown reason";
}

Result<Frame> decode(ByteSpan datagram) {
    if (datagram.empty()) return bad("empty datagram");
    if (datagram.size() > kMaxDatagram) return bad("larger than " + std::to_string(kMaxDatagram) + " bytes");
    ByteReader r(datagram);
    uint8_t type = 0;
    r.get_u8(type);
    switch (static_cast<FrameType>(type)) {
        case FrameType::hello: {
            Hello f;
            if (datagram.size() < kMinHelloSize) return bad("HELLO is not padded to " + std::to_string(kMinHelloSize) + " bytes");
            get_array(r, f.node);
            get_array(r, f.peer_nonce);
            r.get_u8(f.version);
            return Frame(f);   // the rest is padding
        }
        case FrameType::challenge: {
            Challenge f;
            get_array(r, f.peer_nonce);
            get_array(r, f.relay_nonce);
            get_address(r, f.observed);
            get_array(r, f.relay_signature);
            return finish(r, f, "CHALLENGE");
        }
        case FrameType::register_node: {
            RegisterNode f;
            get_array(r, f.node);
            get_array(r, f.relay_nonce);
            get_array(r, f.signature);
            return finish(r, f, "REGISTER");
        }
        case FrameType::registered: {
            Registered f;
            get_address(r, f.observed);
            r.get_u16(f.keep_alive_seconds);
            get_array(r, f.tag);
            return finish(r, f, "REGISTERED");
        }
        case FrameType::refused: {
            Refused f;
            uint8_t reason = 0;
            r.get_u8(reason);
            r.get_u64(f.session_id);
            get_array(r, f.echo);
            if (r.ok() && (reason < 1 || reason > 7)) return bad("REFUSED has unknown reason " + std::to_string(reason));
            f.reason = static_cast<RefuseReason>(reason);
            return finish(r, f, "REFUSED");
        }
        case FrameType::connect: {
            Connect f;
            r.get_u64(f.session_id);
            get_array(r, f.tag);
            get_array(r, f.target);
            return finish(r, f, "CONNECT");
        }
        case FrameType::session: {
            Session f;
            r.get_u64(f.session_id);
            get_array(r, f.tag);
            get_array(r, f.peer);
            get_address(r, f.peer_address);
            uint8_t initiator = 0;
            r.get_u8(initiator);
            if (r.ok() && initiator > 1) return bad("SESSION has a role other than 0 or 1");
            f.initiator = initiator == 1;
            return finish(r, f, "SESSION");
        }
        case FrameType::forward: {
            Forward f;
            r.get_u64(f.session_id);
            get_array(r, f.tag);
            if (!r.ok()) return bad("FORWARD is truncated");
            f.packet = r.rest();
            if (f.packet.empty()) return bad("FORWARD carries no packet");
            return Frame(f);
        }
        case FrameType::punch: {
            Punch f;
            r.get_u64(f.session_id);
            uint8_t reply = 0;
            r.get_u8(reply);
            get_array(r, f.nonce);
            if (r.ok() && reply > 1) return bad("PUNCH has a kind other than 0 or 1");
            f.reply = reply == 1;
            return finish(r, f, "PUNCH");
        }
        case FrameType::release: {
            Release f;
            r.get_u64(f.session_id);
            get_array(r, f.tag);
            return finish(r, f, "RELEASE");
        }
        case FrameType::keep_alive: {
            KeepAlive f;
            get_array(r, f.node);
            get_array(r, f.tag);
            return finish(r, f, "KEEP-ALIVE");
        }
        case FrameType::keep_alive_ack: {
            KeepAliveAck f;
            get_address(r, f.observed);
            get_array(r, f.tag);
            return finish(r, f, "KEEP-ALIVE-ACK");
        }
    }
    if (type >= kFirstQuicByte) return bad("first byte " + std::to_string(type) + " is a QUIC packet's");
    return bad("unknown type " + std::to_string(type));
}

Bytes encode(const Frame& frame) {
    Bytes out;
    ByteWriter w(out);
    std::visit(
        [&](const auto& f) {
            using T = std::decay_t<decltype(f)>;
            if constexpr (std::is_same_v<T, Hello>) {
                w.put_u8(static_cast<uint8_t>(FrameType::hello));
                put_array(w, f.node);
                put_array(w, f.peer_nonce);
                w.put_u8(f.version);
                w.put_zeros(kMinHelloSize - w.size());
            } else if constexpr (std::is_same_v<T, Challenge>) {
                w.put_u8(static_cast<uint8_t>(FrameType::challenge));
                put_array(w, f.peer_nonce);
                put_array(w, f.relay_nonce);
                put_address(w, f.observed);
                put_array(w, f.relay_signature);
            } else if constexpr (std::is_same_v<T, RegisterNode>) {
                w.put_u8(static_cast<uint8_t>(FrameType::register_node));
                put_array(w, f.node);
                put_array(w, f.relay_nonce);
                put_array(w, f.signature);
            } else if constexpr (std::is_same_v<T, Registered>) {
                w.put_u8(static_cast<uint8_t>(FrameType::registered));
                put_address(w, f.observed);
                w.put_u16(f.keep_alive_seconds);
                put_array(w, f.tag);
            } else if constexpr (std::is_same_v<T, Refused>) {
                w.put_u8(static_cast<uint8_t>(FrameType::refused));
                w.put_u8(static_cast<uint8_t>(f.reason));
                w.put_u64(f.session_id);
                put_array(w, f.echo);
            } else if constexpr (std::is_same_v<T, Connect>) {
                w.put_u8(static_cast<uint8_t>(FrameType::connect));
                w.put_u64(f.session_id);
                put_array(w, f.tag);
                put_array(w, f.target);
            } else if constexpr (std::is_same_v<T, Session>) {
                w.put_u8(static_cast<uint8_t>(FrameType::session));
                w.put_u64(f.session_id);
                put_array(w, f.tag);
                put_array(w, f.peer);
                put_address(w, f.peer_address);
                w.put_u8(f.initiator ? 1 : 0);
            } else if constexpr (std::is_same_v<T, Forward>) {
                encode_forward(out, f.session_id, f.tag, f.packet);
            } else if constexpr (std::is_same_v<T, Punch>) {
                w.put_u8(static_cast<uint8_t>(FrameType::punch));
                w.put_u64(f.session_id);
                w.put_u8(f.reply ? 1 : 0);
                put_array(w, f.nonce);
            } else if constexpr (std::is_same_v<T, Release>) {
                w.put_u8(static_cast<uint8_t>(FrameType::release));
                w.put_u64(f.session_id);
                put_array(w, f.tag);
            } else if constexpr (std::is_same_v<T, KeepAlive>) {
                w.put_u8(static_cast<uint8_t>(FrameType::keep_alive));
                put_array(w, f.node);
                put_array(w, f.tag);
            } else if constexpr (std::is_same_v<T, KeepAliveAck>) {
                w.put_u8(static_cast<uint8_t>(FrameType::keep_alive_ack));
                put_address(w, f.observed);
                put_array(w, f.tag);
            }
        },
        frame);
    return out;
}

void encode_forward(Bytes& out, uint64_t session_id, const Tag& tag, ByteSpan packet) {
    ByteWriter w(out);
    w.put_u8(static_cast<uint8_t>(FrameType::forward));
    w.put_u64(session_id);
    put_array(w, tag);
    w.put_bytes(packet);
}

std::optional<uint64_t> forward_session(ByteSpan datagram) {
    if (datagram.size() <= kForwardHeaderSize || datagram.size() > kMaxDatagram ||
        std::to_integer<uint8_t>(datagram[0]) != static_cast<uint8_t>(FrameType::forward))
        return std::nullopt;
    ByteReader r(datagram.subspan(1, 8));
    uint64_t id = 0;
    r.get_u64(id);
    return id;
}

Tag forward_tag(ByteSpan datagram) {
    Tag tag{};
    std::copy_n(datagram.begin() + 9, tag.size(), tag.begin());
    return tag;
}

bool same_tag(const Tag& a, const Tag& b) {
    uint8_t diff = 0;
    for (size_t i = 0; i < a.size(); ++i) diff |= std::to_integer<uint8_t>(a[i] ^ b[i]);
    return diff == 0;
}

Bytes challenge_signed_bytes(const Challenge& c, const NodeKey& node) {
    Bytes out;
    ByteWriter w(out);
    w.put_bytes(as_bytes(kChallengeContext));
    put_array(w, c.peer_nonce);
    put_array(w, c.relay_nonce);
    put_array(w, node);
    put_address(w, c.observed);
    return out;
}

Bytes register_signed_bytes(const NodeKey& relay, const Nonce& relay_nonce, const NodeKey& node) {
    Bytes out;
    ByteWriter w(out);
    w.put_bytes(as_bytes(kRegisterContext));
    put_array(w, relay);
    put_array(w, relay_nonce);
    put_array(w, node);
    return out;
}

}  // namespace usbhop::proto::relay
