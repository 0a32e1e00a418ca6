#include "proto/messages.hpp"

#include <algorithm>
#include <cassert>
#include <cstdio>

namespace usbhop::proto {

namespace {

// ---- reading: a ByteReader that remembers which field failed and why ----

class In {
public:
    In(ByteSpan payload, const char* message) : r_(payload), message_(message) {}

    bool ok() const { return !error_; }
    Error error() const { return *error_; }
    void fail(const std::string& why) {
        if (!error_) error_ = make_error(std::string("proto: ") + message_ + ": " + why);
    }

    uint8_t u8(const char* field) {
        uint8_t v = 0;
        if (!r_.get_u8(v)) truncated(field);
        return v;
    }
    uint16_t u16(const char* field) {
        uint16_t v = 0;
        if (!r_.get_u16(v)) truncated(field);
        return v;
    }
    uint32_t u32(const char* field) {
        uint32_t v = 0;
        if (!r_.get_u32(v)) truncated(field);
        return v;
    }
    uint64_t u64(const char* field) {
        uint64_t v = 0;
        if (!r_.get_u64(v)) truncated(field);
        return v;
    }
    int32_t i32(const char* field) {
        int32_t v = 0;
        if (!r_.get_i32(v)) truncated(field);
        return v;
    }

    bool boolean(const char* field) {
        uint8_t v = u8(field);
        if (v > 1) fail(std::string(field) + " is " + std::to_string(v) + ", not 0 or 1");
        return v == 1;
    }
    ByteSpan span(size_t n, const char* field) {
        ByteSpan s;
        if (!r_.get_span(n, s)) truncated(field);
        return s;
    }
    Bytes bytes(size_t n, const char* field) {
        ByteSpan s = span(n, field);
        return Bytes(s.begin(), s.end());
    }
    std::string str(const char* field) {
        uint16_t n = u16(field);
        if (n > kMaxString) {
            fail(std::string(field) + " is " + std::to_string(n) + " bytes long, over the limit of " +
                 std::to_string(kMaxString));
            return {};
        }
        return std::string(as_chars(span(n, field)));
    }
    Bytes blob16(const char* field) { return bytes(u16(field), field); }
    void skip(size_t n, const char* field) { span(n, field); }
    size_t remaining() const { return r_.remaining(); }

private:
    void truncated(const char* field) {
        if (!error_) fail(std::string("truncated at ") + field);
    }
    ByteReader r_;
    const char* message_;
    std::optional<Error> error_;
};

// Text comes from devices, paths and error messages: rather than fail, cut
// it to kMaxString bytes, at a UTF-8 character boundary.
void put_str(ByteWriter& w, const std::string& s) {
    size_t n = s.size();
    if (n > kMaxString) {
        n = kMaxString;
        while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xc0) == 0x80) --n;
    }
    w.put_u16(static_cast<uint16_t>(n));
    w.put_bytes(as_bytes(std::string_view(s).substr(0, n)));
}

void put_blob16(ByteWriter& w, const Bytes& b) {
    assert(b.size() <= 0xffff);
    w.put_u16(static_cast<uint16_t>(b.size()));
    w.put_bytes(b);
}

void put_ranges(ByteWriter& w, const SeqRanges& ranges) {
    assert(ranges.size() <= kMaxRanges);
    w.put_u32(static_cast<uint32_t>(ranges.size()));
    for (const SeqRange& r : ranges) {
        w.put_u64(r.first);
        w.put_u32(r.count);
    }
}

SeqRanges get_ranges(In& in, const char* field) {
    uint32_t n = in.u32(field);
    if (n > kMaxRanges) {
        in.fail(std::string(field) + ": " + std::to_string(n) + " ranges, over the limit of " +
                std::to_string(kMaxRanges));
        return {};
    }
    SeqRanges out;
    uint64_t next_free = 1;  // seqnum 0 is never used
    for (uint32_t i = 0; i < n && in.ok(); ++i) {
        SeqRange r;
        r.first = in.u64(field);
        r.count = in.u32(field);
        if (!in.ok()) break;
        if (r.count == 0) in.fail(std::string(field) + ": range " + std::to_string(i) + " is empty");
        else if (r.first < next_free)
            in.fail(std::string(field) + ": range " + std::to_string(i) + " starting at " + std::to_string(r.first) +
                    " is out of order or overlaps");
        else if (r.first > UINT64_MAX - r.count)
            in.fail(std::string(field) + ": range " + std::to_string(i) + " runs past the largest seqnum");
        next_free = r.first + r.count;
        out.push_back(r);
    }
    return out;
}

