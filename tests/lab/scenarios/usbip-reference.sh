# lab-usbip-reference: the kernel's own usbip carries a disk over loopback.
# A mass-storage gadget is exported with usbip-host + usbipd, imported with
# usbip attach through vhci_hcd, and a random 32 MiB pattern written through
# the imported disk must land byte for byte in the gadget's backing file.
# This proves vhci_hcd works in the lab; usbhop scenarios are measured against it.
# lab-timeout: 600
. "$LAB/lib.sh"

net_lo
gadgets_init 1
gadget_new disk 0x1d6b 0x0104 "lab disk"
gadget_mass_storage disk /tmp/disk.img 64
gadget_plug disk
local_dev=$(wait_block "$(gadget_sysfs disk)")
busid=$(gadget_busid disk)
say "local disk $local_dev at bus id $busid; exporting it with usbip"

usbip_export "$busid"
check "usbip list -r 127.0.0.1 shows $busid" sh -c "usbip list -r 127.0.0.1 | grep -F '$busid:'"
imported=$(usbip_import "$busid")
expect_eq "imported device id" "$(usb_id "$imported")" "1d6b:0104"
dev=$(wait_block "$imported")
say "imported as $imported, disk $dev"
usbip port

say "writing 32 MiB of random bytes through $dev (O_DIRECT)"
random_file /tmp/pattern.bin 32
dd if=/tmp/pattern.bin of="$dev" bs=1M oflag=direct conv=fsync status=none
same_bytes /tmp/pattern.bin /tmp/disk.img 32
say "reading them back through $dev (O_DIRECT)"
same_bytes /tmp/pattern.bin "$dev" 32

usbip_detach_all
wait_gone "$imported" 20
check "usbip unbind -b $busid" usbip unbind -b "$busid"
say "usbip-reference passed"
