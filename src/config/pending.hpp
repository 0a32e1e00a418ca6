// Nodes that a server (or relay) refused recently, so that an administrator
// can approve one without copying a 56-character ID out of a log:
// `usbhop pending` lists them, `usbhop trust --pending N` trusts the Nth.
// serve and relay keep the list in "pending" beside their key (the state
// directory), at most kMaxPending nodes, newest first; it survives a restart.
//
// The file, one node a line (unknown trailing fields are ignored):
//   <node-id> <address> <first-unix-time> <last-unix-time> <count>
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "identity/identity.hpp"
#include "util/result.hpp"

namespace usbhop::config {

struct PendingNode {
    identity::NodeId node;
    std::string address;  // where it last came from (IP, no port)
    int64_t first = 0;    // Unix seconds
    int64_t last = 0;
    uint64_t count = 0;   // refused handshakes seen

    bool operator==(const PendingNode&) const = default;
};

constexpr size_t kMaxPending = 32;

// One refusal of `node` from `address` at `now` (Unix seconds): the node's
// entry moves to the front with its count up; a new node goes in front and
// the one quiet longest goes when there are more than kMaxPending.
void note_refusal(std::vector<PendingNode>& list, const identity::NodeId& node, std::string_view address,
                  int64_t now);

// Drops `node` (trusted now). True when it was there.
bool remove_pending(std::vector<PendingNode>& list, const identity::NodeId& node);

std::string format_pending(const std::vector<PendingNode>& list);
// Malformed lines are an error naming the line (the file is ours; a bad one
// is worth saying so rather than guessing).
Result<std::vector<PendingNode>> parse_pending(std::string_view text);

// "<directory of identity_path>/pending".
std::string pending_path(const std::string& identity_path);

// The file: a missing one is an empty list. Written atomically, 0640.
Result<std::vector<PendingNode>> load_pending(const std::string& path);
Result<void> save_pending(const std::string& path, const std::vector<PendingNode>& list);

// What serve and relay keep: loaded once, noted on every refusal, written by
// flush() (called from a timer, about once a second) only when it changed,
// so that a flood of refusals costs one write a second.
class PendingFile {
public:
    explicit PendingFile(std::string path);
    const std::string& path() const { return path_; }
    void note(const identity::NodeId& node, std::string_view address, int64_t now);
    // After a reload: nodes trusted now leave the list (so that the next
    // write does not bring back one that `usbhop trust` took off it).
    void forget_trusted(const std::function<bool(const identity::NodeId&)>& trusted);
    Result<void> flush();

private:
    std::string path_;
    std::vector<PendingNode> list_;
    bool dirty_ = false;
};

}  // namespace usbhop::config
