// proto_probe: a small usbhop/1 client that drives `usbhop serve` directly,
// so that serve is proven before `usbhop attach` exists. It connects with its
// own key, says Hello, and runs the commands given on the command line in
// order, printing one line per event ("DEVICE ...", "COMPLETE ...") for the
// lab scenarios and integration tests to check. It also checks the server's
// exactly-once promise (protocol.md §8): a second terminal result for one
// seqnum, or a Complete after UnlinkResult{CANCELLED}, prints VIOLATION and
// fails.
//
//   proto_probe --key FILE id                         print the node ID (creates the key)
//   proto_probe --key FILE --server ADDR --node ID [--timeout S] COMMAND...
//
// Commands:
//   list                          ListDevices; prints DEVICE lines
//   watch                         ListDevices{watch}; later events print ARRIVED/LEFT/CHANGED
//   wait-arrive VID:PID SECS      wait for DeviceArrived of that device
//   attach VID:PID                attach (exit 4 on AttachError, after printing it)
//   detach                        detach and wait for Detached
//   control SETUPHEX              one control transfer on endpoint 0 (IN when bit 7 of bmRequestType)
//   bulk-in EP LEN COUNT [MOD]    COUNT URBs of LEN in flight on EP; with MOD, check byte j == (j%MOD)%63
//   bulk-out EP LEN COUNT [MOD]   COUNT URBs of LEN bytes (j%MOD)%63 on EP
//   int-in EP LEN                 one interrupt IN URB; prints its data
//   unlink EP LEN DELAY_MS        submit an IN URB, unlink it after DELAY_MS, expect exactly one answer
//   unlink-race EP LEN COUNT      COUNT IN URBs each unlinked at once; every one answered exactly once
//   inflight EP LEN COUNT SECS    COUNT IN URBs, print INFLIGHT, wait up to SECS for all answers (unplug test)
//   wait-detached SECS            wait for an unasked Detached
//   garbage                       send junk on the control stream; expect the server to close (code 1)
//   submit-in EP LEN COUNT        COUNT bulk IN URBs, not waited for (submit-int-in: interrupt)
//   reconnect DELAY_MS            drop the connection (no Detach), print DISCONNECTED, come back after
//                                 DELAY_MS with the session token; with an attachment, Resume it
//                                 (pending = URBs without a result here)
//   wait-results SECS             wait until every URB submitted has its one terminal result; prints RESULTS
//   wait-file PATH SECS           wait until PATH exists (to line several probes up)
//   sleep MS
//   resume-raw ATTACH_ID          send Resume{ATTACH_ID, pending={1}} as is; prints RESUME_OK, DETACHED or CLOSED
//   ping-flood MIB                send MIB MiB of Pings on the control stream as fast as QUIC takes them;
//                                 prints FLOOD sent=<MiB> then CLOSED if the server closed
//   big-frames N                  open N streams, each holding a largest URB frame less 1 KiB (never finished);
//                                 prints BIG sent=<MiB> then CLOSED if the server closed
//   open-streams N                open up to N streams, each holding an unfinished frame header, until
//                                 QUIC refuses one; prints STREAMS opened=<count> refused=<0|1>
// Option --no-read: give QUIC no receive credit back (the first window is
// all the server can send: a peer that never reads its answers).
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "identity/identity.hpp"
#include "loop/loop.hpp"
#include "proto/messages.hpp"
#include "quic/endpoint.hpp"
#include "util/log.hpp"

using namespace usbhop;

namespace {

struct UrbStream {
    int64_t id = -1;
    proto::FrameDecoder decoder{proto::kMaxUrbPayload};
};

struct Outcome {
    std::optional<proto::Complete> complete;
    std::optional<proto::UnlinkResult> terminal_unlink;  // CANCELLED as terminal result
    std::vector<proto::UnlinkResult> unlink_results;
    bool terminal() const { return complete || terminal_unlink; }
};

std::string hex(ByteSpan b, size_t max = 64) {
    return to_hex(b.first(std::min(b.size(), max)));
}

class Probe {
public:
    Probe(loop::Loop& loop, double timeout) : loop_(loop), timeout_(static_cast<Nanos>(timeout * 1e9)) {}

    int connect(const identity::NodeKey& key, const loop::SocketAddress& server, const identity::NodeId& node,
                bool no_read) {
        quic::Config cfg;
        cfg.auto_consume = !no_read;
        auto ep = quic::Endpoint::create(loop_, key, *loop::SocketAddress::parse(server.family() == AF_INET6 ? "[::]:0" : "0.0.0.0:0"), cfg);
        if (!ep) return fail("endpoint: " + ep.error().message);
        ep_ = std::move(*ep);
        server_ = server;
        node_ = node;
        return handshake();
    }

