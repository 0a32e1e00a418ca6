# Shared steps of the attach-* scenarios (and demo.sh), sourced after lib.sh:
# a server (usbhop serve) and a client (usbhop attach) in one guest over
# loopback, each with its own configuration and key under /tmp.
#
#   attach_lab_init [SERVE_EXTRA_CONF]   udevd, vhci_hcd, loopback, keys, configs (server trusts client)
#   serve_start                          start usbhop serve (log /tmp/serve.log) as $SERVE
#   attach_start [DEVICE...]             start usbhop attach (log /tmp/attach.log) in the background: $ATTACH
#   attach_wait_lines N                  wait until N "attached" lines were printed
#   imported VID PID                     the sysfs folder of VID:PID under vhci_hcd (empty if none)
#   attach_stop                          Ctrl-C the attach process and check it detached cleanly

VHCI=/sys/devices/platform/vhci_hcd.0
SRV=/tmp/srv
CLI=/tmp/cli
SERVE_PORT=${SERVE_PORT:-7575}

attach_lab_init() {
  net_lo
  # udevd runs from the start, as on a real machine: libusb's hot-plug
  # events come from it, and serve must cope with its probing (issue 6).
  udevd_start
  mod vhci_hcd
  wait_path $VHCI/attach
  mkdir -p -m 0700 $SRV $CLI
  cat > $SRV/usbhop.conf <<CONF
[server]
listen = ${SERVE_ADDR:-127.0.0.1}:$SERVE_PORT
identity = $SRV/identity.key
authorized_keys = $SRV/authorized_keys
grace = ${SERVE_GRACE:-30s}
${1:-}
CONF
  # Share only the gadgets (dummy_hcd's buses): in this one-guest lab serve
  # would otherwise also see, and export, the devices attach imports.
  local hcd bus
  for hcd in /sys/devices/platform/dummy_hcd.*/usb[0-9]*; do
    [ -e "$hcd" ] || continue
    bus=${hcd##*/usb}
    printf '\n[share "lab%s"]\nmatch = *:*\npath = %s-1\n' "$bus" "$bus" >> $SRV/usbhop.conf
  done
  cat > $CLI/usbhop.conf <<CONF
[client]
identity = $CLI/identity.key
reconnect_max = 2s
${CLIENT_EXTRA:-}
CONF
  CLIENT_ID=$(usbhop -c $CLI/usbhop.conf id)
  SERVER_ID=$(usbhop -c $SRV/usbhop.conf id --server)
  check "trusting the client" usbhop -c $SRV/usbhop.conf trust "$CLIENT_ID" lab client >/dev/null
  PEER=$SERVER_ID@${SERVE_CONNECT:-127.0.0.1}:$SERVE_PORT
}

serve_start() {
  ${SERVE_NS:+ip netns exec $SERVE_NS} usbhop -c $SRV/usbhop.conf serve > /tmp/serve.log 2>&1 &
  SERVE=$!
  sleep 1
  kill -0 $SERVE 2>/dev/null || { cat /tmp/serve.log; fail "usbhop serve exited at once"; }
  say "usbhop serve runs as $SERVER_ID (pid $SERVE)"
}

attach_start() {
  usbhop -c $CLI/usbhop.conf attach "$PEER" "$@" > /tmp/attach.log 2>&1 &
  ATTACH=$!
}

attach_count() { grep -c '^attached' /tmp/attach.log 2>/dev/null || true; }

attach_wait_lines() {
  local end=$(( $(date +%s) + ${2:-60} ))
  until [ "$(attach_count)" -ge "$1" ]; do
    if [ "$(date +%s)" -ge "$end" ]; then
      echo "---- usbhop attach ----"; cat /tmp/attach.log
      echo "---- usbhop serve (last lines) ----"; tail -n 30 /tmp/serve.log
      fail "timed out waiting for $1 'attached' line(s) from usbhop attach"
    fi
    sleep 0.2
  done
  grep '^attached' /tmp/attach.log
}

imported() { usb_find "$1" "$2" $VHCI | head -n1; }
imported_present() { [ -n "$(imported "$1" "$2")" ]; }
imported_absent() { [ -z "$(imported "$1" "$2")" ]; }

attach_stop() {
  kill -INT $ATTACH
  wait $ATTACH || fail "usbhop attach exited with status $? on Ctrl-C: $(cat /tmp/attach.log)"
  # serve-<pid> is the running serve's report for usbhop status: not attach's.
  local left
  left=$(ls /run/usbhop 2>/dev/null | grep -v '^serve-' || true)
  [ -z "$left" ] || fail "state left behind under /run/usbhop: $left"
  cat $VHCI/status* | awk 'NR > 1 && $1 != "hub" && $3 != "004" { bad = 1 } END { exit bad }' \
    || fail "a vhci port is still in use: $(cat $VHCI/status*)"
  say "usbhop attach stopped; every vhci port is free and /run/usbhop holds nothing of attach's"
}

# make_tree DIR: a tree of files a person would copy (nested folders, sizes from 0 to 3 MiB, ~20 MiB).
make_tree() {
  local d=$1 i
  mkdir -p "$d/docs/notes" "$d/photos/2026" "$d/empty"
  for i in $(seq 1 12); do head -c $(( (i * 251) % 3000 * 1024 )) /dev/urandom > "$d/photos/2026/img_$i.raw"; done
  for i in $(seq 1 40); do seq 1 $(( i * 97 )) > "$d/docs/notes/note_$i.txt"; done
  : > "$d/docs/zero-length"
  printf 'usbhop lab tree\n' > "$d/README"
}

# imported_block VID PID: the /dev/sdX of VID:PID imported through vhci_hcd (waits for it).
imported_block() {
  wait_for 60 "$1:$2 under vhci_hcd" imported_present "$1" "$2"
  wait_block "$(imported "$1" "$2")" 60
}

# input_event_of SYSFS: /dev/input/eventN of the input device below USB device folder SYSFS.
input_event_of() {
  local e
  e=$(find "$(readlink -f "$1")/" -maxdepth 8 -name 'event[0-9]*' 2>/dev/null | head -n1)
  [ -n "$e" ] && [ -e "/dev/input/${e##*/}" ] && echo "/dev/input/${e##*/}"
}

# tty_of SYSFS: /dev/ttyACMN below USB device folder SYSFS.
tty_of() {
  local t
  t=$(find "$(readlink -f "$1")/" -maxdepth 8 -name 'ttyACM[0-9]*' 2>/dev/null | head -n1)
  [ -n "$t" ] && [ -e "/dev/${t##*/}" ] && echo "/dev/${t##*/}"
}

# serial_roundtrip A B BYTES: BYTES random bytes written to tty A arrive intact on tty B.
serial_roundtrip() {
  local a=$1 b=$2 n=$3 pid
  stty -F "$a" raw -echo
  stty -F "$b" raw -echo
  head -c "$n" /dev/urandom > /tmp/serial.in
  timeout 60 head -c "$n" "$b" > /tmp/serial.out &
  pid=$!
  sleep 0.5
  cat /tmp/serial.in > "$a"
  wait $pid || fail "reading $n bytes from $b timed out (got $(stat -c %s /tmp/serial.out))"
  cmp /tmp/serial.in /tmp/serial.out || fail "bytes from $a to $b differ"
  say "$n bytes from $a arrived intact on $b"
}

# key_a_arrives EVENTDEV HIDG: a KEY_A press written as a boot-keyboard report to HIDG arrives on EVENTDEV.
key_a_arrives() {
  local ev=$1 hidg=$2 pid
  rm -f /tmp/events.bin
  dd if="$ev" of=/tmp/events.bin bs=24 count=6 status=none &
  pid=$!
  sleep 1
  printf '\x00\x00\x04\x00\x00\x00\x00\x00' > "$hidg"   # usage 0x04: 'a' pressed
  printf '\x00\x00\x00\x00\x00\x00\x00\x00' > "$hidg"   # released
  for _ in $(seq 1 100); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
  kill $pid 2>/dev/null || true
  # struct input_event: 16 bytes of time, u16 type, u16 code, s32 value; EV_KEY = 1, KEY_A = 30.
  od -An -v -tu2 -w24 /tmp/events.bin | awk '$9 == 1 && $10 == 30 && $11 == 1 { press = 1 } $9 == 1 && $10 == 30 && $11 == 0 { release = 1 }
    END { exit !(press && release) }' || fail "no KEY_A press and release on $ev: $(od -An -tu2 -w24 /tmp/events.bin)"
  say "KEY_A press and release arrived on $ev"
}
