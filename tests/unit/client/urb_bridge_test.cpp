// UrbBridge: vhci's exactly-once rule (docs/architecture.md#usb-facts)
// against every order in which the server's results, vhci's unlinks and a reconnect can meet
// (docs/protocol.md §9-§11). Each table row plays a script of events and
// checks every PDU the kernel got and every message the server got.
#include <doctest/doctest.h>

#include <sstream>
#include <string>
#include <vector>

#include "client/urb_bridge.hpp"

using namespace usbhop;
using namespace usbhop::client;
using proto::TransferType;

namespace {

usbip::CmdSubmit bulk(uint32_t vhci_seq, uint8_t ep, usbip::Direction dir, uint32_t len) {
    usbip::CmdSubmit c;
    c.base.seqnum = vhci_seq;
    c.base.ep = ep;
    c.base.direction = dir;
    c.transfer_buffer_length = len;
    if (dir == usbip::Direction::kOut) c.data.assign(len, std::byte{0x5a});
    return c;
}

usbip::CmdUnlink unlink(uint32_t vhci_seq, uint32_t victim) {
    usbip::CmdUnlink u;
    u.base.seqnum = vhci_seq;
    u.unlink_seqnum = victim;
    return u;
}

proto::Complete complete(uint64_t seq, uint32_t actual, bool in) {
    proto::Complete c;
    c.seqnum = seq;
    c.actual_length = actual;
    if (in) c.data.assign(actual, std::byte{0xa5});
    return c;
}

std::string kernel_text(const usbip::Pdu& p) {
    std::ostringstream o;
    if (auto* r = std::get_if<usbip::RetSubmit>(&p))
        o << "RET_SUBMIT " << r->base.seqnum << " " << r->status << " " << r->actual_length;
    else if (auto* u = std::get_if<usbip::RetUnlink>(&p))
        o << "RET_UNLINK " << u->base.seqnum << " " << u->status;
    else
        o << "?";
    return o.str();
}

std::string server_text(const UrbBridge::ToServer& m) {
    std::ostringstream o;
    if (auto* s = std::get_if<proto::Submit>(&m.message)) o << "Submit " << s->seqnum;
    else if (auto* u = std::get_if<proto::Unlink>(&m.message)) o << "Unlink " << u->seqnum;
    else o << "?";
    o << " @" << std::hex << int(m.stream.endpoint);
    return o.str();
}

const StreamKey kIn1{0x81, TransferType::kBulk};
const StreamKey kOut2{0x02, TransferType::kBulk};

// One attachment, its bridge and everything it said so far.
struct Harness {
    UrbBridge bridge;
    bool connected = true;
    std::vector<std::string> kernel, server, errors;
    std::vector<uint64_t> acked;

    void take(UrbBridge::Output out) {
        for (auto& p : out.to_kernel) kernel.push_back(kernel_text(p));
        for (auto& m : out.to_server) server.push_back(server_text(m));
        for (auto& a : out.acked) acked.push_back(a.seqnum);
        if (out.protocol_error) errors.push_back(out.protocol_error->message);
    }
    void in(uint32_t vseq, uint32_t len = 512) { take(bridge.on_cmd_submit(bulk(vseq, 1, usbip::Direction::kIn, len), TransferType::kBulk, connected)); }
    void out(uint32_t vseq, uint32_t len = 512) { take(bridge.on_cmd_submit(bulk(vseq, 2, usbip::Direction::kOut, len), TransferType::kBulk, connected)); }
    void cancel(uint32_t vseq, uint32_t victim) { take(bridge.on_cmd_unlink(unlink(vseq, victim), connected)); }
    void done(uint64_t seq, uint32_t actual = 512, const StreamKey& s = kIn1) { take(bridge.on_complete(s, complete(seq, actual, s.endpoint & 0x80))); }
    void result(uint64_t seq, proto::UnlinkOutcome o, const StreamKey& s = kIn1) { take(bridge.on_unlink_result(s, proto::UnlinkResult{seq, o})); }
    void resume(std::vector<uint64_t> missing) { connected = true; take(bridge.on_resume_ok(proto::to_ranges(std::move(missing)))); }
};

using Outcome = proto::UnlinkOutcome;
using V = std::vector<std::string>;

}  // namespace