    int handshake() {
        established_ = false;
        closed_.reset();
        quic::Handlers h;
        h.on_established = [this] { established_ = true; };
        h.on_stream_data = [this](int64_t id, ByteSpan d, bool fin) { on_data(id, d, fin); };
        h.on_closed = [this](const quic::CloseInfo& info) {
            closed_ = info;
            conn_ = nullptr;
        };
        auto c = ep_->connect(server_, node_, h);
        if (!c) return fail("connect: " + c.error().message);
        conn_ = *c;
        loop_.run_until([this] { return established_ || closed_; }, timeout_);
        if (!established_) {
            print_closed();
            return 3;
        }
        auto s = conn_->open_stream();
        control_ = *s;
        proto::Hello hello;
        hello.capabilities = proto::kCapsThisBuild;
        hello.software = "proto_probe";
        hello.resume_token = token_;
        send(control_, hello);
        auto ack = wait_control<proto::HelloAck>();
        if (!ack) {
            print_closed();
            return 3;
        }
        token_ = ack->session_token;
        resumed_ = ack->resumed;
        printf("HELLO version=%u caps=%llu grace_ms=%u resumed=%d\n", ack->version,
               static_cast<unsigned long long>(ack->capabilities), ack->grace_ms, ack->resumed);
        fflush(stdout);
        return 0;
    }

    int run(std::vector<std::string> args) {
        size_t i = 0;
        auto need = [&](size_t n) { return i + n <= args.size(); };
        while (i < args.size()) {
            std::string cmd = args[i++];
            int rc = 0;
            if (cmd == "list" || cmd == "watch") {
                rc = list(cmd == "watch");
            } else if (cmd == "wait-arrive" && need(2)) {
                rc = wait_arrive(args[i], atof(args[i + 1].c_str()));
                i += 2;
            } else if (cmd == "attach" && need(1)) {
                rc = attach(args[i++]);
            } else if (cmd == "detach") {
                rc = detach();
            } else if (cmd == "control" && need(1)) {
                rc = control(args[i++]);
            } else if ((cmd == "bulk-in" || cmd == "bulk-out") && need(3)) {
                unsigned mod = 0;
                size_t used = 3;
                if (need(4) && isdigit(static_cast<unsigned char>(args[i + 3][0]))) {
                    mod = static_cast<unsigned>(atoi(args[i + 3].c_str()));
                    used = 4;
                }
                rc = bulk(cmd == "bulk-in", num(args[i]), num(args[i + 1]), num(args[i + 2]), mod);
                i += used;
            } else if (cmd == "int-in" && need(2)) {
                rc = int_in(num(args[i]), num(args[i + 1]));
                i += 2;
            } else if (cmd == "unlink" && need(3)) {
                rc = unlink(num(args[i]), num(args[i + 1]), num(args[i + 2]));
                i += 3;
            } else if (cmd == "unlink-race" && need(3)) {
                rc = unlink_race(num(args[i]), num(args[i + 1]), num(args[i + 2]));
                i += 3;
            } else if (cmd == "inflight" && need(4)) {
                rc = inflight(num(args[i]), num(args[i + 1]), num(args[i + 2]), atof(args[i + 3].c_str()));
                i += 4;
            } else if (cmd == "wait-detached" && need(1)) {
                rc = wait_detached(atof(args[i++].c_str()));
            } else if (cmd == "garbage") {
                rc = garbage();
            } else if (cmd == "resume-raw" && need(1)) {
                rc = resume_raw(static_cast<uint32_t>(num(args[i++])));
            } else if (cmd == "big-frames" && need(1)) {
                rc = big_frames(num(args[i++]));
            } else if (cmd == "open-streams" && need(1)) {
                rc = open_streams(num(args[i++]));
            } else if (cmd == "ping-flood" && need(1)) {
                rc = ping_flood(num(args[i++]));
            } else if ((cmd == "submit-in" || cmd == "submit-int-in") && need(3)) {
                auto type = cmd == "submit-in" ? proto::TransferType::kBulk : proto::TransferType::kInterrupt;
                for (unsigned long k = 0; k < num(args[i + 2]); ++k)
                    submit(static_cast<uint8_t>(num(args[i]) | 0x80), type, static_cast<uint32_t>(num(args[i + 1])));
                loop_.run_until([] { return false; }, 200 * kMillisecond);
                i += 3;
            } else if (cmd == "reconnect" && need(1)) {
                rc = reconnect(num(args[i++]));
            } else if (cmd == "wait-results" && need(1)) {
                rc = wait_results(atof(args[i++].c_str()));
            } else if (cmd == "wait-file" && need(2)) {
                std::string path = args[i];
                struct stat st;
                if (!loop_.run_until([&] { return ::stat(path.c_str(), &st) == 0; },
                                     static_cast<Nanos>(atof(args[i + 1].c_str()) * 1e9)))
                    return fail("no file " + path);
                i += 2;
            } else if (cmd == "sleep" && need(1)) {
                loop_.run_until([] { return false; }, static_cast<Nanos>(num(args[i++])) * kMillisecond);
            } else {
                return fail("unknown command or missing arguments: " + cmd);
            }
            if (violation_) return 5;
            if (rc != 0) return rc;
        }
        return violation_ ? 5 : 0;
    }

