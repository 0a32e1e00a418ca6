// identity/: who a node is. Every node has an Ed25519 key pair; its NodeId is
// the public key written so a person can copy it and read it aloud.
//
// Promises: a NodeId that parses is a well-formed Ed25519 public key with an
// intact checksum (a typo is caught, never silently accepted as another
// node); a private key file is created 0600 inside a 0700 directory and a key
// file readable by group or others is refused, as ssh does. GnuTLS types stay
// inside this layer and quic/: callers see PEM text and bytes.
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <string>
#include <string_view>

#include "util/bytes.hpp"
#include "util/result.hpp"

namespace usbhop::identity {

constexpr size_t kPublicKeySize = 32;
constexpr size_t kSignatureSize = 64;
// base32(public key (32 bytes) || checksum (3 bytes)) = 56 characters, where
// checksum = first 3 bytes of SHA-256("usbhop-node-id" || public key).
constexpr size_t kNodeIdLength = 56;

class NodeId {
public:
    NodeId() = default;  // all zero; valid() is false
    static NodeId from_public_key(std::span<const std::byte, kPublicKeySize> key);
    // Accepts the 56-character form (either case, surrounding spaces trimmed).
    // Errors say what is wrong: length, character, checksum ("typo?").
    static Result<NodeId> parse(std::string_view text);

    std::string to_string() const;
    // First 8 characters, for log lines and status tables.
    std::string short_string() const { return to_string().substr(0, 8); }
    const std::array<std::byte, kPublicKeySize>& public_key() const { return key_; }
    bool valid() const;

    auto operator<=>(const NodeId&) const = default;

private:
    std::array<std::byte, kPublicKeySize> key_{};
};

// A node's private key. Movable, not copyable.
class NodeKey {
public:
    // Generates a fresh key in memory.
    static Result<NodeKey> generate();
    // Loads a PKCS#8 PEM key; refuses a file readable by group or others.
    static Result<NodeKey> load(const std::string& path);
    // Loads, or creates (0600 file, 0700 directory) when the file is missing.
    static Result<NodeKey> load_or_create(const std::string& path);
    Result<void> save(const std::string& path) const;

    const NodeId& id() const { return id_; }
    // PKCS#8 PEM of the private key, and SubjectPublicKeyInfo PEM of the
    // public key: what quic/ hands to GnuTLS (RFC 7250 raw public keys).
    const std::string& private_key_pem() const { return private_pem_; }
    std::string public_key_pem() const;

    // Ed25519 signature over msg (64 bytes); used by relay registration.
    Result<Bytes> sign(ByteSpan msg) const;

private:
    std::string private_pem_;
    NodeId id_;
};

// True when sig is node's Ed25519 signature over msg.
bool verify(const NodeId& node, ByteSpan msg, ByteSpan sig);

// /var/lib/usbhop-attach/identity.key for root, else $XDG_CONFIG_HOME/usbhop/identity.key
// (~/.config/usbhop/identity.key).
std::string default_identity_path();

}  // namespace usbhop::identity
