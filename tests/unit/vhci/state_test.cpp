#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "fake_sysfs.hpp"
#include "vhci/state.hpp"

using namespace usbhop::vhci;
using namespace usbhop::vhci::testing;

namespace {

AttachedDevice flash_drive() {
    AttachedDevice d;
    d.port = 9;
    d.devid = 0x00010003;
    d.speed = speed::kSuper;
    d.peer = "b7zq4k2mxn6wq3sdlv5h7a2c4e6g8j0kpmr3t5v7x9z2b4d6f8h0";
    d.bus_path = "1-1.2";
    d.vendor = 0x0781;
    d.product = 0x5583;
    d.description = "SanDisk Ultra Fit";
    d.attached_at = 1795000000;
    d.pid = 4242;
    return d;
}

std::vector<PortStatus> table_with(uint32_t port, PortState state, uint32_t devid) {
    PortStatus p;
    p.hub = Hub::super_speed;
    p.port = port;
    p.state = state;
    p.devid = devid;
    return {p};
}

}  // namespace

TEST_CASE("a state entry survives format and parse unchanged") {
    AttachedDevice d = flash_drive();
    std::string text = format_state(d);
    CHECK(text.find("device=0781:5583\n") != std::string::npos);
    CHECK(text.find("port=9\n") != std::string::npos);
    auto back = parse_state(text);
    REQUIRE(back);
    CHECK(*back == d);
}

TEST_CASE("an entry's live numbers survive format and parse, and an entry without them reads as zero") {
    AttachedDevice d = flash_drive();
    d.traffic = {3, 1200, 52'428'800, 1'048'576, 11'500'000, 0, 2, 1};
    std::string text = format_state(d);
    CHECK(text.find("\nbytes_in=52428800\n") != std::string::npos);
    CHECK(text.find("\nrate_in=11500000\n") != std::string::npos);
    auto back = parse_state(text);
    REQUIRE(back);
    CHECK(*back == d);
    // What an attach of the previous version wrote: no traffic keys at all.
    std::string old = text.substr(0, text.find("in_flight="));
    auto older = parse_state(old);
    REQUIRE(older);
    CHECK(older->traffic == AttachedDevice::Traffic{});
    auto bad = parse_state(old + "rate_out=fast\n");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message.find("bad value for 'rate_out'") != std::string::npos);
}

TEST_CASE("free text in a state entry stays on one line") {
    AttachedDevice d = flash_drive();
    d.description = "Evil\nport=3\r\tdevice";
    auto back = parse_state(format_state(d));
    REQUIRE(back);
    CHECK(back->port == 9);
    CHECK(back->description == "Evil port=3  device");
}

TEST_CASE("an empty description and unknown keys are fine") {
    AttachedDevice d = flash_drive();
    d.description.clear();
    auto back = parse_state(format_state(d) + "future_key=whatever\n");
    REQUIRE(back);
    CHECK(*back == d);
}

TEST_CASE("state text the parser refuses") {
    const std::string good = format_state(flash_drive());
    auto replace = [&](const std::string& from, const std::string& to) {
        std::string s = good;
        s.replace(s.find(from), from.size(), to);
        return s;
    };
    const std::pair<std::string, const char*> cases[] = {
        {"", "missing key 'port'"},
        {replace("pid=4242\n", ""), "missing key 'pid'"},
        {replace("pid=4242", "pid=0"), "bad value for 'pid'"},
        {replace("pid=4242", "pid=-1"), "bad value for 'pid'"},
        {replace("port=9", "port=nine"), "bad value for 'port'"},
        {replace("device=0781:5583", "device=781:5583"), "bad value for 'device'"},
        {replace("device=0781:5583", "device=0781-5583"), "bad value for 'device'"},
        {replace("attached_at=1795000000", "attached_at=soon"), "bad value for 'attached_at'"},
        {good + "port=3\n", "duplicate key"},
        {good + "garbage\n", "expected key=value"},
    };
    for (const auto& c : cases) {
        // Not a structured binding: clang before 16 cannot capture one, and CAPTURE does.
        const std::string& text = c.first;
        const char* expect = c.second;
        CAPTURE(text);
        auto r = parse_state(text);
        REQUIRE_FALSE(r);
        CHECK(r.error().message.find(expect) != std::string::npos);
    }
}

TEST_CASE("an entry is stale when its owner is gone or its port no longer holds its device") {
    AttachedDevice d = flash_drive();
    const uint32_t mine = d.devid;
    CHECK(check_staleness(d, true, table_with(9, PortState::used, mine)) == Staleness::live);
    // Still enumerating: attached, address not yet set.
    CHECK(check_staleness(d, true, table_with(9, PortState::not_assigned, mine)) == Staleness::live);
    CHECK(check_staleness(d, false, table_with(9, PortState::used, mine)) == Staleness::owner_gone);
    CHECK(check_staleness(d, true, table_with(9, PortState::free, 0)) == Staleness::port_free);
    CHECK(check_staleness(d, true, table_with(9, PortState::used, 0x10009)) == Staleness::port_reused);
    CHECK(check_staleness(d, true, table_with(3, PortState::used, mine)) == Staleness::port_missing);
    CHECK(check_staleness(d, true, {}) == Staleness::port_missing);
}

TEST_CASE("process_alive knows a running process from a reaped one") {
    CHECK(process_alive(::getpid()));
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) ::_exit(0);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    CHECK_FALSE(process_alive(child));
    CHECK_FALSE(process_alive(0));
    CHECK_FALSE(process_alive(-1));
}