// ---- descriptors ----

void put_device(ByteWriter& w, const DeviceInfo& d) {
    w.put_u32(d.device_id);
    w.put_u16(d.busnum);
    w.put_u16(d.devnum);
    w.put_u8(static_cast<uint8_t>(d.speed));
    w.put_u8(d.active_config);
    w.put_u8(static_cast<uint8_t>(d.state));
    w.put_u8(0);
    put_str(w, d.bus_path);
    put_str(w, d.share);
    put_str(w, d.holder);
    put_str(w, d.manufacturer);
    put_str(w, d.product);
    put_str(w, d.serial);
    put_blob16(w, d.device_descriptor);
    assert(d.configurations.size() <= 255);
    w.put_u8(static_cast<uint8_t>(d.configurations.size()));
    for (const Bytes& c : d.configurations) put_blob16(w, c);
}

DeviceInfo get_device(In& in) {
    DeviceInfo d;
    d.device_id = in.u32("device_id");
    d.busnum = in.u16("busnum");
    d.devnum = in.u16("devnum");
    uint8_t speed = in.u8("speed");
    d.active_config = in.u8("active_config");
    uint8_t state = in.u8("state");
    in.skip(1, "reserved");
    d.bus_path = in.str("bus_path");
    d.share = in.str("share");
    d.holder = in.str("holder");
    d.manufacturer = in.str("manufacturer");
    d.product = in.str("product");
    d.serial = in.str("serial");
    d.device_descriptor = in.blob16("device_descriptor");
    uint8_t configs = in.u8("configuration count");
    for (uint8_t i = 0; i < configs && in.ok(); ++i) d.configurations.push_back(in.blob16("configuration"));
    if (!in.ok()) return d;

    std::string dev = "device " + std::to_string(d.device_id) + ": ";
    if (speed > static_cast<uint8_t>(Speed::kSuperPlus)) in.fail(dev + "unknown speed " + std::to_string(speed));
    if (state > static_cast<uint8_t>(DeviceState::kInUse)) in.fail(dev + "unknown state " + std::to_string(state));
    d.speed = static_cast<Speed>(speed);
    d.state = static_cast<DeviceState>(state);
    const Bytes& dd = d.device_descriptor;
    if (dd.size() != 18 || dd[0] != std::byte{18} || dd[1] != std::byte{1})
        in.fail(dev + "device descriptor is not an 18-byte DEVICE descriptor");
    for (size_t i = 0; i < d.configurations.size(); ++i) {
        const Bytes& c = d.configurations[i];
        size_t total = c.size() >= 4 ? (std::to_integer<size_t>(c[2]) | std::to_integer<size_t>(c[3]) << 8) : 0;
        if (c.size() < 9 || c[0] != std::byte{9} || c[1] != std::byte{2} || total != c.size())
            in.fail(dev + "configuration " + std::to_string(i) +
                    " is not a CONFIGURATION descriptor of wTotalLength bytes");
    }
    return d;
}

// ---- one encode and one decode per message ----

void put(ByteWriter& w, const Hello& m) {
    w.put_u16(m.version_min);
    w.put_u16(m.version_max);
    w.put_u64(m.capabilities);
    w.put_bytes(m.resume_token);
    put_str(w, m.software);
}
void get(In& in, Hello& m) {
    m.version_min = in.u16("version_min");
    m.version_max = in.u16("version_max");
    m.capabilities = in.u64("capabilities");
    ByteSpan t = in.span(kTokenSize, "resume_token");
    if (in.ok()) std::copy(t.begin(), t.end(), m.resume_token.begin());
    m.software = in.str("software");
    if (in.ok() && (m.version_min == 0 || m.version_min > m.version_max))
        in.fail("version range " + std::to_string(m.version_min) + ".." + std::to_string(m.version_max) + " is empty");
}

