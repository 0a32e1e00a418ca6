#include "util/json.hpp"

#include <cstdio>

namespace usbhop::util {

std::string json_text(const Json& value) { return value.dump(-1, ' ', false, Json::error_handler_t::replace); }

std::string json_lines(const Json& array) {
    if (array.empty()) return "[]";
    std::string out = "[";
    for (size_t i = 0; i < array.size(); ++i) out += (i ? ",\n  " : "\n  ") + json_text(array[i]);
    return out + "\n]";
}

Json device_json(const DeviceText& d) {
    return Json{{"bus_path", d.bus_path}, {"vendor", hex4(d.vendor)}, {"product", hex4(d.product)}, {"speed", d.speed}};
}

}  // namespace usbhop::util
