# lab-serve-sourcesink: usbhop serve exports real gadgets and proto_probe drives
# them over usbhop/1: GET_DESCRIPTOR on a SourceSink, bulk OUT accepted by the
# gadget's pattern check and bulk IN following the pattern with 8 x 64 KiB in
# flight; 64 bulk INs each unlinked at once answered exactly once; a pending
# bulk IN (Loopback) unlinked mid-way answered CANCELLED exactly once; an
# interrupt IN carrying a HID report written on the gadget side; the HID
# keyboard's usbhid driver bound again after detach.
# lab-timeout: 600
. "$LAB/lib.sh"
. "$LAB/helpers/serve_lib.sh"

net_lo
gadgets_init 3
udevd_start
gadget_new ss 0x1209 0x5353 "lab sourcesink"
gadget_sourcesink ss pattern=1 bulk_buflen=4096
gadget_plug ss
gadget_new lb 0x1209 0x4c42 "lab loopback"
gadget_loopback lb
gadget_plug lb
gadget_new kbd 0x1209 0x4b42 "lab keyboard"
gadget_hid_keyboard kbd
gadget_plug kbd
ss_bus=$(gadget_busid ss); lb_bus=$(gadget_busid lb); kbd_bus=$(gadget_busid kbd)
ss_in=$(ep_addr "$ss_bus" Bulk in); ss_out=$(ep_addr "$ss_bus" Bulk out)
lb_in=$(ep_addr "$lb_bus" Bulk in)
kbd_in=$(ep_addr "$kbd_bus" Interrupt in)
say "endpoints: sourcesink in $ss_in out $ss_out, loopback in $lb_in, keyboard in $kbd_in"
wait_path "/sys/bus/usb/devices/$kbd_bus:1.0/driver" 20
expect_eq "keyboard driver before" "$(basename "$(readlink "/sys/bus/usb/devices/$kbd_bus:1.0/driver")")" usbhid

serve_keys p1
serve_config p1 '[share "ss"]\nmatch = 1209:5353\n[share "lb"]\nmatch = 1209:4c42\n[share "kbd"]\nmatch = 1209:4b42\n'
serve_start

say "SourceSink: list, attach, control, bulk OUT/IN, unlink race"
# GET_DESCRIPTOR(DEVICE); CLEAR_FEATURE(ENDPOINT_HALT) on the bulk IN,
# SET_INTERFACE 0/0 and SET_CONFIGURATION 1 (carried out by libusb's own
# calls, not sent raw); a vendor request the gadget does not know (stall).
clear_halt=02010000${ss_in#0x}000000
probe p1 list attach 1209:5353 control 8006000100001200 control "$clear_halt" control 010b000000000000 \
  control 0009010000000000 control c0ff000000000100 \
  bulk-out "$ss_out" 65536 8 512 bulk-in "$ss_in" 65536 8 512 \
  unlink-race "$ss_in" 16384 64 \
  bulk-in "$ss_in" 65536 32 512 bulk-out "$ss_out" 65536 32 512 detach > "$SV/ss.out" 2>&1 || { cat "$SV/ss.out"; fail "probe on SourceSink failed"; }
cat "$SV/ss.out"
expect_eq "devices listed" "$(field LIST count "$SV/ss.out")" 3
grep -q "^DEVICE .*vidpid=1209:5353 state=0 .*share=ss" "$SV/ss.out" || fail "SourceSink not listed as shared and available"
grep -q "^CONTROL .*status=ok actual=18 data=12010" "$SV/ss.out" || fail "GET_DESCRIPTOR(DEVICE) did not return 18 bytes of a device descriptor"
grep -Eq "^CONTROL .*data=1201[0-9a-f]{12}09125353" "$SV/ss.out" || fail "device descriptor does not carry 1209:5353"
grep -q "^CONTROL seq=2 status=ok actual=0" "$SV/ss.out" || fail "CLEAR_FEATURE(ENDPOINT_HALT) did not complete"
grep -q "^CONTROL seq=3 status=ok actual=0" "$SV/ss.out" || fail "SET_INTERFACE did not complete"
grep -q "^CONTROL seq=4 status=ok actual=0" "$SV/ss.out" || fail "SET_CONFIGURATION did not complete"
grep -q "^CONTROL seq=5 status=stall" "$SV/ss.out" || fail "an unknown vendor request did not stall"
grep -q "^BULK dir=out ep=$ss_out urbs=8 ok=8 bytes=524288 " "$SV/ss.out" || fail "bulk OUT: not all 8 x 64 KiB accepted by the gadget's pattern check"
grep -q "^BULK dir=in ep=$ss_in urbs=8 ok=8 bytes=524288 bad_data=0 " "$SV/ss.out" || fail "bulk IN: not 8 x 64 KiB following the pattern"
grep -q "^BULK dir=in ep=$ss_in urbs=32 ok=32 bytes=2097152 bad_data=0 " "$SV/ss.out" || fail "bulk IN with 32 in flight failed"
grep -q "^BULK dir=out ep=$ss_out urbs=32 ok=32 bytes=2097152 " "$SV/ss.out" || fail "bulk OUT with 32 in flight failed"
expect_eq "unlink race answered exactly once" "$(field UNLINK_RACE not_exactly_once "$SV/ss.out")" 0
grep -q "^DETACHED .*reason=none" "$SV/ss.out" || fail "no Detached{NONE} after detach"
serve_alive

say "Loopback: a pending bulk IN unlinked mid-way"
probe p1 list attach 1209:4c42 unlink "$lb_in" 512 500 detach > "$SV/lb.out" 2>&1 || { cat "$SV/lb.out"; fail "probe on Loopback failed"; }
cat "$SV/lb.out"
grep -q "^UNLINK .*outcome=cancelled completes=0 unlink_results=1" "$SV/lb.out" || fail "the unlinked bulk IN was not answered CANCELLED exactly once"

say "HID keyboard: an interrupt IN carries the report written on the gadget side"
hidg=$(gadget_hidg kbd)
( sleep 3; printf '\x00\x00\x04\x00\x00\x00\x00\x00' > "$hidg" ) &
probe p1 list attach 1209:4b42 int-in "$kbd_in" 8 detach > "$SV/kbd.out" 2>&1 || { cat "$SV/kbd.out"; fail "probe on the keyboard failed"; }
cat "$SV/kbd.out"
grep -q "^INTERRUPT .*status=ok actual=8 data=0000040000000000" "$SV/kbd.out" || fail "the key report did not arrive"
wait_path "/sys/bus/usb/devices/$kbd_bus:1.0/driver" 20
expect_eq "keyboard driver after detach" "$(basename "$(readlink "/sys/bus/usb/devices/$kbd_bus:1.0/driver")")" usbhid

grep -E "PEER=|peer=" "$SV/serve.log" | head -5
serve_alive
serve_stop
say "serve-sourcesink passed"
