// Shared by the fuzz targets: a check that stops the fuzzer with a message
// when an invariant of the code under test breaks (a finding, not a reject).
#pragma once

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond)                                                                      \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
            std::abort();                                                                     \
        }                                                                                     \
    } while (0)

namespace usbhop::fuzz {

// Chunk sizes for feeding a stream decoder: deterministic from a seed, mostly
// small (to split headers), sometimes large.
class Chunker {
public:
    explicit Chunker(unsigned seed) : state_(seed * 2654435761u + 1) {}
    size_t next(size_t remaining) {
        state_ ^= state_ << 13;
        state_ ^= state_ >> 17;
        state_ ^= state_ << 5;
        size_t n = (state_ & 0x80) ? (state_ >> 8) % 4096 + 1 : (state_ >> 8) % 16 + 1;
        return n < remaining ? n : remaining;
    }

private:
    unsigned state_;
};

}  // namespace usbhop::fuzz
