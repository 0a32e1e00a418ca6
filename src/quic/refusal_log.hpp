// Which refused handshakes get a log line. A server refuses every node that is
// not in authorized_keys; the operator needs one line per node and address
// that says how to trust it, not one per attempt (issue 18 item 6: 15,000
// attempts wrote 15,000 lines, and a fresh key per attempt defeats a
// once-per-node rule). So: the first refusal of a node from an address is
// logged, at most kNewPerSource new nodes per address and window; everything
// else is counted and summarised once per window. Pure: time is passed in.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "identity/identity.hpp"
#include "loop/address.hpp"
#include "util/time.hpp"

namespace usbhop::quic {

class RefusalLog {
public:
    static constexpr Nanos kWindow = 60 * kSecond;
    static constexpr size_t kNewPerSource = 8;   // named nodes per address and window
    static constexpr size_t kMaxEntries = 1024;  // (node, address) pairs and addresses remembered

    enum class Verdict { log, counted };
    // A refusal of `node` from `from` (its IP address is what counts).
    Verdict refused(const identity::NodeId& node, const loop::SocketAddress& from, Nanos now);

    // What was counted since the last tick, one line's worth each.
    struct Summary {
        std::string node;     // empty: nodes not named (over kNewPerSource, or the table was full)
        std::string source;   // IP address; empty: sources not remembered (the table was full)
        uint64_t count = 0;
    };
    // Call once per kWindow: returns the counts and forgets (node, address)
    // pairs that stayed quiet for a whole window, so that they are named again.
    std::vector<Summary> tick(Nanos now);
    // Nothing remembered: no tick is needed.
    bool empty() const { return pairs_.empty() && sources_.empty() && unsourced_ == 0; }

private:
    struct Pair {
        uint64_t repeats = 0;
        Nanos last = 0;
    };
    struct Source {
        size_t named = 0;        // new nodes logged this window
        uint64_t unnamed = 0;    // refusals counted without a name
    };
    std::map<std::pair<std::string, std::string>, Pair> pairs_;   // (node, source)
    std::map<std::string, Source> sources_;
    uint64_t unsourced_ = 0;
};

}  // namespace usbhop::quic
