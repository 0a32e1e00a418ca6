// RFC 4648 base32, lowercase, no padding: the alphabet node IDs are written in
// (a-z, 2-7: no 0/1/8/9, nothing that needs quoting, easy to read aloud).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "util/bytes.hpp"

namespace usbhop::base32 {

std::string encode(ByteSpan in);
// Accepts upper or lower case; rejects padding, other characters and
// trailing bits that are not zero (so every byte string has one spelling).
std::optional<Bytes> decode(std::string_view in);

}  // namespace usbhop::base32