    void close() {
        if (conn_) conn_->close(0, "probe done");
        loop_.run_until([this] { return !conn_; }, 2 * kSecond);
    }

private:
    static unsigned long num(const std::string& s) { return strtoul(s.c_str(), nullptr, 0); }

    int fail(const std::string& what) {
        printf("ERROR %s\n", what.c_str());
        fflush(stdout);
        return 2;
    }

    void print_closed() {
        if (closed_)
            printf("CLOSED kind=%d app=%d code=%llu reason=%s\n", static_cast<int>(closed_->kind), closed_->application,
                   static_cast<unsigned long long>(closed_->code), closed_->reason.c_str());
        else
            printf("CLOSED timeout\n");
        fflush(stdout);
    }

    void send(int64_t stream, const proto::Message& m) {
        if (!conn_) return;
        Bytes b = proto::encode(m);
        auto& q = pending_[stream];
        q.insert(q.end(), b.begin(), b.end());
        flush(stream);
    }
    void flush(int64_t stream) {
        auto& q = pending_[stream];
        while (conn_ && !q.empty()) {
            size_t n = conn_->write(stream, q, false);
            q.erase(q.begin(), q.begin() + static_cast<long>(n));
            if (n == 0) {
                loop_.run_once(true);
            }
        }
    }

    void on_data(int64_t id, ByteSpan data, bool) {
        if (id == control_) {
            control_decoder_.feed(data);
            while (true) {
                auto f = control_decoder_.next();
                if (!f || !*f) break;
                auto m = proto::decode(**f);
                if (!m || !*m) continue;
                on_control(std::move(**m));
            }
            return;
        }
        for (auto& [key, st] : streams_) {
            if (st.id != id) continue;
            st.decoder.feed(data);
            while (true) {
                auto f = st.decoder.next();
                if (!f || !*f) break;
                auto m = proto::decode(**f);
                if (!m || !*m) continue;
                on_urb(std::move(**m));
            }
        }
    }

    void print_device(const char* tag, const proto::DeviceInfo& d) {
        uint16_t vid = 0, pid = 0;
        if (d.device_descriptor.size() >= 12) {
            vid = static_cast<uint16_t>(std::to_integer<int>(d.device_descriptor[8]) | std::to_integer<int>(d.device_descriptor[9]) << 8);
            pid = static_cast<uint16_t>(std::to_integer<int>(d.device_descriptor[10]) | std::to_integer<int>(d.device_descriptor[11]) << 8);
        }
        printf("%s id=%u path=%s vidpid=%04x:%04x state=%u holder=%s share=%s product=%s configs=%zu\n", tag,
               d.device_id, d.bus_path.c_str(), vid, pid, static_cast<unsigned>(d.state), d.holder.c_str(),
               d.share.c_str(), d.product.c_str(), d.configurations.size());
        fflush(stdout);
        char key[16];
        snprintf(key, sizeof key, "%04x:%04x", vid, pid);
        devices_[key] = d.device_id;
    }

    void on_control(proto::Message&& m) {
        if (auto* a = std::get_if<proto::DeviceArrived>(&m)) {
            print_device("ARRIVED", a->device);
            arrived_.insert(a->device.device_id);
        } else if (auto* c = std::get_if<proto::DeviceChanged>(&m)) {
            print_device("CHANGED", c->device);
        } else if (auto* l = std::get_if<proto::DeviceLeft>(&m)) {
            printf("LEFT id=%u\n", l->device_id);
            fflush(stdout);
        } else if (auto* d = std::get_if<proto::Detached>(&m)) {
            printf("DETACHED attach_id=%u reason=%s message=%s\n", d->attach_id, proto::reason_name(d->reason),
                   d->message.c_str());
            fflush(stdout);
            detached_ = true;
        } else if (auto* e = std::get_if<proto::ErrorMsg>(&m)) {
            printf("SERVER_ERROR code=%s fatal=%d message=%s\n", proto::reason_name(e->code), e->fatal, e->message.c_str());
            fflush(stdout);
        } else {
            control_in_.push_back(std::move(m));
        }
    }

