// Bytes in, bytes out: the buffer type and the bounds-checked readers and
// writers every codec in usbhop uses (proto/, usbip/, relay framing).
//
// ByteReader never reads past its span: every get_* returns false once the
// input is short, and the reader stays failed ("sticky"), so a decoder can
// read a whole header and check ok() once. Integers are big-endian (network
// order) unless the name says _le.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace usbhop {

using Bytes = std::vector<std::byte>;
using ByteSpan = std::span<const std::byte>;

inline ByteSpan as_bytes(std::string_view s) { return {reinterpret_cast<const std::byte*>(s.data()), s.size()}; }
inline std::string_view as_chars(ByteSpan b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }
inline Bytes to_bytes(std::string_view s) { auto b = as_bytes(s); return Bytes(b.begin(), b.end()); }
std::string to_hex(ByteSpan b);

// The next line of TEXT (without its '\n'), taken off the front of TEXT; the
// last line need not end in '\n'. For line-oriented parsers of sysfs and
// /run files: `while (!text.empty()) { auto line = take_line(text); ... }`.
inline std::string_view take_line(std::string_view& text) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    return line;
}

class ByteReader {
public:
    explicit ByteReader(ByteSpan in) : in_(in) {}

    bool ok() const { return ok_; }
    size_t remaining() const { return ok_ ? in_.size() - pos_ : 0; }
    size_t position() const { return pos_; }

    bool get_u8(uint8_t& v) { return get_be(v); }
    bool get_u16(uint16_t& v) { return get_be(v); }
    bool get_u32(uint32_t& v) { return get_be(v); }
    bool get_u64(uint64_t& v) { return get_be(v); }
    bool get_i32(int32_t& v) { uint32_t u; if (!get_be(u)) return false; v = static_cast<int32_t>(u); return true; }
    bool get_u16_le(uint16_t& v) {
        ByteSpan s;
        if (!get_span(2, s)) return false;
        v = static_cast<uint16_t>(std::to_integer<uint16_t>(s[0]) | std::to_integer<uint16_t>(s[1]) << 8);
        return true;
    }
    // A view into the input, valid as long as the input is.
    bool get_span(size_t n, ByteSpan& out) {
        if (!ok_ || in_.size() - pos_ < n) return fail();
        out = in_.subspan(pos_, n);
        pos_ += n;
        return true;
    }
    bool get_bytes(size_t n, Bytes& out) {
        ByteSpan s;
        if (!get_span(n, s)) return false;
        out.assign(s.begin(), s.end());
        return true;
    }
    bool skip(size_t n) { ByteSpan s; return get_span(n, s); }
    ByteSpan rest() {
        ByteSpan s;
        get_span(remaining(), s);
        return s;
    }

private:
    template <typename T>
    bool get_be(T& v) {
        if (!ok_ || in_.size() - pos_ < sizeof(T)) return fail();
        T acc = 0;
        for (size_t i = 0; i < sizeof(T); ++i) acc = static_cast<T>((acc << 8) | std::to_integer<T>(in_[pos_ + i]));
        v = acc;
        pos_ += sizeof(T);
        return true;
    }
    bool fail() { ok_ = false; return false; }

    ByteSpan in_;
    size_t pos_ = 0;
    bool ok_ = true;
};

class ByteWriter {
public:
    explicit ByteWriter(Bytes& out) : out_(out) {}

    void put_u8(uint8_t v) { out_.push_back(std::byte{v}); }
    void put_u16(uint16_t v) { put_be(v); }
    void put_u32(uint32_t v) { put_be(v); }
    void put_u64(uint64_t v) { put_be(v); }
    void put_i32(int32_t v) { put_be(static_cast<uint32_t>(v)); }
    void put_u16_le(uint16_t v) { put_u8(static_cast<uint8_t>(v)); put_u8(static_cast<uint8_t>(v >> 8)); }
    void put_bytes(ByteSpan b) { out_.insert(out_.end(), b.begin(), b.end()); }
    void put_zeros(size_t n) { out_.insert(out_.end(), n, std::byte{0}); }
    size_t size() const { return out_.size(); }

private:
    template <typename T>
    void put_be(T v) {
        for (size_t i = sizeof(T); i-- > 0;) out_.push_back(static_cast<std::byte>((v >> (8 * i)) & 0xff));
    }
    Bytes& out_;
};

}  // namespace usbhop
