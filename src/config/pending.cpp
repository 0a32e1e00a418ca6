#include "config/pending.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>

#include "config/text.hpp"
#include "util/files.hpp"

namespace usbhop::config {

void note_refusal(std::vector<PendingNode>& list, const identity::NodeId& node, std::string_view address,
                  int64_t now) {
    auto it = std::find_if(list.begin(), list.end(), [&](const PendingNode& p) { return p.node == node; });
    PendingNode entry{node, std::string(address), now, now, 0};
    if (it != list.end()) {
        entry.first = it->first;
        entry.count = it->count;
        list.erase(it);
    }
    ++entry.count;
    list.insert(list.begin(), std::move(entry));
    if (list.size() > kMaxPending) list.resize(kMaxPending);  // newest first: the quietest are last
}

bool remove_pending(std::vector<PendingNode>& list, const identity::NodeId& node) {
    auto it = std::remove_if(list.begin(), list.end(), [&](const PendingNode& p) { return p.node == node; });
    bool found = it != list.end();
    list.erase(it, list.end());
    return found;
}

std::string format_pending(const std::vector<PendingNode>& list) {
    std::string s = "# usbhop: nodes refused recently, newest first (usbhop pending; usbhop trust --pending N)\n";
    for (const PendingNode& p : list)
        s += p.node.to_string() + " " + p.address + " " + std::to_string(p.first) + " " + std::to_string(p.last) +
             " " + std::to_string(p.count) + "\n";
    return s;
}

namespace {

template <typename T>
bool number(std::string_view s, T& out) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

Result<std::vector<PendingNode>> parse_pending(std::string_view text) {
    std::vector<PendingNode> out;
    size_t line_no = 0;
    while (!text.empty()) {
        size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
        ++line_no;
        line = trim(line);
        if (line.empty() || line[0] == '#') continue;
        std::vector<std::string_view> f;
        while (!line.empty() && f.size() < 6) {
            size_t sp = line.find(' ');
            f.push_back(line.substr(0, sp));
            line = sp == std::string_view::npos ? std::string_view() : trim(line.substr(sp + 1));
        }
        auto bad = [&](const std::string& what) {
            return make_error("line " + std::to_string(line_no) + ": " + what);
        };
        if (f.size() < 5) return bad("expected '<node-id> <address> <first> <last> <count>'");
        auto node = identity::NodeId::parse(f[0]);
        if (!node) return bad(node.error().message);
        PendingNode p{*node, std::string(f[1]), 0, 0, 0};
        if (!number(f[2], p.first) || !number(f[3], p.last) || !number(f[4], p.count))
            return bad("times and count are numbers");
        if (out.size() < kMaxPending) out.push_back(std::move(p));
    }
    return out;
}

Result<std::vector<PendingNode>> load_pending(const std::string& path) {
    // Written by serve or relay as their own user and read by root or the
    // administrator: any owner will do (a node ID in it is checked again
    // before it is trusted).
    ReadPolicy policy;
    policy.trusted_owner = false;
    auto text = read_file(path, policy);
    if (!text) {
        if (text.error().code == -ENOENT) return std::vector<PendingNode>{};
        return text.error();
    }
    auto list = parse_pending(*text);
    if (!list) return make_error(path + ": " + list.error().message);
    return list;
}

Result<void> save_pending(const std::string& path, const std::vector<PendingNode>& list) {
    return write_file_atomically(path, format_pending(list), 0640);
}

PendingFile::PendingFile(std::string path) : path_(std::move(path)) {
    if (auto list = load_pending(path_)) list_ = std::move(*list);  // unreadable: start afresh, the next flush says why
}

void PendingFile::note(const identity::NodeId& node, std::string_view address, int64_t now) {
    note_refusal(list_, node, address, now);
    dirty_ = true;
}

void PendingFile::forget_trusted(const std::function<bool(const identity::NodeId&)>& trusted) {
    size_t before = list_.size();
    std::erase_if(list_, [&](const PendingNode& p) { return trusted(p.node); });
    dirty_ = dirty_ || list_.size() != before;
}

Result<void> PendingFile::flush() {
    if (!dirty_) return {};
    dirty_ = false;
    return save_pending(path_, list_);
}

std::string pending_path(const std::string& identity_path) {
    size_t slash = identity_path.rfind('/');
    if (slash == std::string::npos) return "pending";
    return identity_path.substr(0, slash + 1) + "pending";
}

}  // namespace usbhop::config
