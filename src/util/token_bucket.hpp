// Rate limits for what a stranger can make us do: a token bucket, and a
// bounded table of buckets keyed by source (an IP, a node), so that one
// source's flood spends its own bucket and not everyone's.
#pragma once

#include <algorithm>
#include <cstddef>
#include <list>
#include <string>
#include <unordered_map>
#include <utility>

#include "util/time.hpp"

namespace usbhop {

// `rate` tokens a second, at most `burst` saved up; starts full.
class TokenBucket {
public:
    TokenBucket() = default;
    TokenBucket(double rate, double burst, Nanos now) : rate_(rate), burst_(burst), tokens_(burst), refill_(now) {}

    // Takes `cost` tokens if there are that many (after refilling to now).
    bool take(Nanos now, double cost = 1) {
        refill(now);
        if (tokens_ < cost) return false;
        tokens_ -= cost;
        return true;
    }
    // Takes `cost` even into debt: for what was already sent and must be paid for.
    void charge(Nanos now, double cost) {
        refill(now);
        tokens_ -= cost;
    }
    // True once the bucket is as full as a fresh one: forgetting it changes nothing.
    bool full(Nanos now) {
        refill(now);
        return tokens_ >= burst_;
    }

private:
    void refill(Nanos now) {
        if (now > refill_) tokens_ = std::min(burst_, tokens_ + static_cast<double>(now - refill_) / kSecond * rate_);
        refill_ = std::max(refill_, now);
    }

    double rate_ = 0;
    double burst_ = 0;
    double tokens_ = 0;
    Nanos refill_ = 0;
};

// One TokenBucket per key, at most `capacity` of them: when full, the bucket
// used least recently is forgotten (O(1)). A forgotten key comes back with a
// full bucket, so `capacity` should exceed the number of keys active within
// one burst's refill time; a global bucket behind this one bounds the total.
class KeyedTokenBuckets {
public:
    KeyedTokenBuckets(double rate, double burst, size_t capacity) : rate_(rate), burst_(burst), capacity_(capacity) {}

    bool take(const std::string& key, Nanos now, double cost = 1) {
        auto it = index_.find(key);
        if (it != index_.end()) {
            order_.splice(order_.begin(), order_, it->second);   // most recent first
        } else {
            if (index_.size() >= capacity_ && !order_.empty()) {
                index_.erase(order_.back().first);
                order_.pop_back();
            }
            order_.emplace_front(key, TokenBucket(rate_, burst_, now));
            it = index_.emplace(key, order_.begin()).first;
        }
        return it->second->second.take(now, cost);
    }
    size_t size() const { return index_.size(); }

private:
    using Entry = std::pair<std::string, TokenBucket>;
    double rate_, burst_;
    size_t capacity_;
    std::list<Entry> order_;
    std::unordered_map<std::string, std::list<Entry>::iterator> index_;
};

}  // namespace usbhop
