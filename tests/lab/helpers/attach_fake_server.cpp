// attach_fake_server: a small stand-in for `usbhop serve` that speaks the
// usbhop/1 protocol (docs/protocol.md) with one canned device, so that the
// client can be proven against the kernel's vhci_hcd on its own: the device
// (1209:0001 "usbhop fake", high speed) answers the standard requests, and
// its vendor interface has a bulk loopback: bytes written to 0x02 come back
// on 0x81 (an IN with nothing to read stays pending, so unlinks and resumes
// can be exercised). The server side of exactly-once is checked too: every
// Submit seqnum must be new on its endpoint, and one that comes twice is
// printed as DUPLICATE (the checks look for it).
//
//   attach_fake_server --listen ADDR --key FILE [--grace MS] [--serial BYTES]
//       prints "node <id>" and "listening ADDR", then one line per event.
//   SIGUSR1  drops the connection, keeping the session for a resume
//   SIGUSR2  unplugs the device (pending URBs end NO_DEVICE, Detached GONE)
//   SIGHUP   plugs it back in (a new device id, DeviceArrived)
//   SIGTERM  exits
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <set>
#include <string>

#include "identity/identity.hpp"
#include "loop/loop.hpp"
#include "proto/messages.hpp"
#include "quic/endpoint.hpp"
#include "util/log.hpp"

using namespace usbhop;

namespace {

void out(const std::string& s) {
    std::printf("%s\n", s.c_str());
    std::fflush(stdout);
}

Bytes device_descriptor() {
    Bytes d;
    ByteWriter w(d);
    w.put_u8(18); w.put_u8(1); w.put_u16_le(0x0200);
    w.put_u8(0); w.put_u8(0); w.put_u8(0); w.put_u8(64);
    w.put_u16_le(0x1209); w.put_u16_le(0x0001); w.put_u16_le(0x0100);
    w.put_u8(1); w.put_u8(2); w.put_u8(3); w.put_u8(1);
    return d;
}

Bytes config_descriptor() {
    Bytes c;
    ByteWriter w(c);
    w.put_u8(9); w.put_u8(2); w.put_u16_le(9 + 9 + 7 + 7); w.put_u8(1); w.put_u8(1); w.put_u8(0); w.put_u8(0x80); w.put_u8(50);
    w.put_u8(9); w.put_u8(4); w.put_u8(0); w.put_u8(0); w.put_u8(2); w.put_u8(0xff); w.put_u8(0); w.put_u8(0); w.put_u8(0);
    w.put_u8(7); w.put_u8(5); w.put_u8(0x81); w.put_u8(2); w.put_u16_le(512); w.put_u8(0);
    w.put_u8(7); w.put_u8(5); w.put_u8(0x02); w.put_u8(2); w.put_u16_le(512); w.put_u8(0);
    return c;
}

// The serial number the device list carries: --serial sets any bytes, as a
// hostile or broken device could (escape sequences, bytes that are not UTF-8).
std::string g_serial = "FAKE0001";

Bytes string_descriptor(uint8_t index) {
    static const char* const kStrings[] = {nullptr, "usbhop lab", "usbhop fake", "FAKE0001"};
    Bytes o;
    ByteWriter w(o);
    if (index == 0) {
        w.put_u8(4); w.put_u8(3); w.put_u16_le(0x0409);
        return o;
    }
    if (index >= 4) return {};
    std::string s = kStrings[index];
    w.put_u8(static_cast<uint8_t>(2 + 2 * s.size()));
    w.put_u8(3);
    for (char ch : s) w.put_u16_le(static_cast<uint8_t>(ch));
    return o;
}

struct Attachment {
    uint32_t id = 0;
    std::map<uint8_t, uint64_t> highest;        // per endpoint (§8)
    std::set<uint64_t> received;                // every seqnum ever received
    std::map<uint64_t, std::pair<uint8_t, proto::Message>> retained;  // terminal results not yet acked
    std::deque<proto::Submit> pending_in;       // bulk INs waiting for loopback data
    std::set<uint64_t> cancelled;
    Bytes fifo;
};

class FakeServer {
public:
    FakeServer(loop::Loop& loop, uint32_t grace_ms) : loop_(loop), grace_ms_(grace_ms) {}

