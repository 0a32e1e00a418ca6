#include "server/urb_ledger.hpp"

#include <algorithm>
#include <string>

namespace usbhop::server {

Result<void> UrbLedger::accept(uint64_t seqnum, uint8_t stream_key) {
    if (seqnum == 0) return make_error("Submit with seqnum 0");
    auto h = highest_.find(stream_key);
    if (h != highest_.end() && seqnum <= h->second)
        return make_error("Submit seqnum " + std::to_string(seqnum) + " is not above " + std::to_string(h->second) +
                          ", the last on this endpoint (a duplicate or a reorder)");
    // Not entries_: an entry is erased once acknowledged (or, without RESUME,
    // trimmed), and its seqnum must stay used on every other endpoint too.
    if (used(seqnum))
        return make_error("Submit seqnum " + std::to_string(seqnum) + " was already used on another endpoint");
    highest_[stream_key] = seqnum;
    mark_used(seqnum);
    Entry e;
    e.stream_key = stream_key;
    entries_.emplace(seqnum, std::move(e));
    ++in_flight_;
    return {};
}

bool UrbLedger::used(uint64_t seqnum) const {
    auto it = used_.upper_bound(seqnum);
    return it != used_.begin() && std::prev(it)->second >= seqnum;
}

void UrbLedger::mark_used(uint64_t seqnum) {
    auto next = used_.upper_bound(seqnum);
    bool joins_next = next != used_.end() && seqnum != UINT64_MAX && next->first == seqnum + 1;
    if (next != used_.begin() && std::prev(next)->second + 1 == seqnum) {
        auto prev = std::prev(next);
        prev->second = seqnum;
        if (joins_next) {
            prev->second = next->second;
            used_.erase(next);
        }
    } else if (joins_next) {
        uint64_t last = next->second;
        used_.erase(next);
        used_.emplace(seqnum, last);
    } else {
        used_.emplace(seqnum, seqnum);
    }
    if (used_.size() > kMaxSeqnumRuns) {
        auto first = used_.begin();
        auto second = std::next(first);
        first->second = second->second;
        used_.erase(second);
    }
}

UrbLedger::UnlinkStep UrbLedger::unlink(uint64_t seqnum) {
    auto it = entries_.find(seqnum);
    if (it == entries_.end()) return UnlinkStep::answer_unknown;
    Entry& e = it->second;
    switch (e.state) {
    case State::in_flight: return e.unlinks_waiting++ == 0 ? UnlinkStep::cancel : UnlinkStep::wait;
    case State::completed: return UnlinkStep::answer_completed;
    case State::cancelled: return UnlinkStep::answer_cancelled;
    }
    return UnlinkStep::answer_unknown;
}

bool UrbLedger::unlink_requested(uint64_t seqnum) const {
    auto it = entries_.find(seqnum);
    return it != entries_.end() && it->second.state == State::in_flight && it->second.unlinks_waiting > 0;
}

uint32_t UrbLedger::finish(uint64_t seqnum, State state, Bytes result) {
    auto it = entries_.find(seqnum);
    if (it == entries_.end() || it->second.state != State::in_flight || state == State::in_flight) return 0;
    Entry& e = it->second;
    e.state = state;
    --in_flight_;
    uint32_t answers = e.unlinks_waiting;
    e.unlinks_waiting = 0;
    if (state == State::cancelled && answers > 0) --answers;  // the first Unlink's answer is the result itself
    e.result = std::move(result);
    e.retained = retain_;
    if (retain_) {
        ++retained_count_;
        retained_bytes_ += e.result.size();
    } else {
        ++tombstones_;
    }
    return answers;
}

void UrbLedger::replace_result(uint64_t seqnum, Bytes result) {
    auto it = entries_.find(seqnum);
    if (it == entries_.end() || it->second.state == State::in_flight || it->second.sent) return;
    Entry& e = it->second;
    if (e.retained) retained_bytes_ = retained_bytes_ - e.result.size() + result.size();
    e.result = std::move(result);
}

void UrbLedger::mark_sent(uint64_t seqnum) {
    auto it = entries_.find(seqnum);
    if (it == entries_.end()) return;
    it->second.sent = true;
    if (!retain_) {
        it->second.result = Bytes{};
        trim_tombstones();
    }
}

void UrbLedger::drop_result(Entry& e) {
    if (e.retained) {
        --retained_count_;
        retained_bytes_ -= e.result.size();
        e.retained = false;
    }
    e.result = Bytes{};
}

void UrbLedger::erase(std::map<uint64_t, Entry>::iterator it) {
    Entry& e = it->second;
    if (e.state == State::in_flight) --in_flight_;
    else if (!e.retained) --tombstones_;
    drop_result(e);
    entries_.erase(it);
}

void UrbLedger::trim_tombstones() {
    for (auto it = entries_.begin(); tombstones_ > kMaxTombstones && it != entries_.end();) {
        auto next = std::next(it);
        if (it->second.state != State::in_flight && it->second.sent) erase(it);
        it = next;
    }
}

Result<void> UrbLedger::ack(const proto::SeqRanges& seqnums) {
    // Check first, so that a bad Ack changes nothing.
    for (const proto::SeqRange& r : seqnums) {
        uint64_t last = r.first + (r.count - 1);
        for (auto it = entries_.lower_bound(r.first); it != entries_.end() && it->first <= last; ++it)
            if (it->second.state == State::in_flight)
                return make_error("Ack names seqnum " + std::to_string(it->first) + ", which is still in flight");
    }
    for (const proto::SeqRange& r : seqnums) {
        uint64_t last = r.first + (r.count - 1);
        for (auto it = entries_.lower_bound(r.first); it != entries_.end() && it->first <= last;) {
            auto next = std::next(it);
            erase(it);
            it = next;
        }
    }
    return {};
}

Result<proto::SeqRanges> UrbLedger::resume(const proto::SeqRanges& pending) {
    // missing = pending minus what is held, cut out run by run (pending may
    // name billions of seqnums; the ledger holds at most a few thousand).
    // Computed before anything is forgotten, so that a refusal changes
    // nothing; the entries forgotten below lie outside pending anyway.
    proto::SeqRanges missing;
    auto add = [&](uint64_t first, uint64_t last) {
        while (first <= last) {
            uint64_t n = std::min<uint64_t>(last - first + 1, UINT32_MAX);
            missing.push_back({first, static_cast<uint32_t>(n)});
            if (last - first + 1 == n) break;
            first += n;
        }
    };
    for (const proto::SeqRange& r : pending) {
        uint64_t first = r.first;
        uint64_t last = r.first + (r.count - 1);
        for (auto it = entries_.lower_bound(first); it != entries_.end() && it->first <= last; ++it) {
            if (it->first > first) add(first, it->first - 1);
            first = it->first + 1;
        }
        if (first <= last && first != 0) add(first, last);
        if (missing.size() > proto::kMaxRanges)
            return make_error("Resume: the seqnums held here cut pending into more than " +
                              std::to_string(proto::kMaxRanges) + " runs, more than ResumeOk.missing may carry");
    }
    for (auto it = entries_.begin(); it != entries_.end();) {
        auto next = std::next(it);
        if (it->second.state != State::in_flight) {
            if (proto::contains(pending, it->first)) it->second.sent = false;
            else erase(it);
        }
        it = next;
    }
    return missing;
}

std::vector<uint64_t> UrbLedger::unsent(uint8_t stream_key) const {
    std::vector<uint64_t> out;
    for (const auto& [seq, e] : entries_)
        if (e.stream_key == stream_key && e.state != State::in_flight && !e.sent && !e.result.empty())
            out.push_back(seq);
    return out;
}

const Bytes* UrbLedger::result(uint64_t seqnum) const {
    auto it = entries_.find(seqnum);
    return it == entries_.end() ? nullptr : &it->second.result;
}

std::vector<uint64_t> UrbLedger::in_flight() const {
    std::vector<uint64_t> out;
    for (const auto& [seq, e] : entries_)
        if (e.state == State::in_flight) out.push_back(seq);
    return out;
}

const UrbLedger::State* UrbLedger::state(uint64_t seqnum) const {
    auto it = entries_.find(seqnum);
    return it == entries_.end() ? nullptr : &it->second.state;
}

}  // namespace usbhop::server
