// Well-formed node IDs for config tests, made from fixed public keys.
#pragma once

#include <array>
#include <string>

#include "identity/identity.hpp"

namespace usbhop::config::test {

inline identity::NodeId node(int seed) {
    std::array<std::byte, identity::kPublicKeySize> key{};
    for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<std::byte>(seed * 31 + static_cast<int>(i));
    return identity::NodeId::from_public_key(key);
}
inline std::string id(int seed) { return node(seed).to_string(); }

// id(seed) with one character changed: the checksum must catch it.
inline std::string typo_id(int seed) {
    std::string s = id(seed);
    s[10] = s[10] == 'a' ? 'b' : 'a';
    return s;
}

}  // namespace usbhop::config::test
