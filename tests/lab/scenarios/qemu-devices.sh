# lab-qemu-devices: QEMU's own emulated USB devices on an emulated xHCI
# (the `# lab-qemu:` header) reach the guest: a usb-kbd and a usb-storage
# disk enumerate, and the disk reads back the image file given to QEMU. This
# is the route for isochronous devices (usb-audio), which dummy_hcd cannot do.
# lab-qemu: -device qemu-xhci,id=xhci -device usb-kbd,bus=xhci.0
# lab-qemu: -drive if=none,id=stick,format=raw,readonly=on,file=/usr/share/misc/usb.ids -device usb-storage,bus=xhci.0,drive=stick
# lab-timeout: 300
. "$LAB/lib.sh"

mod xhci_pci
mod usb_storage delay_use=0
mod sd_mod
wait_for 30 "QEMU's usb-kbd (0627:0001) on the xHCI bus" sh -c 'lsusb -d 0627:0001'
lsusb
kbd=$(usb_find 0627 0001 | head -n1)
stick=$(usb_find 46f4 0001 | head -n1)
[ -n "$stick" ] || fail "QEMU's usb-storage (46f4:0001) did not enumerate"
say "usb-kbd at ${kbd##*/}; usb-storage at ${stick##*/}"
dev=$(wait_block "$stick")
# Compare whole 512-byte sectors: QEMU may round a ragged file either way.
size=$(( $(stat -L -c %s /usr/share/misc/usb.ids) / 512 * 512 ))
expect_eq "first $size bytes of $dev" "$(head -c "$size" "$dev" | sha256sum | cut -d' ' -f1)" \
  "$(head -c "$size" /usr/share/misc/usb.ids | sha256sum | cut -d' ' -f1)"
say "qemu-devices passed"
