// How `usbhop status` prints one connection that a running attach or serve
// reported (quic/path_report.hpp): a row of the table, and a JSON object of
// "connections". The exact format is in usbhop(1) and docs/serve.md "Status".
#pragma once

#include <string>
#include <string_view>

#include "quic/path_report.hpp"
#include "vhci/state.hpp"

namespace usbhop::client {

// {"role":"serve","pid":4242,"peer":"<node-id>","state":"ready","path":"relayed",
//  "via":"203.0.113.5:7576","address":"198.51.100.7:41234","rtt_ms":48.210,
//  "cipher":"chacha20-poly1305","bytes_sent":12345678,"bytes_received":950,
//  "packets_sent":8000,"packets_lost":9}
// via, address and cipher are null when there is none; rtt_ms is null when
// path is "none".
std::string connection_json(std::string_view role, int pid, const quic::PathReport& r);
// The connection table: its header, and one row:
// "serve   pjz7mncd  ready      relayed via 203.0.113.5:7576   198.51.100.7:41234       48.2 ms   12M    950    0.12%  chacha20-poly1305"
// SENT and RECV are bytes since the connection began; LOSS the share of
// packets sent whose stream data was declared lost.
std::string connection_header();
std::string connection_line(std::string_view role, const quic::PathReport& r);

// The device table: its header, and one attached device's row (since_text is
// when it was attached, as the table shows it).
std::string device_header();
std::string device_line(const vhci::AttachedDevice& d, const std::string& since_text);
// A count of bytes (or bytes per second) for the tables: "0", "950", "12.3k", "45M".
std::string rate_text(uint64_t bytes_per_second);

}  // namespace usbhop::client