    void on_urb(proto::Message&& m) {
        if (auto* c = std::get_if<proto::Complete>(&m)) {
            Outcome& o = outcomes_[c->seqnum];
            if (o.terminal()) {
                printf("VIOLATION second terminal result for seqnum %llu\n", static_cast<unsigned long long>(c->seqnum));
                violation_ = true;
            }
            o.complete = *c;
            acks_.push_back(c->seqnum);
        } else if (auto* u = std::get_if<proto::UnlinkResult>(&m)) {
            Outcome& o = outcomes_[u->seqnum];
            o.unlink_results.push_back(*u);
            if (u->outcome == proto::UnlinkOutcome::kCancelled && !o.terminal_unlink) {
                if (o.complete) {
                    printf("VIOLATION UnlinkResult{CANCELLED} after a Complete for %llu\n",
                           static_cast<unsigned long long>(u->seqnum));
                    violation_ = true;
                }
                o.terminal_unlink = *u;
                acks_.push_back(u->seqnum);
            }
            if (u->outcome == proto::UnlinkOutcome::kCompleted && !o.complete) {
                printf("VIOLATION UnlinkResult{COMPLETED} before its Complete for %llu\n",
                       static_cast<unsigned long long>(u->seqnum));
                violation_ = true;
            }
        } else if (auto* e = std::get_if<proto::ErrorMsg>(&m)) {
            printf("STREAM_ERROR code=%s ref=%llu message=%s\n", proto::reason_name(e->code),
                   static_cast<unsigned long long>(e->ref), e->message.c_str());
        }
        fflush(stdout);
    }

    template <typename T>
    std::optional<T> wait_control(Nanos timeout = 0) {
        std::optional<T> out;
        loop_.run_until(
            [&] {
                for (auto it = control_in_.begin(); it != control_in_.end(); ++it) {
                    if (auto* t = std::get_if<T>(&*it)) {
                        out = std::move(*t);
                        control_in_.erase(it);
                        return true;
                    }
                }
                return !conn_;
            },
            timeout ? timeout : timeout_);
        return out;
    }

    int list(bool watch) {
        send(control_, proto::ListDevices{watch});
        size_t n = 0;
        while (true) {
            auto l = wait_control<proto::DeviceList>();
            if (!l) return closed_or_timeout("DeviceList");
            for (const auto& d : l->devices) print_device("DEVICE", d);
            n += l->devices.size();
            if (l->last) break;
        }
        printf("LIST count=%zu\n", n);
        fflush(stdout);
        return 0;
    }

    int closed_or_timeout(const char* what) {
        if (!conn_) {
            print_closed();
            return 3;
        }
        return fail(std::string("timed out waiting for ") + what);
    }

    int wait_arrive(const std::string& vidpid, double secs) {
        bool ok = loop_.run_until([&] { return devices_.count(vidpid) && arrived_.count(devices_[vidpid]); },
                                  static_cast<Nanos>(secs * 1e9));
        if (!ok) return fail("no DeviceArrived for " + vidpid);
        return 0;
    }

    int attach(const std::string& vidpid) {
        if (!devices_.count(vidpid)) return fail("device " + vidpid + " was not listed");
        uint32_t id = devices_[vidpid];
        send(control_, proto::Attach{id});
        std::optional<proto::Message> answer;
        loop_.run_until(
            [&] {
                for (auto it = control_in_.begin(); it != control_in_.end(); ++it) {
                    if (std::holds_alternative<proto::AttachOk>(*it) || std::holds_alternative<proto::AttachError>(*it)) {
                        answer = std::move(*it);
                        control_in_.erase(it);
                        return true;
                    }
                }
                return !conn_;
            },
            timeout_);
        if (!answer) return closed_or_timeout("AttachOk");
        if (auto* e = std::get_if<proto::AttachError>(&*answer)) {
            printf("ATTACH_ERROR reason=%s holder=%s message=%s\n", proto::reason_name(e->reason), e->holder.c_str(),
                   e->message.c_str());
            fflush(stdout);
            return 4;
        }
        attach_id_ = std::get<proto::AttachOk>(*answer).attach_id;
        printf("ATTACH_OK attach_id=%u\n", attach_id_);
        fflush(stdout);
        return 0;
    }

    int detach() {
        detached_ = false;
        send(control_, proto::Detach{attach_id_});
        if (!loop_.run_until([&] { return detached_ || !conn_; }, timeout_)) return fail("no Detached");
        return detached_ ? 0 : closed_or_timeout("Detached");
    }