TEST_CASE("a CMD_SUBMIT goes out at once as a Submit with the next attachment seqnum, on its endpoint's stream") {
    Harness h;
    h.in(100);
    h.out(101);
    CHECK(h.server == V{"Submit 1 @81", "Submit 2 @2"});
    CHECK(h.kernel.empty());
    CHECK(h.bridge.size() == 2);
    CHECK(h.bridge.held_bytes() == 512);
}

TEST_CASE("completions in any order each give exactly one RET_SUBMIT with the vhci seqnum") {
    Harness h;
    h.in(10);
    h.in(11);
    h.in(12);
    h.done(3, 7);
    h.done(1, 512);
    h.done(2, 0);
    CHECK(h.kernel == V{"RET_SUBMIT 12 0 7", "RET_SUBMIT 10 0 512", "RET_SUBMIT 11 0 0"});
    CHECK(h.acked == std::vector<uint64_t>{3, 1, 2});
    CHECK(h.bridge.size() == 0);
    CHECK(h.errors.empty());
}

TEST_CASE("an OUT completion reports actual_length and no data") {
    Harness h;
    h.out(5, 4096);
    h.done(1, 4096, kOut2);
    CHECK(h.kernel == V{"RET_SUBMIT 5 0 4096"});
    CHECK(h.bridge.held_bytes() == 0);
}

TEST_CASE("unlink races are answered exactly once, as usbip-host does") {
    struct Row {
        const char* name;
        void (*script)(Harness&);
        V kernel;
        V server;
        size_t errors;
    };
    const Row rows[] = {
        {"unlink, then CANCELLED: RET_UNLINK -ECONNRESET and never a RET_SUBMIT",
         [](Harness& h) { h.in(1); h.cancel(2, 1); h.result(1, Outcome::kCancelled); h.done(1); },
         {"RET_UNLINK 2 -104"}, {"Submit 1 @81", "Unlink 1 @81"}, 0},
        {"unlink crosses the Complete: RET_SUBMIT, then RET_UNLINK 0 once; the late COMPLETED is ignored",
         [](Harness& h) { h.in(1); h.cancel(2, 1); h.done(1, 3); h.result(1, Outcome::kCompleted); },
         {"RET_SUBMIT 1 0 3", "RET_UNLINK 2 0"}, {"Submit 1 @81", "Unlink 1 @81"}, 0},
        {"unlink after the RET_SUBMIT went out: RET_UNLINK 0, nothing sent",
         [](Harness& h) { h.in(1); h.done(1, 3); h.cancel(2, 1); },
         {"RET_SUBMIT 1 0 3", "RET_UNLINK 2 0"}, {"Submit 1 @81"}, 0},
        {"unlink of a seqnum vhci never submitted here: RET_UNLINK 0",
         [](Harness& h) { h.cancel(9, 4); },
         {"RET_UNLINK 9 0"}, {}, 0},
        {"unlink of a URB still queued (no connection): answered here, the Submit is never sent",
         [](Harness& h) { h.connected = false; h.in(1); h.cancel(2, 1); h.resume({}); },
         {"RET_UNLINK 2 -104"}, {}, 0},
        {"a second unlink of the same URB: both answered together, one Unlink sent",
         [](Harness& h) { h.in(1); h.cancel(2, 1); h.cancel(3, 1); h.result(1, Outcome::kCancelled); },
         {"RET_UNLINK 2 -104", "RET_UNLINK 3 -104"}, {"Submit 1 @81", "Unlink 1 @81"}, 0},
        {"a repeated CANCELLED after the first is ignored",
         [](Harness& h) { h.in(1); h.cancel(2, 1); h.result(1, Outcome::kCancelled); h.result(1, Outcome::kCancelled); },
         {"RET_UNLINK 2 -104"}, {"Submit 1 @81", "Unlink 1 @81"}, 0},
        {"CANCELLED without an unlink still answers vhci once, with -ECONNRESET",
         [](Harness& h) { h.in(1); h.result(1, Outcome::kCancelled); },
         {"RET_SUBMIT 1 -104 0"}, {"Submit 1 @81"}, 0},
        {"UNKNOWN for a pending URB: the server lost it; -EPROTO once and the connection drops",
         [](Harness& h) { h.in(1); h.cancel(2, 1); h.result(1, Outcome::kUnknown); },
         {"RET_SUBMIT 1 -71 0", "RET_UNLINK 2 0"}, {"Submit 1 @81", "Unlink 1 @81"}, 1},
        {"COMPLETED before any Complete is a protocol error, answered safely",
         [](Harness& h) { h.in(1); h.cancel(2, 1); h.result(1, Outcome::kCompleted); h.done(1); },
         {"RET_SUBMIT 1 -71 0", "RET_UNLINK 2 0"}, {"Submit 1 @81", "Unlink 1 @81"}, 1},
        {"unlinked while disconnected, the server never got it: answered here at resume, not resent",
         [](Harness& h) { h.connected = false; h.in(1); h.connected = true; h.take(h.bridge.send_queued());
                          h.connected = false; h.cancel(2, 1); h.resume({1}); },
         {"RET_UNLINK 2 -104"}, {"Submit 1 @81"}, 0},
        {"unlinked while disconnected, the server has it: the Unlink goes out after resume, then CANCELLED",
         [](Harness& h) { h.in(1); h.connected = false; h.cancel(2, 1); h.resume({}); h.result(1, Outcome::kCancelled); },
         {"RET_UNLINK 2 -104"}, {"Submit 1 @81", "Unlink 1 @81"}, 0},
        {"unlinked before the disconnect, resent after resume; the retained Complete wins",
         [](Harness& h) { h.in(1); h.cancel(2, 1); h.connected = false; h.resume({}); h.done(1, 9); h.result(1, Outcome::kCompleted); },
         {"RET_SUBMIT 1 0 9", "RET_UNLINK 2 0"}, {"Submit 1 @81", "Unlink 1 @81", "Unlink 1 @81"}, 0},
    };
    for (const Row& row : rows) {
        CAPTURE(row.name);
        Harness h;
        row.script(h);
        CHECK(h.kernel == row.kernel);
        CHECK(h.server == row.server);
        CHECK(h.errors.size() == row.errors);
        CHECK(h.bridge.size() == 0);
    }
}