void put(ByteWriter& w, const HelloAck& m) {
    w.put_u16(m.version);
    w.put_u64(m.capabilities);
    w.put_bytes(m.session_token);
    w.put_u8(m.resumed ? 1 : 0);
    w.put_u32(m.grace_ms);
    put_str(w, m.software);
}
void get(In& in, HelloAck& m) {
    m.version = in.u16("version");
    m.capabilities = in.u64("capabilities");
    ByteSpan t = in.span(kTokenSize, "session_token");
    if (in.ok()) std::copy(t.begin(), t.end(), m.session_token.begin());
    m.resumed = in.boolean("resumed");
    m.grace_ms = in.u32("grace_ms");
    m.software = in.str("software");
    if (in.ok() && m.version == 0) in.fail("version 0");
}

void put(ByteWriter& w, const ErrorMsg& m) {
    w.put_u16(static_cast<uint16_t>(m.code));
    w.put_u8(m.fatal ? 1 : 0);
    w.put_u64(m.ref);
    put_str(w, m.message);
}
void get(In& in, ErrorMsg& m) {
    m.code = static_cast<Reason>(in.u16("code"));
    m.fatal = in.boolean("fatal");
    m.ref = in.u64("ref");
    m.message = in.str("message");
}

void put(ByteWriter& w, const Ping& m) { w.put_u64(m.nonce); }
void get(In& in, Ping& m) { m.nonce = in.u64("nonce"); }
void put(ByteWriter& w, const Pong& m) { w.put_u64(m.nonce); }
void get(In& in, Pong& m) { m.nonce = in.u64("nonce"); }

void put(ByteWriter& w, const ListDevices& m) { w.put_u8(m.watch ? 1 : 0); }
void get(In& in, ListDevices& m) { m.watch = in.u8("flags") & 1; }

void put(ByteWriter& w, const DeviceList& m) {
    assert(m.devices.size() <= kMaxDevicesPerList);
    w.put_u8(m.last ? 1 : 0);
    w.put_u32(static_cast<uint32_t>(m.devices.size()));
    for (const DeviceInfo& d : m.devices) put_device(w, d);
}
void get(In& in, DeviceList& m) {
    m.last = in.boolean("last");
    uint32_t n = in.u32("count");
    if (n > kMaxDevicesPerList)
        in.fail(std::to_string(n) + " devices, over the limit of " + std::to_string(kMaxDevicesPerList));
    for (uint32_t i = 0; i < n && in.ok(); ++i) m.devices.push_back(get_device(in));
}

void put(ByteWriter& w, const DeviceArrived& m) { put_device(w, m.device); }
void get(In& in, DeviceArrived& m) { m.device = get_device(in); }
void put(ByteWriter& w, const DeviceChanged& m) { put_device(w, m.device); }
void get(In& in, DeviceChanged& m) { m.device = get_device(in); }
void put(ByteWriter& w, const DeviceLeft& m) { w.put_u32(m.device_id); }
void get(In& in, DeviceLeft& m) { m.device_id = in.u32("device_id"); }

void put(ByteWriter& w, const Attach& m) { w.put_u32(m.device_id); }
void get(In& in, Attach& m) { m.device_id = in.u32("device_id"); }

void put(ByteWriter& w, const AttachOk& m) {
    w.put_u32(m.device_id);
    w.put_u32(m.attach_id);
}
void get(In& in, AttachOk& m) {
    m.device_id = in.u32("device_id");
    m.attach_id = in.u32("attach_id");
}

void put(ByteWriter& w, const AttachError& m) {
    w.put_u32(m.device_id);
    w.put_u16(static_cast<uint16_t>(m.reason));
    put_str(w, m.holder);
    put_str(w, m.message);
}
void get(In& in, AttachError& m) {
    m.device_id = in.u32("device_id");
    m.reason = static_cast<Reason>(in.u16("reason"));
    m.holder = in.str("holder");
    m.message = in.str("message");
}

void put(ByteWriter& w, const Detach& m) { w.put_u32(m.attach_id); }
void get(In& in, Detach& m) { m.attach_id = in.u32("attach_id"); }

void put(ByteWriter& w, const Detached& m) {
    w.put_u32(m.attach_id);
    w.put_u16(static_cast<uint16_t>(m.reason));
    put_str(w, m.message);
}
void get(In& in, Detached& m) {
    m.attach_id = in.u32("attach_id");
    m.reason = static_cast<Reason>(in.u16("reason"));
    m.message = in.str("message");
}

