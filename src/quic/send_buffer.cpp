#include "quic/send_buffer.hpp"

#include <algorithm>

namespace usbhop::quic {

size_t SendBuffer::append(ByteSpan data, size_t limit) {
    size_t room = limit > buffered() ? limit - buffered() : 0;
    size_t take = std::min(room, data.size());
    size_t done = 0;
    while (done < take) {
        if (blocks_.empty() || blocks_.back().size() == blocks_.back().capacity()) {
            if (blocks_.empty()) base_ = end_;
            blocks_.emplace_back();
            blocks_.back().reserve(block_size_);
        }
        Bytes& b = blocks_.back();
        size_t n = std::min(take - done, b.capacity() - b.size());
        // Within capacity: never reallocates, so pointers given out stay valid.
        b.insert(b.end(), data.begin() + static_cast<ptrdiff_t>(done),
                 data.begin() + static_cast<ptrdiff_t>(done + n));
        done += n;
    }
    end_ += done;
    return done;
}

size_t SendBuffer::peek(std::span<ByteSpan> out) const {
    size_t count = 0;
    uint64_t offset = base_;
    for (const Bytes& b : blocks_) {
        if (count == out.size()) break;
        uint64_t block_end = offset + b.size();
        if (block_end > sent_) {
            size_t skip = sent_ > offset ? static_cast<size_t>(sent_ - offset) : 0;
            out[count++] = ByteSpan(b).subspan(skip);
        }
        offset = block_end;
    }
    return count;
}

void SendBuffer::mark_sent(size_t n) { sent_ = std::min(end_, sent_ + n); }

void SendBuffer::acknowledge(uint64_t offset, uint64_t length) {
    acked_ = std::max(acked_, std::min(sent_, offset + length));   // only what was sent can be acknowledged
    while (!blocks_.empty() && base_ + blocks_.front().size() <= acked_ &&
           (blocks_.size() > 1 || blocks_.front().size() == blocks_.front().capacity() || acked_ == end_)) {
        base_ += blocks_.front().size();
        blocks_.pop_front();
    }
}

void SendBuffer::clear() {
    blocks_.clear();
    acked_ = sent_ = base_ = end_;
}

}  // namespace usbhop::quic