TEST_CASE("results the server must not send are protocol errors, and the kernel never sees a bad RET_SUBMIT") {
    SUBCASE("a Complete for a seqnum never submitted") {
        Harness h;
        h.in(1);
        h.done(7);
        CHECK(h.errors.size() == 1);
        CHECK(h.kernel.empty());
        CHECK(h.bridge.size() == 1);
    }
    SUBCASE("a second Complete for an answered seqnum is dropped") {
        Harness h;
        h.in(1);
        h.done(1, 4);
        h.done(1, 4);
        CHECK(h.kernel == V{"RET_SUBMIT 1 0 4"});
        CHECK(h.errors.empty());
    }
    SUBCASE("more IN data than the URB's buffer") {
        Harness h;
        h.in(1, 64);
        h.done(1, 65);
        CHECK(h.kernel == V{"RET_SUBMIT 1 -71 0"});
        REQUIRE(h.errors.size() == 1);
        CHECK(h.errors[0].find("exceeds") != std::string::npos);
        CHECK(h.acked.empty());
    }
    SUBCASE("data in an OUT Complete") {
        Harness h;
        h.out(1, 64);
        proto::Complete c = complete(1, 8, true);
        h.take(h.bridge.on_complete(kOut2, c));
        CHECK(h.kernel == V{"RET_SUBMIT 1 -71 0"});
        CHECK(h.errors.size() == 1);
    }
    SUBCASE("a Complete on another endpoint's stream") {
        Harness h;
        h.in(1);
        h.done(1, 4, kOut2);
        CHECK(h.kernel == V{"RET_SUBMIT 1 -71 0"});
        CHECK(h.errors.size() == 1);
    }
    SUBCASE("iso packets in a bulk Complete") {
        Harness h;
        h.in(1);
        proto::Complete c = complete(1, 4, true);
        c.iso_packets = {{proto::UrbStatus::kOk, 4}};
        h.take(h.bridge.on_complete(kIn1, c));
        CHECK(h.kernel == V{"RET_SUBMIT 1 -71 0"});
        CHECK(h.errors.size() == 1);
    }
}

