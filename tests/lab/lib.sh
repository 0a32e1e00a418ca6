# Scenario library for the lab, sourced by every scenario inside the guest:
#   . "$LAB/lib.sh"
# Each function's one-line comment says what it does; README.md lists them.
# Any failing command ends the scenario with "FAIL: ..." (ERR trap), so a
# scenario reads as a list of steps. Runs as root in the guest, with the
# host's / read-only and fresh tmpfs on /tmp and /run.

set -E -o pipefail
export LC_ALL=C

CONFIGFS=/sys/kernel/config
GADGETS=$CONFIGFS/usb_gadget
LAB_T0=$(date +%s.%N)

# ---------------------------------------------------------------- reporting

# say MSG...: print a progress line, with seconds since the scenario began.
say() { printf '== [%6.1f] %s\n' "$(awk -v a="$(date +%s.%N)" -v b="$LAB_T0" 'BEGIN{print a-b}')" "$*"; }

# fail MSG...: print FAIL: MSG and the last kernel messages, then exit 1 (from a $(...) too).
fail() {
  trap - ERR
  echo "FAIL: $*" >&2
  # Inside $(...) the parent reports the kernel messages; 86 tells it
  # that this failure was already explained.
  [ "$BASH_SUBSHELL" = 0 ] || exit 86
  [[ $- != *i* ]] || return 1
  echo "---- last kernel messages ----" >&2
  dmesg 2>/dev/null | tail -n 25 >&2 || true
  exit 1
}

# The ERR trap: a failing command fails the scenario, naming where it was.
# Inside $(...) only an explicit fail (status 86) ends things; other failures
# there come back as the substitution's status, as in plain bash.
_lab_err() {
  local status=$1 cmd=$2 where="" i=1 frame
  if [ "$BASH_SUBSHELL" != 0 ]; then
    [ "$status" != 86 ] || exit 86
    return 0
  fi
  if [ "$status" = 86 ]; then
    trap - ERR; echo "---- last kernel messages ----" >&2; dmesg 2>/dev/null | tail -n 25 >&2; exit 1
  fi
  while frame=$(caller $i); do
    set -- $frame; where="$where ${3##*/}:$1"; i=$((i + 1))
  done
  fail "command failed (status $status) at${where}: $cmd"
}
# An interactive shell (run-scenario --shell) keeps going after a failure.
[[ $- == *i* ]] || trap '_lab_err $? "$BASH_COMMAND"' ERR

# check DESC CMD...: run CMD; if it fails, fail with DESC and CMD's output.
check() {
  local desc=$1 out; shift
  if ! out=$("$@" 2>&1); then
    printf '%s\n' "$out" >&2
    fail "$desc (command: $*)"
  fi
  [ -z "$out" ] || printf '%s\n' "$out"
}

