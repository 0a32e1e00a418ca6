// server/urb_ledger: the exactly-once bookkeeping of one attachment
// (docs/protocol.md §8 sequence numbers, §9 unlink, §10 acks, §11 resume).
//
// Pure: it knows seqnums, endpoints and the encoded terminal results, not
// USB or QUIC. Every seqnum moves through
//     in_flight ──finish──► completed | cancelled ──ack──► forgotten
// and the ledger promises: a seqnum is accepted (executed) at most once, per
// endpoint in strictly increasing order; each one has exactly one terminal
// result, kept until acknowledged so a resumed session can be sent it again.
// Without the RESUME capability results are not kept, only a bounded record
// of which seqnums ended how (so a late Unlink is still answered right).
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "proto/messages.hpp"
#include "util/bytes.hpp"
#include "util/result.hpp"

namespace usbhop::server {

class UrbLedger {
public:
    // §10 limits: past these, the attachment stops reading Submits.
    static constexpr size_t kMaxRetainedResults = 1024;
    static constexpr size_t kMaxRetainedBytes = 64u << 20;
    // Without RESUME: how many ended seqnums are remembered for late Unlinks.
    static constexpr size_t kMaxTombstones = 4096;
    // Runs of accepted seqnums remembered (§8: a seqnum is never accepted
    // twice, also after its entry is forgotten). One counter numbers all
    // endpoints, so the runs merge as the seqnums between them arrive; past
    // this many, the oldest gap is closed: seqnums that far behind were
    // skipped by the client (§9: unlinked before they were sent) for good.
    static constexpr size_t kMaxSeqnumRuns = 65536;

    enum class State : uint8_t { in_flight, completed, cancelled };

    explicit UrbLedger(bool retain) : retain_(retain) {}

    // A Submit for endpoint `stream_key` (the bound endpoint: address, or the
    // number alone for a control endpoint). Refused when seqnum is 0, not
    // above every seqnum this endpoint has had, or already known.
    Result<void> accept(uint64_t seqnum, uint8_t stream_key);

    enum class UnlinkStep {
        cancel,            // first Unlink of a URB in flight: cancel the transfer, answer when it ends
        wait,              // a repeated Unlink while in flight: answered when it ends
        answer_completed,  // UnlinkResult{COMPLETED} now
        answer_cancelled,  // UnlinkResult{CANCELLED} again (repeated Unlink)
        answer_unknown,    // UnlinkResult{UNKNOWN}: nothing held for it
    };
    UnlinkStep unlink(uint64_t seqnum);
    // True when an Unlink for this in-flight seqnum waits for its end.
    bool unlink_requested(uint64_t seqnum) const;

    // The transfer of an in-flight seqnum ended. `state` is completed (a
    // Complete is its terminal result) or cancelled (UnlinkResult{CANCELLED}
    // is); `result` is that encoded frame. Returns how many waiting Unlinks
    // must now be answered: after a Complete with UnlinkResult{COMPLETED},
    // after a cancel with further UnlinkResult{CANCELLED} (count - 1 of them).
    uint32_t finish(uint64_t seqnum, State state, Bytes result);

    // A terminal result not sent yet is corrected (a failure found to be an unplug).
    void replace_result(uint64_t seqnum, Bytes result);

    // The terminal result went out on its stream.
    void mark_sent(uint64_t seqnum);

    // §10: forget these results. Naming a seqnum still in flight is a protocol error.
    Result<void> ack(const proto::SeqRanges& seqnums);

    // §11 step 4: held results the client does not list are forgotten; listed
    // ones are marked unsent (sent again when their endpoint is bound).
    // Returns `missing`: the seqnums of pending the ledger holds nothing for,
    // or, changing nothing, an error when they form more runs than a ranges
    // field may carry (protocol.md §13: held seqnums cut pending's runs).
    Result<proto::SeqRanges> resume(const proto::SeqRanges& pending);

    // Retained results not sent yet for one endpoint, in seqnum order.
    std::vector<uint64_t> unsent(uint8_t stream_key) const;
    const Bytes* result(uint64_t seqnum) const;

    bool over_limit() const {
        return retain_ && (retained_count_ > kMaxRetainedResults || retained_bytes_ > kMaxRetainedBytes);
    }
    bool has_in_flight() const { return in_flight_ > 0; }
    std::vector<uint64_t> in_flight() const;
    const State* state(uint64_t seqnum) const;
    size_t retained_count() const { return retained_count_; }
    size_t retained_bytes() const { return retained_bytes_; }
    size_t size() const { return entries_.size(); }
    size_t seqnum_runs() const { return used_.size(); }

private:
    struct Entry {
        uint8_t stream_key = 0;
        State state = State::in_flight;
        uint32_t unlinks_waiting = 0;
        bool sent = false;
        bool retained = false;  // result holds data counted in retained_*
        Bytes result;
    };
    void drop_result(Entry& e);
    void erase(std::map<uint64_t, Entry>::iterator it);
    void trim_tombstones();
    bool used(uint64_t seqnum) const;
    void mark_used(uint64_t seqnum);

    bool retain_;
    std::map<uint64_t, Entry> entries_;
    std::map<uint8_t, uint64_t> highest_;
    std::map<uint64_t, uint64_t> used_;  // every seqnum accepted: runs first -> last
    size_t in_flight_ = 0;
    size_t retained_count_ = 0;
    size_t retained_bytes_ = 0;
    size_t tombstones_ = 0;
};

}  // namespace usbhop::server
