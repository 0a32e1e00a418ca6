# The lab benchmark: one guest boot, the same measurements on each "column"
# (a way of reaching the devices), printed as a table with ratios.
#
#   columns   local   the gadgets on dummy_hcd, used directly
#             usbip   the same gadgets through the kernel's usbip over loopback
#             wg      kernel usbip inside a WireGuard tunnel: usbipd in a
#                     network namespace behind a veth, the client in the
#                     root namespace; the encrypted way people use USB/IP
#                     today (tests/lab/README.md#reference-figures), measured in the same boot
#             usbhop  the same gadgets through usbhop serve + usbhop attach
#                     over loopback (QUIC, encrypted), set up as the attach-*
#                     lab scenarios do (tests/lab/helpers/attach_lib.sh)
#   rows      GET_DESCRIPTOR round trip p50/p99 (ctrl_rtt), SourceSink bulk
#             IN/OUT with 8 x 64 KiB in flight (bulk_bench), mass storage
#             dd O_DIRECT read/write
#   ratios    usbip / local, wg / usbip (what the tunnel costs), usbhop /
#             kernel usbip (the goal: usbhop at least matches kernel usbip on
#             every row) and usbhop / wg (against an encrypted transport)
#
# To add a column: write column_<name>_up (sets SS and DISK to the sysfs
# folders of the SourceSink and disk devices as the measuring side sees
# them) and column_<name>_down (undoes it), add <name> to COLUMNS, a title
# to TITLE and its ratios to RATIOS ("a/b": column a over column b; printed
# when both columns are in the run). --quick (CI) uses
# small sizes: it proves the bench works, every column included. A column
# that cannot be measured fails the run; no blank cell is ever printed.
# lab-timeout: 1500
. "$LAB/lib.sh"
. "$LAB/helpers/attach_lib.sh"

if [ "${1:-}" = --quick ]; then CTRL_N=200 BULK_MIB=16 DISK_MIB=16
else CTRL_N=2000 BULK_MIB=256 DISK_MIB=128
fi
COLUMNS=${LAB_BENCH_COLUMNS:-"local usbip wg usbhop"}
# usbhop's max_udp_payload on both sides: loopback carries 64 KiB datagrams
# (MTU 65536, which kernel usbip's TCP uses too); LAB_USBHOP_PAYLOAD=1452
# measures the Ethernet-sized default instead.
PAYLOAD=${LAB_USBHOP_PAYLOAD:-65000}
declare -A TITLE=([local]="local (dummy_hcd)" [usbip]="kernel usbip" [wg]="kernel usbip in WireGuard"
                  [usbhop]="usbhop (max_udp_payload $PAYLOAD)")
RATIOS=(usbip/local wg/usbip usbhop/usbip usbhop/wg)
declare -A R   # R[column,metric] = value

net_lo
# systemd-udevd runs for every column, as on a real machine (usbhop serve
# needs it for libusb's hot-plug; before, only the usbhop column had it, and
# its probing of the new disk ran during that column's measurements).
udevd_start
gadgets_init 2
gadget_new ss 0x1209 0x4c42 "lab sourcesink"
gadget_sourcesink ss pattern=2 bulk_buflen=65536 bulk_qlen=8
gadget_plug ss
gadget_new disk 0x1d6b 0x0104 "lab disk"
gadget_mass_storage disk /tmp/disk.img $((DISK_MIB + 16))
gadget_plug disk

column_local_up() { SS=$(gadget_sysfs ss); DISK=$(gadget_sysfs disk); }
column_local_down() { :; }

column_usbip_up() {
  usbip_export "$(gadget_busid ss)"
  usbip_export "$(gadget_busid disk)"
  SS=$(usbip_import "$(gadget_busid ss)")
  DISK=$(usbip_import "$(gadget_busid disk)")
}
column_usbip_down() {
  usbip_detach_all
  wait_gone "$SS" 20; wait_gone "$DISK" 20
  usbip unbind -b "$(gadget_busid ss)" >/dev/null
  usbip unbind -b "$(gadget_busid disk)" >/dev/null
}

