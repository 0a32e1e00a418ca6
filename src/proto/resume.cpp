#include "proto/resume.hpp"

#include <algorithm>

namespace usbhop::proto {

Result<ResumePlan> plan_resume(const SeqRanges& pending, std::span<const uint64_t> held_results,
                               std::span<const uint64_t> in_flight) {
    ResumePlan plan;
    for (uint64_t s : in_flight) {
        if (!contains(pending, s))
            return make_error("proto: Resume: seqnum " + std::to_string(s) +
                              " is still in flight here but the client does not wait for it");
    }
    for (uint64_t s : held_results) (contains(pending, s) ? plan.resend : plan.forget).push_back(s);
    std::sort(plan.resend.begin(), plan.resend.end());
    std::sort(plan.forget.begin(), plan.forget.end());

    // missing = pending minus everything held, computed on ranges: a pending
    // run may cover billions of seqnums, so it is never expanded.
    std::vector<uint64_t> held(in_flight.begin(), in_flight.end());
    held.insert(held.end(), plan.resend.begin(), plan.resend.end());
    std::sort(held.begin(), held.end());
    held.erase(std::unique(held.begin(), held.end()), held.end());
    auto h = held.begin();
    for (const SeqRange& r : pending) {
        uint64_t next = r.first;
        uint64_t end = r.first + r.count;  // exclusive; ranges never run past 2^64-1
        h = std::lower_bound(h, held.end(), r.first);
        for (; h != held.end() && *h < end; ++h) {
            if (*h > next) plan.missing.push_back(SeqRange{next, static_cast<uint32_t>(*h - next)});
            next = *h + 1;
        }
        if (next < end) plan.missing.push_back(SeqRange{next, static_cast<uint32_t>(end - next)});
    }
    return plan;
}

}  // namespace usbhop::proto