    int wait_detached(double secs) {
        if (!loop_.run_until([&] { return detached_ || !conn_; }, static_cast<Nanos>(secs * 1e9)))
            return fail("no Detached");
        return detached_ ? 0 : closed_or_timeout("Detached");
    }

    UrbStream& stream_for(uint8_t ep, proto::TransferType type) {
        uint8_t key = type == proto::TransferType::kControl ? (ep & 0x0f) : ep;
        UrbStream& s = streams_[key];
        if (s.id < 0) {
            auto id = conn_->open_stream();
            s.id = *id;
            send(s.id, proto::Bind{attach_id_, key, type});
        }
        return s;
    }

    uint64_t submit(uint8_t ep, proto::TransferType type, uint32_t length, Bytes data = {},
                    std::array<std::byte, 8> setup = {}) {
        proto::Submit s;
        s.seqnum = next_seq_++;
        s.endpoint = ep;
        s.type = type;
        s.length = length;
        s.setup = setup;
        if (!s.is_in()) s.data = std::move(data);
        UrbStream& st = stream_for(ep, type);
        send(st.id, s);
        submitted_[s.seqnum] = {ep, type};
        return s.seqnum;
    }

    void send_acks() {
        if (acks_.empty()) return;
        // Every stream here belongs to the one attachment: any of them will do.
        for (auto& [key, st] : streams_) {
            send(st.id, proto::Ack{proto::to_ranges(acks_)});
            break;
        }
        acks_.clear();
    }

    bool wait_terminal(const std::vector<uint64_t>& seqs, Nanos timeout) {
        bool ok = loop_.run_until(
            [&] {
                for (uint64_t s : seqs)
                    if (!outcomes_[s].terminal()) return !conn_;
                return true;
            },
            timeout);
        send_acks();
        return ok && conn_;
    }

    int control(const std::string& setup_hex) {
        if (setup_hex.size() != 16) return fail("setup must be 16 hex digits");
        std::array<std::byte, 8> setup{};
        for (size_t i = 0; i < 8; ++i) setup[i] = static_cast<std::byte>(strtoul(setup_hex.substr(2 * i, 2).c_str(), nullptr, 16));
        bool in = std::to_integer<int>(setup[0]) & 0x80;
        uint32_t wlength = std::to_integer<uint32_t>(setup[6]) | std::to_integer<uint32_t>(setup[7]) << 8;
        Bytes data;
        if (!in) data.assign(wlength, std::byte{0});
        uint64_t seq = submit(in ? 0x80 : 0x00, proto::TransferType::kControl, wlength, data, setup);
        if (!wait_terminal({seq}, timeout_)) return closed_or_timeout("control Complete");
        const proto::Complete& c = *outcomes_[seq].complete;
        printf("CONTROL seq=%llu status=%s actual=%u data=%s\n", static_cast<unsigned long long>(seq),
               proto::status_name(c.status), c.actual_length, hex(c.data).c_str());
        fflush(stdout);
        return 0;
    }

    int bulk(bool in, unsigned long ep, unsigned long len, unsigned long count, unsigned mod) {
        uint8_t addr = static_cast<uint8_t>(ep) | (in ? 0x80 : 0);
        std::vector<uint64_t> seqs;
        Nanos start = monotonic_ns();
        for (unsigned long i = 0; i < count; ++i) {
            Bytes data;
            if (!in) {
                data.resize(len);
                for (size_t j = 0; j < len; ++j) data[j] = static_cast<std::byte>(mod ? (j % mod) % 63 : 0);
            }
            seqs.push_back(submit(addr, proto::TransferType::kBulk, static_cast<uint32_t>(len), std::move(data)));
        }
        if (!wait_terminal(seqs, timeout_)) return closed_or_timeout("bulk Complete");
        Nanos took = monotonic_ns() - start;
        uint64_t total = 0;
        size_t ok = 0, bad_data = 0;
        for (uint64_t s : seqs) {
            const proto::Complete& c = *outcomes_[s].complete;
            total += c.actual_length;
            ok += c.status == proto::UrbStatus::kOk;
            if (in && mod)
                for (size_t j = 0; j < c.data.size(); ++j)
                    if (std::to_integer<unsigned>(c.data[j]) != (j % mod) % 63) {
                        ++bad_data;
                        break;
                    }
        }
        printf("BULK dir=%s ep=0x%02x urbs=%lu ok=%zu bytes=%llu bad_data=%zu mbps=%.1f\n", in ? "in" : "out", addr,
               count, ok, static_cast<unsigned long long>(total), bad_data,
               took ? static_cast<double>(total) / (static_cast<double>(took) / 1e9) / 1e6 : 0.0);
        fflush(stdout);
        return 0;
    }

