# lab-hotplug: libusb's hot-plug (fed by udev) sees a gadget arrive and leave.
# hotplug_watch (helpers/hotplug_watch.c) must print DEVICE_ARRIVED and
# DEVICE_LEFT with the gadget's vendor:product, twice over.
# lab-timeout: 400
. "$LAB/lib.sh"

gadgets_init 1
udevd_start
gadget_new kbd 0x1209 0x4c41 "lab keyboard"
gadget_hid_keyboard kbd

hotplug_watch -d 1209:4c41 -n 4 -t 200 > /tmp/events 2>&1 &
watcher=$!
wait_lines 30 /tmp/events '^ready$'

for round in 1 2; do
  gadget_plug kbd
  wait_lines 30 /tmp/events '^ARRIVED 1209:4c41 ' $round
  gadget_unplug kbd
  wait_lines 30 /tmp/events '^LEFT 1209:4c41 ' $round
done
wait $watcher || fail "hotplug_watch exited with status $?: $(cat /tmp/events)"
cat /tmp/events
expect_eq "event sequence" "$(grep -v ready /tmp/events | cut -d' ' -f1 | tr '\n' ' ')" "ARRIVED LEFT ARRIVED LEFT "
say "hotplug passed"
