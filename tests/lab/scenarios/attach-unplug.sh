# lab-timeout: 900
# The disk is unplugged at the server in the middle of a write on the
# client: usbhop attach detaches it (one line), the write fails instead of
# hanging, the client machine stays healthy and serve keeps running. Plugged
# back in, the disk is attached again and works.
. "$LAB/lib.sh"
. "$LAB/helpers/attach_lib.sh"

gadgets_init 1
gadget_new disk 0x1d6b 0x0104 "lab disk"
gadget_mass_storage disk /tmp/disk.img 64
gadget_plug disk
UDC=$(gadget_udc disk)
attach_lab_init
serve_start
attach_start 1d6b:0104
attach_wait_lines 1
dev=$(imported_block 1d6b 0104)
random_file /tmp/pattern.bin 48
say "writing 48 MiB to $dev; the disk is unplugged at the server in the middle"
dd if=/tmp/pattern.bin of="$dev" bs=64K oflag=direct conv=fsync status=none 2>/tmp/dd.err &
DD=$!
sleep 3
gadget_unplug disk
wait_for 30 "usbhop attach to report the unplug" grep -q '^detached.*unplugged' /tmp/attach.log
grep '^detached' /tmp/attach.log
wait_for 60 "the write to end" sh -c "! kill -0 $DD 2>/dev/null"
if wait $DD; then fail "the write succeeded although the disk was unplugged"; fi
say "the write failed as it should: $(head -n1 /tmp/dd.err)"
wait_for 30 "the disk to leave vhci_hcd" imported_absent 1d6b 0104
kill -0 $SERVE || fail "usbhop serve died on the unplug"
kill -0 $ATTACH || fail "usbhop attach exited on the unplug"
usbhop status | tee /tmp/status.out
dmesg | grep -q "blocked for more than" && fail "a task hung: $(dmesg | grep -A3 'blocked for more than')"
say "client healthy, serve and attach still running"

say "plug it back in"
# serve learns of the new device from libusb's hot-plug events, which come
# from udev (running since attach_lab_init).
gadget_plug disk "$UDC"
attach_wait_lines 2
dev=$(imported_block 1d6b 0104)
dd if=/tmp/pattern.bin of="$dev" bs=1M count=8 oflag=direct conv=fsync status=none
same_bytes /tmp/pattern.bin "$dev" 8
attach_stop
kill -0 $SERVE || fail "usbhop serve died"
say "PASS"
