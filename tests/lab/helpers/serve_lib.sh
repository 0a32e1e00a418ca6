# Shared by scenarios/serve-*.sh: a `usbhop serve` in the guest and proto_probe
# clients with their own keys. Source after lib.sh.

SV=/tmp/serve
mkdir -p "$SV"

# serve_keys NAME...: a probe key per name; the first ones are trusted by serve_config.
serve_keys() {
  local n
  for n in "$@"; do proto_probe --key "$SV/$n.key" id > "$SV/$n.id" || fail "proto_probe cannot make key $n"; done
}

# serve_config TRUSTED_NAMES SHARE_SECTIONS: writes usbhop.conf and authorized_keys.
serve_config() {
  local n
  : > "$SV/authorized_keys"
  for n in $1; do echo "$(cat "$SV/$n.id") $n" >> "$SV/authorized_keys"; done
  printf '[server]\nlisten = 127.0.0.1:7575\nidentity = %s/server.key\nauthorized_keys = %s/authorized_keys\ngrace = %s\n%b' \
    "$SV" "$SV" "${SERVE_GRACE:-30s}" "$2" > "$SV/usbhop.conf"
}

# serve_start [ENV=VALUE...]: starts serve in the background ($SERVE_PID), waits until it listens.
serve_start() {
  env "$@" "$USBHOP" ${SERVE_VERBOSE:+-v} -c "$SV/usbhop.conf" serve > "$SV/serve.log" 2>&1 &
  SERVE_PID=$!
  wait_lines 20 "$SV/serve.log" 'serving as'
  SERVE_ID=$("$USBHOP" -c "$SV/usbhop.conf" id --server)
  say "serve running (pid $SERVE_PID) as ${SERVE_ID:0:8}"
}

# probe NAME COMMAND...: proto_probe as NAME against the serve; output on stdout.
probe() {
  local n=$1; shift
  proto_probe --key "$SV/$n.key" --server 127.0.0.1:7575 --node "$SERVE_ID" --timeout "${PROBE_TIMEOUT:-20}" "$@"
}

# serve_alive: fail unless serve is still running.
serve_alive() { kill -0 "$SERVE_PID" 2>/dev/null || { cat "$SV/serve.log"; fail "usbhop serve is not running"; }; }

# serve_stop: SIGTERM, and serve must exit 0.
serve_stop() {
  kill -TERM "$SERVE_PID"
  local rc=0
  wait "$SERVE_PID" || rc=$?
  [ "$rc" = 0 ] || { tail -30 "$SV/serve.log"; fail "usbhop serve exited $rc after SIGTERM"; }
  say "serve stopped, exit 0"
}

# ep_addr BUSID TYPE DIR: the address (0x81) of the first endpoint of TYPE (Bulk,
# Interrupt) and DIR (in, out) on BUSID's interface 0.
ep_addr() {
  local e
  for e in /sys/bus/usb/devices/"$1":1.0/ep_*; do
    if [ "$(cat "$e/type")" = "$2" ] && [ "$(cat "$e/direction")" = "$3" ]; then
      echo "0x$(cat "$e/bEndpointAddress")"
      return
    fi
  done
  fail "no $2 $3 endpoint on $1"
}

# field LINE_PREFIX KEY FILE: the value of KEY= on the last line of FILE starting with LINE_PREFIX.
field() { grep "^$1 " "$3" | tail -1 | tr ' ' '\n' | sed -n "s/^$2=//p"; }
