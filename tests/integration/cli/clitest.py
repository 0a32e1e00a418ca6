"""Shared helpers for the usbhop command-line tests: run the built binary in a
scratch HOME and check what a user would see (exit status, the one line)."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

USBHOP = None  # set by main() from argv[1]


class CliTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="usbhop-cli-")
        self.home = os.path.join(self.tmp, "home")
        os.makedirs(self.home)
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": self.home,
            "XDG_CONFIG_HOME": os.path.join(self.home, ".config"),
            "LC_ALL": "C",
        }

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    def write(self, name, text):
        p = self.path(name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)
        return p

    def run_usbhop(self, *args, env=None, timeout=30):
        e = dict(self.env)
        if env:
            e.update(env)
        return subprocess.run([USBHOP, *args], capture_output=True, text=True, env=e, timeout=timeout)

    def assert_one_line_error(self, r, status, text):
        """Exit status `status` and exactly one stderr line, equal to `text`."""
        self.assertEqual(r.returncode, status, r.stderr)
        lines = r.stderr.splitlines()
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertEqual(lines[0], text)


def main():
    global USBHOP
    if len(sys.argv) < 2:
        sys.exit("usage: %s path/to/usbhop [unittest args]" % sys.argv[0])
    USBHOP = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
