// Writes the seed corpora under tests/fuzz/corpus/ from the same examples the
// unit tests use (usbip_protocol.rst's capture, tests/unit/proto/samples.hpp).
// Run after changing a codec, from a fuzz build:
//   build-fuzz/tests/fuzz/make-fuzz-corpus tests/fuzz/corpus
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "../unit/proto/samples.hpp"
#include "../unit/usbip/hex.hpp"
#include "usbip/pdu.hpp"

using namespace usbhop;
namespace fs = std::filesystem;

namespace {

void write(const fs::path& dir, int n, uint8_t mode, uint8_t seed, const Bytes& body) {
    fs::create_directories(dir);
    char name[32];
    std::snprintf(name, sizeof name, "seed-%02d", n);
    std::ofstream out(dir / name, std::ios::binary);
    out.put(static_cast<char>(mode));
    out.put(static_cast<char>(seed));
    out.write(reinterpret_cast<const char*>(body.data()), static_cast<std::streamsize>(body.size()));
}

void usbip_corpus(const fs::path& dir) {
    const char* commands[] = {
        // usbip_protocol.rst: CmdIntrIN, CmdIntrOUT
        "00000001 00000d05 0001000f 00000001 00000001 00000200 00000040 ffffffff 00000000 00000004 00000000 00000000",
        "00000001 00000d06 0001000f 00000000 00000001 00000000 00000040 ffffffff 00000000 00000004 00000000 00000000"
        "ffffffff860008a784ce5ae212376300000000000000000000000000000000000000000000000000000000000000000000000000000000"
        "000000000000000000",
        // CMD_UNLINK
        "00000002 00000011 0001000f 00000000 00000000 00000010 00000000 00000000 00000000 00000000 00000000 00000000",
        // iso IN, 2 packets
        "00000001 00000020 00020003 00000001 00000003 00000202 00000180 00000000 00000002 00000001 00000000 00000000"
        "00000000 000000c0 00000000 00000000 000000c0 000000c0 00000000 00000000",
        // iso OUT, 2 packets of 4 bytes at offsets 0 and 8
        "00000001 00000021 00020003 00000000 00000004 00040002 0000000c 00000000 00000002 00000001 00000000 00000000"
        "010203040000000005060708"
        "00000000 00000004 00000000 00000000 00000008 00000004 00000000 00000000",
        // control GET_DESCRIPTOR, number_of_packets 0xffffffff
        "00000001 00000001 00010002 00000001 00000000 00000200 00000012 00000000 ffffffff 00000000 80060001 00001200",
    };
    const char* replies[] = {
        // usbip_protocol.rst: RetIntrIn (seqnum odd: IN), RetIntrOut (even: OUT)
        "00000003 00000d05 00000000 00000000 00000000 00000000 00000040 ffffffff 00000000 00000000 00000000 00000000"
        "ffffffff860011a784ce5ae2123763612891b1020100000400000000000000000000000000000000000000000000000000000000000000"
        "000000000000000000",
        "00000003 00000d06 00000000 00000000 00000000 00000000 00000040 ffffffff 00000000 00000000 00000000 00000000",
        // RET_UNLINK -ECONNRESET
        "00000004 00000011 00000000 00000000 00000000 ffffff98 00000000 00000000 00000000 00000000 00000000 00000000",
        // iso IN reply, seqnum 0x21 (odd: IN), 2 packets, 3 bytes
        "00000003 00000021 00000000 00000000 00000000 00000000 00000003 00000000 00000002 00000001 00000000 00000000"
        "aabbcc"
        "00000000 000000c0 00000002 00000000 000000c0 000000c0 00000001 ffffffee",
    };
    int n = 0;
    Bytes all_commands, all_replies;
    for (const char* c : commands) {
        Bytes b = test::from_hex(c);
        write(dir, n, 0, static_cast<uint8_t>(n), b);
        ++n;
        all_commands.insert(all_commands.end(), b.begin(), b.end());
    }
    for (const char* r : replies) {
        Bytes b = test::from_hex(r);
        write(dir, n, 1, static_cast<uint8_t>(n), b);
        ++n;
        all_replies.insert(all_replies.end(), b.begin(), b.end());
    }
    write(dir, n++, 0, 7, all_commands);
    write(dir, n++, 1, 9, all_replies);
}

void proto_corpora(const fs::path& stream_dir, const fs::path& message_dir) {
    std::vector<proto::Message> samples = test::sample_messages();
    Bytes control, urb;
    int n = 0;
    for (const proto::Message& m : samples) {
        Bytes frame = proto::encode(m);
        bool is_urb = static_cast<uint16_t>(proto::type_of(m)) >= static_cast<uint16_t>(proto::MsgType::kBind);
        (is_urb ? urb : control).insert((is_urb ? urb : control).end(), frame.begin(), frame.end());
        write(stream_dir, n, is_urb ? 1 : 0, static_cast<uint8_t>(n), frame);
        // proto_message.cpp: a 2-byte selector (index into its type table) and the payload.
        write(message_dir, n, 0, static_cast<uint8_t>(m.index()),
              Bytes(frame.begin() + proto::kFrameHeaderSize, frame.end()));
        ++n;
    }
    // proto_message.cpp: selector bit 13 feeds parse_configuration().
    write(message_dir, n, 0x20, 0, test::sample_device().configurations[0]);
    write(stream_dir, n++, 0, 3, control);
    write(stream_dir, n++, 1, 5, urb);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: make-fuzz-corpus <tests/fuzz/corpus>\n");
        return 2;
    }
    fs::path root = argv[1];
    usbip_corpus(root / "fuzz-usbip-stream");
    proto_corpora(root / "fuzz-proto-stream", root / "fuzz-proto-message");
    return 0;
}
