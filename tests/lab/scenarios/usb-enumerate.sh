# lab-usb-enumerate: usb::Host's registry describes a SourceSink gadget as the
# kernel sees it (ids, bus path, bus/address, speed, names, raw descriptors,
# interface classes), marks root hubs as hubs and refuses to claim them.
# lab-timeout: 400
. "$LAB/lib.sh"

gadgets_init 1
udevd_start
gadget_new ss 0x1209 0x5353 "lab sourcesink"
gadget_sourcesink ss pattern=1 bulk_buflen=4096
gadget_plug ss
s=$(gadget_sysfs ss)
busid=${s##*/}

usb_exercise list | tee /tmp/list
grep -q "^DEVICE $busid 1209:5353 " /tmp/list || fail "usb_exercise list does not show 1209:5353 at $busid"
check "usb_exercise list --path $busid" usb_exercise list --path "$busid" > /tmp/dev
cat /tmp/dev
field() { sed -n "s/^$1=//p" /tmp/dev; }

expect_eq "bus path" "$(field path)" "$busid"
expect_eq "vendor:product" "$(field id)" 1209:5353
case $(cat "$s/speed") in 1.5) want=1 ;; 12) want=2 ;; 480) want=3 ;; 5000) want=5 ;; *) want=6 ;; esac
expect_eq "USB/IP speed (sysfs says $(cat "$s/speed") Mb/s)" "$(field speed)" $want
expect_eq "bus number" "$(field bus)" "$(cat "$s/busnum")"
expect_eq "device address" "$(field addr)" "$(cat "$s/devnum")"
expect_eq "hub flag" "$(field hub)" 0
expect_eq "interface classes" "$(field classes)" ff
expect_eq "active configuration" "$(field active)" "$(cat "$s/bConfigurationValue")"
expect_eq "manufacturer" "$(field manufacturer)" "usbhop lab"
expect_eq "product" "$(field product)" "lab sourcesink"
expect_eq "serial" "$(field serial)" "LAB-ss"
expect_eq "device descriptor" "$(field device_descriptor)" "$(head -c 18 "$s/descriptors" | od -An -v -tx1 | tr -d ' \n')"
expect_eq "configuration descriptors" "$(field configuration_descriptors)" "$(tail -c +19 "$s/descriptors" | od -An -v -tx1 | tr -d ' \n')"
say "registry matches sysfs for $busid"

root=usb${busid%%-*}
grep -q "^DEVICE $root 1d6b:.* hub=1 " /tmp/list || fail "the root hub $root is not listed as a hub"
if out=$(usb_exercise claim --path "$root"); then fail "claiming the root hub succeeded: $out"; fi
printf '%s\n' "$out"
case "$out" in *"CLAIM-REFUSED"*"hub"*) ;; *) fail "claiming $root was not refused as a hub: $out" ;; esac
say "usb-enumerate passed"