void put(ByteWriter& w, const Resume& m) {
    w.put_u32(m.attach_id);
    put_ranges(w, m.pending);
}
void get(In& in, Resume& m) {
    m.attach_id = in.u32("attach_id");
    m.pending = get_ranges(in, "pending");
}

void put(ByteWriter& w, const ResumeOk& m) {
    w.put_u32(m.attach_id);
    put_ranges(w, m.missing);
}
void get(In& in, ResumeOk& m) {
    m.attach_id = in.u32("attach_id");
    m.missing = get_ranges(in, "missing");
}

void put(ByteWriter& w, const Bind& m) {
    w.put_u32(m.attach_id);
    w.put_u8(m.endpoint);
    w.put_u8(static_cast<uint8_t>(m.type));
}
void get(In& in, Bind& m) {
    m.attach_id = in.u32("attach_id");
    m.endpoint = in.u8("endpoint");
    uint8_t type = in.u8("type");
    if (in.ok() && type > 3) in.fail("unknown transfer type " + std::to_string(type));
    m.type = static_cast<TransferType>(type);
    if (in.ok() && (m.endpoint & 0x70))
        in.fail("endpoint address " + std::to_string(m.endpoint) + " has reserved bits set");
    if (in.ok() && m.type == TransferType::kControl && (m.endpoint & kEndpointDirIn))
        in.fail("a control endpoint is bound by number, without the direction bit");
}

void put(ByteWriter& w, const Submit& m) {
    w.put_u64(m.seqnum);
    w.put_u8(m.endpoint);
    w.put_u8(static_cast<uint8_t>(m.type));
    w.put_u16(m.flags);
    w.put_u32(m.length);
    w.put_u32(m.interval);
    if (m.type == TransferType::kControl) w.put_bytes(m.setup);
    if (m.type == TransferType::kIso) {
        assert(m.iso_packets.size() <= kMaxIsoPackets);
        w.put_u32(static_cast<uint32_t>(m.iso_packets.size()));
        for (uint32_t len : m.iso_packets) w.put_u32(len);
    }
    assert(m.data.size() == (m.is_in() ? 0 : m.length));
    w.put_bytes(m.data);
}
void get(In& in, Submit& m) {
    m.seqnum = in.u64("seqnum");
    m.endpoint = in.u8("endpoint");
    uint8_t type = in.u8("type");
    m.flags = in.u16("flags");
    m.length = in.u32("length");
    m.interval = in.u32("interval");
    if (!in.ok()) return;
    std::string urb = "seqnum " + std::to_string(m.seqnum) + ": ";
    if (m.seqnum == 0) return in.fail("seqnum 0 is never used");
    if (type > 3) return in.fail(urb + "unknown transfer type " + std::to_string(type));
    m.type = static_cast<TransferType>(type);
    if (m.endpoint & 0x70) return in.fail(urb + "endpoint address has reserved bits set");
    if (m.length > kMaxTransferLength)
        return in.fail(urb + "length " + std::to_string(m.length) + " exceeds the 16 MiB limit");
    if (m.type == TransferType::kControl) {
        ByteSpan s = in.span(8, "setup");
        if (in.ok()) std::copy(s.begin(), s.end(), m.setup.begin());
    }
    if (m.type == TransferType::kIso) {
        uint32_t n = in.u32("packet_count");
        if (n > kMaxIsoPackets)
            return in.fail(urb + std::to_string(n) + " iso packets, over the limit of " +
                           std::to_string(kMaxIsoPackets));
        uint64_t sum = 0;
        for (uint32_t i = 0; i < n && in.ok(); ++i) {
            m.iso_packets.push_back(in.u32("packet_length"));
            sum += m.iso_packets.back();
        }
        if (in.ok() && sum != m.length)
            return in.fail(urb + "iso packet lengths add up to " + std::to_string(sum) + ", not length " +
                           std::to_string(m.length));
    }
    if (!m.is_in()) m.data = in.bytes(m.length, "data");
}

