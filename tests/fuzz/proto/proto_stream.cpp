// Fuzzes the usbhop frame decoder and every message decoder behind it, as a
// peer's stream reaches us.
//
// Input: byte 0 picks the stream kind (control or URB limits), byte 1 seeds
// the chunking, the rest is the stream. Checks: chunked and whole feeding
// agree; every decoded message re-encodes to a frame that decodes to it.
#include <cstdint>
#include <string>
#include <vector>

#include "../fuzz_check.hpp"
#include "proto/messages.hpp"

using namespace usbhop;
using namespace usbhop::proto;
using usbhop::fuzz::Chunker;

namespace {

struct Outcome {
    std::vector<Frame> frames;
    std::string error;
};

Outcome run(uint32_t limit, ByteSpan stream, Chunker* chunker) {
    Outcome out;
    FrameDecoder d(limit);
    size_t pos = 0;
    for (;;) {
        size_t n = chunker ? chunker->next(stream.size() - pos) : stream.size() - pos;
        d.feed(stream.subspan(pos, n));
        pos += n;
        for (;;) {
            auto r = d.next();
            if (!r) {
                out.error = r.error().message;
                FUZZ_CHECK(d.failed() && d.buffered() == 0);
                return out;
            }
            if (!*r) break;
            FUZZ_CHECK((*r)->payload.size() <= limit);
            out.frames.push_back(std::move(**r));
        }
        if (pos == stream.size()) break;
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 2) return 0;
    bool control = !(data[0] & 1);
    uint32_t limit = control ? kMaxControlPayload : kMaxUrbPayload;
    Chunker chunker(data[1]);
    ByteSpan stream(reinterpret_cast<const std::byte*>(data + 2), size - 2);

    Outcome whole = run(limit, stream, nullptr);
    Outcome chunked = run(limit, stream, &chunker);
    FUZZ_CHECK(whole.frames == chunked.frames);
    FUZZ_CHECK(whole.error == chunked.error);

    for (const Frame& f : whole.frames) {
        auto m = decode(f);
        if (!m) {
            FUZZ_CHECK(m.error().message.rfind("proto: ", 0) == 0);
            continue;
        }
        if (!*m) {
            FUZZ_CHECK(f.flags & kFlagOptional);
            continue;
        }
        (void)check_allowed(**m, control ? StreamKind::kControl : StreamKind::kUrb, Sender::kClient);
        Bytes wire = encode(**m);
        FrameDecoder again(kMaxUrbPayload);
        again.feed(wire);
        auto f2 = again.next();
        FUZZ_CHECK(f2.ok() && f2->has_value());
        FUZZ_CHECK((*f2)->type == f.type);
        FUZZ_CHECK((*f2)->payload.size() <= f.payload.size());  // extra bytes dropped, nothing added
        auto m2 = decode(**f2);
        FUZZ_CHECK(m2.ok() && m2->has_value());
        FUZZ_CHECK(**m2 == **m);
    }
    return 0;
}
