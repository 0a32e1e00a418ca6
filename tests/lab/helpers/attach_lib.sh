# Shared steps of the attach-* scenarios (and demo.sh), sourced after lib.sh:
# a server (usbhop serve) and a client (usbhop attach) in one guest over
# loopback, each with its own configuration and key under /tmp.
#
#   attach_lab_init [SERVE_EXTRA_CONF]   vhci_hcd, loopback, keys, configs (server trusts client)
#   serve_start                          start usbhop serve (log /tmp/serve.log); waits until it listens
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

[share "lab"]
match = *:*
CONF
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
  wait_for "${2:-60}" "$1 'attached' line(s) from usbhop attach" sh -c "[ \$(grep -c '^attached' /tmp/attach.log) -ge $1 ]" \
    || { cat /tmp/attach.log; false; }
  grep '^attached' /tmp/attach.log
}

imported() { usb_find "$1" "$2" $VHCI | head -n1; }

attach_stop() {
  kill -INT $ATTACH
  wait $ATTACH || fail "usbhop attach exited with status $? on Ctrl-C: $(cat /tmp/attach.log)"
  [ -z "$(ls /run/usbhop 2>/dev/null)" ] || fail "state left behind under /run/usbhop: $(ls /run/usbhop)"
  cat $VHCI/status* | awk 'NR > 1 && $1 != "hub" && $3 != "004" { bad = 1 } END { exit bad }' \
    || fail "a vhci port is still in use: $(cat $VHCI/status*)"
  say "usbhop attach stopped; every vhci port is free and /run/usbhop is empty"
}
