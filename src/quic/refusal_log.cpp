#include "quic/refusal_log.hpp"

namespace usbhop::quic {

RefusalLog::Verdict RefusalLog::refused(const identity::NodeId& node, const loop::SocketAddress& from, Nanos now) {
    std::string source = from.host_string();
    auto key = std::make_pair(node.to_string(), source);
    if (auto it = pairs_.find(key); it != pairs_.end()) {
        ++it->second.repeats;
        it->second.last = now;
        return Verdict::counted;
    }
    auto src = sources_.find(source);
    if (src == sources_.end()) {
        if (sources_.size() >= kMaxEntries) {
            ++unsourced_;
            return Verdict::counted;
        }
        src = sources_.emplace(source, Source{}).first;
    }
    if (src->second.named >= kNewPerSource || pairs_.size() >= kMaxEntries) {
        ++src->second.unnamed;
        return Verdict::counted;
    }
    ++src->second.named;
    pairs_.emplace(std::move(key), Pair{0, now});
    return Verdict::log;
}

std::vector<RefusalLog::Summary> RefusalLog::tick(Nanos now) {
    std::vector<Summary> out;
    for (auto it = pairs_.begin(); it != pairs_.end();) {
        Pair& p = it->second;
        if (p.repeats > 0) out.push_back({it->first.first, it->first.second, p.repeats});
        bool quiet = p.repeats == 0 && now - p.last >= kWindow;
        p.repeats = 0;
        it = quiet ? pairs_.erase(it) : std::next(it);
    }
    for (auto& [source, s] : sources_)
        if (s.unnamed > 0) out.push_back({{}, source, s.unnamed});
    if (unsourced_ > 0) out.push_back({{}, {}, unsourced_});
    // A new window: every address may name new nodes again.
    sources_.clear();
    unsourced_ = 0;
    return out;
}

}  // namespace usbhop::quic