    int int_in(unsigned long ep, unsigned long len) {
        uint64_t seq = submit(static_cast<uint8_t>(ep | 0x80), proto::TransferType::kInterrupt, static_cast<uint32_t>(len));
        if (!wait_terminal({seq}, timeout_)) return closed_or_timeout("interrupt Complete");
        const proto::Complete& c = *outcomes_[seq].complete;
        printf("INTERRUPT seq=%llu status=%s actual=%u data=%s\n", static_cast<unsigned long long>(seq),
               proto::status_name(c.status), c.actual_length, hex(c.data).c_str());
        fflush(stdout);
        return 0;
    }

    int unlink(unsigned long ep, unsigned long len, unsigned long delay_ms) {
        uint8_t addr = static_cast<uint8_t>(ep | 0x80);
        uint64_t seq = submit(addr, proto::TransferType::kBulk, static_cast<uint32_t>(len));
        loop_.run_until([] { return false; }, delay_ms * kMillisecond);
        send(streams_[addr].id, proto::Unlink{seq});
        bool ok = loop_.run_until([&] { return !outcomes_[seq].unlink_results.empty() || !conn_; }, timeout_);
        // Give a late (forbidden) Complete a chance to show up.
        loop_.run_until([] { return false; }, 300 * kMillisecond);
        send_acks();
        if (!ok) return closed_or_timeout("UnlinkResult");
        const Outcome& o = outcomes_[seq];
        printf("UNLINK seq=%llu outcome=%s completes=%d unlink_results=%zu\n", static_cast<unsigned long long>(seq),
               o.terminal_unlink ? "cancelled" : (o.complete ? "completed" : "none"), o.complete ? 1 : 0,
               o.unlink_results.size());
        fflush(stdout);
        return 0;
    }

    int unlink_race(unsigned long ep, unsigned long len, unsigned long count) {
        uint8_t addr = static_cast<uint8_t>(ep | 0x80);
        std::vector<uint64_t> seqs;
        for (unsigned long i = 0; i < count; ++i) {
            uint64_t seq = submit(addr, proto::TransferType::kBulk, static_cast<uint32_t>(len));
            send(streams_[addr].id, proto::Unlink{seq});
            seqs.push_back(seq);
        }
        bool ok = loop_.run_until(
            [&] {
                for (uint64_t s : seqs)
                    if (outcomes_[s].unlink_results.empty() || !outcomes_[s].terminal()) return !conn_;
                return true;
            },
            timeout_);
        loop_.run_until([] { return false; }, 300 * kMillisecond);
        send_acks();
        if (!ok) return closed_or_timeout("UnlinkResults");
        size_t cancelled = 0, completed = 0, bad = 0;
        for (uint64_t s : seqs) {
            const Outcome& o = outcomes_[s];
            if (o.terminal_unlink) ++cancelled;
            else if (o.complete) ++completed;
            if (o.unlink_results.size() != 1 || (o.terminal_unlink && o.complete)) ++bad;
        }
        printf("UNLINK_RACE urbs=%lu cancelled=%zu completed=%zu not_exactly_once=%zu\n", count, cancelled, completed, bad);
        fflush(stdout);
        return bad ? 5 : 0;
    }

    int inflight(unsigned long ep, unsigned long len, unsigned long count, double secs) {
        uint8_t addr = static_cast<uint8_t>(ep | 0x80);
        std::vector<uint64_t> seqs;
        for (unsigned long i = 0; i < count; ++i) seqs.push_back(submit(addr, proto::TransferType::kBulk, static_cast<uint32_t>(len)));
        loop_.run_until([] { return false; }, 200 * kMillisecond);
        printf("INFLIGHT urbs=%lu\n", count);
        fflush(stdout);
        bool ok = wait_terminal(seqs, static_cast<Nanos>(secs * 1e9));
        std::map<std::string, size_t> by;
        for (uint64_t s : seqs) {
            const Outcome& o = outcomes_[s];
            std::string k = o.complete ? proto::status_name(o.complete->status) : (o.terminal_unlink ? "unlinked" : "none");
            for (char& ch : k)
                if (ch == ' ') ch = '_';
            by[k]++;
        }
        std::string text;
        for (auto& [k, v] : by) text += " " + k + "=" + std::to_string(v);
        printf("RESULTS%s\n", text.c_str());
        fflush(stdout);
        return ok ? 0 : 6;
    }

    std::vector<uint64_t> pending() {
        std::vector<uint64_t> out;
        for (auto& [seq, how] : submitted_)
            if (!outcomes_[seq].terminal()) out.push_back(seq);
        return out;
    }

