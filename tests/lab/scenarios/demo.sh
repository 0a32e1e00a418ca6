# lab-timeout: 600
# The README's demo: a virtual flash drive on the "server" appears on the
# "client" through usbhop, a file is written to it and read back. Both sides
# live in one virtual machine here (the same Linux kernel as on a real PC),
# talking over the network interface "lo"; every step says what it does.
. "$LAB/lib.sh"
. "$LAB/helpers/attach_lib.sh"

tell() { printf '\n>>> %s\n' "$*"; }

tell "Step 1 of 6 — the server gets a USB flash drive."
tell "We make a virtual one with the kernel's USB gadget support: 64 MiB, stored in /tmp/flash.img."
gadgets_init 1
gadget_new flash 0x1d6b 0x0104 "usbhop demo flash drive"
gadget_mass_storage flash /tmp/flash.img 64
gadget_plug flash
lsusb | grep 1d6b:0104

tell "Step 2 of 6 — both machines get an identity, and the server trusts the client."
attach_lab_init
echo "server node ID: $SERVER_ID"
echo "client node ID: $CLIENT_ID"
echo "(the server's $SRV/authorized_keys now lists the client; nobody else may connect)"

tell "Step 3 of 6 — the server runs 'usbhop serve' and shares its USB devices."
serve_start
usbhop -c $SRV/usbhop.conf list | grep -v '(hub)'   # hubs are never shared

tell "Step 4 of 6 — the client asks what the server shares: usbhop list <server>"
usbhop -c $CLI/usbhop.conf list "$PEER"

tell "Step 5 of 6 — the client attaches the flash drive: usbhop attach <server> 1d6b:0104"
attach_start 1d6b:0104
attach_wait_lines 1
dev=$(imported_block 1d6b 0104)
echo "The flash drive is now a disk on the client: $dev, through the kernel's own USB/IP host controller (vhci_hcd)."
usbhop status

tell "Step 6 of 6 — write a file to it on the client, and read it back."
mod ext4
mod loop
mkfs.ext4 -q -F "$dev" -L usbhop-demo
mkdir -p /tmp/mnt/flash
mount "$dev" /tmp/mnt/flash
echo "Hello from the client, written over usbhop at $(date -u +%H:%M:%S) UTC." > /tmp/mnt/flash/hello.txt
head -c 4M /dev/urandom > /tmp/mnt/flash/random.bin
sha_written=$(sha256sum < /tmp/mnt/flash/random.bin | cut -d' ' -f1)
sync
umount /tmp/mnt/flash
echo 3 > /proc/sys/vm/drop_caches
mount -o ro "$dev" /tmp/mnt/flash
echo "Read back: $(cat /tmp/mnt/flash/hello.txt)"
sha_read=$(sha256sum < /tmp/mnt/flash/random.bin | cut -d' ' -f1)
echo "4 MiB of random data: written $sha_written"
echo "                      read    $sha_read"
[ "$sha_written" = "$sha_read" ] || fail "the data read back differs"
umount /tmp/mnt/flash

tell "Done: Ctrl-C on 'usbhop attach' gives the drive back to the server."
attach_stop
mkdir -p /tmp/mnt/server
mount -o loop,ro /tmp/flash.img /tmp/mnt/server
echo "On the server's own copy of the drive: $(cat /tmp/mnt/server/hello.txt)"
umount /tmp/mnt/server
say "PASS: a flash drive on the server was used on the client through usbhop"