void put(ByteWriter& w, const Complete& m) {
    w.put_u64(m.seqnum);
    w.put_u8(static_cast<uint8_t>(m.status));
    w.put_zeros(3);
    w.put_u32(m.actual_length);
    w.put_i32(m.start_frame);
    assert(m.iso_packets.size() <= kMaxIsoPackets);
    w.put_u32(static_cast<uint32_t>(m.iso_packets.size()));
    for (const IsoPacketResult& p : m.iso_packets) {
        w.put_u8(static_cast<uint8_t>(p.status));
        w.put_zeros(3);
        w.put_u32(p.actual_length);
    }
    assert(m.data.empty() || m.data.size() == m.actual_length);
    w.put_u32(static_cast<uint32_t>(m.data.size()));
    w.put_bytes(m.data);
}
void get(In& in, Complete& m) {
    m.seqnum = in.u64("seqnum");
    m.status = static_cast<UrbStatus>(in.u8("status"));
    in.skip(3, "reserved");
    m.actual_length = in.u32("actual_length");
    m.start_frame = in.i32("start_frame");
    uint32_t n = in.u32("packet_count");
    if (!in.ok()) return;
    std::string urb = "seqnum " + std::to_string(m.seqnum) + ": ";
    if (m.seqnum == 0) return in.fail("seqnum 0 is never used");
    if (m.actual_length > kMaxTransferLength)
        return in.fail(urb + "actual_length " + std::to_string(m.actual_length) + " exceeds the 16 MiB limit");
    if (n > kMaxIsoPackets)
        return in.fail(urb + std::to_string(n) + " iso packets, over the limit of " + std::to_string(kMaxIsoPackets));
    uint64_t sum = 0;
    for (uint32_t i = 0; i < n && in.ok(); ++i) {
        IsoPacketResult p;
        p.status = static_cast<UrbStatus>(in.u8("packet status"));
        in.skip(3, "reserved");
        p.actual_length = in.u32("packet actual_length");
        sum += p.actual_length;
        m.iso_packets.push_back(p);
    }
    if (in.ok() && n > 0 && sum != m.actual_length)
        return in.fail(urb + "iso packets add up to " + std::to_string(sum) + ", not actual_length " +
                       std::to_string(m.actual_length));
    uint32_t data_length = in.u32("data_length");
    if (in.ok() && data_length != 0 && data_length != m.actual_length)
        return in.fail(urb + "data_length " + std::to_string(data_length) + " is neither 0 nor actual_length " +
                       std::to_string(m.actual_length));
    m.data = in.bytes(data_length, "data");
}

void put(ByteWriter& w, const Unlink& m) { w.put_u64(m.seqnum); }
void get(In& in, Unlink& m) {
    m.seqnum = in.u64("seqnum");
    if (in.ok() && m.seqnum == 0) in.fail("seqnum 0 is never used");
}

void put(ByteWriter& w, const UnlinkResult& m) {
    w.put_u64(m.seqnum);
    w.put_u8(static_cast<uint8_t>(m.outcome));
}
void get(In& in, UnlinkResult& m) {
    m.seqnum = in.u64("seqnum");
    uint8_t outcome = in.u8("outcome");
    if (in.ok() && outcome > 2) in.fail("unknown outcome " + std::to_string(outcome));
    m.outcome = static_cast<UnlinkOutcome>(outcome);
}

void put(ByteWriter& w, const Ack& m) { put_ranges(w, m.seqnums); }
void get(In& in, Ack& m) { m.seqnums = get_ranges(in, "seqnums"); }

// The table tying types to structs; its order is the Message variant's.
struct TypeInfo {
    MsgType type;
    const char* name;
};
constexpr TypeInfo kTypes[] = {
    {MsgType::kHello, "Hello"},
    {MsgType::kHelloAck, "HelloAck"},
    {MsgType::kError, "Error"},
    {MsgType::kPing, "Ping"},
    {MsgType::kPong, "Pong"},
    {MsgType::kListDevices, "ListDevices"},
    {MsgType::kDeviceList, "DeviceList"},
    {MsgType::kDeviceArrived, "DeviceArrived"},
    {MsgType::kDeviceLeft, "DeviceLeft"},
    {MsgType::kDeviceChanged, "DeviceChanged"},
    {MsgType::kAttach, "Attach"},
    {MsgType::kAttachOk, "AttachOk"},
    {MsgType::kAttachError, "AttachError"},
    {MsgType::kDetach, "Detach"},
    {MsgType::kDetached, "Detached"},
    {MsgType::kResume, "Resume"},
    {MsgType::kResumeOk, "ResumeOk"},
    {MsgType::kBind, "Bind"},
    {MsgType::kSubmit, "Submit"},
    {MsgType::kComplete, "Complete"},
    {MsgType::kUnlink, "Unlink"},
    {MsgType::kUnlinkResult, "UnlinkResult"},
    {MsgType::kAck, "Ack"},
};
static_assert(std::size(kTypes) == std::variant_size_v<Message>);