TEST_CASE("resume: pending lists every seqnum without a result; missing ones are resent with the same content") {
    Harness h;
    h.in(1);
    h.out(2, 16);
    h.in(3);
    h.done(2, 16, kOut2);
    h.connected = false;
    h.in(4);  // queued while the connection is down
    CHECK(h.bridge.pending() == proto::SeqRanges{{1, 1}, {3, 2}});
    h.server.clear();
    h.resume({3, 4});
    CHECK(h.server == V{"Submit 3 @81", "Submit 4 @81"});
    CHECK(h.errors.empty());
    h.done(1, 1);
    h.done(3, 2);
    h.done(4, 3);
    CHECK(h.kernel == V{"RET_SUBMIT 2 0 16", "RET_SUBMIT 1 0 1", "RET_SUBMIT 3 0 2", "RET_SUBMIT 4 0 3"});
}

TEST_CASE("resume: the resent Submit is byte for byte the first one") {
    UrbBridge b;
    auto first = b.on_cmd_submit(bulk(1, 2, usbip::Direction::kOut, 32), TransferType::kBulk, true);
    auto again = b.on_resume_ok(proto::SeqRanges{{1, 1}});
    REQUIRE(first.to_server.size() == 1);
    REQUIRE(again.to_server.size() == 1);
    CHECK(proto::encode(first.to_server[0].message) == proto::encode(again.to_server[0].message));
}

TEST_CASE("resume: a ResumeOk that names seqnums not pending, or leaves out one never sent, is a protocol error") {
    SUBCASE("not pending") {
        Harness h;
        h.in(1);
        h.resume({1, 2});
        CHECK(h.errors.size() == 1);
    }
    SUBCASE("queued but not missing") {
        Harness h;
        h.connected = false;
        h.in(1);
        h.resume({});
        CHECK(h.errors.size() == 1);
        CHECK(h.kernel == V{"RET_SUBMIT 1 -71 0"});
        CHECK(h.bridge.size() == 0);
    }
}

TEST_CASE("a fresh attachment sends what queued before it had streams") {
    Harness h;
    h.connected = false;
    h.in(1);
    h.in(2);
    CHECK(h.server.empty());
    h.take(h.bridge.send_queued());
    CHECK(h.server == V{"Submit 1 @81", "Submit 2 @81"});
}

TEST_CASE("clear forgets every URB") {
    Harness h;
    h.in(1);
    h.out(2);
    h.bridge.clear();
    CHECK(h.bridge.size() == 0);
    CHECK(h.bridge.held_bytes() == 0);
    CHECK(h.bridge.pending().empty());
    h.done(1);
    CHECK(h.kernel.empty());
}

TEST_CASE("CMD_SUBMIT to Submit: endpoint address, flags bit by bit, setup only for control") {
    usbip::CmdSubmit c;
    c.base.seqnum = 1;
    c.base.ep = 0;
    c.base.direction = usbip::Direction::kIn;
    c.transfer_flags = usbip::kUrbShortNotOk | usbip::kUrbZeroPacket | usbip::kUrbIsoAsap | usbip::kUrbDmaMapSg | usbip::kUrbDirIn;
    c.transfer_buffer_length = 18;
    c.interval = -1;
    c.setup = {std::byte{0x80}, std::byte{6}, std::byte{0}, std::byte{1}, std::byte{0}, std::byte{0}, std::byte{18}, std::byte{0}};
    proto::Submit s = to_submit(c, TransferType::kControl, 42);
    CHECK(s.seqnum == 42);
    CHECK(s.endpoint == 0x80);
    CHECK(s.flags == (proto::kSubmitShortNotOk | proto::kSubmitZeroPacket | proto::kSubmitIsoAsap));
    CHECK(s.setup == c.setup);
    CHECK(s.interval == 0);
    CHECK(s.data.empty());
    CHECK(stream_for(0, usbip::Direction::kIn, TransferType::kControl) == StreamKey{0x00, TransferType::kControl});
    CHECK(stream_for(3, usbip::Direction::kOut, TransferType::kInterrupt) == StreamKey{0x03, TransferType::kInterrupt});

    proto::Submit b = to_submit(bulk(2, 2, usbip::Direction::kOut, 4), TransferType::kBulk, 43);
    CHECK(b.setup == std::array<std::byte, 8>{});
    CHECK(b.data.size() == 4);
}

