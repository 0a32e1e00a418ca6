# lab-timeout: 900
# src/vhci against the real vhci_hcd: without the module, attach says to load
# it; with it, vhci_probe attaches a canned device (1209:0001) through a
# socketpair, answers the kernel's USB/IP requests with the usbip codec, the
# kernel enumerates and configures it (lsusb, sysfs), and on SIGTERM the port
# is detached and reads free (004) again. Once on the high-speed hub, once on
# the super-speed hub. Then: an attach that meets a used port (-EBUSY) moves on
# to the next; a dead owner's port is freed by the kernel and its state entry
# under /run/usbhop is pruned; a detach from another shell frees the port and
# its owner sees the socket close.
. "$LAB/lib.sh"

PROBE=$BUILD/tests/lab/vhci_probe
VHCI=/sys/devices/platform/vhci_hcd.0
[ -x "$PROBE" ] || fail "$PROBE is not built (ninja -C $BUILD tests/lab/vhci_probe)"

# status_of PORT: the port's state column in vhci_hcd's status files.
status_of() { cat $VHCI/status* | awk -v p="$(printf %04d "$1")" '$2 == p { print $3 }'; }
# probe_present / probe_absent: is the canned device (1209:0001) under vhci_hcd?
probe_present() { [ -n "$(usb_find 1209 0001 $VHCI)" ]; }
probe_absent() { [ -z "$(usb_find 1209 0001 $VHCI)" ]; }
# hub_of PORT: hs or ss.
hub_of() { cat $VHCI/status* | awk -v p="$(printf %04d "$1")" '$2 == p { print $1 }'; }

say "without vhci-hcd loaded, attach fails and says what to do"
[ ! -e $VHCI ] || fail "vhci_hcd is already loaded; this step needs it absent"
if out=$("$PROBE" attach 2>&1); then fail "attach succeeded without vhci_hcd: $out"; fi
printf '%s\n' "$out"
case "$out" in *"modprobe vhci-hcd"*) ;; *) fail "the error does not say to modprobe vhci-hcd: $out" ;; esac

mod vhci_hcd
wait_path $VHCI/attach
say "vhci_hcd loaded: $(cat $VHCI/nports) ports"
"$PROBE" ports | awk '{ n[$2]++ } END { for (h in n) printf "%s ports: %d\n", h, n[h] }'

say "as a user other than root, attach fails and says it needs root"
if out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$PROBE" attach 2>&1); then
  fail "attach succeeded as uid 65534: $out"
fi
printf '%s\n' "$out"
case "$out" in *"usbhop attach needs root to write $VHCI/attach"*) ;; *) fail "no root hint: $out" ;; esac
if out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$PROBE" check 2>&1); then
  fail "check_usable passed as uid 65534: $out"
fi
case "$out" in *"usbhop attach needs root to write $VHCI/attach"*) ;; *) fail "no root hint from check: $out" ;; esac
expect_eq "check as root" "$("$PROBE" check)" usable

