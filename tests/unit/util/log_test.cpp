#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "util/log.hpp"

using usbhop::log::Fields;

namespace {
std::vector<std::string> lines(const Fields& f) {
    std::vector<std::string> out;
    for (const auto& field : f.items()) out.push_back(std::string(field.name) + "=" + field.value);
    return out;
}
}  // namespace

TEST_CASE("log fields name a peer and a device as usbhop(1) JOURNAL FIELDS says") {
    const std::string id(56, 'a');
    Fields f;
    f.peer(id, "alice's laptop").address("192.0.2.7:7575").device(0x0781, 0x5583, "1-1.2");
    CHECK(lines(f) == std::vector<std::string>{"USBHOP_PEER=" + id, "USBHOP_PEER_NAME=alice's laptop",
                                               "USBHOP_ADDRESS=192.0.2.7:7575", "USBHOP_DEVICE=0781:5583",
                                               "USBHOP_BUSID=1-1.2"});
}

TEST_CASE("log fields: vid:pid is 4+4 lower-case hex, a nameless peer has no name field, a field is set once") {
    Fields f;
    f.peer("p").device(0xABCD, 0x00ef, "2-1");
    f.busid("2-3").peer("q");
    CHECK(lines(f) == std::vector<std::string>{"USBHOP_PEER=q", "USBHOP_DEVICE=abcd:00ef", "USBHOP_BUSID=2-3"});
}

TEST_CASE("a peer's name is made printable: it comes from a file or from the peer") {
    Fields f;
    f.peer("p", "evil\nMESSAGE=forged\x1b[2J");
    REQUIRE(f.items().size() == 2);
    const std::string& name = f.items()[1].value;
    CHECK(name.find('\n') == std::string::npos);
    CHECK(name.find('\x1b') == std::string::npos);
    CHECK(name.rfind("evil", 0) == 0);
}