    void on_connection(quic::Connection& c) {
        if (conn_) conn_->close(static_cast<uint64_t>(proto::Reason::kNone), "replaced by a new connection");
        conn_ = &c;
        streams_.clear();
        quic::Handlers h;
        h.on_stream_opened = [this](int64_t s) { streams_[s] = Stream{proto::FrameDecoder(proto::kMaxUrbPayload), 0, 0, false}; };
        h.on_stream_data = [this, cp = &c](int64_t s, ByteSpan d, bool) { if (cp == conn_) on_data(s, d); };
        h.on_closed = [this, cp = &c](const quic::CloseInfo& i) {
            if (cp != conn_) return;
            conn_ = nullptr;
            streams_.clear();
            out("disconnected: " + i.message);
        };
        c.set_handlers(std::move(h));
        out("connection");
    }

    void drop() {
        if (!conn_) return;
        out("dropping the connection");
        conn_->close(static_cast<uint64_t>(proto::Reason::kInternal), "test: connection dropped");
    }

    void unplug() {
        if (!plugged_) return;
        plugged_ = false;
        out("unplug");
        for (auto& [id, a] : attachments_) {
            while (!a.pending_in.empty()) {
                proto::Complete c;
                c.seqnum = a.pending_in.front().seqnum;
                c.status = proto::UrbStatus::kNoDevice;
                a.pending_in.pop_front();
                result(a, 0x81, c);
            }
            control(proto::Detached{id, proto::Reason::kGone, "unplugged"});
        }
        attachments_.clear();
        control(proto::DeviceLeft{device_id()});
    }

    void plug() {
        if (plugged_) return;
        plugged_ = true;
        ++devnum_;
        out("plug " + std::to_string(device_id()));
        if (watching_) control(proto::DeviceArrived{info()});
    }

private:
    struct Stream {
        proto::FrameDecoder decoder{proto::kMaxUrbPayload};
        uint32_t attach_id = 0;
        uint8_t endpoint = 0;
        bool bound = false;
    };

    uint32_t device_id() const { return (1u << 16) | devnum_; }

    proto::DeviceInfo info() const {
        proto::DeviceInfo d;
        d.device_id = device_id();
        d.busnum = 1;
        d.devnum = static_cast<uint16_t>(devnum_);
        d.speed = proto::Speed::kHigh;
        d.active_config = 1;
        d.state = attachments_.empty() ? proto::DeviceState::kAvailable : proto::DeviceState::kAttachedByYou;
        d.bus_path = "1-1";
        d.share = "fake";
        d.manufacturer = "usbhop lab";
        d.product = "usbhop fake";
        d.serial = g_serial;
        d.device_descriptor = device_descriptor();
        d.configurations = {config_descriptor()};
        return d;
    }

    void send(int64_t s, const proto::Message& m) {
        if (!conn_) return;
        Bytes b = proto::encode(m);
        conn_->write(s, b);
    }
    void control(const proto::Message& m) { send(0, m); }

    void fatal(const std::string& why) {
        out("PROTOCOL ERROR: " + why);
        control(proto::ErrorMsg{proto::Reason::kProtocol, true, 0, why});
        conn_->close(1, why);
    }

    void on_data(int64_t s, ByteSpan d) {
        auto it = streams_.find(s);
        if (it == streams_.end()) return;
        it->second.decoder.feed(d);
        for (;;) {
            auto f = streams_.at(s).decoder.next();
            if (!f) return fatal(f.error().message);
            if (!f->has_value()) return;
            auto m = proto::decode(**f);
            if (!m) return fatal(m.error().message);
            if (!m->has_value()) continue;
            on_message(s, std::move(**m));
            if (!conn_ || !streams_.count(s)) return;
        }
    }

