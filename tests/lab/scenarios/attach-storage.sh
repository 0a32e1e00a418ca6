# lab-timeout: 900
# A mass-storage gadget on the "server" (usbhop serve) is attached on the
# "client" (usbhop attach, same guest, over loopback) and used with the
# kernel's own usb-storage: mkfs.ext4, mount, copy a tree, sync, unmount.
# The gadget's backing file must then hold exactly that file system
# (e2fsck -fn, loop-mounted and compared file by file); attached again, the
# tree read back through usbhop compares equal too. While attached, `usbhop
# status --json` must report both ends' connection as direct with an RTT,
# and `usbhop list` on the server must say the disk is in use by the client,
# by its authorized_keys name.
. "$LAB/lib.sh"
. "$LAB/helpers/attach_lib.sh"

# status_direct: usbhop status --json has the disk, attach's connection to the
# server and serve's from the client, both direct (no relay here) with rtt_ms > 0.
status_direct() {
  usbhop status --json | python3 -c '
import json, sys
s = json.load(sys.stdin)
server, client, port = sys.argv[1:4]
assert [d["vendor"] + ":" + d["product"] for d in s["devices"]] == ["1d6b:0104"], s["devices"]
by_role = {c["role"]: c for c in s["connections"]}
a, v = by_role["attach"], by_role["serve"]
assert (a["peer"], a["state"], a["path"], a["via"], a["address"]) == (server, "ready", "direct", None, "127.0.0.1:" + port), a
assert (v["peer"], v["state"], v["path"], v["via"]) == (client, "ready", "direct", None), v
assert 0 < a["rtt_ms"] < 5000 and 0 < v["rtt_ms"] < 5000, (a, v)
' "$SERVER_ID" "$CLIENT_ID" "$SERVE_PORT"
}

gadgets_init 1
mod ext4
mod loop
gadget_new disk 0x1d6b 0x0104 "lab disk"
gadget_mass_storage disk /tmp/disk.img 96
gadget_plug disk
attach_lab_init
serve_start

say "usbhop attach $PEER 1d6b:0104"
attach_start 1d6b:0104
attach_wait_lines 1
dev=$(imported_block 1d6b 0104)
say "the disk appears on the client as $dev ($(cat /sys/class/block/${dev#/dev/}/size) sectors)"

say "usbhop status: both ends report a direct path with its round-trip time"
wait_for 10 "usbhop status --json to report a direct connection on both ends" status_direct
status_direct || fail "usbhop status --json: $(usbhop status --json)"
usbhop status

say "usbhop list on the server: the disk is in use by the client, named as authorized_keys names it"
in_use() {
  usbhop -c $SRV/usbhop.conf list --json | python3 -c '
import json, sys
# the gadget, not its import over vhci_hcd (same guest, same ids)
disk = [d for d in json.load(sys.stdin) if (d["vendor"], d["product"]) == ("1d6b", "0104") and not d["imported"]]
assert len(disk) == 1 and disk[0]["in_use_by"] == {"peer": sys.argv[1], "name": "lab client"}, disk
' "$CLIENT_ID"
}
wait_for 10 "usbhop list --json to say the disk is in use by the client" in_use
usbhop -c $SRV/usbhop.conf list | tee /tmp/list.out
grep -E "^[0-9.-]+ +1d6b:0104 .*; in use by lab client \(${CLIENT_ID:0:8}" /tmp/list.out ||
  fail "usbhop list does not say the disk is in use by the client"

make_tree /tmp/tree
say "mkfs.ext4, mount, copy a tree of $(du -sh /tmp/tree | cut -f1), sync, unmount"
mkfs.ext4 -q -F "$dev"
mkdir -p /tmp/mnt/usbhop /tmp/mnt/backing
mount "$dev" /tmp/mnt/usbhop
cp -a /tmp/tree /tmp/mnt/usbhop/
sync
umount /tmp/mnt/usbhop
attach_stop

say "the gadget's backing file holds exactly that file system"
check "e2fsck -fn on the backing file" e2fsck -fn /tmp/disk.img
mount -o loop,ro /tmp/disk.img /tmp/mnt/backing
diff -r /tmp/tree /tmp/mnt/backing/tree || fail "the tree on the backing file differs"
umount /tmp/mnt/backing
say "same tree on the backing file"

say "attached again: read back through usbhop"
attach_start 1d6b:0104
attach_wait_lines 1
dev=$(imported_block 1d6b 0104)
mount -o ro "$dev" /tmp/mnt/usbhop
diff -r /tmp/tree /tmp/mnt/usbhop/tree || fail "the tree read back through usbhop differs"
umount /tmp/mnt/usbhop
say "same tree read back through usbhop from $dev"
attach_stop
kill -0 $SERVE || fail "usbhop serve died"
say "PASS"
