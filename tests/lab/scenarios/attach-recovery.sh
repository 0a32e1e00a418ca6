# lab-timeout: 1500
# Recovery after a cut, with the default settings (issue 18): serve runs in
# its own network namespace behind a veth, attach in the root namespace; in
# the middle of a 200 MiB O_DIRECT copy to the attached disk the network
# between the two is dropped (nftables, input hook, both sides: a silent cut,
# no send errors), twice: 10 s, then 15 s. The QUIC connection outlives the
# cuts (idle timeout 60 s), so this measures loss recovery, not reconnecting:
# the time from the network coming back to the client's disk completing a
# write again (sectors written, /sys/block/sdX/stat) is measured after each
# cut against the 2 s target (LAB-RESULT), and the copy must arrive intact in
# the gadget's backing file.
# What is asserted: writes move again without a reconnect and within the
# cut's length + 3 s (the sender's own PTO ladder, RFC 9002 §6.2.1, bounds
# it there). The 2 s target is met when the stall probe's PING can leave
# (quic/connection.cpp "stall probe"); a cut that finds the client's
# congestion window full leaves only ngtcp2 1.11's PTO probes (seen once in
# six cuts: 8.6 s after a 15 s cut), so the target is reported, not
# asserted, until that is solved (issue 18). LAB_RECOVERY_STRICT=1 asserts
# the target too.
# Two lengths because without a probe of its own the wait is where the cut
# ends on the sender's PTO ladder (each unanswered probe doubles the next
# wait, RFC 9002 §6.2.1): one length can end just before a probe by luck,
# but 10 s and 15 s cannot both (the ladder's steps double).
# Unlike attach-cut, no timer is shortened here (only reconnect_max, which a
# connection that never drops does not use). LAB_CUTS="10 15" sets the cuts.
. "$LAB/lib.sh"
. "$LAB/helpers/attach_lib.sh"

MIB=200
CUTS=${LAB_CUTS:-10 15}
TARGET_MS=2000

net_lo
netns_new srv
veth_link srv eth0 10.9.0.2/24 "" cut0 10.9.0.1/24
check "the server's namespace is reachable" busybox ping -c1 -W5 10.9.0.2

gadgets_init 1
gadget_new disk 0x1d6b 0x0104 "lab disk"
gadget_mass_storage disk /tmp/disk.img $MIB
gadget_plug disk
SERVE_NS=srv SERVE_ADDR=10.9.0.2 SERVE_CONNECT=10.9.0.2 attach_lab_init
SERVE_NS=srv serve_start
attach_start 1d6b:0104
attach_wait_lines 1
dev=$(imported_block 1d6b 0104)
stat=/sys/block/${dev#/dev/}/stat

# written: sectors the client's disk has completed writing (field 7 of stat).
written() { local a; read -r -a a < "$stat"; echo "${a[6]}"; }
written_over() { [ "$(written)" -gt "$1" ]; }
now_ms() { local t=${EPOCHREALTIME/./}; echo $(( t / 1000 )); }

cut_on() {
  local ns
  for ns in srv ""; do
    in_ns "$ns" nft -f - <<NFT
table inet usbhop_cut {
  chain in { type filter hook input priority 0; iifname { "eth0", "cut0" } drop; }
}
NFT
  done
}
cut_off() { in_ns srv nft delete table inet usbhop_cut; nft delete table inet usbhop_cut; }

# cut_for SECS: drop the network for SECS seconds while the copy runs; sets
# RECOVERED to how long after it came back the disk completed a write (ms).
cut_for() {
  local secs=$1 stalled back
  cut_on
  say "network cut for $secs s ($(( $(written) / 2048 )) MiB written so far)"
  sleep 2
  stalled=$(written)
  sleep $(( secs - 2 ))
  [ "$(written)" = "$stalled" ] || fail "writes went on during the cut: is the network really cut?"
  kill -0 $DD || fail "the copy finished during the cut; make it larger"
  cut_off
  back=$(now_ms)
  while [ "$(written)" = "$stalled" ]; do
    [ $(( $(now_ms) - back )) -lt 60000 ] || fail "no write completed within 60 s of the network coming back"
    sleep 0.01
  done
  RECOVERED=$(( $(now_ms) - back ))
  say "network back; writes moved again ${RECOVERED} ms later"
}

random_file /tmp/pattern.bin $MIB
say "copying $MIB MiB to $dev (O_DIRECT); the network goes away in the middle, for ${CUTS// / s, then } s"
dd if=/tmp/pattern.bin of="$dev" bs=1M oflag=direct conv=fsync status=none &
DD=$!
results=() slow=() missed=()
for secs in $CUTS; do
  mark=$(written) t0=$(now_ms)
  wait_for 60 "8 MiB more of the copy written" written_over $(( mark + 8 * 2048 ))
  say "copying at $(( ($(written) - mark) * 512 / ($(now_ms) - t0) )) kB/s"
  kill -0 $DD || fail "the copy finished before the cut; make it larger"
  cut_for "$secs"
  results+=("${secs}s:${RECOVERED}ms")
  [ "$RECOVERED" -lt $(( secs * 1000 + 3000 )) ] || slow+=("${RECOVERED} ms after the ${secs} s cut")
  [ "$RECOVERED" -lt $TARGET_MS ] || missed+=("${RECOVERED} ms after the ${secs} s cut")
done
echo "LAB-RESULT recovery ${results[*]} (target ${TARGET_MS} ms; missed: ${#missed[@]})"
mark=$(written) t0=$(now_ms)
wait $DD || fail "the copy failed across the cuts: $(tail -5 /tmp/attach.log)"
say "the copy completed (after the last cut at $(( ($(written) - mark) * 512 / ($(now_ms) - t0 + 1) )) kB/s)"
grep -q '^detached' /tmp/attach.log && fail "the device was detached during a cut: $(cat /tmp/attach.log)"
grep -q "session resumed" /tmp/attach.log && say "note: the connection was lost and the session resumed"
same_bytes /tmp/pattern.bin /tmp/disk.img $MIB
attach_stop
kill -0 $SERVE || fail "usbhop serve died"
[ ${#slow[@]} -eq 0 ] || fail "recovery took longer than the cut + 3 s: ${slow[*]}"
if [ ${#missed[@]} -gt 0 ]; then
  [ "${LAB_RECOVERY_STRICT:-0}" = 1 ] && fail "recovery took longer than ${TARGET_MS} ms: ${missed[*]}"
  say "note: the ${TARGET_MS} ms target was missed: ${missed[*]}"
fi
say "PASS"
