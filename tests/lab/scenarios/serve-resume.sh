# lab-serve-resume: a client whose connection drops comes back within the
# grace period with its session token and resumes (protocol.md §11): a HID
# report that arrived while it was away is delivered once on the resumed
# connection (retained result), and bulk INs still in flight on a Loopback
# complete on the new connection; ResumeOk lists nothing missing; no result
# twice (proto_probe checks every seqnum).
# lab-timeout: 500
. "$LAB/lib.sh"
. "$LAB/helpers/serve_lib.sh"

net_lo
gadgets_init 2
udevd_start
gadget_new kbd 0x1209 0x4b42 "lab keyboard"
gadget_hid_keyboard kbd
gadget_plug kbd
gadget_new lb 0x1209 0x4c42 "lab loopback"
gadget_loopback lb
gadget_plug lb
kbd_in=$(ep_addr "$(gadget_busid kbd)" Interrupt in)
lb_in=$(ep_addr "$(gadget_busid lb)" Bulk in)
lb_out=$(ep_addr "$(gadget_busid lb)" Bulk out)
serve_keys p1
serve_config p1 '[share "kbd"]\nmatch = 1209:4b42\n[share "lb"]\nmatch = 1209:4c42\n'
serve_start

say "keyboard: an interrupt IN pending, the connection drops, the report comes while the client is away"
probe p1 list attach 1209:4b42 submit-int-in "$kbd_in" 8 1 reconnect 4000 wait-results 30 detach \
  > "$SV/kbd.out" 2>&1 &
pk=$!
wait_lines 30 "$SV/kbd.out" '^DISCONNECTED'
wait_lines 20 "$SV/serve.log" 'disconnected; its 1 device\(s\) stay claimed'
printf '\x00\x00\x05\x00\x00\x00\x00\x00' > "$(gadget_hidg kbd)"
rc=0; wait "$pk" || rc=$?
cat "$SV/kbd.out"
expect_eq "keyboard probe exit" "$rc" 0
grep -q '^HELLO .*resumed=1' "$SV/kbd.out" || fail "the session was not resumed"
grep -q '^RESUME_OK attach_id=1 pending=1 missing=0' "$SV/kbd.out" || fail "Resume did not find the pending URB"
grep -q '^RESULTS ok=1$' "$SV/kbd.out" || fail "the report that came while away was not delivered once"

# 100-byte OUTs: a short packet ends each of the gadget's OUT requests, which
# Loopback then sends back on its IN endpoint.
say "loopback: two bulk INs in flight across a reconnect, completed by OUT data after it"
probe p1 list attach 1209:4c42 submit-in "$lb_in" 512 2 reconnect 500 bulk-out "$lb_out" 100 2 wait-results 30 detach \
  > "$SV/lb.out" 2>&1 || { cat "$SV/lb.out"; grep -v "quic" "$SV/serve.log" | tail -60; fail "probe on the loopback failed"; }
cat "$SV/lb.out"
grep -q '^RESUME_OK attach_id=1 pending=2 missing=0' "$SV/lb.out" || fail "Resume did not find the 2 URBs in flight"
grep -q '^RESULTS ok=4$' "$SV/lb.out" || fail "the URBs did not all complete once"
! grep -q VIOLATION "$SV/kbd.out" "$SV/lb.out" || fail "a result came twice"
serve_alive
serve_stop
say "serve-resume passed"
