// The server's side of Resume (docs/protocol.md §11), as a pure function so
// that the rule that makes reconnects lossless lives in one tested place.
//
// The client says which seqnums it still waits for (pending); the server
// knows which it holds (results kept until acknowledged, transfers in
// flight). Every held seqnum outside pending is a result the client already
// has: forget it. Every pending seqnum the server does not hold never reached
// it: the client must submit it again (ResumeOk.missing).
#pragma once

#include <span>

#include "proto/messages.hpp"

namespace usbhop::proto {

struct ResumePlan {
    SeqRanges missing;             // ResumeOk.missing
    std::vector<uint64_t> forget;  // held results to drop, as if acknowledged
    std::vector<uint64_t> resend;  // held results to send again once their endpoint's stream is bound
    bool operator==(const ResumePlan&) const = default;
};

// held_results and in_flight need not be sorted; a seqnum in both is a bug of
// the caller. A seqnum in flight but not pending means the client lost track
// of a URB the server still runs: it is reported in an error.
Result<ResumePlan> plan_resume(const SeqRanges& pending, std::span<const uint64_t> held_results,
                               std::span<const uint64_t> in_flight);

}  // namespace usbhop::proto
