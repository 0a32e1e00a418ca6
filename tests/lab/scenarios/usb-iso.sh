# lab-usb-iso: isochronous transfers through usb::Host on a real host
# controller driver: QEMU's emulated usb-audio on its emulated xHCI
# (dummy_hcd has no isochronous support,
# tests/lab/README.md#isochronous-devices). The streaming alt setting is
# selected through the intercepted SET_INTERFACE, isochronous OUT
# transfers of 8 packets run 4 in flight and every packet is reported sent.
# lab-timeout: 400
# lab-qemu: -device qemu-xhci,id=xhci -device usb-audio,bus=xhci.0,audiodev=a0 -audiodev none,id=a0
. "$LAB/lib.sh"

mod xhci_pci
udevd_start
wait_for 30 "QEMU's usb-audio (46f4:0002) on the xHCI" usb_present 46f4 0002
s=$(usb_find 46f4 0002 | head -n1)
say "usb-audio at ${s##*/}, $(cat "$s/speed") Mb/s"
check "usb_exercise iso" usb_exercise iso --id 46f4:0002 --transfers 64 --packets 8 --depth 4
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99
check "usb_exercise_asan iso" usb_exercise_asan iso --id 46f4:0002 --transfers 16 --packets 8 --depth 4
say "usb-iso passed"