    void on_message(int64_t s, proto::Message&& m) {
        if (s == 0) return on_control(std::move(m));
        Stream& st = streams_.at(s);
        if (auto* b = std::get_if<proto::Bind>(&m)) {
            if (st.bound) return fatal("second Bind");
            auto a = attachments_.find(b->attach_id);
            if (a == attachments_.end() || resuming_.count(b->attach_id)) {
                send(s, proto::ErrorMsg{proto::Reason::kNotFound, false, b->attach_id, "no such attachment"});
                conn_->write(s, {}, true);
                return;
            }
            st.bound = true;
            st.attach_id = b->attach_id;
            st.endpoint = b->endpoint;
            // Retained results for this endpoint go out now (§11 step 6).
            for (auto& [seq, r] : a->second.retained)
                if (r.first == b->endpoint) send(s, r.second);
            return;
        }
        if (!st.bound) return fatal("URB stream without Bind");
        auto ai = attachments_.find(st.attach_id);
        if (ai == attachments_.end()) return;
        Attachment& a = ai->second;
        if (auto* sub = std::get_if<proto::Submit>(&m)) return on_submit(a, st.endpoint, std::move(*sub));
        if (auto* u = std::get_if<proto::Unlink>(&m)) return on_unlink(a, s, u->seqnum);
        if (auto* ack = std::get_if<proto::Ack>(&m)) {
            for (auto it = a.retained.begin(); it != a.retained.end();)
                it = proto::contains(ack->seqnums, it->first) ? a.retained.erase(it) : std::next(it);
            return;
        }
    }

    int64_t stream_of(uint32_t attach_id, uint8_t ep) const {
        for (auto& [id, st] : streams_)
            if (st.bound && st.attach_id == attach_id && st.endpoint == ep) return id;
        return -1;
    }

    void result(Attachment& a, uint8_t ep, const proto::Message& m) {
        uint64_t seq = std::holds_alternative<proto::Complete>(m) ? std::get<proto::Complete>(m).seqnum
                                                                  : std::get<proto::UnlinkResult>(m).seqnum;
        a.retained[seq] = {ep, m};
        int64_t s = stream_of(a.id, ep);
        if (s >= 0) send(s, m);
    }

    void on_submit(Attachment& a, uint8_t stream_ep, proto::Submit&& sub) {
        if (a.received.count(sub.seqnum)) out("DUPLICATE seqnum " + std::to_string(sub.seqnum));
        if (sub.seqnum <= a.highest[stream_ep]) return fatal("Submit seqnum " + std::to_string(sub.seqnum) + " is not new");
        a.highest[stream_ep] = sub.seqnum;
        a.received.insert(sub.seqnum);
        if (!plugged_) {
            proto::Complete c;
            c.seqnum = sub.seqnum;
            c.status = proto::UrbStatus::kNoDevice;
            return result(a, stream_ep, c);
        }
        if (sub.type == proto::TransferType::kControl) return on_control_transfer(a, stream_ep, sub);
        if (sub.endpoint == 0x02) {
            a.fifo.insert(a.fifo.end(), sub.data.begin(), sub.data.end());
            out("bulk OUT seq=" + std::to_string(sub.seqnum) + " len=" + std::to_string(sub.data.size()));
            proto::Complete c;
            c.seqnum = sub.seqnum;
            c.actual_length = static_cast<uint32_t>(sub.data.size());
            result(a, 0x02, c);
            serve_in(a);
            return;
        }
        if (sub.endpoint == 0x81) {
            out("bulk IN seq=" + std::to_string(sub.seqnum) + " len=" + std::to_string(sub.length));
            a.pending_in.push_back(std::move(sub));
            serve_in(a);
            return;
        }
        proto::Complete c;
        c.seqnum = sub.seqnum;
        c.status = proto::UrbStatus::kStall;
        result(a, stream_ep, c);
    }

    void serve_in(Attachment& a) {
        while (!a.pending_in.empty() && !a.fifo.empty()) {
            proto::Submit sub = std::move(a.pending_in.front());
            a.pending_in.pop_front();
            size_t n = std::min<size_t>(sub.length, a.fifo.size());
            proto::Complete c;
            c.seqnum = sub.seqnum;
            c.actual_length = static_cast<uint32_t>(n);
            c.data.assign(a.fifo.begin(), a.fifo.begin() + static_cast<std::ptrdiff_t>(n));
            a.fifo.erase(a.fifo.begin(), a.fifo.begin() + static_cast<std::ptrdiff_t>(n));
            result(a, 0x81, c);
        }
    }

