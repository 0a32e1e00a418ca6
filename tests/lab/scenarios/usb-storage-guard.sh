# lab-usb-storage-guard: a mass-storage device whose file system is mounted on
# this machine is not taken (clear error naming the mount); once unmounted it
# is claimed (usb-storage lets go, the disk disappears), and after release
# the disk comes back with its data. --force takes it even while mounted.
# lab-timeout: 400
. "$LAB/lib.sh"

mod ext4
gadgets_init 1
udevd_start
truncate -s 32M /tmp/disk.img
mkfs.ext4 -q -F /tmp/disk.img
gadget_new disk 0x1d6b 0x0104 "lab disk"
gadget_mass_storage disk /tmp/disk.img
gadget_plug disk
s=$(gadget_sysfs disk)
busid=${s##*/}
dev=$(wait_block "$s")
mkdir -p /tmp/mnt
mount "$dev" /tmp/mnt
echo "usbhop was here" > /tmp/mnt/hello
sync
say "$dev mounted on /tmp/mnt"

if out=$(usb_exercise claim --path "$busid"); then fail "a mounted disk was claimed: $out"; fi
printf '%s\n' "$out"
case "$out" in *"CLAIM-REFUSED"*"$dev is mounted on /tmp/mnt"*"force"*) ;; *) fail "the refusal does not name the mount: $out" ;; esac
test -e "$dev" || fail "$dev disappeared although the claim was refused"
say "refused while mounted"

# usbhop list (here) says so beside the rule that shares it, in the table and in --json.
printf '[share "disk"]\nmatch = 1d6b:0104\n' > /tmp/guard.conf
usbhop -c /tmp/guard.conf list | tee /tmp/list.out
grep -E "^$busid .*\"disk\" with everyone in authorized_keys; but serve refuses it: .*$dev is mounted on /tmp/mnt" /tmp/list.out ||
  fail "usbhop list does not say the mounted disk would be refused"
usbhop -c /tmp/guard.conf list --json | python3 -c '
import json, sys
[d] = [x for x in json.load(sys.stdin) if x["product"] == "0104"]
assert d["shared"] and "is mounted on /tmp/mnt" in d["refused"], d
' || fail "usbhop list --json does not give the refusal"

umount /tmp/mnt
rm -f /tmp/go
usb_exercise claim --path "$busid" --go /tmp/go > /tmp/out 2>&1 &
tool=$!
wait_for 20 "the claim" grep -q "^CLAIMED" /tmp/out
wait_gone "$dev" 10
say "claimed after umount: $dev is gone from this machine"
touch /tmp/go
wait $tool || fail "usb_exercise claim failed: $(cat /tmp/out)"
dev=$(wait_block "$s")
mount -o ro "$dev" /tmp/mnt
expect_eq "file on the disk after release" "$(cat /tmp/mnt/hello)" "usbhop was here"
say "released: $dev is back with its data"

rm -f /tmp/go
usb_exercise claim --path "$busid" --force --go /tmp/go > /tmp/out 2>&1 &
tool=$!
wait_for 20 "the forced claim" grep -q "^CLAIMED" /tmp/out
touch /tmp/go
wait $tool || fail "usb_exercise claim --force failed: $(cat /tmp/out)"
say "--force claims it while mounted"
umount /tmp/mnt 2>/dev/null || umount -l /tmp/mnt
say "usb-storage-guard passed"
