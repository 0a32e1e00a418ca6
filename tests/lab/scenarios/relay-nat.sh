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
# Second argument `restart` (fully-random only): then the relay is restarted
# in the middle of a second copy, which must resume and complete intact. It
# does not yet (the server's re-registration is not taken; issue 7), so that
# variant is not registered with meson until it passes.
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
# The relay's total forwarded bytes, from its last "relay stopping" line.
relay_forwarded() {
  sed -n 's/.*relay stopping: .* relayed, \(.*\) forwarded$/\1/p' /tmp/relay.log | tail -n1 |
    awk '$2 == "MB" { printf "%d\n", $1 * 1000000; next } $2 == "kB" { printf "%d\n", $1 * 1000; next } { print $1 }'
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
  copy_check direct 32
  relay_stop
  fwd=$(relay_forwarded)
  say "the relay forwarded $fwd bytes in all (enumeration before the switch); 32 MiB went direct"
  [ "${fwd:-0}" -lt 4000000 ] || fail "the relay forwarded $fwd bytes: the copy did not go direct"
else
  copy_check relayed 16
  grep -q "released by a peer" /tmp/relay.log && fail "punching through a fully-random NAT should fail, yet the relay released the session"
  grep -q "is direct now" /tmp/attach.log && fail "the client claims a direct path through a fully-random NAT"
  say "still relayed, data intact"
fi
if [ "$NAT" = fully-random ] && [ "$STEP" = restart ]; then
  say "restart the relay in the middle of a copy"
  random_file /tmp/restart.bin 16
  ( dd if=/tmp/restart.bin of="$dev" bs=1M oflag=direct conv=fsync status=none; echo $? > /tmp/restart.rc ) &
  writer=$!
  sleep 2
  relay_stop
  fwd=$(relay_forwarded)
  [ "${fwd:-0}" -gt 16000000 ] || fail "the relay forwarded only $fwd bytes for a relayed 16 MiB copy"
  say "relay stopped after forwarding $fwd bytes; starting it again"
  relay_start
  wait $writer
  expect_eq "the copy across the relay restart" "$(cat /tmp/restart.rc)" 0
  dd if="$dev" of=/tmp/restart.back bs=1M count=16 iflag=direct status=none || fail "reading back after the restart"
  expect_eq "data written across the relay restart" "$(sha /tmp/restart.back)" "$(sha /tmp/restart.bin)"
  grep -q "registering again" /tmp/serve.log || fail "the server never noticed the relay restart"
fi

attach_stop
kill -0 $SERVE || fail "usbhop serve died"
say "PASS"
