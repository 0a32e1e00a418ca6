// Fuzzes UrbLedger, the server's exactly-once bookkeeping (protocol.md §8-§11),
// with message sequences as a peer and the USB side could drive them.
//
// Input: byte 0 bit 0 picks RESUME (results retained) or not; then operations,
// each an opcode byte and its arguments: Submit (seqnum, endpoint), Unlink,
// transfer end (completed or cancelled, result size), result sent, result
// replaced, Ack (up to 4 ranges), Resume (up to 4 ranges). Seqnums come from a
// small space (collisions), or near 2^64 when the opcode's bit 7 is set.
// Checks against a model: a Submit is accepted exactly when §8 allows it (never
// a seqnum accepted before, on any endpoint, whatever was forgotten since); an
// Ack fails exactly when it names a URB in flight; the URBs in flight are the
// model's; a Resume's missing runs are pending less what is held, in order;
// retained counts and bytes add up; nothing a peer sends makes it assert.
#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <vector>

#include "../fuzz_check.hpp"
#include "server/urb_ledger.hpp"

using namespace usbhop;
using usbhop::server::UrbLedger;

namespace {

class Input {
public:
    Input(const uint8_t* data, size_t size) : p_(data), end_(data + size) {}
    bool done() const { return p_ == end_; }
    uint8_t u8() { return p_ == end_ ? 0 : *p_++; }

private:
    const uint8_t* p_;
    const uint8_t* end_;
};

constexpr uint8_t kKeys[] = {0x00, 0x81, 0x02, 0x83};

uint64_t seqnum(Input& in, bool high) {
    uint8_t b = in.u8();
    return high ? UINT64_MAX - b : b;
}

proto::SeqRanges ranges(Input& in, bool high) {
    // Ascending, disjoint runs, as get_ranges() lets through.
    proto::SeqRanges out;
    uint8_t n = in.u8() % 5;
    uint64_t next = 1;
    for (uint8_t i = 0; i < n; ++i) {
        uint64_t gap = in.u8() % 8;
        uint32_t count = in.u8() % 16 + 1;
        uint64_t first = next + gap;
        if (high && i == 0) first = std::max(first, UINT64_MAX - 255);
        if (UINT64_MAX - first < count - 1) break;  // would run past 2^64-1
        out.push_back({first, count});
        uint64_t last = first + (count - 1);
        if (last >= UINT64_MAX - 1) break;
        next = last + 2;
    }
    return out;
}

struct Model {
    std::set<uint64_t> used;              // every seqnum accepted
    std::map<uint8_t, uint64_t> highest;  // per endpoint
    std::set<uint64_t> in_flight;
};

void check_totals(const UrbLedger& l, const Model& m, bool retain) {
    FUZZ_CHECK(l.in_flight() == std::vector<uint64_t>(m.in_flight.begin(), m.in_flight.end()));
    FUZZ_CHECK(l.has_in_flight() == !m.in_flight.empty());
    if (!retain) {
        FUZZ_CHECK(l.retained_count() == 0 && l.retained_bytes() == 0);
        return;
    }
    size_t count = 0, bytes = 0;
    for (uint64_t s : m.used) {
        const UrbLedger::State* st = l.state(s);
        if (!st || *st == UrbLedger::State::in_flight) continue;
        ++count;
        bytes += l.result(s)->size();
    }
    FUZZ_CHECK(l.retained_count() == count);
    FUZZ_CHECK(l.retained_bytes() == bytes);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    Input in(data, size);
    const bool retain = in.u8() & 1;
    UrbLedger l(retain);
    Model m;
    while (!in.done()) {
        uint8_t op = in.u8();
        bool high = op & 0x80;
        switch (op & 0x7f) {
        case 0: {  // Submit
            uint64_t s = seqnum(in, high);
            uint8_t key = kKeys[in.u8() % 4];
            auto h = m.highest.find(key);
            bool allowed = s != 0 && (h == m.highest.end() || s > h->second) && !m.used.count(s);
            bool ok = l.accept(s, key).ok();
            FUZZ_CHECK(ok == allowed);  // ok && !allowed: a URB executed twice
            if (ok) {
                m.used.insert(s);
                m.highest[key] = s;
                m.in_flight.insert(s);
            }
            break;
        }
        case 1: {  // Unlink
            uint64_t s = seqnum(in, high);
            UrbLedger::UnlinkStep step = l.unlink(s);
            const UrbLedger::State* st = l.state(s);
            if (m.in_flight.count(s)) {
                FUZZ_CHECK(step == UrbLedger::UnlinkStep::cancel || step == UrbLedger::UnlinkStep::wait);
                FUZZ_CHECK(l.unlink_requested(s));
            } else if (!st) {
                FUZZ_CHECK(step == UrbLedger::UnlinkStep::answer_unknown);
            } else {
                FUZZ_CHECK(step == (*st == UrbLedger::State::completed ? UrbLedger::UnlinkStep::answer_completed
                                                                       : UrbLedger::UnlinkStep::answer_cancelled));
            }
            break;
        }
        case 2: {  // the transfer ended
            uint64_t s = seqnum(in, high);
            uint8_t how = in.u8();
            auto state = how & 1 ? UrbLedger::State::cancelled : UrbLedger::State::completed;
            const UrbLedger::State* before = l.state(s);
            UrbLedger::State was = before ? *before : UrbLedger::State::in_flight;
            l.finish(s, state, Bytes(how >> 1, std::byte{0xa5}));
            const UrbLedger::State* after = l.state(s);
            if (m.in_flight.erase(s)) FUZZ_CHECK(after && *after == state);
            else if (before) FUZZ_CHECK(after && *after == was);  // one terminal result, never two
            break;
        }
        case 3:  // the result went out
            l.mark_sent(seqnum(in, high));
            break;
        case 4: {  // a failure turned out to be an unplug
            uint64_t s = seqnum(in, high);
            l.replace_result(s, Bytes(in.u8(), std::byte{0x5a}));
            break;
        }
        case 5: {  // Ack
            proto::SeqRanges r = ranges(in, high);
            bool names_in_flight = false;
            for (uint64_t s : m.in_flight) names_in_flight |= proto::contains(r, s);
            bool ok = l.ack(r).ok();
            FUZZ_CHECK(ok == !names_in_flight);
            if (ok)
                for (uint64_t s : m.used)
                    if (proto::contains(r, s)) FUZZ_CHECK(l.state(s) == nullptr);
            break;
        }
        case 6: {  // Resume
            proto::SeqRanges pending = ranges(in, high);
            auto missing = l.resume(pending);
            FUZZ_CHECK(missing.ok());  // at most 4 pending runs here: far below the limit
            uint64_t next = 1;
            for (const proto::SeqRange& r : *missing) {
                FUZZ_CHECK(r.count >= 1 && r.first >= next);
                for (uint64_t k = 0; k < r.count; ++k) {
                    FUZZ_CHECK(proto::contains(pending, r.first + k));
                    FUZZ_CHECK(l.state(r.first + k) == nullptr);
                }
                next = r.first + r.count;
            }
            for (const proto::SeqRange& r : pending)
                for (uint64_t k = 0; k < r.count; ++k)
                    FUZZ_CHECK(proto::contains(*missing, r.first + k) == (l.state(r.first + k) == nullptr));
            for (uint64_t s : m.used)
                if (l.state(s) && !m.in_flight.count(s)) FUZZ_CHECK(proto::contains(pending, s));
            break;
        }
        default:
            break;
        }
        check_totals(l, m, retain);
    }
    return 0;
}