    int reconnect(unsigned long delay_ms) {
        // As a network blip would: the connection goes, the client keeps its URBs.
        conn_->close(0, "probe reconnects");
        loop_.run_until([this] { return !conn_; }, timeout_);
        printf("DISCONNECTED\n");
        fflush(stdout);
        loop_.run_until([] { return false; }, delay_ms * kMillisecond);
        control_decoder_ = proto::FrameDecoder(proto::kMaxControlPayload);
        control_in_.clear();
        pending_.clear();
        streams_.clear();
        if (int rc = handshake(); rc != 0) return rc;
        if (!attach_id_) return 0;
        std::vector<uint64_t> waiting = pending();
        send(control_, proto::Resume{attach_id_, proto::to_ranges(waiting)});
        std::optional<proto::Message> answer;
        loop_.run_until(
            [&] {
                for (auto it = control_in_.begin(); it != control_in_.end(); ++it)
                    if (std::holds_alternative<proto::ResumeOk>(*it)) {
                        answer = std::move(*it);
                        control_in_.erase(it);
                        return true;
                    }
                return detached_ || !conn_;
            },
            timeout_);
        if (!answer) return closed_or_timeout("ResumeOk");
        const auto& ok = std::get<proto::ResumeOk>(*answer);
        printf("RESUME_OK attach_id=%u pending=%zu missing=%llu\n", ok.attach_id, waiting.size(),
               static_cast<unsigned long long>(proto::total_count(ok.missing)));
        fflush(stdout);
        // §11 step 5: bind a stream for every endpoint with URBs pending (results come there).
        for (uint64_t seq : waiting) stream_for(submitted_[seq].first, submitted_[seq].second);
        return 0;
    }

    int wait_results(double secs) {
        std::vector<uint64_t> all;
        for (auto& [seq, how] : submitted_) all.push_back(seq);
        bool ok = wait_terminal(all, static_cast<Nanos>(secs * 1e9));
        std::map<std::string, size_t> by;
        for (uint64_t s : all) {
            const Outcome& o = outcomes_[s];
            std::string k = o.complete ? proto::status_name(o.complete->status) : (o.terminal_unlink ? "unlinked" : "none");
            for (char& ch : k)
                if (ch == ' ') ch = '_';
            by[k]++;
        }
        std::string text;
        for (auto& [k, v] : by) text += " " + k + "=" + std::to_string(v);
        printf("RESULTS%s\n", text.c_str());
        fflush(stdout);
        return ok ? 0 : 6;
    }

    int resume_raw(uint32_t attach_id) {
        send(control_, proto::Resume{attach_id, proto::SeqRanges{{1, 1}}});
        bool ok = false;
        loop_.run_until(
            [&] {
                for (auto it = control_in_.begin(); it != control_in_.end(); ++it)
                    if (std::holds_alternative<proto::ResumeOk>(*it)) {
                        control_in_.erase(it);
                        return ok = true;
                    }
                return detached_ || !conn_;
            },
            timeout_);
        if (ok) {
            printf("RESUME_OK attach_id=%u\n", attach_id);
            fflush(stdout);
            return 0;
        }
        return detached_ ? 0 : closed_or_timeout("ResumeOk");
    }

    int ping_flood(unsigned long mib) {
        Bytes chunk;
        for (uint64_t n = 0; chunk.size() < (64u << 10); ++n) {
            Bytes b = proto::encode(proto::Ping{n});
            chunk.insert(chunk.end(), b.begin(), b.end());
        }
        unsigned long long sent = 0;
        const unsigned long long total = static_cast<unsigned long long>(mib) << 20;
        while (conn_ && sent < total) {
            size_t off = 0;
            while (conn_ && off < chunk.size()) {
                size_t n = conn_->write(control_, ByteSpan(chunk).subspan(off), false);
                off += n;
                if (n == 0) loop_.run_once(true);
            }
            sent += off;
        }
        printf("FLOOD sent=%llu\n", sent >> 20);
        fflush(stdout);
        loop_.run_until([] { return false; }, 500 * kMillisecond);
        if (!conn_) print_closed();
        return 0;
    }

