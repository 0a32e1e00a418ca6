# lab-timeout: 1500
# usbhop relay between two NATs (docs/relay.md). The server (usbhop serve,
# with a mass-storage gadget) sits behind one NAT router, the client (usbhop
# attach, given only the ticket `usbhop id --server` prints) behind another,
# and usbhop relay on the "public" segment between the routers:
#
#   srv 10.1.0.2 -- nat1 198.51.100.1 --+-- pub 198.51.100.254 (relay)
#   cli 10.2.0.2 -- nat2 198.51.100.2 --+
#
# Argument: the NATs' kind.
#   masquerade     nftables masquerade keeps ports: punching works, the
#                  session moves to a direct path, the relay releases it and
#                  its byte counter stops growing while 32 MiB are copied.
#   fully-random   a new port per destination (symmetric NAT): the session
#                  stays relayed and the copy still checks out.
# `usbhop status --json` must say so: both ends' connection direct with
# masquerade, relayed via the relay with fully-random, each with an RTT.
# Second argument `restart`: then the relay is restarted in the middle of a
# second copy. Relayed (fully-random), both ends register again, the session
# resumes and the copy completes intact; direct (masquerade), the session
# does not notice.
# (The public segment is 198.51.100.0/24 so that no real address is in
# 192.0.2.0/24, which usbhop uses to label relayed paths.)
. "$LAB/lib.sh"
. "$LAB/helpers/attach_lib.sh"

NAT=${1:-masquerade}
STEP=${2:-}
case $NAT in masquerade) flags="" ;; fully-random) flags=fully-random ;; *) fail "unknown NAT kind '$NAT'" ;; esac
RLY=/tmp/rly
RELAY_AT=198.51.100.254:7575

say "networks: server and client each behind a NAT ($NAT), relay on the public segment"
net_lo
for ns in srv nat1 pub nat2 cli; do netns_new $ns; done
veth_link srv  eth0 10.1.0.2/24       nat1 in  10.1.0.1/24
veth_link nat1 out  198.51.100.1/24   pub  p1  198.51.100.253/24
veth_link nat2 out  198.51.100.2/24   pub  p2  198.51.100.252/24
veth_link cli  eth0 10.2.0.2/24       nat2 in  10.2.0.1/24
ip -n pub link add br0 type bridge
ip -n pub link set p1 master br0; ip -n pub link set p2 master br0
ip -n pub addr flush dev p1; ip -n pub addr flush dev p2
ip -n pub addr add 198.51.100.254/24 dev br0; ip -n pub link set br0 up
route_default srv 10.1.0.1
route_default cli 10.2.0.1
nat_masquerade nat1 out $flags
nat_masquerade nat2 out $flags
# Like a home router: unsolicited datagrams to the router itself are dropped
# (before conntrack confirms them, so a punch that arrives before our own
# outbound one leaves no entry that would make masquerade pick another port).
for r in nat1 nat2; do
  in_ns $r nft -f - <<EOF
table ip lab_fw {
  chain input { type filter hook input priority 0; policy accept; iifname "out" ct state new drop; }
}
EOF
done
check "the server's NAT reaches the relay" in_ns srv busybox ping -c1 -W5 198.51.100.254

say "the relay: its own key, and it trusts the server and the client"
mkdir -p -m 0700 $RLY
cat > $RLY/usbhop.conf <<CONF
[relay]
listen = $RELAY_AT
identity = $RLY/identity.key
authorized_keys = $RLY/relay_authorized_keys
CONF
RELAY_ID=$(usbhop -c $RLY/usbhop.conf id --relay)

gadgets_init 1
gadget_new disk 0x1d6b 0x0104 "lab disk"
gadget_mass_storage disk /tmp/disk.img 96
gadget_plug disk
SERVE_ADDR=0.0.0.0 attach_lab_init "relay = $RELAY_AT $RELAY_ID"
check "trusting the server at the relay" usbhop -c $RLY/usbhop.conf trust --relay "$SERVER_ID" server >/dev/null
check "trusting the client at the relay" usbhop -c $RLY/usbhop.conf trust --relay "$CLIENT_ID" client >/dev/null
TICKET=$(usbhop -c $SRV/usbhop.conf id --server 2>&1 >/dev/null | sed -n 's/.*through the relay: //p')
[ -n "$TICKET" ] || fail "usbhop id --server printed no ticket"
say "ticket: $TICKET"

relay_start() {
  ip netns exec pub usbhop -c $RLY/usbhop.conf relay >> /tmp/relay.log 2>&1 &
  RELAY=$!
  sleep 1
  kill -0 $RELAY 2>/dev/null || { cat /tmp/relay.log; fail "usbhop relay exited at once"; }
}
relay_stop() {
  kill -TERM $RELAY
  wait $RELAY || fail "usbhop relay exited with status $? on SIGTERM"
}
# The relay's total forwarded bytes, from its "relay stopping" lines (one
# per run of the relay, summed).
relay_forwarded() {
  sed -n 's/.*relay stopping: .* relayed, \(.*\) forwarded$/\1/p' /tmp/relay.log | sum_bytes
}
# sum_bytes: the sum of the relay's "12.5 MB" / "9.3 kB" / "812 bytes" lines on stdin, in bytes.
sum_bytes() {
  awk '$2 == "MB" { n += $1 * 1000000; next } $2 == "kB" { n += $1 * 1000; next } { n += $1 } END { printf "%d\n", n }'
}

# On any exit, the three logs' last lines (a failure names the step; these say why).
trap 'for l in relay serve attach; do echo "---- $l.log ----"; tail -n 25 /tmp/$l.log 2>/dev/null; done' EXIT

