// vhci_probe: proves src/vhci/ against the real kernel (tests/lab/scenarios/
// vhci-attach.sh). It attaches a canned device to vhci_hcd through a
// socketpair and plays that device over USB/IP (src/usbip/ codec) well enough
// for the kernel to enumerate and configure it: a vendor-specific device with
// one interface and only endpoint 0. SIGTERM/SIGINT detach it and wait for the
// port to read free again.
//
//   vhci_probe attach [--speed N] [--vid HEX] [--pid HEX] [--ports P,Q,...]
//                     [--state DIR] [--sysfs DIR]
//       prints "attached port P speed S devid D", serves until SIGTERM, then
//       "detached port P ..." (exit 0); errors go to stderr (exit 2).
//       --ports tries only those ports, in order (Vhci::attach_at); --state
//       keeps a state entry in DIR while attached, as usbhop attach does.
//   vhci_probe check [--sysfs DIR]
//       Vhci::check_usable(): prints "usable" or the error (exit 2).
//   vhci_probe ports [--sysfs DIR]
//       prints one line per port: "PORT HUB STATE SPEED DEVID BUSID".
//   vhci_probe state [--state DIR] [--sysfs DIR]
//       prunes stale entries (logged) and prints "live PORT PID VID:PID" lines.
//   vhci_probe detach --ports P --state DIR [--sysfs DIR]
//       detaches port P's entry as `usbhop detach` does (vhci::detach_entry).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include "usbip/pdu.hpp"
#include "usbip/reply.hpp"
#include "usbip/stream_decoder.hpp"
#include "util/bytes.hpp"
#include "util/log.hpp"
#include "vhci/vhci.hpp"

using namespace usbhop;

namespace {

volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

// Standard requests and descriptor types (USB 2.0 §9.4, Table 9-4/9-5;
// USB 3.2 §9.4 for SET_SEL and SET_ISOCH_DELAY).
constexpr uint8_t kGetStatus = 0x00;
constexpr uint8_t kSetFeature = 0x03;
constexpr uint8_t kClearFeature = 0x01;
constexpr uint8_t kGetDescriptor = 0x06;
constexpr uint8_t kGetConfiguration = 0x08;
constexpr uint8_t kSetConfiguration = 0x09;
constexpr uint8_t kSetInterface = 0x0b;
constexpr uint8_t kSetSel = 0x30;
constexpr uint8_t kSetIsochDelay = 0x31;

constexpr uint8_t kDescDevice = 1;
constexpr uint8_t kDescConfig = 2;
constexpr uint8_t kDescString = 3;
constexpr uint8_t kDescBos = 15;

struct Setup {
    uint8_t request_type = 0;
    uint8_t request = 0;
    uint16_t value = 0;
    uint16_t index = 0;
    uint16_t length = 0;
};

Setup parse_setup(const std::array<std::byte, 8>& s) {
    auto b = [&](int i) { return std::to_integer<uint16_t>(s[i]); };
    return Setup{static_cast<uint8_t>(b(0)), static_cast<uint8_t>(b(1)), static_cast<uint16_t>(b(2) | b(3) << 8),
                 static_cast<uint16_t>(b(4) | b(5) << 8), static_cast<uint16_t>(b(6) | b(7) << 8)};
}

// The device the kernel will see: USB 2.0 at low/full/high speed, USB 3.2
// with a BOS descriptor at super speed (the kernel asks for one there).
class CannedDevice {
public:
    CannedDevice(uint16_t vid, uint16_t pid, uint32_t usbip_speed) : super_(usbip_speed >= vhci::speed::kSuper) {
        Bytes& d = device_;
        ByteWriter w(d);
        w.put_u8(18);
        w.put_u8(kDescDevice);
        w.put_u16_le(super_ ? 0x0320 : 0x0200);
        w.put_u8(0x00);  // class per interface
        w.put_u8(0x00);
        w.put_u8(0x00);
        w.put_u8(super_ ? 9 : (usbip_speed == vhci::speed::kLow ? 8 : 64));  // 2^9 = 512 at super speed
        w.put_u16_le(vid);
        w.put_u16_le(pid);
        w.put_u16_le(0x0100);
        w.put_u8(1);  // iManufacturer
        w.put_u8(2);  // iProduct
        w.put_u8(3);  // iSerialNumber
        w.put_u8(1);  // bNumConfigurations

        ByteWriter c(config_);
        c.put_u8(9);
        c.put_u8(kDescConfig);
        c.put_u16_le(9 + 9);
        c.put_u8(1);     // bNumInterfaces
        c.put_u8(1);     // bConfigurationValue
        c.put_u8(0);     // iConfiguration
        c.put_u8(0x80);  // bus powered
        c.put_u8(50);    // 100 mA (USB 2.0 units of 2 mA)
        c.put_u8(9);     // interface 0, alt 0
        c.put_u8(4);
        c.put_u8(0);
        c.put_u8(0);
        c.put_u8(0);     // no endpoints beyond ep0
        c.put_u8(0xff);  // vendor specific: no kernel driver binds
        c.put_u8(0);
        c.put_u8(0);
        c.put_u8(0);

        ByteWriter b(bos_);
        b.put_u8(5);
        b.put_u8(kDescBos);
        b.put_u16_le(5 + 7 + 10);
        b.put_u8(2);
        b.put_u8(7);  // USB 2.0 extension: LPM not supported
        b.put_u8(16);
        b.put_u8(2);
        b.put_u16_le(0);
        b.put_u16_le(0);
        b.put_u8(10);  // SuperSpeed USB device capability
        b.put_u8(16);
        b.put_u8(3);
        b.put_u8(0);
        b.put_u16_le(0x000e);  // full, high, super
        b.put_u8(1);
        b.put_u8(10);
        b.put_u16_le(0x07ff);
    }

