# lab-usb-transfers: through usb::Host on a SourceSink gadget (pattern 1):
# GET_DESCRIPTOR matches sysfs, an unsupported request stalls, intercepted
# SET_INTERFACE / CLEAR_FEATURE(HALT) / SET_CONFIGURATION complete, bulk OUT
# passes the gadget's pattern check and bulk IN data follows the pattern,
# with 8 transfers of 64 KiB in flight; a transfer past the in-flight budget
# is refused with a clear error. Also run under AddressSanitizer.
# lab-timeout: 400
. "$LAB/lib.sh"

gadgets_init 1
udevd_start
gadget_new ss 0x1209 0x5353 "lab sourcesink"
gadget_sourcesink ss pattern=1 bulk_buflen=4096
gadget_plug ss
busid=$(gadget_busid ss)

check "usb_exercise sourcesink" usb_exercise sourcesink --path "$busid" --size 65536 --depth 8 --rounds 16
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99
check "usb_exercise_asan sourcesink" usb_exercise_asan sourcesink --path "$busid" --size 65536 --depth 8 --rounds 4
say "usb-transfers passed"
