# lab-serve-service: `usbhop list` shows what is shared with whom; usbhop serve
# as systemd sees it, on a real USB stack: the
# notification socket gets READY=1 (after the device is enumerated), STATUS=
# naming what is shared and to whom, RELOADING=1/READY=1 on SIGHUP; a reload
# that stops sharing an attached device detaches it (Detached{NOT_SHARED})
# and gives it back to usb-storage; SIGTERM detaches the rest
# (Detached{SHUTTING_DOWN}), sends STOPPING=1, exits 0, and the mass-storage
# device's usb-storage driver is bound again with its disk back.
# lab-timeout: 500
. "$LAB/lib.sh"
. "$LAB/helpers/serve_lib.sh"

net_lo
gadgets_init 2
udevd_start
gadget_new disk 0x1209 0xd15c "lab disk"
gadget_mass_storage disk /tmp/disk.img 16
gadget_plug disk
gadget_new ss 0x1209 0x5353 "lab sourcesink"
gadget_sourcesink ss
gadget_plug ss
disk_bus=$(gadget_busid disk)
wait_block "/sys/bus/usb/devices/$disk_bus" 30 > /dev/null
driver() { basename "$(readlink "/sys/bus/usb/devices/$disk_bus:1.0/driver" 2>/dev/null)" 2>/dev/null; }
expect_eq "disk driver before" "$(driver)" usb-storage

# The notification socket, as systemd would hold it: one line per datagram.
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as out:
    while True:
        out.write(s.recv(4096).decode().replace("\n", "|") + "\n")
' "$SV/notify" "$SV/notify.log" &
wait_path "$SV/notify"

serve_keys p1
shares='[share "disk"]\nmatch = 1209:d15c\n[share "ss"]\nmatch = 1209:5353\n'
serve_config p1 "$shares"
say "usbhop list (local): every device, which rule shares it and with whom"
"$USBHOP" -c "$SV/usbhop.conf" list > "$SV/list.txt"
cat "$SV/list.txt"
grep -Eq "^$disk_bus +1209:d15c +high +.*lab disk .*\"disk\" with everyone in authorized_keys" "$SV/list.txt" || fail "usbhop list does not show the disk as shared"
"$USBHOP" -c "$SV/usbhop.conf" list --json | python3 -c '
import json, sys
devs = json.load(sys.stdin)
d = [x for x in devs if x["product"] == "d15c"][0]
assert d["shared"] and d["shares"][0]["name"] == "disk" and d["shares"][0]["peers"] == "all", d
assert any(x["hub"] and not x["shared"] for x in devs), devs
' || fail "usbhop list --json is not what scripts expect"
serve_start NOTIFY_SOCKET="$SV/notify"
wait_lines 20 "$SV/notify.log" '^READY=1$'
wait_lines 20 "$SV/notify.log" '^STATUS=sharing 2 devices; 0 peers connected$'

say "attach both devices; usb-storage lets go of the disk"
probe p1 list attach 1209:d15c sleep 500 > "$SV/p_disk.out" 2>&1 || { cat "$SV/p_disk.out"; fail "attaching the disk failed"; }
cat "$SV/p_disk.out"
grep -q '^ATTACH_OK' "$SV/p_disk.out" || fail "no AttachOk for the disk"
p1=$(cut -c1-8 "$SV/p1.id")
wait_lines 20 "$SV/notify.log" "^STATUS=sharing 2 devices; attached: $disk_bus to $p1; "
expect_eq "disk driver while attached (serve holds it through usbfs)" "$(driver)" usbfs
# Now a client that keeps its session open, holding the SourceSink and waiting.
probe p1 list attach 1209:5353 wait-detached 120 > "$SV/p_ss.out" 2>&1 &
pss=$!
wait_lines 30 "$SV/p_ss.out" '^ATTACH_OK'

say "SIGHUP with the disk no longer shared"
serve_config p1 '[share "ss"]\nmatch = 1209:5353\n'
kill -HUP "$SERVE_PID"
wait_lines 20 "$SV/notify.log" '^RELOADING=1\|MONOTONIC_USEC=[0-9]+$'
wait_lines 20 "$SV/notify.log" '^READY=1$' 2
wait_for 30 "usb-storage to take the disk back after the reload" sh -c "[ \"\$(basename \"\$(readlink /sys/bus/usb/devices/$disk_bus:1.0/driver)\")\" = usb-storage ]"
grep -q "no longer shared with $p1" "$SV/serve.log" || fail "serve did not log the NOT_SHARED detach"
serve_alive

say "SIGTERM: everything detached, STOPPING=1, exit 0"
kill -TERM "$SERVE_PID"
rc=0; wait "$SERVE_PID" || rc=$?
expect_eq "serve exit status" "$rc" 0
wait "$pss" || true
cat "$SV/p_ss.out"
grep -q '^DETACHED .*reason=shutting down' "$SV/p_ss.out" || fail "the attached client did not get Detached{SHUTTING_DOWN}"
wait_lines 10 "$SV/notify.log" '^STOPPING=1$'
cat "$SV/notify.log"
# The order systemd saw.
seq=$(grep -Eo '^(READY=1|RELOADING=1|STOPPING=1)' "$SV/notify.log" | tr '\n' ' ')
expect_eq "notification order" "$seq" "READY=1 RELOADING=1 READY=1 STOPPING=1 "
expect_eq "first notification" "$(head -1 "$SV/notify.log")" "READY=1"
head -2 "$SV/notify.log" | tail -1 | grep -q '^STATUS=sharing 2 devices; 0 peers connected$' || fail "STATUS does not follow READY"
expect_eq "disk driver after stop" "$(driver)" usb-storage
dev=$(wait_block "/sys/bus/usb/devices/$disk_bus" 30)
check "the disk reads again through usb-storage" dd if="$dev" of=/dev/null bs=1M count=1 status=none
say "serve-service passed"