    // Answers one control request on ep0: status and IN data (nullopt: stall).
    std::optional<Bytes> control(const Setup& s, uint32_t& out_length) {
        out_length = 0;
        const bool in = s.request_type & 0x80;
        const uint8_t type = (s.request_type >> 5) & 3;
        if (type != 0) return std::nullopt;  // no class or vendor requests
        if (in) {
            switch (s.request) {
            case kGetDescriptor: return descriptor(static_cast<uint8_t>(s.value >> 8), s.value & 0xff);
            case kGetStatus: return Bytes{std::byte{0}, std::byte{0}};
            case kGetConfiguration: return Bytes{std::byte{configuration_}};
            default: return std::nullopt;
            }
        }
        switch (s.request) {
        case kSetConfiguration:
            if (s.value > 1) return std::nullopt;
            configuration_ = static_cast<uint8_t>(s.value);
            return Bytes{};
        case kSetInterface:
            if (s.value != 0) return std::nullopt;
            return Bytes{};
        case kSetSel:
        case kSetIsochDelay:
        case kSetFeature:
        case kClearFeature: out_length = s.length; return Bytes{};
        default: return std::nullopt;
        }
    }

    uint8_t configuration() const { return configuration_; }

private:
    std::optional<Bytes> descriptor(uint8_t type, uint8_t index) {
        switch (type) {
        case kDescDevice: return device_;
        case kDescConfig: return index == 0 ? std::optional<Bytes>(config_) : std::nullopt;
        case kDescBos: return super_ ? std::optional<Bytes>(bos_) : std::nullopt;
        case kDescString: return string(index);
        default: return std::nullopt;  // device qualifier, other speed: stall, as a 2.0 full/high device may
        }
    }

    static std::optional<Bytes> string(uint8_t index) {
        static const char* const kStrings[] = {nullptr, "usbhop lab", "vhci probe", "VHCIPROBE0001"};
        Bytes out;
        ByteWriter w(out);
        if (index == 0) {
            w.put_u8(4);
            w.put_u8(kDescString);
            w.put_u16_le(0x0409);
            return out;
        }
        if (index >= std::size(kStrings)) return std::nullopt;
        std::string_view s = kStrings[index];
        w.put_u8(static_cast<uint8_t>(2 + 2 * s.size()));
        w.put_u8(kDescString);
        for (char c : s) w.put_u16_le(static_cast<uint8_t>(c));
        return out;
    }