# expect_eq WHAT GOT WANT: fail unless GOT equals WANT, saying what differed.
expect_eq() { [ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"; }

# wait_for SECS DESC CMD...: retry CMD every 0.1 s until it succeeds; fail after SECS x LAB_TIME_SCALE (default 3).
# (TCG on a busy 2-core machine can be ten times slower than on an idle one.)
wait_for() {
  local secs=$(( $1 * ${LAB_TIME_SCALE:-3} )) desc=$2 end; shift 2
  end=$(( $(date +%s) + secs ))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$end" ] || fail "timed out after ${secs}s waiting for $desc"
    sleep 0.1
  done
}

# wait_lines SECS FILE REGEX [N=1]: wait until FILE has at least N lines matching REGEX (grep -E).
wait_lines() {
  wait_for "$1" "${4:-1} line(s) matching '$3' in $2" sh -c '[ "$(grep -Ec -- "$1" "$2")" -ge "$3" ]' _ "$3" "$2" "${4:-1}"
}

# wait_path PATH [SECS=10]: wait until PATH exists (file, folder or device node).
wait_path() { wait_for "${2:-10}" "$1 to appear" test -e "$1"; }

# wait_gone PATH [SECS=10]: wait until PATH no longer exists.
wait_gone() { wait_for "${2:-10}" "$1 to go away" test ! -e "$1"; }

# sha FILE [MIB]: sha256 of FILE, or of its first MIB MiB.
sha() {
  local direct=""
  [ -b "$1" ] && direct=iflag=direct
  if [ -n "${2:-}" ]; then dd if="$1" bs=1M count="$2" $direct status=none | sha256sum | cut -d' ' -f1
  else sha256sum < "$1" | cut -d' ' -f1
  fi
}

# same_bytes A B [MIB]: fail unless A and B (files or block devices) hold the same bytes (first MIB MiB).
same_bytes() {
  local a b
  a=$(sha "$1" "${3:-}"); b=$(sha "$2" "${3:-}")
  [ "$a" = "$b" ] || fail "bytes differ: $1 ($a) vs $2 ($b)${3:+, first $3 MiB}"
  say "same bytes: $1 and $2${3:+ (first $3 MiB)}"
}

# random_file PATH MIB: write MIB MiB of random bytes to PATH.
random_file() { head -c "$(( $2 * 1024 * 1024 ))" /dev/urandom > "$1"; }

# ------------------------------------------------------------------ modules

# mod NAME [PARAM=VALUE...]: load a module (and its dependencies) from the lab's kernel cache.
mod() { check "loading module $1" modprobe -d "$LAB_MODROOT" "$@"; }

# ------------------------------------------------------------- udev, network

# udevd_start: start systemd-udevd (libusb's hot-plug source) and wait for its control socket.
# Devices present before it started get no udev events; LAB_UDEV_TRIGGER=1 replays them (slow under TCG).
udevd_start() {
  mkdir -p /run/udev
  pgrep -x systemd-udevd >/dev/null || check "starting systemd-udevd" /lib/systemd/systemd-udevd --daemon
  wait_path /run/udev/control 60
  if [ -n "${LAB_UDEV_TRIGGER:-}" ]; then
    udevadm trigger --action=add >/dev/null 2>&1 || true
    udevadm settle --timeout=120 || true
  fi
}

# net_lo: bring the loopback interface up (needed for anything over 127.0.0.1).
net_lo() { ip link set lo up; }

# netns_new NAME: create network namespace NAME with its loopback up.
netns_new() { ip netns add "$1"; ip -n "$1" link set lo up; }

# in_ns NS CMD...: run CMD in network namespace NS ("" = the root namespace).
in_ns() { local ns=$1; shift; if [ -n "$ns" ]; then ip netns exec "$ns" "$@"; else "$@"; fi; }

# veth_link NS1 IF1 ADDR1/LEN NS2 IF2 ADDR2/LEN: a veth pair between two namespaces ("" = root), addressed and up.
veth_link() {
  ip link add "$2" type veth peer name "$5"
  [ -z "$1" ] || ip link set "$2" netns "$1"
  [ -z "$4" ] || ip link set "$5" netns "$4"
  in_ns "$1" ip addr add "$3" dev "$2"; in_ns "$1" ip link set "$2" up
  in_ns "$4" ip addr add "$6" dev "$5"; in_ns "$4" ip link set "$5" up
}

# route_default NS VIA: default route in NS through gateway VIA.
route_default() { in_ns "$1" ip route replace default via "$2"; }

# nat_masquerade NS OUT_IF [fully-random]: make NS a NAT router masquerading out of OUT_IF.
nat_masquerade() {
  local ns=$1 out=$2 flags=""
  [ "${3:-}" = fully-random ] && flags="fully-random"
  in_ns "$ns" sysctl -qw net.ipv4.ip_forward=1
  in_ns "$ns" nft -f - <<EOF
table ip lab_nat {
  chain post { type nat hook postrouting priority srcnat; oifname "$out" masquerade $flags; }
}
EOF
}

# ------------------------------------------------------------------ gadgets

# gadgets_init [N=1]: configfs + libcomposite + dummy_hcd with N UDC/host pairs, and the usual host-side class drivers.
gadgets_init() {
  mod configfs
  mountpoint -q $CONFIGFS || mount -t configfs none $CONFIGFS
  mod dummy_hcd num="${1:-1}"
  mod libcomposite
  # A normal machine's udev would load these when a device appears; the
  # guest's udev cannot (the host has no /lib/modules for this kernel).
  [ -n "${LAB_NO_HOST_DRIVERS:-}" ] || { mod usb_storage delay_use=0; for m in sd_mod usbhid hid_generic evdev cdc_acm; do mod "$m"; done; }
  wait_path /sys/class/udc/dummy_udc.0
}

# gadget_new NAME VID PID [PRODUCT]: a gadget with one configuration (c.1) and strings; add functions next.
gadget_new() {
  local g=$GADGETS/$1
  mkdir "$g"
  echo "$2" > "$g/idVendor"; echo "$3" > "$g/idProduct"
  echo 0x0200 > "$g/bcdUSB"
  mkdir "$g/strings/0x409" "$g/configs/c.1" "$g/configs/c.1/strings/0x409"
  echo "usbhop lab" > "$g/strings/0x409/manufacturer"
  echo "${4:-$1}" > "$g/strings/0x409/product"
  echo "LAB-$1" > "$g/strings/0x409/serialnumber"
  echo "c.1" > "$g/configs/c.1/strings/0x409/configuration"
  echo 100 > "$g/configs/c.1/MaxPower"
}

# gadget_function NAME FUNC [ATTR=VALUE...]: add configfs function FUNC (e.g. SourceSink.0) with attributes.
gadget_function() {
  local g=$GADGETS/$1 f=$GADGETS/$1/functions/$2 kv; shift 2
  mkdir "$f"
  for kv in "$@"; do echo "${kv#*=}" > "$f/${kv%%=*}"; done
  ln -s "$f" "$g/configs/c.1/"
}

# gadget_mass_storage NAME FILE [MIB]: mass-storage function backed by FILE (created with MIB MiB of zeros if given).
gadget_mass_storage() {
  [ -z "${3:-}" ] || truncate -s "${3}M" "$2"
  local f=$GADGETS/$1/functions/mass_storage.0
  mkdir "$f"
  echo 1 > "$f/lun.0/removable"
  echo "$2" > "$f/lun.0/file"
  ln -s "$f" "$GADGETS/$1/configs/c.1/"
}

# gadget_sourcesink NAME [ATTR=VALUE...]: SourceSink (bulk source/sink; attrs pattern bulk_buflen bulk_qlen isoc_*).
gadget_sourcesink() { local n=$1; shift; gadget_function "$n" SourceSink.0 "$@"; }

# gadget_loopback NAME [ATTR=VALUE...]: Loopback (bulk OUT echoed back on bulk IN; attrs bulk_buflen qlen).
gadget_loopback() { local n=$1; shift; gadget_function "$n" Loopback.0 "$@"; }

# gadget_hid_keyboard NAME: HID boot keyboard (8-byte reports); its gadget-side node is $(gadget_hidg NAME).
gadget_hid_keyboard() {
  local f=$GADGETS/$1/functions/hid.0
  mkdir "$f"
  echo 1 > "$f/protocol"; echo 1 > "$f/subclass"; echo 8 > "$f/report_length"
  # Boot keyboard report descriptor (HID 1.11 appendix B.1, as in the kernel's gadget_hid.rst).
  printf '\x05\x01\x09\x06\xa1\x01\x05\x07\x19\xe0\x29\xe7\x15\x00\x25\x01\x75\x01\x95\x08\x81\x02\x95\x01\x75\x08\x81\x03\x95\x05\x75\x01\x05\x08\x19\x01\x29\x05\x91\x02\x95\x01\x75\x03\x91\x03\x95\x06\x75\x08\x15\x00\x25\x65\x05\x07\x19\x00\x29\x65\x81\x00\xc0' > "$f/report_desc"
  ln -s "$f" "$GADGETS/$1/configs/c.1/"
}

# gadget_acm NAME: ACM serial function; its gadget-side tty is $(gadget_ttygs NAME).
gadget_acm() { gadget_function "$1" acm.0; }

# gadget_hidg NAME: the gadget-side /dev/hidgN of NAME's HID function.
gadget_hidg() { echo "/dev/$(sed -n 's/^DEVNAME=//p' "/sys/dev/char/$(cat "$GADGETS/$1/functions/hid.0/dev")/uevent")"; }

# gadget_ttygs NAME: the gadget-side /dev/ttyGSN of NAME's ACM function.
gadget_ttygs() { echo "/dev/ttyGS$(cat "$GADGETS/$1/functions/acm.0/port_num")"; }

# udc_free: print the first UDC no gadget is bound to.
udc_free() {
  local u g used
  for u in $(ls /sys/class/udc); do
    used=0
    for g in "$GADGETS"/*/UDC; do [ "$(cat "$g" 2>/dev/null)" = "$u" ] && used=1; done
    [ $used = 1 ] || { echo "$u"; return 0; }
  done
  return 1
}

# gadget_udc NAME: the UDC NAME is bound to (empty when unplugged).
gadget_udc() { cat "$GADGETS/$1/UDC"; }

# udc_busid UDC: the host-side bus id (e.g. 1-1) of whatever is plugged into UDC (dummy_udc.N ↔ dummy_hcd.N).
udc_busid() {
  local hcd root
  hcd=/sys/devices/platform/dummy_hcd.${1#dummy_udc.}
  root=$(ls -d "$hcd"/usb[0-9]* | head -n1)
  echo "${root##*/usb}-1"
}

# gadget_busid NAME: host-side bus id of plugged-in gadget NAME (what usbip bind -b and usbhop take).
gadget_busid() { local u; u=$(gadget_udc "$1"); [ -n "$u" ] || fail "gadget $1 is not plugged in"; udc_busid "$u"; }

# gadget_sysfs NAME: host-side sysfs folder of gadget NAME's USB device.
gadget_sysfs() { echo "/sys/bus/usb/devices/$(gadget_busid "$1")"; }

# usb_devnode SYSFS: /dev/bus/usb/BBB/DDD of the USB device at sysfs folder SYSFS.
usb_devnode() { printf '/dev/bus/usb/%03d/%03d\n' "$(cat "$1/busnum")" "$(cat "$1/devnum")"; }

# usb_id SYSFS: vid:pid of the USB device at sysfs folder SYSFS.
usb_id() { echo "$(cat "$1/idVendor"):$(cat "$1/idProduct")"; }

# gadget_plug NAME [UDC]: plug NAME into UDC (default: a free one) and wait until the host has configured it.
gadget_plug() {
  local u=${2:-} s
  [ -n "$u" ] || u=$(udc_free) || fail "no free UDC for $1 (gadgets_init N with a larger N)"
  echo "$u" > "$GADGETS/$1/UDC"
  s=/sys/bus/usb/devices/$(udc_busid "$u")
  wait_for 20 "host to configure $1 at $s" grep -q . "$s/bConfigurationValue"
  say "plugged $1 ($(usb_id "$s")) into $u: host bus id ${s##*/}, $(usb_devnode "$s")"
}

# gadget_unplug NAME: unplug NAME from its UDC and wait until the host has dropped it.
gadget_unplug() {
  local u s
  u=$(gadget_udc "$1"); [ -n "$u" ] || return 0
  s=/sys/bus/usb/devices/$(udc_busid "$u")
  echo "" > "$GADGETS/$1/UDC"
  wait_gone "$s" 20
  say "unplugged $1 from $u"
}

# gadget_remove NAME: unplug NAME and delete it from configfs.
gadget_remove() {
  local g=$GADGETS/$1 l
  gadget_unplug "$1"
  for l in "$g"/configs/c.1/*.*; do [ -L "$l" ] && rm "$l"; done
  rmdir "$g"/configs/c.1/strings/0x409 "$g"/configs/c.1 "$g"/functions/* "$g"/strings/0x409 "$g"
}

# usb_find VID PID [UNDER]: sysfs folders of USB devices with VID:PID (optionally only below sysfs path UNDER).
usb_find() {
  local d
  for d in /sys/bus/usb/devices/*; do
    [ -f "$d/idVendor" ] || continue
    [ "$(cat "$d/idVendor")" = "${1#0x}" ] && [ "$(cat "$d/idProduct")" = "${2#0x}" ] || continue
    [ -z "${3:-}" ] || case "$(readlink -f "$d")" in $3/*) ;; *) continue ;; esac
    echo "$d"
  done
}

# usb_tty SYSFS: the host-side tty (/dev/ttyACMn or /dev/ttyUSBn) of the USB device at SYSFS (nothing if none yet).
usb_tty() {
  local t; t=$(ls -d "$(readlink -f "$1")"/*/tty/tty* "$(readlink -f "$1")"/*/tty[A-Z]* 2>/dev/null | head -n1)
  [ -n "$t" ] && [ -e "/dev/${t##*/}" ] && echo "/dev/${t##*/}"
}

# usb_event SYSFS: the host-side /dev/input/eventN of the USB (HID) device at SYSFS (nothing if none yet).
usb_event() {
  local e; e=$(find "$(readlink -f "$1")/" -maxdepth 6 -name 'event[0-9]*' 2>/dev/null | head -n1)
  [ -n "$e" ] && [ -e "/dev/input/${e##*/}" ] && echo "/dev/input/${e##*/}"
}

# key_events FILE: the EV_KEY events in a captured /dev/input/eventN stream, one "CODE VALUE" a line (30 1 = KEY_A pressed).
key_events() { od -An -v -tu2 -w24 "$1" | awk '$9 == 1 { print $10, $11 }'; }

# block_of SYSFS: /dev/sdX of the first disk below USB device folder SYSFS (nothing if none yet).
block_of() {
  local b
  b=$(find "$(readlink -f "$1")/" -maxdepth 8 -path '*/block/sd*' -name 'sd*' 2>/dev/null | head -n1)
  [ -n "$b" ] && [ -e "/dev/${b##*/}" ] && echo "/dev/${b##*/}"
}

# wait_block SYSFS [SECS=30]: wait for the disk of USB device SYSFS to appear; print /dev/sdX.
wait_block() {
  wait_for "${2:-30}" "a block device below $1" block_of "$1"
  local dev; dev=$(block_of "$1")
  # sh -c reads the size on every try (a $(...) argument would be read once).
  wait_for "${2:-30}" "$dev to report a size" sh -c '[ "$(cat "$1")" -gt 0 ]' _ "/sys/class/block/${dev#/dev/}/size"
  echo "$dev"
}

# usb_present VID PID [UNDER]: succeed if usb_find finds such a device (for wait_for: it looks again on every try).
usb_present() { [ -n "$(usb_find "$@")" ]; }

# wait_block_by_id VID PID [vhci|dummy] [SECS=30]: wait for the disk of a VID:PID device (only imported / only local); print /dev/sdX.
wait_block_by_id() {
  local under="" s
  case "${3:-}" in vhci) under=/sys/devices/platform/vhci_hcd.0 ;; dummy) under=/sys/devices/platform/dummy_hcd.* ;; esac
  # usb_find runs on every try (a $(...) here would be expanded only once).
  wait_for "${4:-30}" "a USB device $1:$2 ${3:+on $3}" usb_present "$1" "$2" $under
  s=$(usb_find "$1" "$2" $under | head -n1)
  wait_block "$s" "${4:-30}"
}

