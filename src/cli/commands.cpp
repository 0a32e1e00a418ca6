#include "cli/commands.hpp"

#include "usbhop_config.h"

namespace usbhop::cli {

namespace {

const Option kAttachOptions[] = {
    {"all", 'a', "", "attach every device the server shares with this node (default when no device is named)"},
};
const Option kDetachOptions[] = {
    {"all", 'a', "", "detach every device this machine has attached (default: only those named)"},
};
const Option kListOptions[] = {
    {"watch", 'w', "", "with <peer>: keep running and print devices as they arrive, change and leave (default: list once)"},
    {"json", 0, "", "print machine-readable JSON instead of lines (default: lines)"},
};
const Option kStatusOptions[] = {
    {"json", 0, "", "print machine-readable JSON instead of a table (default: table)"},
    {"watch", 'w', "SECONDS",
     "redraw the table in place every SECONDS (0.1 to 3600, e.g. 1) until Ctrl-C, like watch(1) (default: print once)"},
};
const Option kIdOptions[] = {
    {"server", 0, "", "the key of [server] identity (default " USBHOP_STATEDIR "/identity.key)"},
    {"relay", 0, "", "the key of [relay] identity (default " USBHOP_STATEDIR "/identity.key)"},
    {"client", 0, "",
     "the key of [client] identity (default ~/.config/usbhop/identity.key, for root " USBHOP_STATEDIR
     "/identity.key); the default, unless the configuration file has sections of only one role ([server] and "
     "[share], or [relay]): then that role's key"},
};
const Option kTrustOptions[] = {
    {"relay", 0, "",
     "add to [relay] authorized_keys (default " USBHOP_SYSCONFDIR "/relay_authorized_keys) instead of [server] "
     "authorized_keys (default " USBHOP_SYSCONFDIR "/authorized_keys); the default when the configuration file "
     "has only a [relay] section"},
};
const Option kCheckConfigOptions[] = {
    {"list-keys", 0, "", "print every key the parser knows, as 'section key', and exit", true},
};

const Command kCommands[] = {
    {"serve",
     "",
     "export this machine's USB devices to trusted peers",
     "Runs the USB server: owns the devices that [share] sections select, through libusb, and exports them over "
     "QUIC to the peers listed in [server] authorized_keys. Meant to run as the systemd unit usbhop.service "
     "(Type=notify). SIGHUP reloads the configuration and authorized_keys (peers no longer listed are "
     "disconnected, devices no longer shared are detached); SIGTERM detaches every device, gives it back to its "
     "kernel drivers and exits 0. A peer that disconnects keeps its devices for [server] grace (default 30s) so "
     "it can resume. On a machine without USB, serve runs with no devices.",
     {},
     0,
     0,
     true,
     run_serve},
    {"attach", "<peer> [device...]", "use a peer's shared USB devices on this machine",
     "Connects to <peer> (a [peer] name, a node ID reached through [client] relay, node-id@host:port, or a relay "
     "ticket node-id+relay-node-id@relay-host:port as 'usbhop id --server' prints it on the server) and makes its "
     "devices appear here through the kernel's vhci_hcd. A device is named by bus path (1-1.2) or vendor:product "
     "(0781:5583) or serial number. Stays in the foreground, prints one line per device attached or detached, keeps "
     "the devices attached through network trouble (reconnecting and resuming within the server's grace period), "
     "and detaches them all on Ctrl-C or SIGTERM. Needs root (or CAP_SYS_ADMIN) and the vhci-hcd module.",
     kAttachOptions, 1, kAnyNumber, true, run_attach},
    {"detach", "[device...]", "stop using attached devices",
     "Detaches devices attached by 'usbhop attach' (from any shell), named by vhci port, bus path or "
     "vendor:product as 'usbhop status' shows them; the attach process lets them go at the server.", kDetachOptions, 0,
     kAnyNumber, false, run_detach},
    {"list",
     "[peer]",
     "list USB devices, here or on a peer",
     "Without <peer>, lists this machine's USB devices and which [share] rule exports each. With <peer>, lists the "
     "devices that peer shares with this node; --watch then follows them as they are plugged in and out.",
     kListOptions,
     0,
     1,
     true,
     run_list},
    {"status", "", "show attached devices and connections",
     "Shows the devices this machine has attached (vhci port, device, bus path, peer, since when, the attach "
     "process), then every connection of a running 'usbhop attach' or 'usbhop serve' here: ROLE (attach or serve), "
     "PEER (node ID), STATE (ready; for attach also connecting, hello or waiting_to_reconnect), PATH ('direct', 'relayed via "
     "RELAY-ADDRESS', or 'none' while not connected), ADDRESS (the peer's address; when relayed, its public "
     "address as the relay saw it) and RTT (smoothed round-trip time, refreshed every second). --json prints "
     "{\"devices\":[...],\"connections\":[...]} with the same fields (rtt_ms a number, null when not connected). All of it is read from " USBHOP_RUNDIR " (or $USBHOP_RUNDIR).",
     kStatusOptions, 0, 0, false, run_status},
    {"relay",
     "",
     "run a relay for peers behind NAT",
     "Runs the rendezvous and NAT fallback: nodes in [relay] authorized_keys register under their node ID, and the "
     "relay forwards their end-to-end encrypted packets until a direct path works. Meant to run as "
     "usbhop-relay.service.",
     {},
     0,
     0,
     true,
     run_relay},
    {"id", "", "print this node's ID (creating its key on first use)",
     "Prints the node ID of this machine's key: what a peer adds with 'usbhop trust'. The key is created (mode "
     "0600, in a 0700 directory) when it does not exist yet; a key file readable by group or others is refused. With "
     "--server and a [server] relay, it also prints on standard error the relay ticket that 'usbhop attach' on a "
     "client takes to reach this server through that relay.",
     kIdOptions, 0, 0, true, run_id},
    {"trust", "<node-id> [comment...]", "allow a node to use this server (or relay)",
     "Checks <node-id> (56 characters with a checksum, so a typo is caught) and appends it, with the comment, to "
     "authorized_keys. A node already listed is not added twice. The server reads the file again on SIGHUP.",
     kTrustOptions, 1, kAnyNumber, true, run_trust},
    {"check-config", "", "check the configuration file and exit",
     "Reads the configuration and the authorized_keys files it names, and reports every problem as FILE:LINE: "
     "message. Exit status 0 when all is well, 2 otherwise (like sshd -t). A missing configuration file means the "
     "defaults.",
     kCheckConfigOptions, 0, 0, true, run_check_config},
    {"version",
     "",
     "show the versions of usbhop and its libraries",
     "Prints usbhop's version and the versions of libusb, ngtcp2, GnuTLS and libuv it runs with.",
     {},
     0,
     0,
     false,
     run_version},
};

}  // namespace

std::span<const Command> commands() { return kCommands; }

const Command* find_command(std::string_view name) {
    for (const Command& c : kCommands)
        if (c.name == name) return &c;
    return nullptr;
}

}  // namespace usbhop::cli
