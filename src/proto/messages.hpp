// The usbhop protocol's messages (docs/protocol.md, which gives every byte).
//
// One struct per message, one encode and one decode per message, used by
// both server and client. Decoders are bounds-checked and refuse values
// beyond the limits below; bytes after the fields a message defines are
// ignored (room for compatible growth within a version).
//
// Streams: the control stream (the client's first bidirectional QUIC stream)
// carries Hello .. ResumeOk; every other client-opened bidirectional stream
// is a URB stream for one endpoint of one attachment: it starts with Bind and
// carries Submit/Unlink/Ack from the client, Complete/UnlinkResult from the
// server. Error, Ping and Pong go anywhere.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "proto/frame.hpp"
#include "proto/status.hpp"

namespace usbhop::proto {

inline constexpr uint16_t kVersionMin = 1;  // protocol versions this build speaks
inline constexpr uint16_t kVersionMax = 1;

// Capability bits (Hello, HelloAck).
inline constexpr uint64_t kCapResume = 1u << 0;   // sessions survive a reconnect (Resume)
inline constexpr uint64_t kCapIso = 1u << 1;      // isochronous URBs
inline constexpr uint64_t kCapHotplug = 1u << 2;  // DeviceArrived/Left/Changed after ListDevices{watch}
inline constexpr uint64_t kCapsThisBuild = kCapResume | kCapIso | kCapHotplug;

// Limits every decoder enforces.
inline constexpr uint32_t kMaxTransferLength = 16u << 20;
inline constexpr uint32_t kMaxIsoPackets = 1024;
inline constexpr size_t kMaxString = 1024;
inline constexpr size_t kMaxDevicesPerList = 1024;
inline constexpr size_t kMaxRanges = 65536;
inline constexpr size_t kTokenSize = 16;

enum class MsgType : uint16_t {
    // control stream
    kHello = 0x0001,
    kHelloAck = 0x0002,
    kError = 0x0003,
    kPing = 0x0004,
    kPong = 0x0005,
    kListDevices = 0x0010,
    kDeviceList = 0x0011,
    kDeviceArrived = 0x0012,
    kDeviceLeft = 0x0013,
    kDeviceChanged = 0x0014,
    kAttach = 0x0020,
    kAttachOk = 0x0021,
    kAttachError = 0x0022,
    kDetach = 0x0023,
    kDetached = 0x0024,
    kResume = 0x0025,
    kResumeOk = 0x0026,
    // URB streams
    kBind = 0x0040,
    kSubmit = 0x0041,
    kComplete = 0x0042,
    kUnlink = 0x0043,
    kUnlinkResult = 0x0044,
    kAck = 0x0045,
};

using Token = std::array<std::byte, kTokenSize>;

// A run of sequence numbers first .. first+count-1 (count >= 1). Lists of
// ranges on the wire are ascending and do not overlap.
struct SeqRange {
    uint64_t first = 0;
    uint32_t count = 0;
    bool operator==(const SeqRange&) const = default;
};
using SeqRanges = std::vector<SeqRange>;

// The smallest ascending list of ranges holding exactly these seqnums.
SeqRanges to_ranges(std::vector<uint64_t> seqnums);
bool contains(const SeqRanges& ranges, uint64_t seqnum);
uint64_t total_count(const SeqRanges& ranges);

// ---- control stream ----

struct Hello {  // client -> server, first frame of the connection
    uint16_t version_min = kVersionMin;
    uint16_t version_max = kVersionMax;
    uint64_t capabilities = 0;
    Token resume_token{};  // all zero: a new session
    std::string software;  // "usbhop 0.1.0"
    bool operator==(const Hello&) const = default;
};

struct HelloAck {               // server -> client
    uint16_t version = 0;       // the highest version in both ranges
    uint64_t capabilities = 0;  // the bits both sides set
    Token session_token{};      // present it in a later Hello to resume
    bool resumed = false;       // resume_token named a live session: its attachments wait for Resume
    uint32_t grace_ms = 0;      // how long the server keeps a disconnected session
    std::string software;
    bool operator==(const HelloAck&) const = default;
};

struct ErrorMsg {  // either way, any stream
    Reason code = Reason::kProtocol;
    bool fatal = false;  // the sender closes the stream (URB stream) or the connection (control) after it
    uint64_t ref = 0;    // the device id, attach id or seqnum concerned, 0 when none
    std::string message;
    bool operator==(const ErrorMsg&) const = default;
};

struct Ping {
    uint64_t nonce = 0;
    bool operator==(const Ping&) const = default;
};
struct Pong {
    uint64_t nonce = 0;  // the Ping's
    bool operator==(const Pong&) const = default;
};

struct ListDevices {     // client -> server
    bool watch = false;  // also send DeviceArrived/Left/Changed from now on
    bool operator==(const ListDevices&) const = default;
};

enum class DeviceState : uint8_t { kAvailable = 0, kAttachedByYou = 1, kInUse = 2 };

// Speeds as Linux numbers them (enum usb_device_speed), which vhci's attach file takes.
enum class Speed : uint8_t { kUnknown = 0, kLow = 1, kFull = 2, kHigh = 3, kWireless = 4, kSuper = 5, kSuperPlus = 6 };

struct DeviceInfo {
    uint32_t device_id = 0;  // (busnum << 16) | devnum on the server: the USB/IP devid
    uint16_t busnum = 0;
    uint16_t devnum = 0;
    Speed speed = Speed::kUnknown;
    uint8_t active_config = 0;  // bConfigurationValue, 0 when unconfigured
    DeviceState state = DeviceState::kAvailable;
    std::string bus_path;      // "1-1.2"
    std::string share;         // the export rule's name
    std::string holder;        // short node id of the peer using it, "" when available
    std::string manufacturer;  // string descriptors, UTF-8, "" when absent
    std::string product;
    std::string serial;
    Bytes device_descriptor;            // 18 bytes, raw (little-endian USB order)
    std::vector<Bytes> configurations;  // every configuration descriptor, raw, wTotalLength bytes each
    bool operator==(const DeviceInfo&) const = default;
};

struct DeviceList {  // server -> client; a long list comes in several, the last with last = true
    bool last = true;
    std::vector<DeviceInfo> devices;
    bool operator==(const DeviceList&) const = default;
};
struct DeviceArrived {
    DeviceInfo device;
    bool operator==(const DeviceArrived&) const = default;
};
struct DeviceChanged {  // e.g. its state or holder changed
    DeviceInfo device;
    bool operator==(const DeviceChanged&) const = default;
};
struct DeviceLeft {
    uint32_t device_id = 0;
    bool operator==(const DeviceLeft&) const = default;
};

struct Attach {  // client -> server
    uint32_t device_id = 0;
    bool operator==(const Attach&) const = default;
};
struct AttachOk {
    uint32_t device_id = 0;
    uint32_t attach_id = 0;  // names the attachment in Bind, Detach, Resume; unique within the session
    bool operator==(const AttachOk&) const = default;
};
struct AttachError {
    uint32_t device_id = 0;
    Reason reason = Reason::kNotFound;
    std::string holder;  // kInUse: short node id of the peer that has it
    std::string message;
    bool operator==(const AttachError&) const = default;
};
struct Detach {  // client -> server
    uint32_t attach_id = 0;
    bool operator==(const Detach&) const = default;
};
struct Detached {  // server -> client: the answer to Detach, or unasked (device gone, ...)
    uint32_t attach_id = 0;
    Reason reason = Reason::kNone;
    std::string message;
    bool operator==(const Detached&) const = default;
};
struct Resume {  // client -> server, after HelloAck{resumed}
    uint32_t attach_id = 0;
    SeqRanges pending;  // URBs submitted that have no Complete or UnlinkResult{kCancelled} here
    bool operator==(const Resume&) const = default;
};
struct ResumeOk {
    uint32_t attach_id = 0;
    SeqRanges missing;  // of pending, those the server never received: submit them again
    bool operator==(const ResumeOk&) const = default;
};

// ---- URB streams ----

enum class TransferType : uint8_t { kControl = 0, kIso = 1, kBulk = 2, kInterrupt = 3 };

inline constexpr uint8_t kEndpointDirIn = 0x80;

struct Bind {  // client -> server, first frame of a URB stream
    uint32_t attach_id = 0;
    uint8_t endpoint = 0;  // address with direction bit; control endpoints: number only
    TransferType type = TransferType::kBulk;
    bool operator==(const Bind&) const = default;
};

// Submit.flags
inline constexpr uint16_t kSubmitShortNotOk = 0x0001;
inline constexpr uint16_t kSubmitZeroPacket = 0x0002;
inline constexpr uint16_t kSubmitIsoAsap = 0x0004;

struct Submit {            // client -> server
    uint64_t seqnum = 0;   // per attachment, >= 1, increasing per endpoint; never reused
    uint8_t endpoint = 0;  // address incl. direction of this transfer (control: 0x80 when the data stage is IN)
    TransferType type = TransferType::kBulk;
    uint16_t flags = 0;
    uint32_t length = 0;                // transfer buffer length
    uint32_t interval = 0;              // as the client's driver asked (informational)
    std::array<std::byte, 8> setup{};   // control only, raw USB order
    std::vector<uint32_t> iso_packets;  // iso only: each packet's length; they add up to length
    Bytes data;                         // OUT: length bytes (iso: packets back to back); IN: empty
    bool is_in() const { return endpoint & kEndpointDirIn; }
    bool operator==(const Submit&) const = default;
};

struct IsoPacketResult {
    UrbStatus status = UrbStatus::kOk;
    uint32_t actual_length = 0;
    bool operator==(const IsoPacketResult&) const = default;
};

struct Complete {  // server -> client: the URB's one terminal result
    uint64_t seqnum = 0;
    UrbStatus status = UrbStatus::kOk;
    uint32_t actual_length = 0;  // bytes transferred, IN or OUT
    int32_t start_frame = 0;
    std::vector<IsoPacketResult> iso_packets;  // iso: one per submitted packet
    Bytes data;                                // IN: actual_length bytes (iso: packets' data back to back); OUT: empty
    bool operator==(const Complete&) const = default;
};

struct Unlink {  // client -> server: cancel this URB
    uint64_t seqnum = 0;
    bool operator==(const Unlink&) const = default;
};

enum class UnlinkOutcome : uint8_t {
    kCancelled = 0,  // the URB was cancelled: this is its terminal result, no Complete was or will be sent
    kCompleted = 1,  // too late: its Complete was sent before this message on this stream
    kUnknown = 2,    // the server holds nothing for this seqnum (its result was acknowledged)
};

struct UnlinkResult {  // server -> client, exactly one per Unlink
    uint64_t seqnum = 0;
    UnlinkOutcome outcome = UnlinkOutcome::kCancelled;
    bool operator==(const UnlinkResult&) const = default;
};

struct Ack {  // client -> server: these terminal results arrived; forget them
    SeqRanges seqnums;
    bool operator==(const Ack&) const = default;
};

using Message = std::variant<Hello, HelloAck, ErrorMsg, Ping, Pong, ListDevices, DeviceList, DeviceArrived, DeviceLeft,
                             DeviceChanged, Attach, AttachOk, AttachError, Detach, Detached, Resume, ResumeOk, Bind,
                             Submit, Complete, Unlink, UnlinkResult, Ack>;

MsgType type_of(const Message& m);
const char* type_name(uint16_t type);

// Appends m as one frame (flags 0: every v1 message is mandatory). Strings
// longer than kMaxString are cut (at a UTF-8 boundary); every other limit
// above is the caller's to keep (asserted).
void encode(const Message& m, Bytes& out);
Bytes encode(const Message& m);

// Decodes one frame. nullopt: an unknown type marked optional, to be skipped.
// Errors name the message and the field ("proto: Submit: ...").
Result<std::optional<Message>> decode(const Frame& frame);

enum class StreamKind { kControl, kUrb };
enum class Sender { kClient, kServer };

// Whether m may travel on that kind of stream from that side.
Result<void> check_allowed(const Message& m, StreamKind stream, Sender from);

}  // namespace usbhop::proto
