#include <doctest/doctest.h>

#include "server/urb_ledger.hpp"

using namespace usbhop;
using server::UrbLedger;
using Step = UrbLedger::UnlinkStep;
using State = UrbLedger::State;

namespace {
Bytes frame(uint8_t tag, size_t n = 4) { return Bytes(n, std::byte{tag}); }
}  // namespace

TEST_CASE("seqnums must strictly increase per endpoint and never repeat across endpoints") {
    UrbLedger l(true);
    CHECK(l.accept(1, 0x81));
    CHECK(l.accept(2, 0x02));
    CHECK(l.accept(5, 0x81));
    CHECK_FALSE(l.accept(5, 0x81));   // duplicate
    CHECK_FALSE(l.accept(4, 0x81));   // reorder
    CHECK_FALSE(l.accept(2, 0x00));   // used on another endpoint
    CHECK_FALSE(l.accept(0, 0x00));   // 0 is never a seqnum
    CHECK(l.accept(3, 0x02));
    CHECK(l.in_flight().size() == 4);
}

TEST_CASE("a seqnum is executed at most once even after its result is acknowledged") {
    UrbLedger l(true);
    REQUIRE(l.accept(7, 0x81));
    l.finish(7, State::completed, frame(1));
    l.mark_sent(7);
    REQUIRE(l.ack({{7, 1}}));
    CHECK(l.size() == 0);
    CHECK_FALSE(l.accept(7, 0x81));
    CHECK_FALSE(l.accept(6, 0x81));
}

TEST_CASE("a seqnum stays used on every endpoint after its entry is forgotten") {
    // Found by fuzz-server-ledger: once an Ack (or, without RESUME, the
    // tombstone trim) erased seqnum 5's entry, a Submit of 5 on another
    // endpoint whose highest was lower was accepted: executed twice.
    UrbLedger l(true);
    REQUIRE(l.accept(5, 0x81));
    l.finish(5, State::completed, frame(1));
    l.mark_sent(5);
    REQUIRE(l.ack({{5, 1}}));
    REQUIRE(l.size() == 0);
    CHECK_FALSE(l.accept(5, 0x02));
    CHECK_FALSE(l.accept(5, 0x00));
    CHECK(l.accept(4, 0x02));  // never used: still fine on an endpoint below it

    UrbLedger plain(false);
    for (uint64_t s = 1; s <= UrbLedger::kMaxTombstones + 10; ++s) {
        REQUIRE(plain.accept(s, 0x81));
        plain.finish(s, State::completed, frame(1));
        plain.mark_sent(s);
    }
    REQUIRE(plain.state(1) == nullptr);  // trimmed
    CHECK_FALSE(plain.accept(1, 0x02));
    CHECK(plain.seqnum_runs() == 1);
}

TEST_CASE("the record of used seqnums merges runs and stays bounded, closing the oldest gap first") {
    UrbLedger l(true);
    // Odd seqnums on one endpoint, evens later on another: the runs merge.
    for (uint64_t s = 1; s <= 99; s += 2) REQUIRE(l.accept(s, 0x81));
    CHECK(l.seqnum_runs() == 50);
    for (uint64_t s = 2; s <= 98; s += 2) REQUIRE(l.accept(s, 0x02));
    CHECK(l.seqnum_runs() == 1);
    // A gap after every seqnum: the runs never merge, and stay capped.
    UrbLedger g(true);
    const uint64_t n = UrbLedger::kMaxSeqnumRuns + 100;
    for (uint64_t i = 1; i <= n; ++i) REQUIRE(g.accept(i * 2, 0x81));
    CHECK(g.seqnum_runs() == UrbLedger::kMaxSeqnumRuns);
    CHECK_FALSE(g.accept(3, 0x02));      // an old gap, closed
    CHECK(g.accept(n * 2 - 1, 0x02));    // a recent gap, still open
}

