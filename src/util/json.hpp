// The JSON every --json output is made of (docs/json.md has the schema).
// nlohmann's ordered_json keeps keys in the order they are written, so each
// object reads the same way every time; strings are escaped by the library,
// and bytes that are not UTF-8 (a device's string descriptors can hold any)
// come out as U+FFFD, never raw.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "util/printable.hpp"  // hex4

namespace usbhop::util {

using Json = nlohmann::ordered_json;

// One line, no spaces.
std::string json_text(const Json& value);

// An array as "[\n  elem,\n  elem\n]" (one element a line, "[]" when empty):
// readable, and still one JSON value.
std::string json_lines(const Json& array);

// The fields every USB device object starts with, in this order:
// bus_path, vendor, product ("04x" lower-case hex), speed, and then
// manufacturer, product_name, serial where the output has them.
struct DeviceText {
    std::string bus_path;
    uint16_t vendor = 0, product = 0;
    std::string speed;  // "low", "full", "high", "wireless", "super", "super-plus", "unknown"
};
Json device_json(const DeviceText& d);

}  // namespace usbhop::util
