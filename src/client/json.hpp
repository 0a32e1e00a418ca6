// The little JSON the client's commands print (`list --json`, `status
// --json`): strings escaped per RFC 8259 §7, nothing else.
#pragma once

#include <string>
#include <string_view>

namespace usbhop::client {

std::string json_string(std::string_view s);

}  // namespace usbhop::client
