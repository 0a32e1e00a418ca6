# lab-usb-hotplug: usb::Host reports a gadget plugged in and out while it
# runs (DeviceArrived with the right bus path and speed, DeviceLeft), twice.
# lab-timeout: 400
. "$LAB/lib.sh"

gadgets_init 1
udevd_start
gadget_new ss 0x1209 0x5353 "lab sourcesink"
gadget_sourcesink ss pattern=1

usb_exercise watch -d 1209:5353 -n 4 -t 300 > /tmp/events 2>&1 &
watcher=$!
trap 'echo "---- usb_exercise watch said ----"; cat /tmp/events' EXIT
wait_for 10 "usb_exercise watch to be ready" grep -qx ready /tmp/events

for round in 1 2; do
  gadget_plug ss
  busid=$(gadget_busid ss)
  wait_lines 60 /tmp/events "^ARRIVED $busid 1209:5353 speed=3" $round
  gadget_unplug ss
  wait_lines 60 /tmp/events "^LEFT $busid" $round
done
trap - EXIT
wait $watcher || fail "usb_exercise watch exited with status $?: $(cat /tmp/events)"
cat /tmp/events
expect_eq "event sequence" "$(grep -v ready /tmp/events | cut -d' ' -f1 | tr '\n' ' ')" "ARRIVED LEFT ARRIVED LEFT "
say "usb-hotplug passed"
