# lab-timeout: 600
# An ACM serial gadget attached through usbhop: bytes written on each side
# arrive intact on the other (gadget /dev/ttyGSN <-> client /dev/ttyACMN,
# the kernel's cdc_acm on the client side).
#
# Argument `alone` (lab-attach-acm-alone): the setup of issue 18's ACM hang,
# as a new user makes it: the acm function alone in a configfs gadget with
# idProduct 0x0108, shared and attached by bus path, and the very first open
# of the client's tty is `stty -F /dev/ttyACMx raw -echo` under `timeout 20`
# (the open that hung); then data both ways. The server-side cdc_acm tty is
# held open when serve takes the device (a terminal program, or
# ModemManager's probe, on the user's machine), so serve detaches the driver
# under an open tty and the import becomes ttyACM1, as in the report.
# A second argument `ns` puts serve in its own network namespace behind a
# veth, as in two of the report's three boots.
. "$LAB/lib.sh"
. "$LAB/helpers/attach_lib.sh"

MODE=${1:-}
NET=${2:-}
case $MODE in "") pid=0106 ;; alone) pid=0108 ;; *) fail "unknown mode '$MODE'" ;; esac

gadgets_init 1
gadget_new serial 0x1d6b 0x$pid "lab serial"
gadget_acm serial
gadget_plug serial
GS=$(gadget_ttygs serial)
if [ "$MODE" = alone ]; then
  wait_for 30 "the server-side ttyACM of the gadget" tty_of "$(gadget_sysfs serial)"
  local_tty=$(tty_of "$(gadget_sysfs serial)")
  stty -F "$local_tty" clocal   # so that the open below does not wait for carrier
  sleep 100000 <> "$local_tty" &
  HOLDER=$!
  say "$local_tty (the gadget's tty on the server, cdc_acm) is held open by pid $HOLDER"
fi
if [ "$NET" = ns ]; then
  net_lo
  netns_new srv
  veth_link srv eth0 10.9.0.2/24 "" veth0 10.9.0.1/24
  export SERVE_NS=srv SERVE_ADDR=10.9.0.2 SERVE_CONNECT=10.9.0.2
  say "serve runs in network namespace srv (10.9.0.2) behind a veth"
fi
attach_lab_init
serve_start
if [ "$MODE" = alone ]; then
  busid=$(gadget_busid serial)
  say "usbhop attach $PEER $busid (the serial gadget's bus path)"
  attach_start "$busid"
else
  attach_start 1d6b:$pid
fi
attach_wait_lines 1
wait_for 30 "the serial device under vhci_hcd" imported_present 1d6b $pid
acm=$(imported 1d6b $pid)
wait_for 30 "a ttyACM below $acm" tty_of "$acm"
tty=$(tty_of "$acm")
say "the serial port appears on the client as $tty"
if [ "$MODE" = alone ]; then
  start=$(date +%s)
  timeout 20 stty -F "$tty" raw -echo ||
    fail "the first open of $tty (stty raw -echo) failed or hung (status $?) after $(( $(date +%s) - start )) s: $(tail -5 /tmp/attach.log)"
  say "the first open of $tty (stty raw -echo) returned in $(( $(date +%s) - start )) s"
fi
serial_roundtrip "$GS" "$tty" 65536
serial_roundtrip "$tty" "$GS" 65536
attach_stop
[ -z "${HOLDER:-}" ] || kill $HOLDER
kill -0 $SERVE || fail "usbhop serve died"
say "PASS"
