// Fuzzes usb/descriptors' split_descriptors, which cuts the bytes of
// /sys/bus/usb/devices/<path>/descriptors (or a usbfs read) into the device
// descriptor and its configurations, and parse_configuration on each piece,
// as usb_thread does for every device it lists.
//
// Input: the descriptors file's bytes.
// Checks: on success the pieces are the input, back to back and in order (18
// bytes of device descriptor, then configurations each exactly wTotalLength
// long, none shorter than a configuration descriptor); parsing a piece never
// crashes, and a parsed configuration keeps exactly that piece's bytes.
#include <cstdint>

#include "../fuzz_check.hpp"
#include "usb/descriptors.hpp"

using namespace usbhop;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    ByteSpan raw(reinterpret_cast<const std::byte*>(data), size);
    auto split = usb::split_descriptors(raw);
    if (!split) {
        FUZZ_CHECK(!split.error().message.empty());
        return 0;
    }
    FUZZ_CHECK(split->device.size() == usb::kDeviceDescriptorSize);
    Bytes joined = split->device;
    for (const Bytes& c : split->configurations) {
        FUZZ_CHECK(c.size() >= 9);
        FUZZ_CHECK(std::to_integer<uint8_t>(c[1]) == usb::kDescriptorConfig);
        FUZZ_CHECK((std::to_integer<size_t>(c[2]) | std::to_integer<size_t>(c[3]) << 8) == c.size());
        joined.insert(joined.end(), c.begin(), c.end());
        if (auto config = usb::parse_configuration(c)) {
            FUZZ_CHECK(config->raw == c);
            (void)usb::interface_classes(*config);
        }
    }
    FUZZ_CHECK(joined == Bytes(raw.begin(), raw.end()));
    return 0;
}
