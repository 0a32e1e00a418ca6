# lab-usb-cancel: on a Loopback gadget a bulk IN with nothing to read stays
# pending; cancel() ends it as cancelled (once), the endpoint still echoes,
# and releasing with INs pending answers each as cancelled before the
# release. Also run under AddressSanitizer.
# lab-timeout: 400
. "$LAB/lib.sh"

gadgets_init 1
udevd_start
gadget_new lb 0x1209 0x4c42 "lab loopback"
gadget_loopback lb
gadget_plug lb
busid=$(gadget_busid lb)

check "usb_exercise cancel" usb_exercise cancel --path "$busid"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99
check "usb_exercise_asan cancel" usb_exercise_asan cancel --path "$busid"
say "usb-cancel passed"
