# The lab benchmark: one guest boot, the same measurements on each "column"
# (a way of reaching the devices), printed as a table with ratios to local.
#
#   columns   local  the gadgets on dummy_hcd, used directly
#             usbip  the same gadgets through the kernel's usbip over loopback
#   rows      GET_DESCRIPTOR round trip p50/p99 (ctrl_rtt), SourceSink bulk
#             IN/OUT with 8 x 64 KiB in flight (bulk_bench), mass storage
#             dd O_DIRECT read/write
#
# To add a column (e.g. usbhop): write column_<name>_up (sets SS and DISK to
# the sysfs folders of the SourceSink and disk devices as the measuring side
# sees them) and column_<name>_down (undoes it), add <name> to COLUMNS and a
# title to TITLE. --quick (CI) uses small sizes: it proves the bench works.
# lab-timeout: 1500
. "$LAB/lib.sh"

if [ "${1:-}" = --quick ]; then CTRL_N=200 BULK_MIB=16 DISK_MIB=16
else CTRL_N=2000 BULK_MIB=256 DISK_MIB=128
fi
COLUMNS=${LAB_BENCH_COLUMNS:-"local usbip"}
declare -A TITLE=([local]="local (dummy_hcd)" [usbip]="kernel usbip")
declare -A R   # R[column,metric] = value

net_lo
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
  ss_addr=$(cat "$SS/busnum"):$(cat "$SS/devnum")
  say "$col: GET_DESCRIPTOR x $CTRL_N on $ss_addr"
  out=$(check "ctrl_rtt on $col" ctrl_rtt "$ss_addr" "$CTRL_N")
  R[$col,p50]=$(field p50_ms "$out"); R[$col,p99]=$(field p99_ms "$out")
  for d in in out; do
    say "$col: bulk $d, $BULK_MIB MiB, 8 x 64 KiB in flight"
    out=$(check "bulk_bench $d on $col" bulk_bench "$ss_addr" $d "$BULK_MIB" 8 64)
    R[$col,bulk_$d]=$(field MBps "$out")
  done
  dev=$(wait_block "$DISK")
  say "$col: dd $DISK_MIB MiB O_DIRECT on $dev"
  R[$col,dd_read]=$(dd_mbps if="$dev" of=/dev/null bs=1M count="$DISK_MIB" iflag=direct)
  R[$col,dd_write]=$(dd_mbps if=/dev/zero of="$dev" bs=1M count="$DISK_MIB" oflag=direct conv=fsync)
  for m in p50 p99 bulk_in bulk_out dd_read dd_write; do echo "BENCH $col $m ${R[$col,$m]}"; done
}

for col in $COLUMNS; do
  say "column $col: ${TITLE[$col]:-$col}"
  "column_${col}_up"
  measure "$col"
  "column_${col}_down"
done

# The table: one row per measurement, a column per way of reaching the
# devices, then each non-local column's ratio to local.
rows=("p50|GET_DESCRIPTOR round trip p50 (ms)" "p99|GET_DESCRIPTOR round trip p99 (ms)"
      "bulk_in|SourceSink bulk IN, 8 x 64 KiB in flight (MB/s)"
      "bulk_out|SourceSink bulk OUT, 8 x 64 KiB in flight (MB/s)"
      "dd_read|mass storage dd ${DISK_MIB} MiB O_DIRECT read (MB/s)"
      "dd_write|mass storage dd ${DISK_MIB} MiB O_DIRECT write (MB/s)")
echo
echo "lab benchmark, $(uname -r), TCG $(nproc) vCPUs, one boot${1:+ ($1)}"
head="| measurement |"; rule="|---|"
for col in $COLUMNS; do head="$head ${TITLE[$col]:-$col} |"; rule="$rule---|"; done
for col in $COLUMNS; do [ "$col" = local ] || { head="$head ${col} / local |"; rule="$rule---|"; }; done
echo "$head"; echo "$rule"
for r in "${rows[@]}"; do
  key=${r%%|*} line="| ${r#*|} |"
  for col in $COLUMNS; do line="$line ${R[$col,$key]} |"; done
  for col in $COLUMNS; do
    [ "$col" = local ] && continue
    line="$line $(awk -v a="${R[$col,$key]}" -v b="${R[local,$key]}" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }') |"
  done
  echo "$line"
done

# The ceiling for any encrypting transport in this guest (LAB.md): what
# GnuTLS's AEAD ciphers manage on one vCPU. Printed beside the table so a
# usbhop column can be read against it.
if [ "${1:-}" != --quick ] && command -v gnutls-cli >/dev/null; then
  timeout 60 gnutls-cli --benchmark-ciphers > /tmp/ciphers 2>&1 || true
  echo
  echo "cipher ceiling in this guest (gnutls-cli --benchmark-ciphers, one vCPU):"
  grep -E 'AES-128-GCM|CHACHA20-POLY1305' /tmp/ciphers | head -n 2 | sed 's/^ */  /'
fi
