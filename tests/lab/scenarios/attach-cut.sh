# lab-timeout: 900
# The network between client and server is cut for 10 s (nftables drops
# usbhop's UDP on lo) in the middle of a 48 MiB write to an attached disk.
# The client's QUIC idle timeout is 4 s here, so the connection really dies:
# usbhop attach keeps the vhci port, reconnects with backoff and resumes the
# session within the server's grace period. The write completes, and the
# gadget's backing file and a read back through usbhop match the data.
. "$LAB/lib.sh"
. "$LAB/helpers/attach_lib.sh"

gadgets_init 1
gadget_new disk 0x1d6b 0x0104 "lab disk"
gadget_mass_storage disk /tmp/disk.img 64
gadget_plug disk
CLIENT_EXTRA="idle_timeout = 4s
keep_alive = 1s"
attach_lab_init
serve_start
attach_start 1d6b:0104
attach_wait_lines 1
dev=$(imported_block 1d6b 0104)
random_file /tmp/pattern.bin 48
say "writing 48 MiB to $dev; the network goes away in the middle"
dd if=/tmp/pattern.bin of="$dev" bs=64K oflag=direct conv=fsync status=none &
DD=$!
sleep 3
kill -0 $DD || fail "the write finished before the cut; make it larger"
nft -f - <<NFT
table inet usbhop_cut {
  chain in { type filter hook input priority 0; udp dport $SERVE_PORT drop; udp sport $SERVE_PORT drop; }
}
NFT
say "network cut (udp port $SERVE_PORT dropped)"
sleep 10
nft delete table inet usbhop_cut
say "network back"
wait $DD || fail "the write failed across the cut: $(tail -5 /tmp/attach.log)"
say "the write completed"
grep -q "lost" /tmp/attach.log && say "the client saw: $(grep -m1 lost /tmp/attach.log)"
grep -q "session resumed" /tmp/attach.log || fail "the session was not resumed: $(cat /tmp/attach.log)"
grep -q '^detached' /tmp/attach.log && fail "the device was detached during the cut: $(cat /tmp/attach.log)"
same_bytes /tmp/pattern.bin "$dev" 48
attach_stop
same_bytes /tmp/pattern.bin /tmp/disk.img 48
kill -0 $SERVE || fail "usbhop serve died"
say "PASS"
