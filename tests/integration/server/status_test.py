"""`usbhop status` on the serve side, with a real serve, relay and client
(`usbhop list --watch`, which holds a session open) on loopback: each
connection is reported as direct or relayed (via which relay), with the
peer's address and a smoothed RTT above zero, and is gone once the client
leaves. The relay set-up is relay_modes_test's.

As root, the whole test runs in a network namespace of its own (unshare -n),
where nftables can drop every UDP packet that does not touch the relay: the
peers' hole punching then fails and the session must stay relayed. Elsewhere
that case is skipped. (The attach side needs vhci_hcd: lab scenario
attach-storage.)

usage: status_test.py USBHOP"""
import json
import os
import re
import shutil
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "relay"))
import relay_modes_test  # noqa: E402

IN_NETNS = os.environ.get("USBHOP_STATUS_TEST_NETNS") == "1"


def cpu_has_aes():
    """What quic/cipher.cpp asks the CPU, read from /proc/cpuinfo instead."""
    with open("/proc/cpuinfo") as f:
        flags = set()
        for line in f:
            if line.startswith(("flags", "Features")):
                flags |= set(line.split(":", 1)[1].split())
    return ("aes" in flags and "pclmulqdq" in flags) or ("aes" in flags and "pmull" in flags)


class Status(relay_modes_test.Modes):
    # Its set-up and helpers are what we reuse; its own test runs in relay-modes.
    test_a_ticket_or_a_bare_node_id_reaches_the_server_through_the_relay = None

    def setUp(self):
        super().setUp()
        # serve (and everything else this test starts) reports under our own rundir.
        self.rundir = os.path.join(self.tmp, "run")
        os.environ["USBHOP_RUNDIR"] = self.rundir
        self.relay_port = int(self.relay_ref.split()[0].rsplit(":", 1)[1])
        with open(self.sconf) as f:
            self.server_port = int(re.search(r"listen = 127\.0\.0\.1:(\d+)", f.read()).group(1))

    def watch(self, conf, peer):
        """A client that keeps its session: usbhop list --watch."""
        log = open(os.path.join(self.tmp, "client.log"), "w+")
        p = subprocess.Popen([relay_modes_test.USBHOP, "-c", conf, "list", "--watch", peer], stdout=log, stderr=log)
        self.procs.append((p, log))
        return p

    def status(self, *args):
        return self.usbhop(self.cconf, "status", *args)

    def serve_connections(self):
        r = json.loads(self.status("--json").stdout)
        self.assertEqual(r["devices"], [])
        return [c for c in r["connections"] if c["role"] == "serve"]

    def wait_connection(self, path, timeout=15):
        """serve's report of the client, once its path is `path`."""
        deadline = time.monotonic() + timeout
        seen = None
        while time.monotonic() < deadline:
            for c in self.serve_connections():
                seen = c
                if c["path"] == path and c["rtt_ms"] and c["rtt_ms"] > 0:
                    return c
            time.sleep(0.2)
        self.fail("serve never reported a %s connection with an RTT; last: %r" % (path, seen))

    def check_common(self, c):
        self.assertEqual(c["peer"], self.client_id)
        self.assertEqual(c["state"], "ready")
        self.assertGreater(c["rtt_ms"], 0)
        self.assertLess(c["rtt_ms"], 1000)  # loopback
        self.assertRegex(c["address"], r"^127\.0\.0\.1:\d+$")
        self.assertIsInstance(c["pid"], int)
        # The handshake alone moves a few kilobytes each way.
        self.assertGreater(c["bytes_sent"], 1000)
        self.assertGreater(c["bytes_received"], 1000)
        self.assertGreater(c["packets_sent"], 2)
        self.assertEqual(c["packets_lost"], 0)  # loopback

    def stop_client_and_see_it_go(self, client):
        client.terminate()
        client.wait(10)
        deadline = time.monotonic() + 10
        while self.serve_connections() and time.monotonic() < deadline:
            time.sleep(0.2)
        self.assertEqual(self.serve_connections(), [])

    def test_a_client_at_the_servers_address_is_direct(self):
        serve_log = self.start(self.sconf, "serve", "serve")
        self.wait_log(serve_log, "serving as")
        plain = self.write("plain.conf", "[client]\nidentity = %s/client.key\n" % self.tmp)
        client = self.watch(plain, "%s@127.0.0.1:%d" % (self.server_id, self.server_port))
        c = self.wait_connection("direct")
        self.check_common(c)
        self.assertIsNone(c["via"])
        cipher = "aes-128-gcm" if cpu_has_aes() else "chacha20-poly1305"
        self.assertEqual(c["cipher"], cipher)
        text = self.status().stdout
        self.assertRegex(text, r"\nROLE +PEER +STATE +PATH +ADDRESS +RTT +SENT +RECV +LOSS +CIPHER\n")
        self.assertRegex(text, r"serve +%s +ready +direct +127\.0\.0\.1:\d+ +\d+\.\d ms +[\d.]+k? +[\d.]+k? +0\.00%% +%s\n"
                         % (self.client_id[:8], cipher))
        self.stop_client_and_see_it_go(client)

    def cipher_between(self, serve_wants, client_wants):
        """The cipher serve reports for a client when each end asks for one (USBHOP_CIPHER)."""
        os.environ["USBHOP_CIPHER"] = serve_wants
        try:
            serve_log = self.start(self.sconf, "serve", "serve-" + serve_wants)
            self.wait_log(serve_log, "serving as")
            os.environ["USBHOP_CIPHER"] = client_wants
            plain = self.write("plain.conf", "[client]\nidentity = %s/client.key\n" % self.tmp)
            client = self.watch(plain, "%s@127.0.0.1:%d" % (self.server_id, self.server_port))
        finally:
            del os.environ["USBHOP_CIPHER"]
        c = self.wait_connection("direct")
        # The client's log line names it too.
        self.wait_log(self.procs[-1][1], "(%s)" % c["cipher"])
        self.stop_client_and_see_it_go(client)
        for p, _ in self.procs:
            p.terminate()
            p.wait(10)
        return c["cipher"]

    def test_chacha20_when_either_end_lacks_aes_instructions(self):
        # The lab cannot take AES instructions away from a CPU: USBHOP_CIPHER
        # stands in for what cpu_has_aes() finds (unit-quic tests the strings).
        self.assertEqual(self.cipher_between("aes", "aes"), "aes-128-gcm")
        self.assertEqual(self.cipher_between("chacha", "aes"), "chacha20-poly1305")
        self.assertEqual(self.cipher_between("aes", "chacha"), "chacha20-poly1305")

    def test_a_client_through_the_relay_moves_to_a_direct_path_when_punching_works(self):
        relay_log = self.start(self.rconf, "relay", "relay")
        self.wait_log(relay_log, "listening on")
        serve_log = self.start(self.sconf, "serve", "serve")
        self.wait_log(serve_log, "registered with relay")
        client = self.watch(self.cconf, self.server_id)
        self.wait_log(relay_log, "opened")
        c = self.wait_connection("direct")
        self.check_common(c)
        self.assertIsNone(c["via"])
        self.stop_client_and_see_it_go(client)

    @unittest.skipUnless(IN_NETNS, "needs root for a network namespace where nftables can stop hole punching")
    def test_a_client_through_the_relay_stays_relayed_when_punching_fails(self):
        # Only packets to or from the relay get through: no direct path can work.
        subprocess.run(["nft", "add table inet usbhop_status_test"], check=True)
        subprocess.run(["nft", "add chain inet usbhop_status_test out { type filter hook output priority 0 ; }"],
                       check=True)
        for rule in ("udp dport %d accept" % self.relay_port, "udp sport %d accept" % self.relay_port,
                     "meta l4proto udp drop"):
            subprocess.run(["nft", "add rule inet usbhop_status_test out " + rule], check=True)
        self.addCleanup(subprocess.run, ["nft", "delete table inet usbhop_status_test"])
        relay_log = self.start(self.rconf, "relay", "relay")
        self.wait_log(relay_log, "listening on")
        serve_log = self.start(self.sconf, "serve", "serve")
        self.wait_log(serve_log, "registered with relay")
        client = self.watch(self.cconf, self.server_id)
        c = self.wait_connection("relayed")
        self.check_common(c)
        self.assertEqual(c["via"], "127.0.0.1:%d" % self.relay_port)
        time.sleep(3)  # punching goes on for a while: still relayed after it
        [c] = self.serve_connections()
        self.assertEqual(c["path"], "relayed")
        text = self.status().stdout
        self.assertRegex(text, r"serve +%s +ready +relayed via 127\.0\.0\.1:%d +127\.0\.0\.1:\d+ +\d+\.\d ms +[\d.]+k? +[\d.]+k? +0\.00%% +[a-z0-9-]+\n"
                         % (self.client_id[:8], self.relay_port))
        self.stop_client_and_see_it_go(client)

    def test_serve_removes_its_report_when_it_stops(self):
        serve_log = self.start(self.sconf, "serve", "serve")
        self.wait_log(serve_log, "serving as")
        p = self.procs[-1][0]
        report = os.path.join(self.rundir, "serve-%d" % p.pid)
        deadline = time.monotonic() + 5
        while not os.path.exists(report) and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertTrue(os.path.exists(report))
        p.terminate()
        self.assertEqual(p.wait(10), 0)
        self.assertFalse(os.path.exists(report))


if __name__ == "__main__":
    relay_modes_test.USBHOP = sys.argv.pop(1)
    if (not IN_NETNS and os.geteuid() == 0 and shutil.which("unshare") and shutil.which("nft")
            and subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0):
        os.environ["USBHOP_STATUS_TEST_NETNS"] = "1"
        os.execvp("unshare", ["unshare", "-n", "--", "sh", "-c", 'ip link set lo up && exec "$@"', "sh",
                              sys.executable, os.path.abspath(__file__), relay_modes_test.USBHOP, *sys.argv[1:]])
    unittest.main(argv=sys.argv[:1], verbosity=2)