# wg: the same kernel usbip, its TCP inside a WireGuard tunnel. usbipd runs
# in namespace wgs behind a veth (wg1, 10.77.0.2); the client attaches from
# the root namespace through wg0 (10.77.0.1). Each interface is created in
# its own namespace, where its UDP socket then lives.
column_wg_up() {
  mod wireguard
  netns_new wgs
  veth_link "" wgv0 192.168.77.1/24 wgs wgv1 192.168.77.2/24
  wg genkey > /tmp/wg0.key; wg genkey > /tmp/wg1.key
  ip link add wg0 type wireguard
  wg set wg0 listen-port 51820 private-key /tmp/wg0.key \
    peer "$(wg pubkey < /tmp/wg1.key)" allowed-ips 10.77.0.2/32 endpoint 192.168.77.2:51821
  ip addr add 10.77.0.1/24 dev wg0; ip link set wg0 up
  ip -n wgs link add wg1 type wireguard
  ip netns exec wgs wg set wg1 listen-port 51821 private-key /tmp/wg1.key \
    peer "$(wg pubkey < /tmp/wg0.key)" allowed-ips 10.77.0.1/32 endpoint 192.168.77.1:51820
  ip -n wgs addr add 10.77.0.2/24 dev wg1; ip -n wgs link set wg1 up
  mod usbip_host
  pkill -x usbipd || true
  check "starting usbipd in namespace wgs" ip netns exec wgs usbipd -D
  check "usbip bind -b $(gadget_busid ss)" usbip bind -b "$(gadget_busid ss)"
  check "usbip bind -b $(gadget_busid disk)" usbip bind -b "$(gadget_busid disk)"
  SS=$(usbip_import "$(gadget_busid ss)" 10.77.0.2)
  DISK=$(usbip_import "$(gadget_busid disk)" 10.77.0.2)
  # Every byte really went through the tunnel: its peer has had a handshake.
  wg show wg0 latest-handshakes | awk '$2 > 0 { ok = 1 } END { exit !ok }' || fail "no WireGuard handshake on wg0"
}
column_wg_down() {
  column_usbip_down
  pkill -x usbipd || true
  ip link del wg0
  ip netns del wgs
}

# usbhop: serve exports both gadgets (a [share] matching everything), attach
# imports them through vhci_hcd; keys, authorized_keys and configs under /tmp
# as attach_lib.sh makes them. Logs: /tmp/serve.log, /tmp/attach.log.
column_usbhop_up() {
  CLIENT_EXTRA="max_udp_payload = $PAYLOAD" attach_lab_init "max_udp_payload = $PAYLOAD"
  serve_start
  attach_start 1209:4c42 1d6b:0104
  attach_wait_lines 2 >/dev/null
  wait_for 60 "the SourceSink under vhci_hcd (usbhop)" imported_present 1209 4c42
  wait_for 60 "the disk under vhci_hcd (usbhop)" imported_present 1d6b 0104
  SS=$(imported 1209 4c42); DISK=$(imported 1d6b 0104)
  wait_for 20 "$SS to be configured" grep -q . "$SS/bConfigurationValue"
  wait_for 20 "$DISK to be configured" grep -q . "$DISK/bConfigurationValue"
  # The AEAD the connection chose for this guest's CPU (serve's connect line).
  USBHOP_CIPHER_USED=$(sed -n 's/.*connected from .* (\([a-z0-9-]*\))$/\1/p' /tmp/serve.log | tail -n 1)
}
column_usbhop_down() {
  attach_stop
  kill -0 "$SERVE" 2>/dev/null || fail "usbhop serve died during the benchmark: $(tail -n 20 /tmp/serve.log)"
  kill -TERM "$SERVE"; wait "$SERVE" || true
}

# field KEY LINE: the value of KEY=value in LINE.
field() { printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }

# dd_mbps ARGS...: run dd with ARGS, print MB/s (10^6 bytes) from our own clock.
dd_mbps() {
  local t0 t1
  t0=$(date +%s.%N)
  dd "$@" status=none
  t1=$(date +%s.%N)
  awk -v b=$((DISK_MIB * 1048576)) -v a="$t0" -v z="$t1" 'BEGIN { printf "%.1f", b / (z - a) / 1e6 }'
}

measure() {
  local col=$1 ss_addr out dev
  # Measure a quiet system: udev has probed the devices this column brought.
  udevadm settle --timeout=60 || true
  ss_addr=$(cat "$SS/busnum"):$(cat "$SS/devnum")
  say "$col: GET_DESCRIPTOR x $CTRL_N on $ss_addr"
  out=$(check "ctrl_rtt on $col" ctrl_rtt "$ss_addr" "$CTRL_N")
  R[$col,p50]=$(field p50_ms "$out"); R[$col,p99]=$(field p99_ms "$out")
  for d in in out; do
    say "$col: bulk $d, $BULK_MIB MiB, 8 x 64 KiB in flight"
    out=$(check "bulk_bench $d on $col" bulk_bench "$ss_addr" $d "$BULK_MIB" 8 64)
    R[$col,bulk_$d]=$(field MBps "$out")
    # A run of 32 MiB or more also times its first and last 16 MiB (issue 13).
    [ -z "$(field first16_MBps "$out")" ] ||
      say "$col: bulk $d, first 16 MiB $(field first16_MBps "$out") MB/s, last 16 MiB $(field last16_MBps "$out") MB/s"
  done
  dev=$(wait_block "$DISK")
  say "$col: dd $DISK_MIB MiB O_DIRECT on $dev"
  R[$col,dd_read]=$(dd_mbps if="$dev" of=/dev/null bs=1M count="$DISK_MIB" iflag=direct)
  R[$col,dd_write]=$(dd_mbps if=/dev/zero of="$dev" bs=1M count="$DISK_MIB" oflag=direct conv=fsync)
  for m in p50 p99 bulk_in bulk_out dd_read dd_write; do
    # A blank or non-number here would print as a table that looks fine.
    [[ "${R[$col,$m]}" =~ ^[0-9]+(\.[0-9]+)?$ ]] || fail "column $col: no figure for $m (got '${R[$col,$m]}')"
    echo "BENCH $col $m ${R[$col,$m]}"
  done
}