    int big_frames(unsigned long count) {
        Bytes frame;
        ByteWriter w(frame);
        w.put_u16(static_cast<uint16_t>(proto::MsgType::kBind));
        w.put_u16(0);
        w.put_u32(proto::kMaxUrbPayload);
        frame.resize(proto::kFrameHeaderSize + proto::kMaxUrbPayload - 1024);
        unsigned long long sent = 0;
        for (unsigned long k = 0; k < count && conn_; ++k) {
            auto id = conn_->open_stream();
            if (!id) return fail("open_stream: " + id.error().message);
            size_t off = 0;
            while (conn_ && off < frame.size()) {
                size_t n = conn_->write(*id, ByteSpan(frame).subspan(off), false);
                off += n;
                if (n == 0) loop_.run_once(true);
            }
            sent += off;
        }
        printf("BIG sent=%llu\n", sent >> 20);
        fflush(stdout);
        loop_.run_until([&] { return !conn_; }, 2 * kSecond);
        if (!conn_) print_closed();
        return 0;
    }

    int open_streams(unsigned long count) {
        // Half a frame header: the server must keep the stream (and wait).
        const std::byte half[4] = {std::byte{0}, std::byte{0x40}, std::byte{0}, std::byte{0}};
        unsigned long opened = 0;
        bool refused = false;
        while (opened < count && conn_) {
            auto id = conn_->open_stream();
            if (!id) {
                refused = true;
                break;
            }
            conn_->write(*id, half, false);
            ++opened;
            if (opened % 32 == 0) loop_.run_once(false);
        }
        loop_.run_until([&] { return false; }, 200 * kMillisecond);  // the server reads them all
        printf("STREAMS opened=%lu refused=%d\n", opened, refused ? 1 : 0);
        fflush(stdout);
        if (!conn_) print_closed();
        return conn_ ? 0 : 3;
    }

    int garbage() {
        Bytes junk = to_bytes("this is not a usbhop frame at all, but it is long enough");
        junk[0] = std::byte{0x7e};
        junk[1] = std::byte{0x7e};
        conn_->write(control_, junk, false);
        loop_.run_until([&] { return !conn_; }, timeout_);
        if (conn_) return fail("the server did not close the connection");
        print_closed();
        return 0;
    }

    loop::Loop& loop_;
    Nanos timeout_;
    loop::SocketAddress server_;
    identity::NodeId node_;
    proto::Token token_{};
    bool resumed_ = false;
    std::map<uint64_t, std::pair<uint8_t, proto::TransferType>> submitted_;
    std::unique_ptr<quic::Endpoint> ep_;
    quic::Connection* conn_ = nullptr;
    bool established_ = false;
    std::optional<quic::CloseInfo> closed_;
    int64_t control_ = -1;
    proto::FrameDecoder control_decoder_{proto::kMaxControlPayload};
    std::deque<proto::Message> control_in_;
    std::map<int64_t, Bytes> pending_;
    std::map<uint8_t, UrbStream> streams_;
    std::map<std::string, uint32_t> devices_;
    std::set<uint32_t> arrived_;
    std::map<uint64_t, Outcome> outcomes_;
    std::vector<uint64_t> acks_;
    uint32_t attach_id_ = 0;
    uint64_t next_seq_ = 1;
    bool detached_ = false;
    bool violation_ = false;
};

}  // namespace

int main(int argc, char** argv) {
    std::string key_path, server, node;
    double timeout = 10;
    bool no_read = false;
    std::vector<std::string> commands;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--key" && i + 1 < argc) key_path = argv[++i];
        else if (a == "--server" && i + 1 < argc) server = argv[++i];
        else if (a == "--node" && i + 1 < argc) node = argv[++i];
        else if (a == "--timeout" && i + 1 < argc) timeout = atof(argv[++i]);
        else if (a == "--no-read") no_read = true;
        else if (a == "-v") log::set_threshold(log::Level::debug);
        else commands.push_back(a);
    }
    if (key_path.empty()) {
        fprintf(stderr, "usage: proto_probe --key FILE id | --key FILE --server ADDR --node ID COMMAND...\n");
        return 2;
    }
    auto key = identity::NodeKey::load_or_create(key_path);
    if (!key) {
        fprintf(stderr, "proto_probe: %s\n", key.error().message.c_str());
        return 2;
    }
    if (commands.size() == 1 && commands[0] == "id") {
        printf("%s\n", key->id().to_string().c_str());
        return 0;
    }
    auto addr = loop::SocketAddress::parse(server);
    auto id = identity::NodeId::parse(node);
    if (!addr || !id) {
        fprintf(stderr, "proto_probe: --server host:port and --node <node-id> are needed\n");
        return 2;
    }
    log::init();
    if (log::threshold() == log::Level::info) log::set_threshold(log::Level::warning);
    loop::Loop loop;
    int rc;
    {
        Probe probe(loop, timeout);
        rc = probe.connect(*key, *addr, *id, no_read);
        if (rc == 0) rc = probe.run(commands);
        probe.close();
    }
    loop.run_once(false);
    printf("EXIT %d\n", rc);
    return rc;
}
