# lab-usb-unplug: a claimed Loopback gadget with 16 bulk INs pending goes
# away; every transfer is answered exactly once, then DeviceLeft arrives, the
# registry forgets the device and nothing leaks (the usb layer built with
# AddressSanitizer + LeakSanitizer).
#   - removed by the hub (sysfs "remove", what a hub reports when a plug is
#     pulled): all 16 end no_device (--strict);
#   - gadget disconnected (UDC ""): dummy_hcd fails the URBs with -EPROTO
#     before the hub notices, so each ends error or no_device.
# lab-timeout: 400
. "$LAB/lib.sh"

gadgets_init 1
udevd_start
gadget_new lb 0x1209 0x4c42 "lab loopback"
gadget_loopback lb

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99
for run in "usb_exercise_asan remove" "usb_exercise_asan udc" "usb_exercise remove"; do
  set -- $run
  tool=$1 how=$2
  gadget_plug lb
  busid=$(gadget_busid lb)
  strict=""
  [ "$how" = remove ] && strict=--strict
  rm -f /tmp/pending
  $tool unplug --path "$busid" --pending 16 --marker /tmp/pending $strict > /tmp/out 2>&1 &
  pid=$!
  wait_for 60 "16 transfers pending ($run)" test -e /tmp/pending
  if [ "$how" = remove ]; then
    echo 1 > "/sys/bus/usb/devices/$busid/remove"
    wait_gone "/sys/bus/usb/devices/$busid" 20
  fi
  gadget_unplug lb
  status=0
  wait $pid || status=$?
  cat /tmp/out
  [ $status = 0 ] || fail "$tool unplug ($how) exited with status $status"
  grep -q "^UNPLUGGED 16 transfers answered once each" /tmp/out || fail "no UNPLUGGED line from $tool ($how)"
  say "$run: 16 pending transfers answered once each, DeviceLeft last, no leak"
done
say "usb-unplug passed"
