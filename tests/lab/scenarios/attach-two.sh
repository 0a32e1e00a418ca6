# lab-timeout: 900
# Two devices from one server at once: a disk and a serial port, attached by
# one `usbhop attach <peer>` (no device named: everything shared), each
# working while the other does.
. "$LAB/lib.sh"
. "$LAB/helpers/attach_lib.sh"

gadgets_init 2
gadget_new disk 0x1d6b 0x0104 "lab disk"
gadget_mass_storage disk /tmp/disk.img 64
gadget_plug disk
gadget_new serial 0x1d6b 0x0106 "lab serial"
gadget_acm serial
gadget_plug serial
GS=$(gadget_ttygs serial)
attach_lab_init
serve_start
attach_start
attach_wait_lines 2
dev=$(imported_block 1d6b 0104)
wait_for 30 "the serial device under vhci_hcd" imported_present 1d6b 0106
wait_for 30 "its ttyACM" tty_of "$(imported 1d6b 0106)"
tty=$(tty_of "$(imported 1d6b 0106)")
say "disk $dev and serial port $tty, both through one usbhop attach"
random_file /tmp/pattern.bin 24
dd if=/tmp/pattern.bin of="$dev" bs=64K oflag=direct conv=fsync status=none &
DD=$!
serial_roundtrip "$GS" "$tty" 32768
serial_roundtrip "$tty" "$GS" 32768
wait $DD || fail "the write to $dev failed"
same_bytes /tmp/pattern.bin "$dev" 24
usbhop status
attach_stop
same_bytes /tmp/pattern.bin /tmp/disk.img 24
say "PASS"
