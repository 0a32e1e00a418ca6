# lab-timeout: 600
# Journal fields about a device (usbhop(1) JOURNAL FIELDS): serve and attach
# log to a journal socket (helpers/journal_sink.py stands in for journald;
# JOURNAL_STREAM names each one's stderr, as systemd does), a HID keyboard
# gadget is attached and detached, and every serve/usb line about it carries
# USBHOP_DEVICE (vid:pid), USBHOP_BUSID (its bus path), and those about the
# client USBHOP_PEER (full ID) and USBHOP_PEER_NAME (the authorized_keys
# comment); attach's lines carry the server's USBHOP_PEER.
. "$LAB/lib.sh"
. "$LAB/helpers/attach_lib.sh"

gadgets_init 1
gadget_new kbd 0x1d6b 0x0105 "lab keyboard"
gadget_hid_keyboard kbd
gadget_plug kbd
BUSID=$(basename "$(usb_find 1d6b 0105 /sys/devices/platform/dummy_hcd.0)")
[ -n "$BUSID" ] || fail "no bus path for the keyboard gadget"
attach_lab_init
python3 "$LAB/helpers/journal_sink.py" /run/systemd/journal/socket /tmp/journal.jsonl &
SINK=$!
wait_for 10 "the journal socket" test -S /run/systemd/journal/socket

: > /tmp/serve.log
export JOURNAL_STREAM=$(stat -c %d:%i /tmp/serve.log)
serve_start
: > /tmp/attach.log
JOURNAL_STREAM=$(stat -c %d:%i /tmp/attach.log)
attach_start 1d6b:0105
unset JOURNAL_STREAM
attach_wait_lines 1
wait_for 30 "the keyboard under vhci_hcd" imported_present 1d6b 0105
attach_stop
wait_for 30 "serve's 'detached from' line" grep -q ' detached from ' /tmp/journal.jsonl
kill $SINK

python3 - "$BUSID" "$CLIENT_ID" "$SERVER_ID" /tmp/journal.jsonl <<'PY' || fail "journal fields (records above)"
import json, sys
busid, client, server, path = sys.argv[1:]
records = [json.loads(line) for line in open(path)]
bad = []
def get(r, k): return [v for key, v in r if key == k]
def msg(r): return get(r, "MESSAGE")[0]
def need(text, **want):
    found = [r for r in records if text in msg(r)]
    if not found:
        bad.append("no line with %r" % text)
    for r in found:
        for k, v in want.items():
            if get(r, k) != [v]:
                bad.append("%r: %s=%r, want %r" % (msg(r), k, get(r, k), v))
dev = dict(USBHOP_DEVICE="1d6b:0105", USBHOP_BUSID=busid)
peer = dict(USBHOP_PEER=client, USBHOP_PEER_NAME="lab client")
if any("USB device %s (" % busid in msg(r) for r in records):  # serve saw the gadget arrive
    need("USB device %s (" % busid, **dev)
need("claims %s for" % busid, **dev, **peer)
need("attached by", **dev, **peer)
need("detached from", **dev, **peer)
need("usb: %s claimed" % busid, **dev)
need("usb: %s given back" % busid, **dev)
need("connected to %s@" % server[:8], USBHOP_PEER=server)
# Every line naming the bus path carries it as USBHOP_BUSID.
for r in records:
    if " %s " % busid in " %s " % msg(r).replace(":", " ") and get(r, "USBHOP_BUSID") != [busid]:
        bad.append("%r has USBHOP_BUSID=%r" % (msg(r), get(r, "USBHOP_BUSID")))
for r in records:
    print("  " + " ".join("%s=%s" % (k, v) for k, v in r if not k.startswith("CODE_")))
for b in bad:
    print("BAD: " + b)
sys.exit(1 if bad else 0)
PY
say "every line about $BUSID (1d6b:0105) and about the client carries its journal fields"
kill -0 $SERVE || fail "usbhop serve died"
say "PASS"
