"""dist/ as it is installed: every unit passes `systemd-analyze verify` with no
complaint, and keeps the limits and sandbox issue 18 asked for; the udev rule
gives group usbhop USB devices but not hubs; sysusers and tmpfiles give the
relay its own user and key directory.

usage: units_test.py USBHOP INSTALLED_BIN TMPFILES SYSUSERS UDEV_RULE UNIT..."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

ARGS = {}


def directives(path):
    """key -> list of values, over all sections (units may repeat a key)."""
    out = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;[" or "=" not in line:
                continue
            key, value = line.split("=", 1)
            out.setdefault(key.strip(), []).append(value.strip())
    return out


def unit(name):
    for u in ARGS["units"]:
        if os.path.basename(u) == name:
            return u
    raise AssertionError("no unit %s among %s" % (name, ARGS["units"]))


class UnitsTest(unittest.TestCase):
    def one(self, d, key):
        self.assertIn(key, d)
        self.assertEqual(len(d[key]), 1, d[key])
        return d[key][0]

    def test_every_unit_passes_systemd_analyze_verify_silently(self):
        analyze = shutil.which("systemd-analyze")
        if not analyze:
            self.skipTest("systemd-analyze is not installed (Debian: package systemd)")
        with tempfile.TemporaryDirectory(prefix="usbhop-units-") as tmp:
            for u in ARGS["units"]:
                with self.subTest(unit=os.path.basename(u)):
                    # verify checks that ExecStart= exists: point it at the built binary.
                    with open(u) as f:
                        text = f.read().replace(ARGS["installed_bin"], ARGS["usbhop"])
                    copy = os.path.join(tmp, os.path.basename(u))
                    with open(copy, "w") as f:
                        f.write(text)
                    r = subprocess.run([analyze, "verify", "--man=no", copy], capture_output=True, text=True,
                                       timeout=30)
                    self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                    # Unknown or misspelt directives are only warnings: any output is a failure.
                    self.assertEqual((r.stdout + r.stderr).strip(), "")

    def test_serve_and_relay_have_memory_and_task_limits(self):
        for name in ["usbhop.service", "usbhop-relay.service"]:
            with self.subTest(unit=name):
                d = directives(unit(name))
                self.assertRegex(self.one(d, "MemoryMax"), r"^\d+[KMG]$")
                self.assertRegex(self.one(d, "TasksMax"), r"^\d+$")

    def test_the_relay_has_its_own_user_and_key_directory(self):
        d = directives(unit("usbhop-relay.service"))
        self.assertEqual(self.one(d, "User"), "usbhop-relay")
        self.assertEqual(self.one(d, "Group"), "usbhop-relay")
        self.assertEqual(self.one(d, "StateDirectory"), "usbhop-relay")
        for rw in d.get("ReadWritePaths", []):
            self.assertNotRegex(rw, r"/usbhop(\s|$)", "the relay must not write serve's state directory")
        self.assertEqual(directives(unit("usbhop.service"))["User"], ["usbhop"])
        with open(ARGS["sysusers"]) as f:
            users = [l.split()[1] for l in f if l.startswith("u ")]
        self.assertEqual(sorted(users), ["usbhop", "usbhop-relay"])
        with open(ARGS["tmpfiles"]) as f:
            lines = [l.split() for l in f if l.startswith("d ")]
        relay_dirs = [l for l in lines if l[1].endswith("/usbhop-relay")]
        self.assertEqual(len(relay_dirs), 1, lines)
        self.assertEqual(relay_dirs[0][2:5], ["0700", "usbhop-relay", "usbhop-relay"])

    def test_the_run_directory_hands_its_group_to_status_files(self):
        with open(ARGS["tmpfiles"]) as f:
            run = [l.split() for l in f if l.startswith("d ") and "/run/" in l]
        self.assertEqual(len(run), 1, run)
        self.assertEqual(run[0][2:5], ["2755", "usbhop", "usbhop"])
        d = directives(unit("usbhop.service"))
        self.assertEqual(self.one(d, "RuntimeDirectoryMode"), "2755")

    def test_attach_runs_in_a_sandbox_with_one_capability(self):
        d = directives(unit("usbhop-attach@.service"))
        self.assertEqual(self.one(d, "CapabilityBoundingSet"), "CAP_DAC_OVERRIDE")
        self.assertEqual(self.one(d, "SystemCallFilter"), "@system-service")
        self.assertEqual(self.one(d, "ProtectSystem"), "strict")
        self.assertEqual(self.one(d, "NoNewPrivileges"), "yes")
        paths = self.one(d, "ReadWritePaths").split()
        self.assertEqual([p.lstrip("-") for p in paths], [ARGS["rundir"], "/sys/devices/platform"])
        # root's key in a directory of its own, not in serve's (the user usbhop owns that).
        self.assertEqual(self.one(d, "StateDirectory"), "usbhop-attach")
        self.assertEqual(self.one(d, "StateDirectoryMode"), "0700")
        # modprobe needs CAP_SYS_MODULE: it alone runs outside the sandbox ('+').
        for pre in d.get("ExecStartPre", []):
            self.assertRegex(pre, r"^[-@:]*\+", pre)
        self.assertRegex(self.one(d, "ExecStart"), r"/usbhop attach %I$")


def apply_rule(path, device):
    """The subset of udev rule syntax 70-usbhop.rules uses, run on one device:
    returns the assignments (GROUP, MODE) that apply."""
    with open(path) as f:
        lines = [l.strip() for l in f]
    assigned = {}
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line or line.startswith("#"):
            continue
        goto = None
        matched = True
        pending = {}
        for key, op, value in re.findall(r'([A-Z]+(?:\{[^}]*\})?)\s*(==|!=|=)\s*"([^"]*)"', line):
            if op in ("==", "!="):
                equal = device.get(key) == value
                matched = matched and (equal if op == "==" else not equal)
            elif key == "GOTO":
                goto = value
            elif key == "LABEL":
                pass
            else:
                pending[key] = value
        if not matched:
            continue
        assigned.update(pending)
        if goto:
            i = next(n for n, l in enumerate(lines) if l == 'LABEL="%s"' % goto) + 1
    return assigned


class UdevRuleTest(unittest.TestCase):
    def test_usb_devices_go_to_group_usbhop(self):
        disk = {"SUBSYSTEM": "usb", "ENV{DEVTYPE}": "usb_device", "ATTR{bDeviceClass}": "00"}
        self.assertEqual(apply_rule(ARGS["udev"], disk), {"GROUP": "usbhop", "MODE": "0664"})

    def test_hubs_interfaces_and_other_subsystems_are_left_alone(self):
        for device in [
            {"SUBSYSTEM": "usb", "ENV{DEVTYPE}": "usb_device", "ATTR{bDeviceClass}": "09"},
            {"SUBSYSTEM": "usb", "ENV{DEVTYPE}": "usb_interface"},
            {"SUBSYSTEM": "block", "ENV{DEVTYPE}": "disk"},
        ]:
            with self.subTest(device=device):
                self.assertEqual(apply_rule(ARGS["udev"], device), {})

    def test_the_rule_says_how_to_keep_a_boot_disk_out(self):
        with open(ARGS["udev"]) as f:
            text = f.read()
        self.assertIn("boot disk", text)
        self.assertIn('GROUP="root"', text)


def main():
    argv = sys.argv
    if len(argv) < 7:
        sys.exit(__doc__)
    ARGS.update(usbhop=os.path.abspath(argv[1]), installed_bin=argv[2], tmpfiles=argv[3], sysusers=argv[4],
                udev=argv[5], units=argv[6:])
    # The run and state directories as built, read back from tmpfiles.d.
    with open(ARGS["tmpfiles"]) as f:
        dirs = [l.split()[1] for l in f if l.startswith("d ")]
    ARGS["rundir"] = next(d for d in dirs if "/run/" in d)
    ARGS["statedir"] = next(d for d in dirs if d.endswith("/usbhop"))
    del argv[1:]
    unittest.main(verbosity=2)


if __name__ == "__main__":
    main()