template <size_t I = 0>
Result<std::optional<Message>> decode_index(size_t index, ByteSpan payload) {
    if constexpr (I < std::variant_size_v<Message>) {
        if (index != I) return decode_index<I + 1>(index, payload);
        std::variant_alternative_t<I, Message> m;
        In in(payload, kTypes[I].name);
        get(in, m);
        if (!in.ok()) return in.error();
        return std::optional<Message>{Message{std::in_place_index<I>, std::move(m)}};
    } else {
        (void)index;
        (void)payload;
        return make_error("proto: no decoder");
    }
}

}  // namespace

SeqRanges to_ranges(std::vector<uint64_t> seqnums) {
    std::sort(seqnums.begin(), seqnums.end());
    seqnums.erase(std::unique(seqnums.begin(), seqnums.end()), seqnums.end());
    SeqRanges out;
    for (uint64_t s : seqnums) {
        if (!out.empty() && out.back().first + out.back().count == s && out.back().count < UINT32_MAX)
            ++out.back().count;
        else out.push_back(SeqRange{s, 1});
    }
    return out;
}

bool contains(const SeqRanges& ranges, uint64_t seqnum) {
    auto it = std::upper_bound(ranges.begin(), ranges.end(), seqnum,
                               [](uint64_t s, const SeqRange& r) { return s < r.first; });
    if (it == ranges.begin()) return false;
    --it;
    return seqnum - it->first < it->count;
}

uint64_t total_count(const SeqRanges& ranges) {
    uint64_t n = 0;
    for (const SeqRange& r : ranges) n += r.count;
    return n;
}

MsgType type_of(const Message& m) { return kTypes[m.index()].type; }

const char* type_name(uint16_t type) {
    for (const TypeInfo& t : kTypes)
        if (static_cast<uint16_t>(t.type) == type) return t.name;
    return "unknown";
}

void encode(const Message& m, Bytes& out) {
    Bytes payload;
    ByteWriter w(payload);
    std::visit([&](const auto& msg) { put(w, msg); }, m);
    append_frame(out, static_cast<uint16_t>(type_of(m)), 0, payload);
}

Bytes encode(const Message& m) {
    Bytes out;
    encode(m, out);
    return out;
}

Result<std::optional<Message>> decode(const Frame& frame) {
    for (size_t i = 0; i < std::size(kTypes); ++i)
        if (static_cast<uint16_t>(kTypes[i].type) == frame.type) return decode_index(i, frame.payload);
    if (frame.flags & kFlagOptional) return std::optional<Message>{};
    char type[8];
    std::snprintf(type, sizeof type, "0x%04x", frame.type);
    return make_error(std::string("proto: unknown message type ") + type +
                      " not marked optional; the peer speaks a protocol we do not");
}

Result<void> check_allowed(const Message& m, StreamKind stream, Sender from) {
    MsgType t = type_of(m);
    bool anywhere = t == MsgType::kError || t == MsgType::kPing || t == MsgType::kPong;
    if (anywhere) return {};
    bool urb = static_cast<uint16_t>(t) >= static_cast<uint16_t>(MsgType::kBind);
    bool from_client = false;
    switch (t) {
    case MsgType::kHello:
    case MsgType::kListDevices:
    case MsgType::kAttach:
    case MsgType::kDetach:
    case MsgType::kResume:
    case MsgType::kBind:
    case MsgType::kSubmit:
    case MsgType::kUnlink:
    case MsgType::kAck: from_client = true; break;
    default: break;
    }
    const char* name = type_name(static_cast<uint16_t>(t));
    if (urb != (stream == StreamKind::kUrb))
        return make_error(std::string("proto: ") + name + " is not allowed on " +
                          (urb ? "the control stream" : "a URB stream"));
    if (from_client != (from == Sender::kClient))
        return make_error(std::string("proto: ") + name + " may only be sent by the " +
                          (from_client ? "client" : "server"));
    return {};
}

}  // namespace usbhop::proto
