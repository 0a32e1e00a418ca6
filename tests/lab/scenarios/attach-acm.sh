# lab-timeout: 600
# An ACM serial gadget attached through usbhop: bytes written on each side
# arrive intact on the other (gadget /dev/ttyGSN <-> client /dev/ttyACMN,
# the kernel's cdc_acm on the client side).
. "$LAB/lib.sh"
. "$LAB/helpers/attach_lib.sh"

gadgets_init 1
gadget_new serial 0x1d6b 0x0106 "lab serial"
gadget_acm serial
gadget_plug serial
GS=$(gadget_ttygs serial)
attach_lab_init
serve_start
attach_start 1d6b:0106
attach_wait_lines 1
wait_for 30 "the serial device under vhci_hcd" imported_present 1d6b 0106
acm=$(imported 1d6b 0106)
wait_for 30 "a ttyACM below $acm" tty_of "$acm"
tty=$(tty_of "$acm")
say "the serial port appears on the client as $tty"
serial_roundtrip "$GS" "$tty" 65536
serial_roundtrip "$tty" "$GS" 65536
attach_stop
kill -0 $SERVE || fail "usbhop serve died"
say "PASS"