TEST_CASE("unlink of a URB in flight cancels once and answers every Unlink once") {
    UrbLedger l(true);
    REQUIRE(l.accept(1, 0x81));
    CHECK(l.unlink(1) == Step::cancel);
    CHECK(l.unlink_requested(1));
    CHECK(l.unlink(1) == Step::wait);  // a repeated Unlink
    SUBCASE("the cancel wins: UnlinkResult{CANCELLED} is the terminal result, one more for the repeat") {
        CHECK(l.finish(1, State::cancelled, frame(2)) == 1);
        CHECK(*l.state(1) == State::cancelled);
        CHECK(l.unlink(1) == Step::answer_cancelled);
    }
    SUBCASE("the device was faster: Complete, then UnlinkResult{COMPLETED} for both Unlinks") {
        CHECK(l.finish(1, State::completed, frame(3)) == 2);
        CHECK(*l.state(1) == State::completed);
        CHECK(l.unlink(1) == Step::answer_completed);
    }
    CHECK_FALSE(l.has_in_flight());
}

TEST_CASE("unlink after completion is answered once, and unknown once forgotten") {
    UrbLedger l(true);
    REQUIRE(l.accept(1, 0x81));
    CHECK(l.finish(1, State::completed, frame(1)) == 0);
    l.mark_sent(1);
    CHECK(l.unlink(1) == Step::answer_completed);
    REQUIRE(l.ack({{1, 1}}));
    CHECK(l.unlink(1) == Step::answer_unknown);
    CHECK(l.unlink(99) == Step::answer_unknown);
}

TEST_CASE("a result finishes only once") {
    UrbLedger l(true);
    REQUIRE(l.accept(1, 0x81));
    l.finish(1, State::completed, frame(1));
    l.finish(1, State::cancelled, frame(2));  // ignored
    CHECK(*l.state(1) == State::completed);
    CHECK(*l.result(1) == frame(1));
}

TEST_CASE("Ack forgets results, ignores unknown seqnums and refuses seqnums in flight") {
    UrbLedger l(true);
    for (uint64_t s = 1; s <= 4; ++s) REQUIRE(l.accept(s, 0x81));
    l.finish(1, State::completed, frame(1, 100));
    l.finish(2, State::completed, frame(2, 50));
    CHECK(l.retained_count() == 2);
    CHECK(l.retained_bytes() == 150);
    CHECK_FALSE(l.ack({{1, 3}}));  // 3 is in flight: nothing changes
    CHECK(l.retained_count() == 2);
    CHECK(l.ack({{1, 2}, {100, 5}}));
    CHECK(l.retained_count() == 0);
    CHECK(l.retained_bytes() == 0);
    CHECK(l.size() == 2);
}

TEST_CASE("too many unacknowledged results pause Submits until an Ack") {
    UrbLedger l(true);
    uint64_t n = UrbLedger::kMaxRetainedResults + 1;
    for (uint64_t s = 1; s <= n; ++s) {
        REQUIRE(l.accept(s, 0x81));
        l.finish(s, State::completed, frame(1));
        l.mark_sent(s);
    }
    CHECK(l.over_limit());
    REQUIRE(l.ack({{1, 10}}));
    CHECK_FALSE(l.over_limit());
}

TEST_CASE("without RESUME nothing is retained, but a late Unlink is still answered") {
    UrbLedger l(false);
    REQUIRE(l.accept(1, 0x81));
    l.finish(1, State::completed, frame(1, 1000));
    l.mark_sent(1);
    CHECK(l.retained_bytes() == 0);
    CHECK_FALSE(l.over_limit());
    CHECK(l.unlink(1) == Step::answer_completed);
    // The record of ended seqnums is bounded.
    for (uint64_t s = 2; s < 2 + UrbLedger::kMaxTombstones + 10; ++s) {
        REQUIRE(l.accept(s, 0x81));
        l.finish(s, State::completed, frame(1));
        l.mark_sent(s);
    }
    CHECK(l.size() <= UrbLedger::kMaxTombstones);
}