    bool super_;
    uint8_t configuration_ = 0;
    Bytes device_, config_, bos_;
};

const char* request_name(const Setup& s) {
    switch (s.request) {
    case kGetDescriptor: return "GET_DESCRIPTOR";
    case kSetConfiguration: return "SET_CONFIGURATION";
    case kGetStatus: return "GET_STATUS";
    case kSetSel: return "SET_SEL";
    case kSetIsochDelay: return "SET_ISOCH_DELAY";
    default: return "request";
    }
}

bool write_all(int fd, const Bytes& b) {
    size_t done = 0;
    while (done < b.size()) {
        ssize_t n = ::write(fd, b.data() + done, b.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        done += static_cast<size_t>(n);
    }
    return true;
}

// Plays the device on the socket until a signal or the kernel closes it.
// Returns false on a protocol error.
bool serve(int fd, CannedDevice& dev) {
    auto decoder = usbip::StreamDecoder::for_commands();
    std::byte buf[65536];
    while (!g_stop) {
        pollfd p{fd, POLLIN, 0};
        int r = ::poll(&p, 1, 200);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) continue;
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            std::printf("kernel closed the socket\n");
            return true;
        }
        decoder.feed(ByteSpan(buf, static_cast<size_t>(n)));
        for (;;) {
            auto next = decoder.next();
            if (!next) {
                std::fprintf(stderr, "vhci_probe: %s\n", next.error().message.c_str());
                return false;
            }
            if (!next->has_value()) break;
            Bytes out;
            if (auto* cmd = std::get_if<usbip::CmdSubmit>(&**next)) {
                auto urb = usbip::submitted_urb(*cmd);
                usbip::RetSubmit reply;
                if (cmd->base.ep != 0) {
                    reply = usbip::error_ret_submit(urb, usbip::kEpipe);
                } else {
                    Setup s = parse_setup(cmd->setup);
                    uint32_t out_length = 0;
                    auto answer = dev.control(s, out_length);
                    std::printf("CMD_SUBMIT seq %u %s type %02x req %02x value %04x index %04x len %u -> %s\n",
                                cmd->base.seqnum, request_name(s), s.request_type, s.request, s.value, s.index,
                                s.length, answer ? "ok" : "stall");
                    if (!answer) {
                        reply = usbip::error_ret_submit(urb, usbip::kEpipe);
                    } else {
                        if (answer->size() > cmd->transfer_buffer_length) answer->resize(cmd->transfer_buffer_length);
                        uint32_t actual = cmd->base.direction == usbip::Direction::kIn
                                              ? static_cast<uint32_t>(answer->size())
                                              : std::min(out_length, cmd->transfer_buffer_length);
                        auto made = usbip::make_ret_submit(urb, 0, actual, *answer);
                        if (!made) {
                            std::fprintf(stderr, "vhci_probe: %s\n", made.error().message.c_str());
                            return false;
                        }
                        reply = std::move(*made);
                    }
                }
                usbip::encode(reply, out);
            } else if (auto* unlink = std::get_if<usbip::CmdUnlink>(&**next)) {
                // Every URB is answered as it arrives, so an unlink always
                // finds it completed (usbip_protocol.rst: status 0).
                auto ret = usbip::make_ret_unlink(unlink->unlink_seqnum, 0);
                ret.base.seqnum = unlink->base.seqnum;
                usbip::encode(ret, out);
            }
            std::fflush(stdout);
            if (!write_all(fd, out)) {
                std::printf("kernel closed the socket\n");
                return true;
            }
        }
    }
    return true;
}

int usage() {
    std::fprintf(
        stderr,
        "usage: vhci_probe attach [--speed N] [--vid HEX] [--pid HEX] [--ports P,Q] [--state DIR] [--sysfs DIR]\n"
        "       vhci_probe ports [--sysfs DIR]\n"
        "       vhci_probe state [--state DIR] [--sysfs DIR]\n");
    return 64;
}

std::vector<uint32_t> parse_ports(std::string_view list) {
    std::vector<uint32_t> out;
    while (!list.empty()) {
        size_t comma = list.find(',');
        out.push_back(static_cast<uint32_t>(std::strtoul(std::string(list.substr(0, comma)).c_str(), nullptr, 10)));
        list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    }
    return out;
}