TEST_CASE("StateDir saves atomically, lists by port and removes") {
    TempDir tmp;
    StateDir dir(tmp.path() + "/run/usbhop");  // created on first save
    auto none = dir.list();
    REQUIRE(none);
    CHECK(none->empty());

    AttachedDevice a = flash_drive();
    AttachedDevice b = flash_drive();
    b.port = 1;
    b.speed = speed::kHigh;
    REQUIRE(dir.save(a));
    REQUIRE(dir.save(b));
    a.description = "renamed";
    REQUIRE(dir.save(a));  // replaces

    int files = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir.root())) {
        ++files;
        CHECK(e.path().filename().string().find(".tmp") == std::string::npos);
    }
    CHECK(files == 2);

    auto listed = dir.list();
    REQUIRE(listed);
    REQUIRE(listed->size() == 2);
    CHECK((*listed)[0] == b);
    CHECK((*listed)[1] == a);

    REQUIRE(dir.remove(1));
    REQUIRE(dir.remove(1));  // already gone is fine
    listed = dir.list();
    REQUIRE(listed);
    REQUIRE(listed->size() == 1);
    CHECK(listed->front().port == 9);
}

TEST_CASE("prune removes stale and malformed entries and keeps live ones") {
    TempDir tmp;
    StateDir dir(tmp.path());
    AttachedDevice live = flash_drive();  // port 9, pid 4242
    AttachedDevice dead_owner = flash_drive();
    dead_owner.port = 10;
    dead_owner.pid = 5151;
    AttachedDevice detached = flash_drive();
    detached.port = 11;
    REQUIRE(dir.save(live));
    REQUIRE(dir.save(dead_owner));
    REQUIRE(dir.save(detached));
    write_file(dir.path_for(12), "not a state file\n");
    write_file(dir.root() + "/port-13.tmp.999", "half written");  // ignored: not an entry
    // An entry whose name and content disagree is malformed too.
    AttachedDevice misnamed = flash_drive();
    misnamed.port = 9;
    write_file(dir.path_for(14), format_state(misnamed));

    std::vector<PortStatus> ports;
    for (uint32_t p : {9u, 10u}) ports.push_back(table_with(p, PortState::used, live.devid).front());
    ports.push_back(table_with(11, PortState::free, 0).front());

    auto alive = [](int pid) { return pid == 4242; };
    auto listed = dir.list();  // list alone removes nothing
    REQUIRE(listed);
    CHECK(listed->size() == 3);

    auto kept = dir.prune(ports, alive);
    REQUIRE(kept);
    REQUIRE(kept->size() == 1);
    CHECK(kept->front() == live);
    CHECK(std::filesystem::exists(dir.path_for(9)));
    CHECK_FALSE(std::filesystem::exists(dir.path_for(10)));
    CHECK_FALSE(std::filesystem::exists(dir.path_for(11)));
    CHECK_FALSE(std::filesystem::exists(dir.path_for(12)));
    CHECK_FALSE(std::filesystem::exists(dir.path_for(14)));
    CHECK(std::filesystem::exists(dir.root() + "/port-13.tmp.999"));
}

TEST_CASE("state parsing survives every single-byte corruption and truncation") {
    const std::string good = format_state(flash_drive());
    const char replacements[] = {'\0', '\n', '=', 'x', '9', '#', '\xff'};
    for (size_t i = 0; i < good.size(); ++i) {
        for (char c : replacements) {
            std::string bad = good;
            bad[i] = c;
            auto r = parse_state(bad);
            if (r) CHECK(r->pid > 0);
        }
        auto cut = parse_state(std::string_view(good).substr(0, i));
        if (cut) CHECK(cut->pid > 0);
    }
}

TEST_CASE("detach_entry detaches a port that still holds the entry's device, and only then") {
    std::string text = kHeader;
    text += port_line("ss", 0, 4);
    text += port_line("ss", 1, 6, 5, 0x00010003, 3, "4-1");
    text += port_line("ss", 2, 6, 5, 0x00020007, 4, "4-2");
    FakeSysfs sys({text});
    Vhci vhci(sys.root());
    TempDir tmp;
    StateDir dir(tmp.path());

    AttachedDevice gone = flash_drive();  // devid 0x00010003
    gone.port = 0;
    REQUIRE(dir.save(gone));
    REQUIRE(detach_entry(vhci, dir, gone));
    CHECK(sys.detach_written().empty());  // port already free: nothing to write
    CHECK_FALSE(std::filesystem::exists(dir.path_for(0)));

    AttachedDevice other = flash_drive();
    other.port = 2;  // holds devid 0x00020007 now
    REQUIRE(dir.save(other));
    REQUIRE(detach_entry(vhci, dir, other));
    CHECK(sys.detach_written().empty());
    CHECK_FALSE(std::filesystem::exists(dir.path_for(2)));

    AttachedDevice live = flash_drive();
    live.port = 1;
    REQUIRE(dir.save(live));
    // The fake port never reads free: detach is written, the wait times out
    // and the entry stays for a later prune.
    auto r = detach_entry(vhci, dir, live, std::chrono::milliseconds(20));
    REQUIRE_FALSE(r);
    CHECK(sys.detach_written() == "1");
    CHECK(std::filesystem::exists(dir.path_for(1)));
}

TEST_CASE("detach_entry without vhci_hcd only removes the entry") {
    TempDir empty;
    TempDir tmp;
    StateDir dir(tmp.path());
    REQUIRE(dir.save(flash_drive()));
    REQUIRE(detach_entry(Vhci(empty.path()), dir, flash_drive()));
    CHECK_FALSE(std::filesystem::exists(dir.path_for(9)));
}

TEST_CASE("the state folder defaults to the configured rundir") {
    CHECK(StateDir().root() == USBHOP_RUNDIR);
    CHECK(StateDir("/tmp/x").path_for(3) == "/tmp/x/port-3");
}
