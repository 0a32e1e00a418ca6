// Fuzzes each usbhop message decoder directly: byte 0-1 are the message type
// (taken modulo the known types, so every decoder gets inputs), the rest is
// the payload (with bit 13 set instead: a raw configuration descriptor for
// parse_configuration). Checks: a decoded message re-encodes to a payload no longer
// than the input that decodes to the same message; seqnum ranges that decode
// are ascending and answer contains() consistently.
#include <algorithm>
#include <cstdint>
#include <iterator>

#include "../fuzz_check.hpp"
#include "proto/descriptors.hpp"
#include "proto/messages.hpp"
#include "proto/resume.hpp"

using namespace usbhop;
using namespace usbhop::proto;

namespace {

constexpr uint16_t kTypes[] = {0x0001, 0x0002, 0x0003, 0x0004, 0x0005, 0x0010, 0x0011, 0x0012,
                               0x0013, 0x0014, 0x0020, 0x0021, 0x0022, 0x0023, 0x0024, 0x0025,
                               0x0026, 0x0040, 0x0041, 0x0042, 0x0043, 0x0044, 0x0045};

void check_ranges(const SeqRanges& ranges) {
    uint64_t next = 1;
    for (const SeqRange& r : ranges) {
        FUZZ_CHECK(r.count >= 1 && r.first >= next);
        FUZZ_CHECK(contains(ranges, r.first));
        FUZZ_CHECK(contains(ranges, r.first + r.count - 1));
        FUZZ_CHECK(r.first == 1 || !contains(ranges, r.first - 1) || r.first == next);
        next = r.first + r.count;
    }
}

void check_configuration(ByteSpan raw) {
    auto c = parse_configuration(raw);
    if (!c) {
        FUZZ_CHECK(c.error().message.rfind("configuration descriptor, offset ", 0) == 0);
        return;
    }
    for (const InterfaceDescriptor& i : c->interfaces) {
        for (const EndpointDescriptor& e : i.endpoints) {
            auto alt = [&](uint8_t interface) { return interface == i.number ? i.alternate_setting : uint8_t{0}; };
            auto t = endpoint_type(*c, e.address, alt);
            FUZZ_CHECK(t.has_value());
        }
    }
    FUZZ_CHECK(endpoint_type(*c, 0x80) == TransferType::kControl);
}

// Resume.pending comes from the network: plan against a held set derived
// from it and check the plan partitions pending exactly.
void check_resume(const SeqRanges& pending) {
    std::vector<uint64_t> held, in_flight;
    for (size_t i = 0; i < pending.size() && i < 64; ++i) {
        const SeqRange& r = pending[i];
        (i % 2 ? held : in_flight).push_back(r.first + r.count / 2);
        if (r.first > 1) held.push_back(r.first - 1);  // not pending unless the previous run touches
    }
    auto plan = plan_resume(pending, held, in_flight);
    FUZZ_CHECK(plan.ok());
    uint64_t missing_count = total_count(plan->missing);
    uint64_t held_pending = 0;
    std::vector<uint64_t> all = held;
    all.insert(all.end(), in_flight.begin(), in_flight.end());
    std::sort(all.begin(), all.end());
    all.erase(std::unique(all.begin(), all.end()), all.end());
    for (uint64_t s : all) {
        if (contains(pending, s)) ++held_pending;
        FUZZ_CHECK(!contains(plan->missing, s));
    }
    FUZZ_CHECK(missing_count + held_pending == total_count(pending));
    for (const SeqRange& r : plan->missing) {
        FUZZ_CHECK(contains(pending, r.first) && contains(pending, r.first + r.count - 1));
    }
    for (uint64_t s : plan->resend) FUZZ_CHECK(contains(pending, s));
    for (uint64_t s : plan->forget) FUZZ_CHECK(!contains(pending, s));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 2) return 0;
    uint16_t selector = static_cast<uint16_t>(data[0] << 8 | data[1]);
    Frame f;
    // Mostly a known type; now and then the raw value, to reach the unknown-type rule.
    f.type = selector & 0x8000 ? selector : kTypes[selector % std::size(kTypes)];
    f.flags = selector & 0x4000 ? kFlagOptional : 0;
    f.payload.assign(reinterpret_cast<const std::byte*>(data + 2), reinterpret_cast<const std::byte*>(data + size));

    if ((selector & 0xa000) == 0x2000) {
        check_configuration(f.payload);
        return 0;
    }

    auto m = decode(f);
    if (!m || !*m) return 0;
    FUZZ_CHECK(static_cast<uint16_t>(type_of(**m)) == f.type);
    if (const auto* a = std::get_if<Ack>(&**m)) check_ranges(a->seqnums);
    if (const auto* r = std::get_if<Resume>(&**m)) {
        check_ranges(r->pending);
        check_resume(r->pending);
    }
    if (const auto* r = std::get_if<ResumeOk>(&**m)) check_ranges(r->missing);

    Bytes wire = encode(**m);
    FUZZ_CHECK(wire.size() - kFrameHeaderSize <= f.payload.size());
    Frame again{f.type, 0, Bytes(wire.begin() + kFrameHeaderSize, wire.end())};
    auto m2 = decode(again);
    FUZZ_CHECK(m2.ok() && m2->has_value());
    FUZZ_CHECK(**m2 == **m);
    return 0;
}
