// One stream's outgoing bytes from the first unacknowledged one on.
//
// ngtcp2 does not copy stream data: it points into the application's memory
// and retransmits from there until the data is acknowledged. So bytes stay put
// until acknowledge() passes them: the buffer is a chain of fixed-capacity
// blocks that never reallocate.
#pragma once

#include <cstdint>
#include <deque>
#include <span>

#include "util/bytes.hpp"

namespace usbhop::quic {

class SendBuffer {
public:
    explicit SendBuffer(size_t block_size = 64 * 1024) : block_size_(block_size) {}

    // Copies as much of data as keeps buffered() <= limit; returns how much.
    size_t append(ByteSpan data, size_t limit);
    // Bytes held: written and not yet acknowledged.
    size_t buffered() const { return static_cast<size_t>(end_ - acked_); }
    size_t unsent() const { return static_cast<size_t>(end_ - sent_); }
    uint64_t end_offset() const { return end_; }

    // Fills out with the unsent bytes in order (as many pieces as fit);
    // returns the number of pieces.
    size_t peek(std::span<ByteSpan> out) const;
    // n bytes from peek() were handed to the transport.
    void mark_sent(size_t n);
    // The peer has [offset, offset + length); everything below is freed.
    void acknowledge(uint64_t offset, uint64_t length);
    // Drops everything (stream reset).
    void clear();

private:
    std::deque<Bytes> blocks_;
    size_t block_size_;
    uint64_t base_ = 0;    // stream offset of blocks_.front()[0]
    uint64_t acked_ = 0;
    uint64_t sent_ = 0;
    uint64_t end_ = 0;
};

}  // namespace usbhop::quic
