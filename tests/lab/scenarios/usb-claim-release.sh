# lab-usb-claim-release: claiming a HID keyboard detaches usbhid from its
# interface, which usbfs (us) then holds, and its input device goes away;
# releasing resets the device and binds usbhid again. Run twice, the second time without the reset.
# lab-timeout: 400
. "$LAB/lib.sh"

gadgets_init 1
udevd_start
gadget_new kbd 0x1209 0x4c41 "lab keyboard"
gadget_hid_keyboard kbd
gadget_plug kbd
s=$(gadget_sysfs kbd)
busid=${s##*/}
intf=$s/$busid:1.0
driver() { basename "$(readlink "$intf/driver" 2>/dev/null)" 2>/dev/null || true; }
usbhid_bound() { [ "$(driver)" = usbhid ]; }
wait_for 10 "usbhid to bind $busid:1.0" usbhid_bound
say "before: $busid:1.0 is bound to $(driver)"

for mode in reset no-reset; do
  rm -f /tmp/go /tmp/out
  usb_exercise claim --path "$busid" --go /tmp/go $([ $mode = no-reset ] && echo --no-reset) > /tmp/out 2>&1 &
  tool=$!
  wait_for 20 "the claim ($mode)" grep -q "^CLAIMED $busid" /tmp/out
  expect_eq "driver of $busid:1.0 while claimed" "$(driver)" usbfs
  ls /sys/class/input | grep -q . && for e in /sys/class/input/input*; do
    case "$(readlink -f "$e")" in "$(readlink -f "$s")"/*) fail "an input device of the keyboard is still there: $e" ;; esac
  done
  say "claimed ($mode): $busid:1.0 is held by usbfs, usbhid let go"
  touch /tmp/go
  wait $tool || fail "usb_exercise claim failed: $(cat /tmp/out)"
  cat /tmp/out
  grep -q "^RELEASED $busid" /tmp/out || fail "no RELEASED line"
  wait_for 10 "usbhid to bind $busid:1.0 again ($mode)" usbhid_bound
  say "released ($mode): $busid:1.0 is bound to $(driver) again"
done
say "usb-claim-release passed"
