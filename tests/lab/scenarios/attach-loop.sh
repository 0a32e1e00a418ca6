# lab-timeout: 600
# serve and attach on one machine, as a new user sets them up: serve shares a
# disk by vendor:product (no path), and attach takes everything the server
# shares. The imported disk matches the rule again, and serve used to export
# it again, and attach to import it again, round and round (issue 18: the
# machine's lsusb hung for ten minutes). serve must not export a device on a
# vhci_hcd bus unless a rule names its path: exactly one import, lsusb
# answers, and `usbhop list` says why the imported disk is not shared.
. "$LAB/lib.sh"
. "$LAB/helpers/attach_lib.sh"

gadgets_init 1
gadget_new disk 0x1d6b 0x0104 "lab disk"
gadget_mass_storage disk /tmp/disk.img 16
gadget_plug disk
attach_lab_init '[share "by-id"]
match = 1d6b:0104'
serve_start

say "usbhop attach $PEER (everything it shares)"
attach_start
attach_wait_lines 1
wait_for 60 "the disk under vhci_hcd" imported_present 1d6b 0104
# Give a loop time to show: each round took well under a second in the report.
sleep 8
expect_eq "devices attach attached" "$(attach_count)" "1"
used=$(cat $VHCI/status* | awk 'NR > 1 && $1 != "hub" && $3 != "004"' | wc -l)
expect_eq "vhci ports in use" "$used" "1"
check "lsusb answers" timeout 20 lsusb
busid=$(basename "$(imported 1d6b 0104)")
usbhop -c $SRV/usbhop.conf list | tee /tmp/list.out
grep -E "^$busid .*no \(imported here over USB/IP: only a \[share\] rule with its path exports it\)" /tmp/list.out ||
  fail "usbhop list does not say why the imported disk is not shared"
grep -q "exports\? .*$busid\|claims $busid" /tmp/serve.log && fail "serve took the imported device: $(grep "$busid" /tmp/serve.log)"
attach_stop
kill -TERM $SERVE; wait $SERVE || true
say "attach-loop passed"
