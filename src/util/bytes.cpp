#include "util/bytes.hpp"

namespace usbhop {

std::string to_hex(ByteSpan b) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string s;
    s.reserve(b.size() * 2);
    for (std::byte x : b) {
        auto v = std::to_integer<unsigned>(x);
        s.push_back(kDigits[v >> 4]);
        s.push_back(kDigits[v & 15]);
    }
    return s;
}

}  // namespace usbhop
