# lab-timeout: 600
# A HID boot keyboard gadget attached through usbhop: a report written to the
# gadget's /dev/hidgN arrives as KEY_A press and release on the client's
# /dev/input/eventN (the kernel's usbhid on the client side).
. "$LAB/lib.sh"
. "$LAB/helpers/attach_lib.sh"

gadgets_init 1
mod evdev   # /dev/input/eventN (a desktop loads it at boot)
gadget_new kbd 0x1d6b 0x0105 "lab keyboard"
gadget_hid_keyboard kbd
gadget_plug kbd
HIDG=$(gadget_hidg kbd)
attach_lab_init
serve_start
attach_start 1d6b:0105
attach_wait_lines 1
wait_for 30 "the keyboard under vhci_hcd" imported_present 1d6b 0105
kbd=$(imported 1d6b 0105)
wait_for 30 "an input device below $kbd" input_event_of "$kbd"
ev=$(input_event_of "$kbd")
say "the keyboard appears on the client as $ev ($(cat /sys/class/input/${ev##*/}/device/name 2>/dev/null))"
key_a_arrives "$ev" "$HIDG"
key_a_arrives "$ev" "$HIDG"
attach_stop
kill -0 $SERVE || fail "usbhop serve died"
say "PASS"
