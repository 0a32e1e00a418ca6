// The values the usb/ layer hands to the rest of usbhop: what a device is
// (DeviceInfo), what a URB asks for (Urb) and every event the libusb side
// produces (Event). Plain structs with no libusb types, so that server/ and
// the tests can build and read them without touching libusb.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "util/bytes.hpp"
#include "util/log.hpp"
#include "util/result.hpp"

namespace usbhop::usb {

// Stable for as long as the device stays plugged in; never reused within one
// process. A device that is unplugged and plugged back gets a new id.
using DeviceId = uint32_t;

// USB/IP's speed numbers (enum usb_device_speed in the kernel), which is also
// what vhci_hcd's attach file takes. 4 (wireless) never occurs here.
enum class Speed : uint8_t { unknown = 0, low = 1, full = 2, high = 3, super = 5, super_plus = 6 };

enum class TransferType : uint8_t { control = 0, isochronous = 1, bulk = 2, interrupt = 3 };

// How a transfer ended. server/ maps this to the wire; to_errno() gives the
// value a USB/IP RET_SUBMIT carries.
enum class Status : uint8_t {
    completed,  // 0
    stall,      // -EPIPE: the endpoint halted; only the client may clear it
    overflow,   // -EOVERFLOW: the device sent more than was asked for
    timeout,    // -ETIMEDOUT (control transfers only; others have no timeout)
    no_device,  // -ENODEV: the device is gone
    cancelled,  // -ECONNRESET: cancel() won the race with completion
    error,      // -EPROTO: anything else (CRC, babble, short packet with short_not_ok)
};

struct Endpoint {
    uint8_t address = 0;  // bit 7 set for IN
    TransferType type = TransferType::control;
    uint16_t max_packet_size = 0;  // wMaxPacketSize as in the descriptor (bits 11-12: extra transactions)
    uint8_t interval = 0;
};

struct Interface {
    uint8_t number = 0;
    uint8_t alt_setting = 0;
    uint8_t interface_class = 0;
    uint8_t subclass = 0;
    uint8_t protocol = 0;
    std::vector<Endpoint> endpoints;
};

struct Configuration {
    uint8_t value = 0;  // bConfigurationValue
    uint8_t attributes = 0;
    uint8_t max_power = 0;
    std::vector<Interface> interfaces;  // every alt setting of every interface, in descriptor order
    Bytes raw;                          // the whole descriptor, wTotalLength bytes
};

struct DeviceInfo {
    DeviceId id = 0;
    uint8_t bus = 0;
    uint8_t address = 0;
    std::string path;  // "1-1.2" as the kernel names it; "usb1" for a root hub
    uint16_t vendor = 0;
    uint16_t product = 0;
    uint16_t bcd_device = 0;
    uint8_t device_class = 0;
    uint8_t device_subclass = 0;
    uint8_t device_protocol = 0;
    Speed speed = Speed::unknown;
    std::string manufacturer;  // empty when the device has none
    std::string product_name;
    std::string serial;
    uint8_t active_config = 0;  // bConfigurationValue when enumerated, 0 if unconfigured
    Bytes device_descriptor;    // 18 bytes, raw (little-endian, as on the wire)
    std::vector<Configuration> configurations;
    bool is_hub = false;  // hubs are never exportable
    // On a vhci_hcd bus: a device this machine imported over USB/IP (usbhop
    // attach, usbip). Exported again only by a rule that names its path, so
    // that serve and attach on one machine (or two machines attaching each
    // other's devices) cannot loop one device through themselves.
    bool imported = false;

    // Interface classes of the active configuration (alt setting 0), no duplicates.
    std::vector<uint8_t> interface_classes() const;
    const Configuration* configuration(uint8_t value) const;
};

// A device's journal fields: USBHOP_DEVICE (vid:pid) and USBHOP_BUSID.
inline log::Fields log_fields(const DeviceInfo& d) {
    return std::move(log::Fields().device(d.vendor, d.product, d.path));
}

struct IsoPacket {
    uint32_t offset = 0;  // where this packet starts in the URB's (uncompacted) buffer
    uint32_t length = 0;
    uint32_t actual_length = 0;
    Status status = Status::completed;
};

namespace urb_flags {
inline constexpr uint32_t kShortNotOk = 0x1;   // a short IN transfer is an error
inline constexpr uint32_t kZeroPacket = 0x40;  // end a bulk OUT of max-packet multiple with a ZLP
}  // namespace urb_flags

// One USB request block as the client's kernel submitted it.
struct Urb {
    uint64_t seqnum = 0;   // the caller's id; unique among the device's transfers in flight
    uint8_t endpoint = 0;  // address: number | 0x80 for IN
    TransferType type = TransferType::bulk;
    uint32_t flags = 0;                 // urb_flags::*
    std::array<uint8_t, 8> setup{};     // control only, raw (little-endian) USB order
    Bytes data;                         // OUT: the bytes to send (control: the data stage)
    uint32_t length = 0;                // IN: how many bytes to ask for (OUT: ignored, data.size() counts)
    std::vector<uint32_t> iso_lengths;  // isochronous: one length per packet

    bool is_in() const { return (endpoint & 0x80) != 0; }
};

// ---- Events: everything the libusb side reports, in the order it happened ----

struct DeviceArrived {
    DeviceInfo info;
};

// Comes after the last TransferDone of that device: when this arrives the
// device has no transfers left and its id is dead.
struct DeviceLeft {
    DeviceId id = 0;
    std::string path;
};

struct TransferDone {
    DeviceId device = 0;
    uint64_t seqnum = 0;
    uint8_t endpoint = 0;
    Status status = Status::completed;
    uint32_t actual_length = 0;  // bytes moved; for OUT too
    Bytes data;                  // IN only: actual_length bytes (isochronous: packets compacted, no gaps)
    std::vector<IsoPacket> iso;  // isochronous only, one per packet submitted
};

enum class DeviceOp : uint8_t { claim, release, reset };

// The answer to claim(), release() or reset(); error empty on success.
struct DeviceOpDone {
    DeviceId device = 0;
    DeviceOp op = DeviceOp::claim;
    std::optional<Error> error;
};

using Event = std::variant<DeviceArrived, DeviceLeft, TransferDone, DeviceOpDone>;

}  // namespace usbhop::usb