    void on_control_transfer(Attachment& a, uint8_t ep, const proto::Submit& sub) {
        auto b = [&](int i) { return std::to_integer<uint8_t>(sub.setup[i]); };
        const uint8_t type = b(0), req = b(1), value_lo = b(2), value_hi = b(3);
        const uint16_t length = static_cast<uint16_t>(b(6) | b(7) << 8);
        proto::Complete c;
        c.seqnum = sub.seqnum;
        std::optional<Bytes> in;
        bool ok = true;
        if (type == 0x80 && req == 6) {
            Bytes d;
            if (value_hi == 1) d = device_descriptor();
            else if (value_hi == 2 && value_lo == 0) d = config_descriptor();
            else if (value_hi == 3) d = string_descriptor(value_lo);
            ok = !d.empty();
            in = d;
        } else if (type == 0x80 && req == 0) {
            in = Bytes{std::byte{0}, std::byte{0}};
        } else if (type == 0x80 && req == 8) {
            in = Bytes{std::byte{1}};
        } else if (type == 0x00 && (req == 9 || req == 3 || req == 1)) {
        } else if (type == 0x01 && req == 0x0b) {
        } else if (type == 0x02 && req == 1) {
        } else {
            ok = false;
        }
        if (!ok) {
            c.status = proto::UrbStatus::kStall;
        } else if (in) {
            size_t n = std::min<size_t>({in->size(), length, sub.length});
            c.data.assign(in->begin(), in->begin() + static_cast<std::ptrdiff_t>(n));
            c.actual_length = static_cast<uint32_t>(n);
        }
        result(a, ep, c);
    }

    void on_unlink(Attachment& a, int64_t s, uint64_t seq) {
        for (auto it = a.pending_in.begin(); it != a.pending_in.end(); ++it) {
            if (it->seqnum != seq) continue;
            a.pending_in.erase(it);
            a.cancelled.insert(seq);
            out("unlink seq=" + std::to_string(seq) + " cancelled");
            return result(a, streams_.at(s).endpoint, proto::UnlinkResult{seq, proto::UnlinkOutcome::kCancelled});
        }
        proto::UnlinkOutcome o = a.cancelled.count(seq) ? proto::UnlinkOutcome::kCancelled
                                 : a.retained.count(seq) ? proto::UnlinkOutcome::kCompleted
                                                         : proto::UnlinkOutcome::kUnknown;
        out("unlink seq=" + std::to_string(seq) + " outcome " + std::to_string(static_cast<int>(o)));
        send(s, proto::UnlinkResult{seq, o});
    }