# ------------------------------------------------------------ kernel usbip

# usbip_export BUSID: export the local device BUSID with the kernel's usbip (usbip-host + usbipd -D + bind).
usbip_export() {
  mod usbip_host
  pgrep -x usbipd >/dev/null || check "starting usbipd" usbipd -D
  check "usbip bind -b $1" usbip bind -b "$1"
}

# usbip_import BUSID [HOST=127.0.0.1]: attach BUSID through vhci_hcd with usbip attach; print the imported device's sysfs folder.
usbip_import() {
  local before after d
  mod vhci_hcd
  before=$(ls -d /sys/devices/platform/vhci_hcd.0/usb*/*-[0-9]* 2>/dev/null || true)
  check "usbip attach -r ${2:-127.0.0.1} -b $1" usbip attach -r "${2:-127.0.0.1}" -b "$1" >&2
  wait_for 20 "the imported device under vhci_hcd" sh -c \
    "ls -d /sys/devices/platform/vhci_hcd.0/usb*/*-[0-9]* 2>/dev/null | grep -vxF '$before' | grep -q ."
  for d in $(ls -d /sys/devices/platform/vhci_hcd.0/usb*/*-[0-9]*); do
    printf '%s\n' "$before" | grep -qxF "$d" || { wait_for 20 "$d to be configured" grep -q . "$d/bConfigurationValue"; echo "$d"; return 0; }
  done
}

# usbip_detach_all: detach every port of vhci_hcd (usbip detach).
usbip_detach_all() {
  local p
  for p in $(usbip port 2>/dev/null | sed -n 's/^Port \([0-9]*\):.*/\1/p'); do usbip detach -p "$p" >/dev/null 2>&1 || true; done
}
