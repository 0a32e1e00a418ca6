// usbhop status's view of connections: the report file that attach and serve
// write (quic/path_report) and the table row and JSON that status prints
// (client/status.hpp). The formats are the ones docs/serve.md "Status" and
// usbhop(1) promise: scripts (tests/lab) read them.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "client/status.hpp"
#include "quic/path_report.hpp"

using namespace usbhop;
using quic::PathKind;
using quic::PathReport;

namespace {

const std::string kPeer = "pjz7mncdqtqfzcxtfnkadf6ihnkce3ooit7akzr7i5hmkrevuvvdj6mz";

PathReport relayed() {
    PathReport r;
    r.peer = kPeer;
    r.path = PathKind::relayed;
    r.via = "203.0.113.5:7576";
    r.address = "198.51.100.7:41234";
    r.rtt = 48'210'000;
    r.cipher = "chacha20-poly1305";
    return r;
}

PathReport direct() {
    PathReport r;
    r.peer = kPeer;
    r.path = PathKind::direct;
    r.address = "[2001:db8::7]:7575";
    r.rtt = 1'840'000;
    r.cipher = "aes-128-gcm";
    r.bytes_sent = 12'345'678;
    r.bytes_received = 950;
    r.packets_sent = 8'000;
    r.packets_lost = 9;
    return r;
}

PathReport not_connected() {
    PathReport r;
    r.peer = kPeer;
    r.state = "waiting_to_reconnect";
    return r;
}

struct TempDir {
    std::string path;
    TempDir() {
        char t[] = "/tmp/usbhop-status-test-XXXXXX";
        path = ::mkdtemp(t);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
};

}  // namespace

TEST_CASE("a report file is one line per connection, and reads back the same") {
    std::vector<PathReport> all = {direct(), relayed(), not_connected()};
    std::string text = quic::format_reports("serve", 4242, all);
    CHECK(text == "# usbhop serve (pid 4242): its connections, read by usbhop status\n"
                  "peer=" + kPeer + " state=ready path=direct via=- address=[2001:db8::7]:7575 rtt_us=1840 "
                  "cipher=aes-128-gcm sent=12345678 received=950 packets=8000 lost=9\n"
                  "peer=" + kPeer + " state=ready path=relayed via=203.0.113.5:7576 address=198.51.100.7:41234 "
                  "rtt_us=48210 cipher=chacha20-poly1305 sent=0 received=0 packets=0 lost=0\n"
                  "peer=" + kPeer + " state=waiting_to_reconnect path=none via=- address=- rtt_us=0 cipher=- "
                  "sent=0 received=0 packets=0 lost=0\n");
    auto back = quic::parse_reports(text);
    REQUIRE(back);
    CHECK(*back == all);
    CHECK(quic::parse_reports("# nothing yet\n")->empty());
}

TEST_CASE("report values never break the line: spaces and control characters become _") {
    PathReport r = not_connected();
    r.state = "waiting to\nreconnect";
    auto back = quic::parse_reports(quic::format_reports("attach", 1, {r}));
    REQUIRE(back);
    REQUIRE(back->size() == 1);
    CHECK((*back)[0].state == "waiting_to_reconnect");
}

TEST_CASE("malformed report lines are refused, unknown keys are not") {
    struct Row {
        const char* text;
        bool ok;
    };
    const Row rows[] = {
        {"peer=a path=direct rtt_us=5 future=1\n", true},
        {"peer=a path=direct\n", true},
        {"path=direct rtt_us=5\n", false},             // no peer
        {"peer=- path=direct\n", false},               // peer none
        {"peer=a rtt_us=5\n", false},                  // no path
        {"peer=a path=sideways\n", false},
        {"peer=a path=direct rtt_us=-1\n", false},
        {"peer=a path=direct rtt_us=12ms\n", false},
        {"peer=a path=direct rtt_us=99999999999999\n", false},
        {"peer=a path=direct sent=12 received=3 packets=2 lost=0\n", true},
        {"peer=a path=direct sent=-1\n", false},
        {"peer=a path=direct lost=\n", false},
        {"peer=a path=direct packets=1e3\n", false},
        {"peer=a path=direct received=18446744073709551616\n", false},   // 2^64
        {"peer=a path direct\n", false},
    };
    for (const Row& row : rows) {
        CAPTURE(row.text);
        CHECK(static_cast<bool>(quic::parse_reports(row.text)) == row.ok);
    }
    auto r = quic::parse_reports("peer=a path=relayed via=1.2.3.4:5 rtt_us=1500\n");
    REQUIRE(r);
    CHECK((*r)[0].via == "1.2.3.4:5");
    CHECK((*r)[0].address.empty());
    CHECK((*r)[0].rtt == 1'500'000);
}

TEST_CASE("status prints a connection as a table row") {
    CHECK(client::connection_header() ==
          "ROLE    PEER      STATE      PATH                           ADDRESS                  RTT       SENT   RECV   "
          "LOSS   CIPHER");
    CHECK(client::connection_line("serve", relayed()) ==
          "serve   pjz7mncd  ready      relayed via 203.0.113.5:7576   198.51.100.7:41234       48.2 ms   0      0      "
          "-      chacha20-poly1305");
    CHECK(client::connection_line("attach", direct()) ==
          "attach  pjz7mncd  ready      direct                         [2001:db8::7]:7575       1.8 ms    12M    950    "
          "0.11%  aes-128-gcm");
    CHECK(client::connection_line("attach", not_connected()) ==
          "attach  pjz7mncd  waiting_to_reconnect none                           -                        -         0      "
          "0      -      -");
}

TEST_CASE("status --json gives every field, null where there is none") {
    CHECK(client::connection_json("serve", 4242, relayed()) ==
          "{\"role\":\"serve\",\"pid\":4242,\"peer\":\"" + kPeer +
              "\",\"state\":\"ready\",\"path\":\"relayed\",\"via\":\"203.0.113.5:7576\","
              "\"address\":\"198.51.100.7:41234\",\"rtt_ms\":48.21,\"cipher\":\"chacha20-poly1305\","
              "\"bytes_sent\":0,\"bytes_received\":0,\"packets_sent\":0,\"packets_lost\":0}");
    CHECK(client::connection_json("attach", 7, direct()) ==
          "{\"role\":\"attach\",\"pid\":7,\"peer\":\"" + kPeer +
              "\",\"state\":\"ready\",\"path\":\"direct\",\"via\":null,\"address\":\"[2001:db8::7]:7575\","
              "\"rtt_ms\":1.84,\"cipher\":\"aes-128-gcm\",\"bytes_sent\":12345678,\"bytes_received\":950,"
              "\"packets_sent\":8000,\"packets_lost\":9}");
    CHECK(client::connection_json("attach", 7, not_connected()) ==
          "{\"role\":\"attach\",\"pid\":7,\"peer\":\"" + kPeer +
              "\",\"state\":\"waiting_to_reconnect\",\"path\":\"none\",\"via\":null,\"address\":null,\"rtt_ms\":null,"
              "\"cipher\":null,\"bytes_sent\":0,\"bytes_received\":0,\"packets_sent\":0,\"packets_lost\":0}");
}

TEST_CASE("a connection's path: direct, or relayed when it leaves through the relay's label") {
    std::array<std::byte, identity::kPublicKeySize> key{};
    key[0] = std::byte{7};
    identity::NodeId peer = identity::NodeId::from_public_key(key);
    quic::PathInfo path;
    path.local = *loop::SocketAddress::parse("[::]:40000");
    path.remote = *loop::SocketAddress::parse("[::ffff:198.51.100.7]:7575");
    path.smoothed_rtt = 2'500'000;
    path.cipher = "aes-128-gcm";
    PathReport d = quic::describe(peer, path, nullptr);
    CHECK(d.cipher == "aes-128-gcm");
    CHECK(d.peer == peer.to_string());
    CHECK(d.path == PathKind::direct);
    CHECK(d.address == "198.51.100.7:7575");  // IPv4-mapped shown as IPv4
    CHECK(d.via.empty());
    CHECK(d.rtt == 2'500'000);

    path.local = *loop::SocketAddress::parse(quic::kRelayLabel);
    PathReport r = quic::describe(peer, path, nullptr);
    CHECK(r.path == PathKind::relayed);
    CHECK(r.address.empty());  // the relayed path's remote is a label, not the peer
    CHECK(r.rtt == 2'500'000);
}

TEST_CASE("report files: written atomically, read by role and pid, those of dead processes removed") {
    TempDir dir;
    REQUIRE(quic::save_reports(dir.path, "serve", 300, {relayed()}));
    REQUIRE(quic::save_reports(dir.path, "attach", 200, {direct()}));
    REQUIRE(quic::save_reports(dir.path, "attach", 100, {}));
    REQUIRE(quic::save_reports(dir.path, "attach", 999, {direct()}));
    std::ofstream(dir.path + "/port-3") << "port=3\n";                 // attach's device entries: not ours
    std::ofstream(dir.path + "/serve-12.tmp") << "peer=a path=direct\n";  // a write in progress
    std::ofstream(dir.path + "/serve-13") << "garbage\n";
    auto files = quic::load_reports(dir.path, [](int pid) { return pid != 999; });
    REQUIRE(files.size() == 3);
    CHECK(files[0].role == "attach");
    CHECK(files[0].pid == 100);
    CHECK(files[0].reports.empty());
    CHECK(files[1].pid == 200);
    CHECK(files[1].reports == std::vector<PathReport>{direct()});
    CHECK(files[2].role == "serve");
    CHECK(files[2].reports == std::vector<PathReport>{relayed()});
    CHECK_FALSE(std::filesystem::exists(dir.path + "/attach-999"));  // its process is gone
    CHECK(std::filesystem::exists(dir.path + "/port-3"));
    quic::remove_reports(dir.path, "serve", 300);
    CHECK(quic::load_reports(dir.path, [](int) { return true; }).size() == 2);
    CHECK(quic::load_reports(dir.path + "/missing", [](int) { return true; }).empty());
}

TEST_CASE("a report file is readable by its owner and group only (0640), even from a service with UMask=0077") {
    TempDir dir;
    mode_t old = ::umask(077);
    auto saved = quic::save_reports(dir.path + "/run", "serve", 42, {direct()});
    ::umask(old);
    REQUIRE(saved);
    struct stat st {};
    REQUIRE(::stat((dir.path + "/run/serve-42").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0640);  // it lists peers' node IDs and addresses
    REQUIRE(::stat((dir.path + "/run").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0755);
}

TEST_CASE("status shows a device's live numbers: URBs in flight, rates each way, errors") {
    vhci::AttachedDevice d;
    d.port = 9;
    d.peer = kPeer;
    d.bus_path = "1-1.2";
    d.vendor = 0x0781;
    d.product = 0x5583;
    d.description = "SanDisk Ultra Fit";
    d.pid = 4242;
    d.traffic.in_flight = 3;
    d.traffic.rate_in = 11'500'000;
    d.traffic.rate_out = 950;
    d.traffic.errors = 2;
    CHECK(client::device_header() ==
          "PORT  DEVICE     BUS      PEER       SINCE                PID      URBS  IN/s   OUT/s  ERR   DESCRIPTION");
    CHECK(client::device_line(d, "2026-12-06 02:00:00") ==
          "9     0781:5583  1-1.2    pjz7mncd   2026-12-06 02:00:00  4242     3     12M    950    2     SanDisk Ultra Fit");
}

TEST_CASE("rates read as people say them") {
    CHECK(client::rate_text(0) == "0");
    CHECK(client::rate_text(999) == "999");
    CHECK(client::rate_text(1000) == "1.0k");
    CHECK(client::rate_text(12'345) == "12k");
    CHECK(client::rate_text(9'950'000) == "9.9M");
    CHECK(client::rate_text(45'000'000'000) == "45G");
    CHECK(client::rate_text(4'500'000'000'000) == "4500G");
}

TEST_CASE("a report file is not written through a file planted at a predictable temp name") {
    TempDir dir;
    std::ofstream(dir.path + "/serve-42.tmp") << "planted\n";  // the name writers used to truncate and rename
    REQUIRE(quic::save_reports(dir.path, "serve", 42, {direct()}));
    std::ifstream in(dir.path + "/serve-42.tmp");
    std::string line;
    std::getline(in, line);
    CHECK(line == "planted");
    auto files = quic::load_reports(dir.path, [](int) { return true; });
    REQUIRE(files.size() == 1);
    CHECK(files[0].reports == std::vector<PathReport>{direct()});
}