# attach_and_check SPEED HUB: attach the probe at SPEED, check it lands on HUB,
# is enumerated and configured, then detach it and check the port is free.
attach_and_check() {
  local speed=$1 hub=$2 log=/tmp/probe-$1.log pid port dev
  say "attaching a speed-$speed device"
  "$PROBE" attach --speed "$speed" >"$log" 2>&1 &
  pid=$!
  wait_for 10 "the probe to attach" grep -q '^attached port' "$log"
  port=$(sed -n 's/^attached port \([0-9]*\).*/\1/p' "$log")
  expect_eq "hub of port $port" "$(hub_of "$port")" "$hub"

  wait_for 30 "1209:0001 to appear under vhci_hcd" probe_present
  dev=$(usb_find 1209 0001 $VHCI | head -n1)
  wait_for 20 "$dev to be configured" grep -qx 1 "$dev/bConfigurationValue"
  say "enumerated as ${dev##*/}: $(cat "$dev/manufacturer") / $(cat "$dev/product"), speed $(cat "$dev/speed") Mb/s"
  expect_eq "product string" "$(cat "$dev/product")" "vhci probe"
  expect_eq "interface class" "$(cat "$dev/${dev##*/}:1.0/bInterfaceClass")" "ff"
  lsusb | grep -q "ID 1209:0001" || fail "lsusb does not list 1209:0001: $(lsusb)"
  lsusb | grep "ID 1209:0001"
  expect_eq "state of port $port while attached" "$(status_of "$port")" "006"
  grep -q 'GET_DESCRIPTOR .* value 0100 .* -> ok' "$log" || fail "no device GET_DESCRIPTOR seen: $(cat "$log")"
  grep -q 'SET_CONFIGURATION .* value 0001 .* -> ok' "$log" || fail "no SET_CONFIGURATION seen: $(cat "$log")"

  say "detaching port $port"
  kill -TERM "$pid"
  wait "$pid" || fail "the probe exited with status $?: $(cat "$log")"
  grep -q "^detached port $port" "$log" || fail "the probe did not report the detach: $(cat "$log")"
  expect_eq "state of port $port after detach" "$(status_of "$port")" "004"
  wait_for 10 "1209:0001 to go away" probe_absent
  say "port $port is free again; $(grep -c CMD_SUBMIT "$log") requests were answered; $(grep '^detached' "$log")"
}

attach_and_check 3 hs
attach_and_check 5 ss

port_is_free() { [ "$(status_of "$1")" = 004 ]; }
attached_in() { grep -q '^attached port' "$1"; }

say "an attach told to try a used port first gets -EBUSY and moves on"
STATE=/run/usbhop
"$PROBE" attach --speed 3 --state $STATE >/tmp/a.log 2>&1 &
a=$!
wait_for 10 "probe A to attach" attached_in /tmp/a.log
pa=$(sed -n 's/^attached port \([0-9]*\).*/\1/p' /tmp/a.log)
pb=$("$PROBE" ports | awk -v pa="$pa" '$2 == "hs" && $3 == "004" && $1 != pa && !done { done = 1; print $1 }')
"$PROBE" attach --speed 2 --pid 0002 --ports "$pa,$pb" --state $STATE >/tmp/b.log 2>&1 &
b=$!
wait_for 10 "probe B to attach" attached_in /tmp/b.log
cat /tmp/b.log
grep -q "^attached port $pb " /tmp/b.log || fail "probe B is not on port $pb: $(cat /tmp/b.log)"
grep -q "vhci port $pa is in use, trying the next" /tmp/b.log || fail "probe B did not meet -EBUSY on $pa"
dmesg | grep -q "already used" || fail "the kernel did not report port $pa as used"
probe_b_present() { [ -n "$(usb_find 1209 0002 $VHCI)" ]; }
wait_for 30 "1209:0002 to appear under vhci_hcd" probe_b_present
"$PROBE" state --state $STATE | tee /tmp/state.out
expect_eq "live entries" "$(grep -c '^live' /tmp/state.out)" 2

say "an owner that dies: the kernel frees its port when the socket closes, and state prunes its entry"
kill -KILL $b
wait $b || true
wait_for 10 "port $pb to read free after its owner died" port_is_free "$pb"
[ -e $STATE/port-$pb ] || fail "the dead owner's entry vanished before pruning"
"$PROBE" state --state $STATE >/tmp/state.out 2>&1
cat /tmp/state.out
grep -q "removing stale entry for vhci port $pb" /tmp/state.out || fail "the stale entry was not pruned"
grep -q "^live $pa " /tmp/state.out || fail "the live entry for port $pa is missing"
[ ! -e $STATE/port-$pb ] || fail "$STATE/port-$pb is still there"

say "detach from another shell: the port is detached, its owner sees the socket close and exits"
"$PROBE" detach --ports "$pa" --state $STATE
port_is_free "$pa" || fail "port $pa is not free after detach"
[ ! -e $STATE/port-$pa ] || fail "$STATE/port-$pa is still there"
wait $a || fail "probe A exited with status $?: $(cat /tmp/a.log)"
grep -q "kernel closed the socket" /tmp/a.log || fail "probe A did not see its socket close: $(cat /tmp/a.log)"
wait_for 10 "1209:0001 to go away" probe_absent

say "PASS"