TEST_CASE("iso: OUT packets are gathered, IN results become descriptors with the submitted offsets") {
    usbip::CmdSubmit c;
    c.base.seqnum = 3;
    c.base.ep = 1;
    c.base.direction = usbip::Direction::kIn;
    c.transfer_buffer_length = 64;
    c.number_of_packets = 2;
    c.iso = {{0, 32, 0, 0}, {32, 32, 0, 0}};
    UrbBridge b;
    auto sent = b.on_cmd_submit(c, TransferType::kIso, true);
    REQUIRE(sent.to_server.size() == 1);
    auto& s = std::get<proto::Submit>(sent.to_server[0].message);
    CHECK(s.iso_packets == std::vector<uint32_t>{32, 32});
    CHECK(s.length == 64);

    proto::Complete done;
    done.seqnum = s.seqnum;
    done.actual_length = 3;
    done.iso_packets = {{proto::UrbStatus::kOk, 2}, {proto::UrbStatus::kIsoMissed, 1}};
    done.data = {std::byte{0xaa}, std::byte{0xbb}, std::byte{0xcc}};
    auto out = b.on_complete(StreamKey{0x81, TransferType::kIso}, done);
    REQUIRE(out.to_kernel.size() == 1);
    auto& r = std::get<usbip::RetSubmit>(out.to_kernel[0]);
    CHECK(r.number_of_packets == 2);
    CHECK(r.error_count == 1);
    CHECK(r.iso[1].offset == 32);
    CHECK(r.iso[1].status == usbip::kExdev);
    CHECK(r.actual_length == 3);
    CHECK(!out.protocol_error);

    SUBCASE("iso descriptors on a bulk endpoint are refused locally") {
        UrbBridge b2;
        auto o = b2.on_cmd_submit(c, TransferType::kBulk, true);
        CHECK(o.to_server.empty());
        REQUIRE(o.to_kernel.size() == 1);
        CHECK(std::get<usbip::RetSubmit>(o.to_kernel[0]).status == usbip::kEinval);
    }
}

TEST_CASE("status codes become vhci's errno") {
    Harness h;
    h.in(1);
    proto::Complete c = complete(1, 0, true);
    c.status = proto::UrbStatus::kStall;
    h.take(h.bridge.on_complete(kIn1, c));
    CHECK(h.kernel == V{"RET_SUBMIT 1 -32 0"});
}

TEST_CASE("acks go out in batches of 32, as ranges") {
    AckBatch a;
    for (uint64_t s = 1; s < AckBatch::kMaxBatch; ++s) CHECK_FALSE(a.add(s * 2));
    CHECK(a.add(1000));
    proto::Ack ack = a.take();
    CHECK(a.empty());
    CHECK(proto::total_count(ack.seqnums) == AckBatch::kMaxBatch);
    CHECK(proto::contains(ack.seqnums, 62));
    CHECK_FALSE(proto::contains(ack.seqnums, 3));

    AckBatch b;
    b.add(5);
    b.add(3);
    b.add(4);
    CHECK(b.take().seqnums == proto::SeqRanges{{3, 3}});
}

TEST_CASE("a refused stream fails its URBs here, once, and leaves the others alone") {
    Harness h;
    h.in(1);
    h.out(2);
    h.in(3);
    h.cancel(4, 3);
    CHECK(h.bridge.pending_streams() == std::vector<StreamKey>{kIn1, kOut2});
    h.take(h.bridge.fail_stream(kIn1, usbip::kEpipe));
    CHECK(h.kernel == V{"RET_SUBMIT 1 -32 0", "RET_SUBMIT 3 -32 0", "RET_UNLINK 4 0"});
    CHECK(h.bridge.size() == 1);
    CHECK(h.acked.empty());
}