# Only the ratios whose two columns are both in this run.
ratios=()
for r in "${RATIOS[@]}"; do
  [[ " $COLUMNS " == *" ${r%/*} "* && " $COLUMNS " == *" ${r#*/} "* ]] && ratios+=("$r")
done

for col in $COLUMNS; do
  say "column $col: ${TITLE[$col]:-$col}"
  "column_${col}_up"
  measure "$col"
  "column_${col}_down"
done

# The table: one row per measurement, a column per way of reaching the
# devices, then the ratios: for round trips lower is better, for MB/s higher.
rows=("p50|GET_DESCRIPTOR round trip p50 (ms)" "p99|GET_DESCRIPTOR round trip p99 (ms)"
      "bulk_in|SourceSink bulk IN, 8 x 64 KiB in flight (MB/s)"
      "bulk_out|SourceSink bulk OUT, 8 x 64 KiB in flight (MB/s)"
      "dd_read|mass storage dd ${DISK_MIB} MiB O_DIRECT read (MB/s)"
      "dd_write|mass storage dd ${DISK_MIB} MiB O_DIRECT write (MB/s)")
echo
echo "lab benchmark, $(uname -r), TCG $(nproc) vCPUs, one boot${1:+ ($1)}"
head="| measurement |"; rule="|---|"
for col in $COLUMNS; do head="$head ${TITLE[$col]:-$col} |"; rule="$rule---|"; done
for r in "${ratios[@]}"; do head="$head ${r%/*} / ${r#*/} |"; rule="$rule---|"; done
echo "$head"; echo "$rule"
for r in "${rows[@]}"; do
  key=${r%%|*} line="| ${r#*|} |"
  for col in $COLUMNS; do line="$line ${R[$col,$key]} |"; done
  for r in "${ratios[@]}"; do
    line="$line $(awk -v a="${R[${r%/*},$key]}" -v b="${R[${r#*/},$key]}" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }') |"
  done
  echo "$line"
done

# The ceiling for any encrypting transport in this guest
# (tests/lab/README.md#reference-figures): what
# GnuTLS's AEAD ciphers manage on one vCPU. usbhop encrypts (QUIC, TLS 1.3),
# kernel usbip does not, so its column is read against this line too. Only
# the AEAD block is wanted: awk stops reading after it (each cipher is timed
# for a few seconds, the whole list takes minutes).
if [[ " $COLUMNS " == *" usbhop "* ]]; then
  command -v gnutls-cli >/dev/null || fail "gnutls-cli is missing: the cipher ceiling cannot be printed beside usbhop's column"
  timeout 120 gnutls-cli --benchmark-ciphers 2>&1 | awk '/AES-128-GCM|CHACHA20-POLY1305/ { print; n++ } n == 2 { exit }' > /tmp/ciphers || true
  [ "$(grep -c . /tmp/ciphers)" = 2 ] || fail "gnutls-cli --benchmark-ciphers gave no AES-128-GCM / CHACHA20-POLY1305 figures: $(cat /tmp/ciphers)"
  echo
  echo "cipher ceiling in this guest, this boot (gnutls-cli --benchmark-ciphers, one vCPU); usbhop"
  echo "encrypts every byte with one of these; kernel usbip sends plain text (the wg column's"
  echo "tunnel encrypts it in the kernel, ChaCha20-Poly1305):"
  sed 's/^ */  /' /tmp/ciphers
  echo "usbhop's connection used ${USBHOP_CIPHER_USED:-(none found in the serve log)}, chosen for this CPU (quic/cipher.hpp)."
  echo
  if [[ " $COLUMNS " != *" wg "* ]]; then
    echo "encrypted reference, measured ELSEWHERE (tests/lab/README.md, \"Reference figures\": another boot of this lab,"
    echo "not comparable figure by figure): kernel usbip inside a WireGuard tunnel between two network"
    echo "namespaces, server behind a veth: GET_DESCRIPTOR p50 2.0 ms, bulk IN 28 MB/s, bulk OUT 26 MB/s,"
    echo "dd read 9.9 MB/s, dd write 10.2 MB/s (plain kernel usbip over the same veth, same boot:"
    echo "0.78 ms, 92, 69, 31, 34 MB/s)."
  fi
fi
