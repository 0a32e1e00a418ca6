# lab-timeout: 1500
# Who may use usbhop relay, and what a relay cannot do (docs/relay.md).
# Same networks as relay-nat.sh with fully-random NATs, so that every packet
# goes through the relay:
#   1. a client the relay does not trust cannot register: attach says so, the
#      relay logs one line naming the node and the command that would trust it;
#   2. a datagram claiming to register as the server with a signature made
#      without its key is refused ("bad signature") and the server stays
#      registered;
#   3. the client trusted (usbhop trust --relay + SIGHUP), and the relay
#      replaced by relay_tamper, which flips a bit in every 25th packet it
#      forwards: the disk is attached, 16 MiB are written and read back, and
#      the checksums (through usbhop and on the gadget's backing file) match.
. "$LAB/lib.sh"
. "$LAB/helpers/attach_lib.sh"

RLY=/tmp/rly
RELAY_AT=198.51.100.254:7575
TAMPER=$BUILD/tests/integration/relay/relay_tamper
[ -x "$TAMPER" ] || fail "no $TAMPER (build tests/integration/relay/relay_tamper)"

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
nat_masquerade nat1 out fully-random
nat_masquerade nat2 out fully-random
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
TICKET=$(usbhop -c $SRV/usbhop.conf id --server 2>&1 >/dev/null | sed -n 's/.*through the relay: //p')
[ -n "$TICKET" ] || fail "usbhop id --server printed no ticket"

ip netns exec pub usbhop -c $RLY/usbhop.conf relay > /tmp/relay.log 2>&1 &
RELAY=$!
SERVE_NS=srv serve_start
wait_for 30 "the server to register with the relay" grep -q "registered with relay" /tmp/serve.log

say "1. a client the relay does not trust"
ip netns exec cli usbhop -c $CLI/usbhop.conf attach "$TICKET" 1d6b:0104 > /tmp/attach.log 2>&1 &
ATTACH=$!
wait_for 30 "the relay to log the untrusted client" grep -q "node $CLIENT_ID at .* is not in the relay's authorized_keys" /tmp/relay.log
wait_for 30 "attach to say the relay refused it" grep -q "not in the relay's authorized_keys" /tmp/attach.log
grep "not in the relay's authorized_keys" /tmp/relay.log | head -n1
grep -q '^attached' /tmp/attach.log && fail "an untrusted client got a device through the relay"
kill -INT $ATTACH; wait $ATTACH || true
say "refused, with a log line on both sides"

say "2. registering as the server without its key"
ip netns exec cli python3 - "$SERVER_ID" <<'PY' > /tmp/impostor.out || fail "the impostor probe failed: $(cat /tmp/impostor.out)"
import base64, os, socket, sys
node = base64.b32decode(sys.argv[1].upper())[:32]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
relay = ("198.51.100.254", 7575)
hello = bytes([1]) + node + os.urandom(16) + bytes([3])   # wire version 3 (docs/relay.md "Wire format")
s.sendto(hello + bytes(160 - len(hello)), relay)
ch = s.recv(2048)
assert ch[0] == 2, "no CHALLENGE"
relay_nonce = ch[17:33]
s.sendto(bytes([3]) + node + relay_nonce + os.urandom(64), relay)
ans = s.recv(2048)
print("answer type", ans[0], "reason", ans[1])
assert ans[0] == 5 and ans[1] == 2, "not refused for a bad signature"
PY
cat /tmp/impostor.out
wait_for 10 "the relay to log the bad signature" grep -q "bad signature; refused" /tmp/relay.log
grep -q "unregistered" /tmp/relay.log && fail "the server lost its registration to an impostor"

say "3. trusted now, through a relay that flips bits"
check "trusting the client at the relay" usbhop -c $RLY/usbhop.conf trust --relay "$CLIENT_ID" client >/dev/null
kill -TERM $RELAY; wait $RELAY || fail "usbhop relay exited with status $? on SIGTERM"
ip netns exec pub "$TAMPER" $RLY/usbhop.conf 25 > /tmp/tamper.log 2>&1 &
TAMPERER=$!
wait_for 40 "the server to register with the tampering relay" \
  sh -c '[ "$(grep -c "registered with relay" /tmp/serve.log)" -ge 2 ] || grep -q "registering again" /tmp/serve.log'
ip netns exec cli usbhop -c $CLI/usbhop.conf attach "$TICKET" 1d6b:0104 > /tmp/attach.log 2>&1 &
ATTACH=$!
attach_wait_lines 1 180
dev=$(imported_block 1d6b 0104)
random_file /tmp/data.bin 16
dd if=/tmp/data.bin of="$dev" bs=1M oflag=direct conv=fsync status=none || fail "writing through usbhop"
dd if="$dev" of=/tmp/data.back bs=1M count=16 iflag=direct status=none || fail "reading back through usbhop"
expect_eq "16 MiB read back through the tampering relay" "$(sha /tmp/data.back)" "$(sha /tmp/data.bin)"
expect_eq "16 MiB on the gadget's backing file" "$(head -c 16777216 /tmp/disk.img | sha256sum | cut -d' ' -f1)" "$(sha /tmp/data.bin)"
attach_stop
kill -TERM $TAMPERER; wait $TAMPERER || true
cat /tmp/tamper.log | tail -n1
flips=$(sed -n 's/.*stopping: \([0-9]*\) of .*/\1/p' /tmp/tamper.log)
[ "${flips:-0}" -gt 100 ] || fail "the relay flipped only ${flips:-0} bits"
kill -0 $SERVE || fail "usbhop serve died"
say "PASS: $flips packets tampered with, every byte intact"
