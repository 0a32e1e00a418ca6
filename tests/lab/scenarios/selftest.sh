# lab-selftest: the lab itself works. A mass-storage gadget on dummy_hcd shows
# up in lsusb and as a local disk; bytes written through the disk land in the
# gadget's backing file and bytes written to the file read back through the
# disk.
# lab-timeout: 400
. "$LAB/lib.sh"

gadgets_init 1
gadget_new disk 0x1d6b 0x0104 "lab disk"
gadget_mass_storage disk /tmp/disk.img 64
gadget_plug disk

check "lsusb lists the gadget" lsusb -d 1d6b:0104
dev=$(wait_block "$(gadget_sysfs disk)")
expect_eq "size of $dev in 512-byte sectors" "$(cat /sys/class/block/${dev#/dev/}/size)" $((64 * 2048))
say "the gadget is $dev"

say "disk -> backing file: 8 MiB written through $dev with O_DIRECT"
random_file /tmp/a.bin 8
dd if=/tmp/a.bin of="$dev" bs=1M oflag=direct conv=fsync status=none
same_bytes /tmp/a.bin /tmp/disk.img 8

say "backing file -> disk: 8 MiB written into the file at 16 MiB, read through $dev with O_DIRECT"
random_file /tmp/b.bin 8
dd if=/tmp/b.bin of=/tmp/disk.img bs=1M seek=16 conv=notrunc,fsync status=none
dd if="$dev" of=/tmp/b.back bs=1M skip=16 count=8 iflag=direct status=none
same_bytes /tmp/b.bin /tmp/b.back

gadget_unplug disk
say "selftest passed"
