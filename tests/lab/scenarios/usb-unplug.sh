# lab-usb-unplug: a claimed Loopback gadget with 16 bulk INs pending is
# unplugged (UDC ""): every transfer completes once with no_device, then
# DeviceLeft arrives, and nothing leaks (usb layer built with
# AddressSanitizer + LeakSanitizer). Then the gadget is plugged back and
# the same again with the plain build.
# lab-timeout: 400
. "$LAB/lib.sh"

gadgets_init 1
udevd_start
gadget_new lb 0x1209 0x4c42 "lab loopback"
gadget_loopback lb

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99
for tool in usb_exercise_asan usb_exercise; do
  gadget_plug lb
  busid=$(gadget_busid lb)
  rm -f /tmp/pending
  $tool unplug --path "$busid" --pending 16 --marker /tmp/pending > /tmp/out 2>&1 &
  pid=$!
  wait_for 30 "16 transfers pending ($tool)" test -e /tmp/pending
  gadget_unplug lb
  status=0
  wait $pid || status=$?
  cat /tmp/out
  [ $status = 0 ] || fail "$tool unplug exited with status $status"
  grep -q "^UNPLUGGED 16 transfers completed no_device" /tmp/out || fail "no UNPLUGGED line from $tool"
  say "$tool: 16 pending transfers ended no_device, no leak"
done
say "usb-unplug passed"
