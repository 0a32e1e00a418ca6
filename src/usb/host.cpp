#include "usb/host.hpp"

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <variant>

#include "usb/descriptors.hpp"
#include "usb/handoff_queue.hpp"
#include "usb/libusb_ptr.hpp"
#include "usb/open_device.hpp"
#include "usb/requests.hpp"
#include "usb/status.hpp"
#include "usb/storage_guard.hpp"
#include "usb/usb_thread.hpp"
#include "usb/worker.hpp"
#include "util/files.hpp"
#include "util/log.hpp"

// g++ 12 reports the moves of Event inside std::vector's reallocation as
// maybe-uninitialized (a known false positive with std::variant at -O2).
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ == 12
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace usbhop::usb {

namespace {

constexpr size_t kMiB = 1024 * 1024;

// One transfer in flight: the libusb_transfer and the buffer it points into.
// Created and freed on the loop thread; the event thread only reads `host`
// in the completion trampoline and hands the pointer back through the queue.
struct Transfer {
    Host::Impl* host = nullptr;
    DeviceId device = 0;
    uint64_t seqnum = 0;
    uint8_t endpoint = 0;
    TransferType type = TransferType::bulk;
    bool in = false;
    bool intercepted = false;  // carried out on the worker; no libusb_transfer
    bool cancel_requested = false;
    size_t bytes = 0;  // counted against the device's in-flight budget
    Bytes buffer;
    TransferPtr xfer;
};

// What the event thread and the worker hand to the loop thread.
struct ArrivedItem {
    DeviceInfo info;
    DeviceRef dev;
};
struct LeftItem {
    DeviceId id;
    std::string path;
};
struct CompletedItem {
    Transfer* transfer;
};
struct ClaimItem {
    DeviceId id;
    OpenDevice* open;  // owned by this item until applied; null on error
    std::optional<Error> error;
};
struct InterceptItem {
    DeviceId id;
    uint64_t seqnum;
    Intercept what;
    int rc;  // libusb_error
    uint8_t config_after;
};
struct ReleaseItem {
    DeviceId id;
};
struct ResetItem {
    DeviceId id;
    int rc;
};
using Item = std::variant<ArrivedItem, LeftItem, CompletedItem, ClaimItem, InterceptItem, ReleaseItem, ResetItem>;

enum class State { idle, claiming, claimed, releasing };

struct Slot {
    DeviceInfo info;
    DeviceRef dev;
    bool present = true;
    State state = State::idle;
    bool release_requested = false;  // the caller asked: answer with DeviceOpDone{release}
    bool reset_on_release = true;
    std::unique_ptr<OpenDevice> open;
    std::map<uint64_t, std::unique_ptr<Transfer>> inflight;
    size_t inflight_bytes = 0;
    uint8_t config = 0;
    std::map<uint8_t, uint8_t> alts;  // interface number -> alt setting, when not 0
};

size_t usbfs_memory_bytes() {
    auto text = read_file("/sys/module/usbcore/parameters/usbfs_memory_mb");
    long mb = -1;
    if (!text || std::sscanf(text->c_str(), "%ld", &mb) != 1 || mb < 0) return 16 * kMiB;
    return mb == 0 ? 0 : size_t(mb) * kMiB;  // 0: no limit
}

std::string hex8(uint8_t v) {
    char b[8];
    snprintf(b, sizeof b, "0x%02x", v);
    return b;
}

// Built field by field: g++ 12 sees an aggregate holding std::optional<Error>
// inside a std::variant as maybe-uninitialized.
void push_op_done(std::vector<Event>& out, DeviceId id, DeviceOp op, std::optional<Error> error) {
    DeviceOpDone d;
    d.device = id;
    d.op = op;
    d.error = std::move(error);
    out.emplace_back(std::in_place_type<DeviceOpDone>, std::move(d));
}

}  // namespace

bool is_on_no_reset_list(uint16_t vendor, uint16_t product) {
    // Devices that do not come back from a port reset; usbredir's host side
    // keeps the same list.
    static const std::pair<uint16_t, uint16_t> kNoReset[] = {{0x1210, 0x001c}, {0x2798, 0x0001}};
    for (auto [v, p] : kNoReset)
        if (v == vendor && p == product) return true;
    return false;
}

struct Host::Impl {
    HostOptions options;
    size_t budget = 0;
    size_t usbfs_limit = 0;
    ContextPtr ctx;
    HandoffQueue<Item> queue;
    std::unique_ptr<UsbThread> usb_thread;
    Worker worker;
    bool worker_stopped = false;
    bool stopping = false;
    std::map<DeviceId, Slot> slots;

    Impl(std::function<void()> wake, HostOptions o) : options(o), queue(std::move(wake)) {}

    // ---- libusb threads: hand over, nothing else ----
    static void LIBUSB_CALL on_transfer_trampoline(libusb_transfer* x) {
        auto* t = static_cast<Transfer*>(x->user_data);
        t->host->on_transfer_complete(t);
    }
    void on_transfer_complete(Transfer* t) { queue.push(CompletedItem{t}); }

    // ---- loop thread ----
    void run_blocking(std::function<void()> job) {
        if (worker_stopped) job();  // shutting down: the worker is gone, run it here
        else worker.post(std::move(job));
    }

    Slot* find(DeviceId id) {
        auto it = slots.find(id);
        return it == slots.end() ? nullptr : &it->second;
    }

    void apply(ArrivedItem& a, std::vector<Event>& out) {
        DeviceId id = a.info.id;
        Slot& s = slots[id];
        s.info = a.info;
        s.dev = std::move(a.dev);
        s.config = a.info.active_config;
        out.push_back(DeviceArrived{std::move(a.info)});
    }

    void apply(LeftItem& l, std::vector<Event>& out) {
        Slot* s = find(l.id);
        if (!s) return;
        s->present = false;
        switch (s->state) {
        case State::idle: forget(l.id, out); break;
        case State::claiming: break;  // the ClaimItem finishes the job
        case State::claimed: begin_release(l.id, *s); break;
        case State::releasing:
            // libusb completes every transfer of a vanished device with
            // NO_DEVICE by itself; cancelling again costs nothing.
            cancel_all(*s);
            break;
        }
    }

    void forget(DeviceId id, std::vector<Event>& out) {
        auto it = slots.find(id);
        assert(it != slots.end() && it->second.inflight.empty());
        out.push_back(DeviceLeft{id, it->second.info.path});
        slots.erase(it);
    }

    void apply(CompletedItem& c, std::vector<Event>& out) {
        std::unique_ptr<Transfer> t = take(c.transfer->device, c.transfer->seqnum);
        assert(t.get() == c.transfer);
        Slot& s = *find(t->device);
        libusb_transfer* x = t->xfer.get();

        TransferDone d;
        d.device = t->device;
        d.seqnum = t->seqnum;
        d.endpoint = t->endpoint;
        d.status = status_from_transfer(x->status);
        size_t data_offset = t->type == TransferType::control ? 8 : 0;
        // IN data leaves in the transfer's own buffer (moved, not copied:
        // on a busy bulk endpoint every pass over the bytes shows).
        if (t->type == TransferType::isochronous) {
            uint32_t offset = 0;
            for (int i = 0; i < x->num_iso_packets; ++i) {
                const libusb_iso_packet_descriptor& p = x->iso_packet_desc[i];
                uint32_t actual = std::min(p.actual_length, p.length);
                d.iso.push_back(IsoPacket{offset, p.length, actual, status_from_transfer(p.status)});
                // Compact in place: packet i moves down to where the bytes of
                // the packets before it end.
                if (t->in && actual)
                    std::memmove(t->buffer.data() + d.actual_length, t->buffer.data() + offset, actual);
                d.actual_length += actual;
                offset += p.length;
            }
            if (t->in) {
                t->buffer.resize(d.actual_length);
                d.data = std::move(t->buffer);
            }
        } else {
            size_t room = t->buffer.size() - data_offset;
            d.actual_length =
                static_cast<uint32_t>(std::min<size_t>(x->actual_length > 0 ? x->actual_length : 0, room));
            if (t->in && data_offset) {
                d.data.assign(t->buffer.begin() + data_offset, t->buffer.begin() + data_offset + d.actual_length);
            } else if (t->in) {
                t->buffer.resize(d.actual_length);
                d.data = std::move(t->buffer);
            }
        }
        if (!s.present && d.status != Status::completed && !t->cancel_requested) d.status = Status::no_device;
        out.push_back(std::move(d));
        after_transfer(t->device);
    }

    void apply(InterceptItem& i, std::vector<Event>& out) {
        std::unique_ptr<Transfer> t = take(i.id, i.seqnum);
        Slot& s = *find(i.id);
        TransferDone d;
        d.device = i.id;
        d.seqnum = i.seqnum;
        d.endpoint = 0;
        d.status = status_from_error(i.rc);
        if (i.what.kind == Intercept::Kind::set_configuration) {
            // Whatever happened, the configuration is now what the device says.
            s.config = i.config_after;
            s.alts.clear();
        } else if (i.what.kind == Intercept::Kind::set_interface && i.rc == 0) {
            if (i.what.alt == 0) s.alts.erase(i.what.interface);
            else s.alts[i.what.interface] = i.what.alt;
        } else if (i.what.kind == Intercept::Kind::reset_device && i.rc == 0) {
            s.alts.clear();
        }
        if (i.rc != 0)
            log::write(log::Level::debug, log_fields(s.info), "usb: %s: %s failed: %s", s.info.path.c_str(),
                       to_string(i.what.kind), libusb_error_text(i.rc).c_str());
        if (!s.present && d.status != Status::completed) d.status = Status::no_device;
        out.push_back(std::move(d));
        after_transfer(i.id);
    }

    void apply(ClaimItem& c, std::vector<Event>& out) {
        std::unique_ptr<OpenDevice> open(c.open);
        Slot& s = *find(c.id);
        assert(s.state == State::claiming);
        if (!open) {
            s.state = State::idle;
            push_op_done(out, c.id, DeviceOp::claim, c.error);
            if (!s.present) forget(c.id, out);
            return;
        }
        s.open = std::move(open);
        s.config = s.open->configuration();
        s.alts.clear();
        s.state = State::claimed;
        if (!s.present) {
            push_op_done(out, c.id, DeviceOp::claim,
                         make_error(s.info.path + ": the device was unplugged while being claimed", -ENODEV));
            begin_release(c.id, s);
            return;
        }
        if (stopping) {
            begin_release(c.id, s);
            return;
        }
        log::write(log::Level::info, log_fields(s.info), "usb: %s claimed (%04x:%04x)", s.info.path.c_str(),
                   s.info.vendor, s.info.product);
        push_op_done(out, c.id, DeviceOp::claim, std::nullopt);
    }

    void apply(ReleaseItem& r, std::vector<Event>& out) {
        Slot& s = *find(r.id);
        s.state = State::idle;
        s.alts.clear();
        s.config = s.info.active_config;
        if (s.present)
            log::write(log::Level::info, log_fields(s.info), "usb: %s given back to this machine", s.info.path.c_str());
        else
            log::write(log::Level::info, log_fields(s.info), "usb: %s closed: the device is gone", s.info.path.c_str());
        if (s.release_requested) {
            s.release_requested = false;
            if (s.present) push_op_done(out, r.id, DeviceOp::release, std::nullopt);
        }
        if (!s.present) forget(r.id, out);
    }

    void apply(ResetItem& r, std::vector<Event>& out) {
        Slot* s = find(r.id);
        std::optional<Error> error;
        if (r.rc == LIBUSB_ERROR_NOT_FOUND)
            error =
                make_error((s ? s->info.path : std::string("device")) +
                               ": the device changed its descriptors when reset and will arrive again as a new device",
                           -ENODEV);
        else if (r.rc != 0)
            error =
                make_error((s ? s->info.path : std::string("device")) + ": reset failed: " + libusb_error_text(r.rc),
                           to_errno(status_from_error(r.rc)));
        if (s && r.rc == 0) s->alts.clear();
        push_op_done(out, r.id, DeviceOp::reset, std::move(error));
    }

    std::unique_ptr<Transfer> take(DeviceId id, uint64_t seqnum) {
        Slot& s = *find(id);
        auto node = s.inflight.extract(seqnum);
        assert(!node.empty());
        std::unique_ptr<Transfer> t = std::move(node.mapped());
        s.inflight_bytes -= t->bytes;
        return t;
    }

    void after_transfer(DeviceId id) {
        Slot& s = *find(id);
        if (s.state == State::releasing) finish_release_when_idle(id, s);
    }

    void cancel_all(Slot& s) {
        for (auto& [seq, t] : s.inflight)
            if (t->xfer) libusb_cancel_transfer(t->xfer.get());
    }

    void begin_release(DeviceId id, Slot& s) {
        s.state = State::releasing;
        cancel_all(s);
        finish_release_when_idle(id, s);
    }

    // libusb_close must not run with transfers pending: wait for the last
    // completion, then hand the handle to the worker.
    void finish_release_when_idle(DeviceId id, Slot& s) {
        if (!s.inflight.empty() || !s.open) return;
        OpenDevice* open = s.open.release();
        bool reset = s.reset_on_release;
        bool present = s.present;
        run_blocking([this, id, open, reset, present] {
            std::unique_ptr<OpenDevice> d(open);
            d->release(reset, present);
            d.reset();
            queue.push(ReleaseItem{id});
        });
    }

    Result<void> submit(DeviceId id, Urb& urb);
    Result<void> submit_intercepted(DeviceId id, Slot& s, const Urb& urb, Intercept what);
};

Host::Host(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<Host>> Host::start(std::function<void()> wake, HostOptions options) {
    auto impl = std::make_unique<Impl>(std::move(wake), options);
    libusb_context* ctx = nullptr;
    int rc = libusb_init(&ctx);
    if (rc != 0) return make_error("cannot start libusb: " + libusb_error_text(rc));
    impl->ctx.reset(ctx);

    impl->usbfs_limit = usbfs_memory_bytes();
    if (options.max_inflight_bytes) impl->budget = options.max_inflight_bytes;
    else if (impl->usbfs_limit == 0) impl->budget = 16 * kMiB;
    else impl->budget = std::max(impl->usbfs_limit / 4, kMiB);

    Impl* raw = impl.get();
    UsbThread::Sink sink{
        [raw](DeviceInfo info, DeviceRef dev) {
            raw->queue.push(ArrivedItem{std::move(info), std::move(dev)});
        },
        [raw](DeviceId id, std::string path) {
            raw->queue.push(LeftItem{id, std::move(path)});
        },
    };
    impl->usb_thread = std::make_unique<UsbThread>(ctx, std::move(sink));
    if (auto started = impl->usb_thread->start(); !started) return started.error();
    return std::unique_ptr<Host>(new Host(std::move(impl)));
}

Host::~Host() {
    Impl& m = *impl_;
    m.stopping = true;
    for (auto& [id, s] : m.slots)
        if (s.state == State::claimed) m.begin_release(id, s);
    auto busy = [&] {
        return std::any_of(m.slots.begin(), m.slots.end(), [](const auto& e) {
            return e.second.state == State::claiming || e.second.state == State::releasing;
        });
    };
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (busy() && std::chrono::steady_clock::now() < deadline) {
        m.queue.wait_for(std::chrono::milliseconds(100));
        drain();
    }
    m.worker.stop();
    m.worker_stopped = true;
    drain();
    m.usb_thread->stop();
    drain();
    for (auto& [id, s] : m.slots) {
        if (s.inflight.empty()) continue;
        // libusb still owns these transfers; freeing them would be worse than leaking.
        log::write(log::Level::error, log_fields(s.info),
                   "usb: %s: %zu transfers never completed; leaving them to libusb", s.info.path.c_str(),
                   s.inflight.size());
        for (auto& [seq, t] : s.inflight) {
            (void)t->xfer.release();
            (void)t.release();
        }
        (void)s.open.release();
    }
    m.slots.clear();
    m.usb_thread.reset();
    m.ctx.reset();
}

std::vector<Event> Host::drain() {
    std::vector<Event> out;
    for (Item& item : impl_->queue.take_all()) std::visit([&](auto& i) { impl_->apply(i, out); }, item);
    return out;
}

const DeviceInfo* Host::device(DeviceId id) const {
    auto it = impl_->slots.find(id);
    return it == impl_->slots.end() || !it->second.present ? nullptr : &it->second.info;
}

std::vector<const DeviceInfo*> Host::devices() const {
    std::vector<const DeviceInfo*> out;
    for (const auto& [id, s] : impl_->slots)
        if (s.present) out.push_back(&s.info);
    return out;
}

bool Host::is_claimed(DeviceId id) const {
    auto it = impl_->slots.find(id);
    return it != impl_->slots.end() && it->second.state == State::claimed;
}

Result<void> Host::claim(DeviceId id, ClaimOptions options) {
    Slot* s = impl_->find(id);
    if (!s || !s->present) return make_error("no USB device with id " + std::to_string(id), -ENODEV);
    const std::string& path = s->info.path;
    if (s->info.is_hub) return make_error(path + " is a hub; hubs are never exported", -EINVAL);
    if (s->state != State::idle) return make_error(path + " is already claimed", -EBUSY);
    s->state = State::claiming;
    s->reset_on_release = options.reset_on_release && !is_on_no_reset_list(s->info.vendor, s->info.product);
    auto classes = s->info.interface_classes();
    bool check_storage =
        !options.force && std::find(classes.begin(), classes.end(), kClassMassStorage) != classes.end();
    Impl* m = impl_.get();
    impl_->run_blocking([m, id, dev = s->dev, path, check_storage] {
        if (check_storage) {
            if (auto unused = check_storage_unused(path); !unused) {
                m->queue.push(ClaimItem{id, nullptr, unused.error()});
                return;
            }
        }
        auto opened = OpenDevice::open(dev, path);
        if (!opened) m->queue.push(ClaimItem{id, nullptr, opened.error()});
        else m->queue.push(ClaimItem{id, opened->release(), std::nullopt});
    });
    return {};
}

Result<void> Host::release(DeviceId id) {
    Slot* s = impl_->find(id);
    if (!s) return make_error("no USB device with id " + std::to_string(id), -ENODEV);
    switch (s->state) {
    case State::idle: return make_error(s->info.path + " is not claimed", -EINVAL);
    case State::claiming:
        return make_error(s->info.path + " is still being claimed; release it once that is answered", -EBUSY);
    case State::releasing: return make_error(s->info.path + " is already being released", -EALREADY);
    case State::claimed: break;
    }
    s->release_requested = true;
    impl_->begin_release(id, *s);
    return {};
}

Result<void> Host::reset(DeviceId id) {
    Slot* s = impl_->find(id);
    if (!s || !s->present) return make_error("no USB device with id " + std::to_string(id), -ENODEV);
    if (s->state != State::claimed) return make_error(s->info.path + " is not claimed", -EINVAL);
    Impl* m = impl_.get();
    // The worker runs jobs in order and a release job is only ever posted
    // after this one, so the handle outlives it.
    OpenDevice* open = s->open.get();
    impl_->run_blocking([m, id, open] { m->queue.push(ResetItem{id, open->reset()}); });
    return {};
}

std::optional<Endpoint> Host::endpoint(DeviceId id, uint8_t address) const {
    auto it = impl_->slots.find(id);
    if (it == impl_->slots.end()) return std::nullopt;
    const Slot& s = it->second;
    if ((address & 0x7f) == 0) return Endpoint{address, TransferType::control, 0, 0};
    const Configuration* c = s.info.configuration(s.config);
    if (!c) return std::nullopt;
    return find_endpoint(*c, s.alts, address);
}

Result<void> Host::submit(DeviceId id, Urb urb) { return impl_->submit(id, urb); }

Result<void> Host::Impl::submit_intercepted(DeviceId id, Slot& s, const Urb& urb, Intercept what) {
    auto t = std::make_unique<Transfer>();
    t->host = this;
    t->device = id;
    t->seqnum = urb.seqnum;
    t->type = TransferType::control;
    t->intercepted = true;
    OpenDevice* open = s.open.get();
    uint64_t seqnum = urb.seqnum;
    s.inflight.emplace(urb.seqnum, std::move(t));
    // Same lifetime argument as Host::reset(): the release job comes later
    // on the same worker, and it waits for this transfer to be answered.
    run_blocking([this, id, open, seqnum, what] {
        int rc = LIBUSB_ERROR_INVALID_PARAM;
        switch (what.kind) {
        case Intercept::Kind::set_configuration: rc = open->set_configuration(what.config); break;
        case Intercept::Kind::set_interface: rc = open->set_interface(what.interface, what.alt); break;
        case Intercept::Kind::clear_halt: rc = open->clear_halt(what.endpoint); break;
        case Intercept::Kind::reset_device: rc = open->reset(); break;
        case Intercept::Kind::none: break;
        }
        queue.push(InterceptItem{id, seqnum, what, rc, open->configuration()});
    });
    return {};
}

Result<void> Host::Impl::submit(DeviceId id, Urb& urb) {
    Slot* sp = find(id);
    if (!sp || !sp->present) return make_error("no USB device with id " + std::to_string(id), -ENODEV);
    Slot& s = *sp;
    const std::string& path = s.info.path;
    if (s.state == State::releasing) return make_error(path + " is being released", -ESHUTDOWN);
    if (s.state != State::claimed) return make_error(path + " is not claimed", -EINVAL);
    if (s.inflight.count(urb.seqnum))
        return make_error(path + ": a transfer with seqnum " + std::to_string(urb.seqnum) + " is already in flight",
                          -EINVAL);

    std::optional<Endpoint> ep;
    if ((urb.endpoint & 0x7f) == 0) {
        ep = Endpoint{urb.endpoint, TransferType::control, 0, 0};
    } else if (const Configuration* c = s.info.configuration(s.config)) {
        ep = find_endpoint(*c, s.alts, urb.endpoint);
    }
    if (!ep)
        return make_error(
            path + ": endpoint " + hex8(urb.endpoint) + " is not in the active configuration and alt settings",
            -EINVAL);
    if (ep->type != urb.type)
        return make_error(path + ": endpoint " + hex8(urb.endpoint) + " is not of the transfer type submitted",
                          -EINVAL);

    auto t = std::make_unique<Transfer>();
    t->host = this;
    t->device = id;
    t->seqnum = urb.seqnum;
    t->endpoint = urb.endpoint;
    t->type = urb.type;

    size_t length = 0;
    int iso_packets = 0;
    if (urb.type == TransferType::control) {
        Setup setup = parse_setup(urb.setup);
        if ((urb.endpoint & 0x7f) == 0) {
            Intercept what = classify_request(setup);
            if (what.kind != Intercept::Kind::none) return submit_intercepted(id, s, urb, what);
        }
        t->in = setup.is_in();
        if (!t->in && urb.data.size() != setup.length)
            return make_error(path + ": control OUT has " + std::to_string(urb.data.size()) + " bytes but wLength " +
                                  std::to_string(setup.length),
                              -EINVAL);
        length = LIBUSB_CONTROL_SETUP_SIZE + setup.length;
    } else {
        t->in = urb.is_in();
        if (urb.type == TransferType::isochronous) {
            if (urb.iso_lengths.empty()) return make_error(path + ": isochronous transfer without packets", -EINVAL);
            for (uint32_t l : urb.iso_lengths) length += l;
            iso_packets = static_cast<int>(urb.iso_lengths.size());
            if (!t->in && urb.data.size() != length)
                return make_error(path + ": isochronous OUT has " + std::to_string(urb.data.size()) +
                                      " bytes but its packets add up to " + std::to_string(length),
                                  -EINVAL);
        } else {
            length = t->in ? urb.length : urb.data.size();
        }
    }
    if (length > static_cast<size_t>(INT32_MAX)) return make_error(path + ": transfer too large", -EINVAL);
    if (s.inflight_bytes + length > budget)
        return make_error(
            path + ": " + std::to_string(s.inflight_bytes) + " bytes in flight, and " + std::to_string(length) +
                " more would pass this device's limit of " + std::to_string(budget) +
                " bytes (HostOptions::max_inflight_bytes, sized from usbcore's usbfs_memory_mb); wait for completions",
            -ENOMEM);
    t->bytes = length;

    t->xfer.reset(libusb_alloc_transfer(iso_packets));
    if (!t->xfer) return make_error(path + ": out of memory for a transfer", -ENOMEM);
    if (urb.type != TransferType::control && !t->in)
        t->buffer = std::move(urb.data);  // OUT bytes go to the device from the caller's buffer, not a copy
    else t->buffer.resize(length);
    auto* buf = reinterpret_cast<unsigned char*>(t->buffer.data());
    libusb_device_handle* h = s.open->handle();
    libusb_transfer* x = t->xfer.get();
    switch (urb.type) {
    case TransferType::control:
        std::copy(urb.setup.begin(), urb.setup.end(), buf);
        if (!t->in) std::copy(urb.data.begin(), urb.data.end(), t->buffer.begin() + LIBUSB_CONTROL_SETUP_SIZE);
        libusb_fill_control_transfer(x, h, buf, &Impl::on_transfer_trampoline, t.get(),
                                     static_cast<unsigned>(options.control_timeout.count()));
        break;
    case TransferType::bulk:
        libusb_fill_bulk_transfer(x, h, urb.endpoint, buf, static_cast<int>(length), &Impl::on_transfer_trampoline,
                                  t.get(), 0);
        break;
    case TransferType::interrupt:
        libusb_fill_interrupt_transfer(x, h, urb.endpoint, buf, static_cast<int>(length), &Impl::on_transfer_trampoline,
                                       t.get(), 0);
        break;
    case TransferType::isochronous:
        libusb_fill_iso_transfer(x, h, urb.endpoint, buf, static_cast<int>(length), iso_packets,
                                 &Impl::on_transfer_trampoline, t.get(), 0);
        for (int i = 0; i < iso_packets; ++i) x->iso_packet_desc[i].length = urb.iso_lengths[i];
        break;
    }
    if (t->in && (urb.flags & urb_flags::kShortNotOk)) x->flags |= LIBUSB_TRANSFER_SHORT_NOT_OK;
    if (!t->in && urb.type == TransferType::bulk && (urb.flags & urb_flags::kZeroPacket))
        x->flags |= LIBUSB_TRANSFER_ADD_ZERO_PACKET;

    int rc = libusb_submit_transfer(x);
    if (rc != 0) {
        std::string what = path + ": cannot submit a transfer to endpoint " + hex8(urb.endpoint) + ": ";
        switch (rc) {
        case LIBUSB_ERROR_NO_DEVICE: return make_error(what + "the device is gone", -ENODEV);
        case LIBUSB_ERROR_NO_MEM:
            return make_error(what + "the kernel refused the buffer; usbfs memory (usbcore's usbfs_memory_mb, " +
                                  std::to_string(usbfs_limit / kMiB) +
                                  " MB) is exhausted: raise it or lower the transfers in flight",
                              -ENOMEM);
        case LIBUSB_ERROR_PIPE: return make_error(what + "endpoint halted", -EPIPE);
        default: return make_error(what + libusb_error_text(rc), -EIO);
        }
    }
    s.inflight_bytes += length;
    s.inflight.emplace(urb.seqnum, std::move(t));
    return {};
}

bool Host::cancel(DeviceId id, uint64_t seqnum) {
    Slot* s = impl_->find(id);
    if (!s) return false;
    auto it = s->inflight.find(seqnum);
    if (it == s->inflight.end() || !it->second->xfer) return false;
    it->second->cancel_requested = true;
    return libusb_cancel_transfer(it->second->xfer.get()) == 0;
}

size_t Host::in_flight(DeviceId id) const {
    auto it = impl_->slots.find(id);
    return it == impl_->slots.end() ? 0 : it->second.inflight.size();
}

size_t Host::max_inflight_bytes() const { return impl_->budget; }

}  // namespace usbhop::usb
