# lab-serve-race: two trusted peers race to attach one device: exactly one gets
# AttachOk, the other AttachError{IN_USE} naming the winner; an untrusted peer
# is refused in the handshake and learns nothing (no list); after the winner
# detaches, the other can attach.
# lab-timeout: 400
. "$LAB/lib.sh"
. "$LAB/helpers/serve_lib.sh"

net_lo
gadgets_init 1
udevd_start
gadget_new ss 0x1209 0x5353 "lab sourcesink"
gadget_sourcesink ss
gadget_plug ss
serve_keys a b stranger
SERVE_GRACE=10s serve_config "a b" '[share "ss"]\nmatch = 1209:5353\n'
serve_start

say "two peers attach at once"
# Both connect and list first, then attach at the same moment.
probe a list wait-file /tmp/go 60 attach 1209:5353 sleep 1000 > "$SV/a.out" 2>&1 &
pa=$!
probe b list wait-file /tmp/go 60 attach 1209:5353 sleep 1000 > "$SV/b.out" 2>&1 &
pb=$!
wait_lines 30 "$SV/a.out" '^LIST count=1'
wait_lines 30 "$SV/b.out" '^LIST count=1'
touch /tmp/go
wait "$pa" || true
wait "$pb" || true
cat "$SV/a.out" "$SV/b.out"
oks=$(cat "$SV/a.out" "$SV/b.out" | grep -c '^ATTACH_OK' || true)
errs=$(cat "$SV/a.out" "$SV/b.out" | grep -c '^ATTACH_ERROR reason=in use holder=' || true)
expect_eq "winners" "$oks" 1
expect_eq "refused with IN_USE" "$errs" 1
if grep -q '^ATTACH_OK' "$SV/a.out"; then winner=a; else winner=b; fi
holder=$(grep '^ATTACH_ERROR' "$SV/a.out" "$SV/b.out" | sed -n 's/.*holder=\([^ ]*\).*/\1/p')
expect_eq "holder named in the error" "$holder" "$(cut -c1-8 "$SV/$winner.id")"
grep -q "message=.*is in use by $holder since" "$SV/a.out" "$SV/b.out" || fail "the error message does not say who holds it"

say "the winner disconnected: its device stays claimed for the grace period, then is free"
probe b list > "$SV/grace.out" 2>&1
grep -q "vidpid=1209:5353 state=2 holder=$holder" "$SV/grace.out" || { cat "$SV/grace.out"; fail "the device was not kept for the disconnected winner"; }
say "untrusted peer"
rc=0
probe stranger list > "$SV/stranger.out" 2>&1 || rc=$?
cat "$SV/stranger.out"
expect_eq "untrusted probe exit" "$rc" 3
grep -q '^CLOSED kind=3' "$SV/stranger.out" || fail "the untrusted peer was not refused in the handshake"
! grep -q '^DEVICE\|^HELLO\|^LIST' "$SV/stranger.out" || fail "the untrusted peer learned something"
grep -q "not in authorized_keys" "$SV/serve.log" || fail "serve did not log the refusal"

wait_for 40 "the device to be free again" sh -c "proto_probe --key $SV/a.key --server 127.0.0.1:7575 --node $SERVE_ID list | grep -q 'vidpid=1209:5353 state=0'"
probe a list attach 1209:5353 detach > "$SV/a2.out" 2>&1 || { cat "$SV/a2.out"; fail "attach after release failed"; }
grep -q '^ATTACH_OK' "$SV/a2.out" || fail "no AttachOk once the device was free"
serve_alive
serve_stop
say "serve-race passed"
