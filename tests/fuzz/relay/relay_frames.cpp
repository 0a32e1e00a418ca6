// Fuzzes the relay framing decoder (proto/relay_frames), which the relay runs
// on every datagram from anyone. Checks: a decoded frame re-encodes to bytes
// that decode to the same frame, no longer than the input (HELLO: exactly its
// padded size); FORWARD's fast path agrees with the full decoder.
#include <cstdint>

#include "../fuzz_check.hpp"
#include "proto/relay_frames.hpp"

using namespace usbhop;
using namespace usbhop::proto::relay;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    ByteSpan in(reinterpret_cast<const std::byte*>(data), size);
    auto f = decode(in);
    auto fast = forward_session(in);
    if (!f) {
        FUZZ_CHECK(f.error().message.rfind("relay frame: ", 0) == 0);
        FUZZ_CHECK(!fast);
        return 0;
    }
    FUZZ_CHECK(is_relay_frame(in));
    if (auto* fw = std::get_if<Forward>(&*f)) {
        FUZZ_CHECK(fast && *fast == fw->session_id);
        FUZZ_CHECK(fw->packet.size() + kForwardHeaderSize == size);
    } else {
        FUZZ_CHECK(!fast);
    }
    Bytes again = encode(*f);
    FUZZ_CHECK(again.size() <= size);
    if (std::holds_alternative<Hello>(*f)) FUZZ_CHECK(again.size() == kMinHelloSize);
    auto back = decode(again);
    FUZZ_CHECK(back);
    FUZZ_CHECK(back->index() == f->index());
    FUZZ_CHECK(encode(*back) == again);
    return 0;
}