relay_start
SERVE_NS=srv serve_start
wait_for 30 "the server to register with the relay" grep -q "registered with relay" /tmp/serve.log

say "usbhop attach <ticket> from behind the other NAT"
ip netns exec cli usbhop -c $CLI/usbhop.conf attach "$TICKET" 1d6b:0104 > /tmp/attach.log 2>&1 &
ATTACH=$!
attach_wait_lines 1 120
dev=$(imported_block 1d6b 0104)
say "the disk appears on the client as $dev"

# status_path KIND: usbhop status --json has attach's connection to the
# server and serve's from the client, both KIND (direct, or relayed via the
# relay) with an RTT.
status_path() {
  usbhop status --json | python3 -c '
import json, sys
s = json.load(sys.stdin)
server, client, kind, relay = sys.argv[1:5]
by_role = {c["role"]: c for c in s["connections"]}
a, v = by_role["attach"], by_role["serve"]
via = relay if kind == "relayed" else None
assert (a["peer"], a["state"], a["path"], a["via"]) == (server, "ready", kind, via), a
assert (v["peer"], v["state"], v["path"], v["via"]) == (client, "ready", kind, via), v
assert 0 < a["rtt_ms"] < 10000 and 0 < v["rtt_ms"] < 10000, (a, v)
' "$SERVER_ID" "$CLIENT_ID" "$1" "$RELAY_AT"
}

# copy_across_restart: write 16 MiB through usbhop while the relay is
# stopped and started again 2 s in; the copy must complete, intact.
copy_across_restart() {
  random_file /tmp/restart.bin 16
  ( dd if=/tmp/restart.bin of="$dev" bs=1M oflag=direct conv=fsync status=none; echo $? > /tmp/restart.rc ) &
  writer=$!
  sleep 2
  relay_stop
  say "relay stopped after forwarding $(relay_forwarded) bytes in all; starting it again"
  relay_start
  wait $writer
  expect_eq "the copy across the relay restart" "$(cat /tmp/restart.rc)" 0
  dd if="$dev" of=/tmp/restart.back bs=1M count=16 iflag=direct status=none || fail "reading back after the restart"
  expect_eq "data written across the relay restart" "$(sha /tmp/restart.back)" "$(sha /tmp/restart.bin)"
}

copy_check() {   # copy_check NAME MIB: write MIB of random data through usbhop, read it back, compare
  random_file /tmp/$1.bin "$2"
  dd if=/tmp/$1.bin of="$dev" bs=1M oflag=direct conv=fsync status=none || fail "writing $1 through usbhop"
  dd if="$dev" of=/tmp/$1.back bs=1M count="$2" iflag=direct status=none || fail "reading $1 back through usbhop"
  expect_eq "$1 read back through usbhop" "$(sha /tmp/$1.back)" "$(sha /tmp/$1.bin)"
  expect_eq "$1 on the gadget's backing file" "$(head -c $(( $2 * 1024 * 1024 )) /tmp/disk.img | sha256sum | cut -d' ' -f1)" "$(sha /tmp/$1.bin)"
}

if [ "$NAT" = masquerade ]; then
  wait_for 60 "the session to go direct (relay releases it)" grep -q "released by a peer" /tmp/relay.log
  say "direct: $(grep -m1 'is direct now' /tmp/attach.log || true)"
  wait_for 10 "usbhop status --json to report the connection direct on both ends" status_path direct
  status_path direct || fail "usbhop status --json: $(usbhop status --json)"
  usbhop status
  copy_check direct 32
  if [ "$STEP" = restart ]; then
    say "restart the relay in the middle of a direct copy: the session does not notice"
    copy_across_restart
    status_path direct || fail "usbhop status --json after the restart: $(usbhop status --json)"
  fi
  relay_stop
  fwd=$(relay_forwarded)
  # The session's counter stopped when it was released: nothing went through
  # the relay after that, however much was copied.
  released=$(sed -n 's/.*released by a peer .*; \([0-9.]* [A-Za-z]*\) forwarded.*/\1/p' /tmp/relay.log | head -n1 | sum_bytes)
  say "the relay forwarded $fwd bytes in all, the session $released until it was released; 32 MiB went direct"
  [ "${fwd:-0}" -lt 4000000 ] || fail "the relay forwarded $fwd bytes: the copy did not go direct"
  expect_eq "bytes the relay forwarded in all (the session's counter stopped at its release)" "$fwd" "$released"
  grep -q "session .* opened" <(sed -n '/released by a peer/,$p' /tmp/relay.log) && fail "the relay opened another session after the release"
else
  wait_for 10 "usbhop status --json to report the connection relayed on both ends" status_path relayed
  status_path relayed || fail "usbhop status --json: $(usbhop status --json)"
  usbhop status
  copy_check relayed 16
  grep -q "released by a peer" /tmp/relay.log && fail "punching through a fully-random NAT should fail, yet the relay released the session"
  grep -q "is direct now" /tmp/attach.log && fail "the client claims a direct path through a fully-random NAT"
  say "still relayed, data intact"
fi
if [ "$NAT" = fully-random ] && [ "$STEP" = restart ]; then
  say "restart the relay in the middle of a relayed copy"
  copy_across_restart
  fwd=$(relay_forwarded)
  [ "${fwd:-0}" -gt 16000000 ] || fail "the relay forwarded only $fwd bytes for relayed copies of 16 MiB and more"
  grep -q "registering again" /tmp/serve.log || fail "the server never noticed the relay restart"
  grep -q "registering again" /tmp/attach.log || fail "the client never noticed the relay restart"
  wait_for 10 "usbhop status --json to report the connection relayed after the restart" status_path relayed
fi

attach_stop
kill -0 $SERVE || fail "usbhop serve died"
say "PASS"
