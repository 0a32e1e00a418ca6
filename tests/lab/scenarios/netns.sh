# lab-netns: the network helpers build what NAT scenarios need. A server
# behind one NAT router and a client behind another, both routers on a
# "public" segment; the client reaches the public side and the server's
# router sees masqueraded traffic (normal and fully-random).
# lab-timeout: 300
. "$LAB/lib.sh"

net_lo
for ns in srv nat1 pub nat2 cli; do netns_new $ns; done
veth_link srv  eth0 10.1.0.2/24   nat1 in   10.1.0.1/24
veth_link nat1 out  192.0.2.1/24  pub  p1   192.0.2.254/24
veth_link nat2 out  192.0.2.2/24  pub  p2   192.0.2.253/24
veth_link cli  eth0 10.2.0.2/24   nat2 in   10.2.0.1/24
# pub bridges its two legs.
ip -n pub link add br0 type bridge
ip -n pub link set p1 master br0; ip -n pub link set p2 master br0
ip -n pub addr flush dev p1; ip -n pub addr flush dev p2
ip -n pub addr add 192.0.2.254/24 dev br0; ip -n pub link set br0 up
route_default srv 10.1.0.1
route_default cli 10.2.0.1
nat_masquerade nat1 out
nat_masquerade nat2 out fully-random

ping1() { in_ns "$1" busybox ping -c1 -W5 "$2" >/dev/null; }
check "srv reaches its router's public address" ping1 srv 192.0.2.1
check "cli reaches the other router's public address through its NAT" ping1 cli 192.0.2.1

# A UDP listener on the public segment must see cli's datagram coming from
# nat2's public address, not from 10.2.0.2.
# The listener says when it is bound (python starts slowly over 9p on a busy
# host); the sender repeats until the listener has its datagram.
in_ns pub python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("192.0.2.254", 5000)); s.settimeout(120)
open("/tmp/listening", "w").close()
print(s.recvfrom(100)[1][0], flush=True)' > /tmp/seen &
listener=$!
wait_path /tmp/listening 60
in_ns cli python3 -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(20):
    s.sendto(b"hi", ("192.0.2.254", 5000)); time.sleep(0.5)' &
sender=$!
wait $listener || fail "the listener on pub got nothing"
kill $sender 2>/dev/null; wait $sender 2>/dev/null || true
expect_eq "source address pub sees for cli" "$(cat /tmp/seen)" "192.0.2.2"
check "nat2's masquerade rule is fully-random" sh -c "ip netns exec nat2 nft list ruleset | grep -q 'masquerade fully-random'"
say "netns passed"
