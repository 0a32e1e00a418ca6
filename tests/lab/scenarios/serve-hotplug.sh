# lab-serve-hotplug: a gadget plugged in while usbhop serve runs reaches a
# watching client (ListDevices{watch}: DeviceArrived) and can be attached;
# unplugged with bulk INs in flight, every one completes NO_DEVICE, the client
# gets Detached{GONE} and DeviceLeft, and serve keeps running and serving.
# lab-timeout: 500
. "$LAB/lib.sh"
. "$LAB/helpers/serve_lib.sh"

net_lo
gadgets_init 1
udevd_start
serve_keys p1
serve_config p1 '[share "lb"]\nmatch = 1209:4c42\n'
serve_start

# A Loopback gadget's bulk IN waits for OUT data: URBs on it stay in flight.
# dummy_hcd gives it endpoint 0x81 (checked below once it is plugged).
probe p1 watch wait-arrive 1209:4c42 60 attach 1209:4c42 inflight 0x81 512 4 60 wait-detached 30 \
  > "$SV/watch.out" 2>&1 &
probe_pid=$!
wait_lines 20 "$SV/watch.out" '^LIST count=0'
say "client watching, no device yet"

gadget_new lb 0x1209 0x4c42 "lab loopback"
gadget_loopback lb
gadget_plug lb
expect_eq "loopback bulk IN endpoint" "$(ep_addr "$(gadget_busid lb)" Bulk in)" 0x81
wait_lines 30 "$SV/watch.out" '^ARRIVED .*vidpid=1209:4c42'
wait_lines 30 "$SV/watch.out" '^ATTACH_OK'
wait_lines 30 "$SV/watch.out" '^INFLIGHT urbs=4'
say "attached with 4 bulk INs in flight; unplugging"
gadget_unplug lb

rc=0
wait "$probe_pid" || rc=$?
cat "$SV/watch.out"
expect_eq "probe exit" "$rc" 0
grep -q "^RESULTS no_device=4$" "$SV/watch.out" || fail "the URBs in flight did not all complete NO_DEVICE"
grep -q "^DETACHED .*reason=device gone" "$SV/watch.out" || fail "no Detached{GONE}"
grep -q "^LEFT id=" "$SV/watch.out" || fail "no DeviceLeft"
serve_alive

say "serve goes on: a new client lists, the device comes back and attaches again"
probe p1 list > "$SV/list.out" 2>&1 || { cat "$SV/list.out"; fail "list after unplug failed"; }
expect_eq "devices after unplug" "$(field LIST count "$SV/list.out")" 0
gadget_plug lb
wait_for 20 "serve to see the device again" sh -c "proto_probe --key $SV/p1.key --server 127.0.0.1:7575 --node $SERVE_ID list | grep -q 'vidpid=1209:4c42'"
probe p1 list attach 1209:4c42 detach > "$SV/again.out" 2>&1 || { cat "$SV/again.out"; fail "attach after replug failed"; }
grep -q "^ATTACH_OK" "$SV/again.out" || fail "no AttachOk after replug"
grep -c "unplugged while attached" "$SV/serve.log" | grep -q 1 || fail "serve did not log the unplug"
serve_stop
say "serve-hotplug passed"
