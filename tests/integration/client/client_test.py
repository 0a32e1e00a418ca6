"""usbhop list/attach/status/detach as a user meets them, against
attach_fake_server (tests/lab/helpers) over loopback: no vhci_hcd needed for
listing, and the commands that need it say so in one line.

  client_test.py USBHOP FAKE_SERVER
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

USBHOP = FAKE = None


class ClientTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="usbhop-client-")
        self.conf = os.path.join(self.tmp, "usbhop.conf")
        with open(self.conf, "w") as f:
            f.write(f"[client]\nidentity = {self.tmp}/client.key\nreconnect_max = 1s\n")
        self.start_server()

    def start_server(self, *extra):
        self.log = open(os.path.join(self.tmp, "server.log"), "w+", errors="replace")
        self.server = subprocess.Popen([FAKE, "--listen", "127.0.0.1:0", "--key", f"{self.tmp}/server.key", *extra],
                                       stdout=self.log, stderr=subprocess.STDOUT)
        node = addr = None
        for _ in range(100):
            self.log.seek(0)
            for line in self.log.read().splitlines():
                if line.startswith("node "):
                    node = line.split()[1]
                if line.startswith("listening "):
                    addr = line.split()[1]
            if node and addr:
                break
            time.sleep(0.05)
        self.assertTrue(node and addr, "the fake server did not start")
        self.peer = f"{node}@{addr}"
        self.node = node

    def tearDown(self):
        self.server.terminate()
        self.server.wait(5)
        self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def usbhop(self, *args, timeout=20):
        # Our own rundir: what attach and serve elsewhere on this machine report is not ours to see.
        env = {"PATH": "/usr/bin:/bin", "HOME": self.tmp, "LC_ALL": "C", "USBHOP_RUNDIR": f"{self.tmp}/run"}
        return subprocess.run([USBHOP, "-c", self.conf, *args], capture_output=True, text=True, env=env,
                              timeout=timeout)

    def server_log(self):
        self.log.seek(0)
        return self.log.read()

    def test_list_shows_the_shared_device(self):
        r = self.usbhop("list", self.peer)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("1209:0001 usbhop lab usbhop fake (1-1)  speed high, available, share fake, serial FAKE0001",
                      r.stdout)

    def test_list_json_is_an_array_of_devices(self):
        r = self.usbhop("list", "--json", self.peer)
        self.assertEqual(r.returncode, 0, r.stderr)
        devices = json.loads(r.stdout)
        self.assertEqual(len(devices), 1)
        d = devices[0]
        self.assertEqual((d["vendor"], d["product"], d["bus_path"], d["serial"], d["speed"], d["state"]),
                         ("1209", "0001", "1-1", "FAKE0001", "high", "available"))

    def test_list_json_escapes_what_a_device_sends(self):
        # A serial number with an escape sequence, a newline, a quote and a
        # byte that is not UTF-8: the JSON parses, control characters are
        # escaped, the stray byte is U+FFFD, and nothing arrives raw.
        self.server.terminate()
        self.server.wait(5)
        self.log.close()
        self.start_server("--serial", b'AB\x1b[31m"\n\xffZ')
        r = subprocess.run([USBHOP, "-c", self.conf, "list", "--json", self.peer], capture_output=True, timeout=20,
                           env={"PATH": "/usr/bin:/bin", "HOME": self.tmp, "LC_ALL": "C",
                                "USBHOP_RUNDIR": f"{self.tmp}/run"})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn(b"\x1b", r.stdout)
        self.assertNotIn(b"\xff", r.stdout)
        [d] = json.loads(r.stdout.decode("utf-8"))
        self.assertEqual(d["serial"], 'AB\x1b[31m"\n\ufffdZ')
        self.assertIn(b'"serial":"AB\\u001b[31m\\"\\n\xef\xbf\xbdZ"', r.stdout)

    def test_list_watch_prints_departures_and_arrivals(self):
        p = subprocess.Popen([USBHOP, "-c", self.conf, "list", "--watch", self.peer], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env={"HOME": self.tmp, "LC_ALL": "C"})
        first = p.stdout.readline()
        self.assertIn("1209:0001", first)
        self.server.send_signal(signal.SIGUSR2)  # unplug
        left = p.stdout.readline()
        self.server.send_signal(signal.SIGHUP)   # plug back
        arrived = p.stdout.readline()
        p.send_signal(signal.SIGINT)
        p.wait(10)
        p.stdout.close()
        p.stderr.close()
        self.assertTrue(left.startswith("left"), left)
        self.assertIn("1209:0001", left)
        self.assertTrue(arrived.startswith("arrived  1209:0001"), arrived)
        self.assertEqual(p.returncode, 0)

    def test_list_of_an_unreachable_peer_fails_in_one_line(self):
        r = self.usbhop("list", f"{self.node}@127.0.0.1:9", timeout=30)
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot list the devices of", r.stderr)

    def test_list_of_the_wrong_node_is_refused(self):
        other = self.usbhop("id").stdout.strip()  # our own node ID: not the server's
        addr = self.peer.split("@")[1]
        r = self.usbhop("list", f"{other}@{addr}", timeout=30)
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot list the devices of", r.stderr)

    def test_attach_says_what_to_do_without_vhci(self):
        if os.path.exists("/sys/devices/platform/vhci_hcd.0"):
            self.skipTest("vhci_hcd is loaded here")
        r = self.usbhop("attach", self.peer)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr.strip().splitlines(),
                         ["usbhop: error: vhci_hcd is not loaded (no /sys/devices/platform/vhci_hcd.0): "
                          "run 'modprobe vhci-hcd' as root"])

    def test_attach_names_a_bad_peer(self):
        r = self.usbhop("attach", "nosuchpeer")
        self.assertEqual(r.returncode, 2)
        self.assertIn("unknown peer 'nosuchpeer'", r.stderr)

    def test_status_and_detach_with_nothing_attached(self):
        r = self.usbhop("status", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout), {"devices": [], "connections": []})
        r = self.usbhop("detach")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--all", r.stderr)


if __name__ == "__main__":
    USBHOP, FAKE = sys.argv[1], sys.argv[2]
    unittest.main(argv=sys.argv[:1], verbosity=2)