    void on_control(proto::Message&& m) {
        if (auto* h = std::get_if<proto::Hello>(&m)) {
            const bool resumed = h->resume_token == token_ && token_ != proto::Token{};
            if (!resumed) {
                attachments_.clear();
                for (size_t i = 0; i < token_.size(); ++i) token_[i] = std::byte(std::rand() & 0xff);
            } else {
                for (auto& [id, a] : attachments_) resuming_.insert(id);
            }
            out(std::string("hello, ") + (resumed ? "resumed" : "new session"));
            proto::HelloAck ack;
            ack.version = 1;
            ack.capabilities = h->capabilities & proto::kCapsThisBuild;
            ack.session_token = token_;
            ack.resumed = resumed;
            ack.grace_ms = grace_ms_;
            ack.software = "attach_fake_server";
            return control(ack);
        }
        if (auto* l = std::get_if<proto::ListDevices>(&m)) {
            watching_ = l->watch;
            proto::DeviceList list;
            if (plugged_) list.devices.push_back(info());
            return control(list);
        }
        if (auto* at = std::get_if<proto::Attach>(&m)) {
            if (!plugged_ || at->device_id != device_id())
                return control(proto::AttachError{at->device_id, proto::Reason::kNotFound, "", "no such device"});
            for (auto& [id, a] : attachments_) return control(proto::AttachOk{at->device_id, id});
            Attachment a;
            a.id = next_attach_id_++;
            attachments_[a.id] = a;
            out("attach " + std::to_string(a.id));
            return control(proto::AttachOk{at->device_id, a.id});
        }
        if (auto* d = std::get_if<proto::Detach>(&m)) {
            out("detach " + std::to_string(d->attach_id));
            attachments_.erase(d->attach_id);
            return control(proto::Detached{d->attach_id, attachments_.empty() ? proto::Reason::kNone : proto::Reason::kNone, ""});
        }
        if (auto* r = std::get_if<proto::Resume>(&m)) {
            auto it = attachments_.find(r->attach_id);
            if (it == attachments_.end() || !resuming_.erase(r->attach_id))
                return control(proto::Detached{r->attach_id, proto::Reason::kSessionExpired, "not resumable"});
            Attachment& a = it->second;
            std::vector<uint64_t> missing;
            for (const proto::SeqRange& range : r->pending)
                for (uint64_t s = range.first; s < range.first + range.count; ++s)
                    if (!a.received.count(s)) missing.push_back(s);
            for (auto rt = a.retained.begin(); rt != a.retained.end();)
                rt = proto::contains(r->pending, rt->first) ? std::next(rt) : a.retained.erase(rt);
            out("resume " + std::to_string(a.id) + ": pending " + std::to_string(proto::total_count(r->pending)) +
                ", missing " + std::to_string(missing.size()) + ", retained " + std::to_string(a.retained.size()));
            return control(proto::ResumeOk{a.id, proto::to_ranges(std::move(missing))});
        }
    }

    loop::Loop& loop_;
    uint32_t grace_ms_;
    quic::Connection* conn_ = nullptr;
    std::map<int64_t, Stream> streams_;
    proto::Token token_{};
    std::map<uint32_t, Attachment> attachments_;
    std::set<uint32_t> resuming_;
    uint32_t next_attach_id_ = 1;
    uint32_t devnum_ = 2;
    bool plugged_ = true;
    bool watching_ = false;
};

}  // namespace

int main(int argc, char** argv) {
    std::string listen = "127.0.0.1:7600", key_path = "/tmp/fake-server.key";
    uint32_t grace = 30000;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string a = argv[i];
        if (a == "--listen") listen = argv[i + 1];
        else if (a == "--key") key_path = argv[i + 1];
        else if (a == "--grace") grace = static_cast<uint32_t>(std::stoul(argv[i + 1]));
        else if (a == "--serial") g_serial = argv[i + 1];
    }
    log::init();
    auto key = identity::NodeKey::load_or_create(key_path);
    if (!key) {
        std::fprintf(stderr, "attach_fake_server: %s\n", key.error().message.c_str());
        return 2;
    }
    auto addr = loop::SocketAddress::parse(listen);
    if (!addr) {
        std::fprintf(stderr, "attach_fake_server: %s\n", addr.error().message.c_str());
        return 2;
    }
    loop::Loop loop;
    quic::Config qc;
    qc.require_retry = false;
    auto ep = quic::Endpoint::create(loop, *key, *addr, qc);
    if (!ep) {
        std::fprintf(stderr, "attach_fake_server: %s\n", ep.error().message.c_str());
        return 2;
    }
    FakeServer server(loop, grace);
    (*ep)->listen([](const identity::NodeId&) { return true; }, [&](quic::Connection& c) { server.on_connection(c); });
    out("node " + key->id().to_string());
    out("listening " + (*ep)->local_address().to_string());
    loop::Signal s1(loop, SIGUSR1, [&] { server.drop(); });
    loop::Signal s2(loop, SIGUSR2, [&] { server.unplug(); });
    loop::Signal s3(loop, SIGHUP, [&] { server.plug(); });
    bool stop = false;
    loop::Signal s4(loop, SIGTERM, [&] { stop = true; });
    loop::Signal s5(loop, SIGINT, [&] { stop = true; });
    while (!stop) loop.run_once(true);
    out("exit");
    return 0;
}