TEST_CASE("resume: unlisted results are forgotten, listed ones resent, the rest is missing") {
    UrbLedger l(true);
    for (uint64_t s = 1; s <= 5; ++s) REQUIRE(l.accept(s, s % 2 ? 0x81 : 0x02));
    l.finish(1, State::completed, frame(1));  // the client got it (not pending)
    l.mark_sent(1);
    l.finish(2, State::completed, frame(2));  // sent, but lost with the connection
    l.mark_sent(2);
    l.finish(3, State::cancelled, frame(3));  // never sent
    // 4 and 5 stay in flight. The client lists 2..9: 6..9 never arrived.
    auto missing = l.resume({{2, 8}});
    REQUIRE(missing);
    CHECK(*missing == proto::SeqRanges{{6, 4}});
    CHECK(l.state(1) == nullptr);
    CHECK(l.unsent(0x02) == std::vector<uint64_t>{2});
    CHECK(l.unsent(0x81) == std::vector<uint64_t>{3});
    CHECK(l.in_flight() == std::vector<uint64_t>{4, 5});
}

TEST_CASE("resume cuts held seqnums out of huge pending ranges without enumerating them") {
    UrbLedger l(true);
    REQUIRE(l.accept(10, 0x81));
    REQUIRE(l.accept(1000000, 0x82));
    auto missing = l.resume({{1, 4000000000u}});
    REQUIRE(missing);
    CHECK(*missing == proto::SeqRanges{{1, 9}, {11, 999989}, {1000001, 4000000000u - 1000000}});
    CHECK(proto::total_count(*missing) == 4000000000u - 2);
}

TEST_CASE("resume refuses, changing nothing, when held seqnums would cut pending into over 65,536 runs") {
    // 65,536 pending runs (the most a Resume may carry), each cut in two by a
    // held seqnum: ResumeOk.missing would need 131,072 runs. put_ranges
    // asserts on that; the ledger must answer with an error instead.
    UrbLedger l(true);
    proto::SeqRanges pending;
    for (uint64_t i = 0; i < proto::kMaxRanges; ++i) {
        uint64_t first = 1 + i * 4;
        pending.push_back({first, 3});
        REQUIRE(l.accept(first + 1, 0x81));
    }
    REQUIRE(l.accept(1u << 30, 0x02));
    l.finish(1u << 30, State::completed, frame(1));  // not pending: would be forgotten
    auto missing = l.resume(pending);
    REQUIRE_FALSE(missing);
    CHECK(missing.error().message.find("65536 runs") != std::string::npos);
    CHECK(l.state(1u << 30) != nullptr);  // nothing forgotten
    CHECK(l.in_flight().size() == proto::kMaxRanges);

    // One run fewer cut: exactly the limit, accepted and encodable.
    UrbLedger fits(true);
    proto::SeqRanges one_run{{1, 3}};
    for (uint64_t i = 0; i < proto::kMaxRanges / 2; ++i) REQUIRE(fits.accept(2 + i * 2, 0x81));
    auto ok = fits.resume({{1, static_cast<uint32_t>(proto::kMaxRanges)}});
    REQUIRE(ok);
    CHECK(ok->size() == proto::kMaxRanges / 2);
    CHECK(!proto::encode(proto::ResumeOk{1, *ok}).empty());
}

TEST_CASE("a result not sent yet can be corrected; one already sent cannot") {
    UrbLedger l(true);
    REQUIRE(l.accept(1, 0x81));
    REQUIRE(l.accept(2, 0x81));
    l.finish(1, State::completed, frame(1, 10));
    l.finish(2, State::completed, frame(2, 10));
    l.mark_sent(2);
    l.replace_result(1, frame(9, 20));
    l.replace_result(2, frame(9, 20));
    CHECK(*l.result(1) == frame(9, 20));
    CHECK(*l.result(2) == frame(2, 10));
    CHECK(l.retained_bytes() == 30);
}