int fail(const Error& e) {
    std::fprintf(stderr, "vhci_probe: %s\n", e.message.c_str());
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) return usage();
    std::string mode = argv[1];
    uint32_t speed = vhci::speed::kHigh;
    uint16_t vid = 0x1209, pid = 0x0001;  // pid.codes test VID:PID
    std::string sysfs = vhci::Vhci::kDefaultSysfsRoot;
    std::string state_dir;
    std::vector<uint32_t> ports;
    for (int i = 2; i + 1 < argc; i += 2) {
        std::string_view k = argv[i];
        const char* v = argv[i + 1];
        if (k == "--speed") speed = static_cast<uint32_t>(std::strtoul(v, nullptr, 10));
        else if (k == "--vid") vid = static_cast<uint16_t>(std::strtoul(v, nullptr, 16));
        else if (k == "--pid") pid = static_cast<uint16_t>(std::strtoul(v, nullptr, 16));
        else if (k == "--sysfs") sysfs = v;
        else if (k == "--state") state_dir = v;
        else if (k == "--ports") ports = parse_ports(v);
        else return usage();
    }
    setvbuf(stdout, nullptr, _IOLBF, 0);
    log::set_threshold(log::Level::debug);
    vhci::Vhci vhci(sysfs);

    if (mode == "check") {
        if (auto r = vhci.check_usable(); !r) return fail(r.error());
        std::printf("usable\n");
        return 0;
    }
    if (mode == "ports") {
        auto table = vhci.ports();
        if (!table) return fail(table.error());
        for (const auto& p : *table)
            std::printf("%u %s %03u %u %08x %s\n", p.port, p.hub == vhci::Hub::high_speed ? "hs" : "ss",
                        static_cast<unsigned>(p.state), p.speed, p.devid, p.local_busid.c_str());
        return 0;
    }
    if (mode == "state") {
        if (state_dir.empty()) return usage();
        // Without vhci_hcd every entry is stale: an empty table says so.
        auto table = vhci.ports();
        auto live = vhci::StateDir(state_dir).prune(table ? *table : std::vector<vhci::PortStatus>{});
        if (!live) return fail(live.error());
        for (const auto& d : *live)
            std::printf("live %u %d %04x:%04x %s\n", d.port, d.pid, d.vendor, d.product, d.description.c_str());
        return 0;
    }
    if (mode == "detach") {
        if (state_dir.empty() || ports.size() != 1) return usage();
        vhci::StateDir dir(state_dir);
        auto entries = dir.list();
        if (!entries) return fail(entries.error());
        for (const auto& e : *entries) {
            if (e.port != ports[0]) continue;
            if (auto r = vhci::detach_entry(vhci, dir, e); !r) return fail(r.error());
            std::printf("detached entry for port %u\n", e.port);
            return 0;
        }
        return fail(make_error("no entry for port " + std::to_string(ports[0]) + " in " + state_dir));
    }
    if (mode != "attach") return usage();

    struct sigaction sa {};
    sa.sa_handler = on_signal;  // no SA_RESTART: poll() returns EINTR
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    signal(SIGPIPE, SIG_IGN);

    const uint32_t devid = (1u << 16) | 2u;
    auto port = ports.empty() ? vhci.attach(devid, speed) : vhci.attach_at(ports, devid, speed);
    if (!port) return fail(port.error());
    const uint32_t number = port->port();
    std::printf("attached port %u speed %u devid %u\n", number, speed, devid);

    std::optional<vhci::StateDir> state;
    if (!state_dir.empty()) {
        state.emplace(state_dir);
        vhci::AttachedDevice entry;
        entry.port = number;
        entry.devid = devid;
        entry.speed = speed;
        entry.peer = "vhci-probe";
        entry.bus_path = "1-2";
        entry.vendor = vid;
        entry.product = pid;
        entry.description = "usbhop lab vhci probe";
        entry.attached_at = std::time(nullptr);
        entry.pid = static_cast<int>(::getpid());
        if (auto r = state->save(entry); !r) return fail(r.error());
    }

    CannedDevice dev(vid, pid, speed);
    bool ok = serve(port->socket(), dev);
    const auto t0 = std::chrono::steady_clock::now();
    if (auto r = port->detach(); !r) return fail(r.error());
    if (auto r = vhci.wait_until_free(number, std::chrono::seconds(10)); !r) return fail(r.error());
    if (state) {
        if (auto r = state->remove(number); !r) return fail(r.error());
    }
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
    std::printf("detached port %u (free after %lld ms)\n", number, static_cast<long long>(ms.count()));
    return ok ? 0 : 1;
}
