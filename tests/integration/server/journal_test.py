"""Journal fields as journald receives them: serve and `usbhop list` run with
stderr as their JOURNAL_STREAM, so log::init sends native journal records to
/run/systemd/journal/socket, which this test binds itself inside a private
mount namespace (tmpfs over /run). It parses the datagrams (the native
protocol, tests/lab/helpers/journal_sink.py) and checks that every
line about a peer carries USBHOP_PEER (the full node ID), USBHOP_PEER_NAME
(the authorized_keys comment, or the client's [peer] name) and USBHOP_ADDRESS,
so that `journalctl USBHOP_PEER=<id>` finds them (usbhop(1) JOURNAL FIELDS).

Needs root for the mount namespace (CI runs as root); exits 77 (skipped)
otherwise. Devices (USBHOP_DEVICE, USBHOP_BUSID) need USB: not here."""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

# The parser is shared with the lab (scenarios/journal-fields.sh).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lab", "helpers"))
from journal_sink import receive  # noqa: E402

USBHOP = None
PROBE = None
IN_NAMESPACE = "USBHOP_JOURNAL_TEST_NS"
JOURNAL_SOCKET = "/run/systemd/journal/socket"


def free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class JournalFields(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="usbhop-journal-")
        os.makedirs(os.path.dirname(JOURNAL_SOCKET), exist_ok=True)
        if os.path.exists(JOURNAL_SOCKET):
            os.unlink(JOURNAL_SOCKET)
        self.journal = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.journal.bind(JOURNAL_SOCKET)
        self.records = []
        self.streams = []
        self.port = free_udp_port()
        self.keys = os.path.join(self.tmp, "authorized_keys")
        self.conf = os.path.join(self.tmp, "usbhop.conf")
        self.server_id = None
        self.write_conf()
        self.server_id = self.usbhop("id", "--server").stdout.strip()
        self.client_id = self.usbhop("id").stdout.strip()
        self.write_conf()  # now with [peer "bench"]
        self.trusted = self.probe_id("trusted")
        self.stranger = self.probe_id("stranger")
        with open(self.keys, "w") as f:
            f.write("%s alice's laptop\n%s the bench client\n" % (self.trusted, self.client_id))
        self.server = None

    def tearDown(self):
        if self.server and self.server.poll() is None:
            self.server.kill()
            self.server.wait()
        self.journal.close()
        for f in self.streams:
            f.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def write_conf(self):
        with open(self.conf, "w") as f:
            f.write("[server]\nlisten = 127.0.0.1:%d\nidentity = %s/server.key\nauthorized_keys = %s\n"
                    "[client]\nidentity = %s/client.key\n" % (self.port, self.tmp, self.keys, self.tmp))
            if self.server_id:
                f.write('[peer "bench"]\nnode = %s\naddress = 127.0.0.1:%d\n' % (self.server_id, self.port))

    def usbhop(self, *args):
        return subprocess.run([USBHOP, "-c", self.conf, *args], capture_output=True, text=True, check=True)

    def probe_id(self, name):
        return subprocess.run([PROBE, "--key", os.path.join(self.tmp, name + ".key"), "id"], capture_output=True,
                              text=True, check=True).stdout.strip()

    def probe(self, key, *commands):
        return subprocess.run([PROBE, "--key", os.path.join(self.tmp, key + ".key"), "--server",
                               "127.0.0.1:%d" % self.port, "--node", self.server_id, "--timeout", "5", *commands],
                              capture_output=True, text=True, timeout=30)

    def journal_stream(self, name):
        """A file for stderr, and the JOURNAL_STREAM that names it (dev:inode, as systemd sets it)."""
        f = open(os.path.join(self.tmp, name), "w+")
        self.streams.append(f)
        st = os.fstat(f.fileno())
        return f, "%d:%d" % (st.st_dev, st.st_ino)

    def drain(self, until=None, timeout=10.0):
        """Reads records until one has a MESSAGE containing `until` (or the socket is quiet)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.journal.settimeout(max(0.01, deadline - time.monotonic()) if until else 0.3)
            try:
                record = receive(self.journal)
            except socket.timeout:
                if until is None:
                    return
                continue
            self.records.append(record)
            if until and until in dict(record).get("MESSAGE", ""):
                return
        if until:
            self.fail("no journal record with %r; got %r" % (until, [dict(r).get("MESSAGE") for r in self.records]))

    def about(self, node, since=0):
        """Records (from index since) whose message names the node (by its short label or in full)."""
        return [r for r in self.records[since:] if node[:8] in dict(r).get("MESSAGE", "")]

    def record(self, text, label=""):
        """The first record whose message has text (and the label, not followed by QUIC's '…')."""
        found = [r for r in self.records if text in dict(r).get("MESSAGE", "")
                 and (not label or re.search(re.escape(label) + "(?!…)", dict(r)["MESSAGE"]))]
        self.assertTrue(found, "no record with %r in %r" % (text, [dict(r).get("MESSAGE") for r in self.records]))
        return found[0]

    def values(self, record, key):
        return [v for k, v in record if k == key]

    def test_lines_about_a_peer_carry_its_full_id_name_and_address(self):
        log, stream = self.journal_stream("serve.log")
        env = dict(os.environ, JOURNAL_STREAM=stream)
        env.pop("NOTIFY_SOCKET", None)
        self.server = subprocess.Popen([USBHOP, "-v", "-c", self.conf, "serve"], stdout=log, stderr=log, env=env)
        self.drain("serving as")
        self.assertEqual(os.path.getsize(log.name), 0, "with JOURNAL_STREAM, serve logs to the journal only")

        bad = self.probe("stranger", "list")
        self.assertEqual(bad.returncode, 3, bad.stdout)
        self.drain("refused node")
        refused = self.record("refused node")
        self.assertEqual(len(self.stranger), 56)
        self.assertEqual(self.values(refused, "USBHOP_PEER"), [self.stranger])
        self.assertRegex(dict(refused)["USBHOP_ADDRESS"], r"^127\.0\.0\.1:\d+$")

        ok = self.probe("trusted", "list", "garbage")
        self.assertEqual(ok.returncode, 0, ok.stdout + ok.stderr)
        self.drain("disconnecting")
        # Every line that names the peer carries its fields ...
        about = self.about(self.trusted)
        self.assertGreaterEqual(len(about), 4, [dict(r)["MESSAGE"] for r in about])
        for r in about:
            with self.subTest(line=dict(r)["MESSAGE"]):
                self.assertEqual(self.values(r, "USBHOP_PEER"), [self.trusted], r)
                self.assertRegex(dict(r).get("USBHOP_ADDRESS", ""), r"^127\.0\.0\.1:\d+$")
                self.assertEqual(dict(r)["SYSLOG_IDENTIFIER"], "usbhop")
        # ... and serve's own lines its authorized_keys comment too.
        for text in (" connected from", "started a session", "disconnecting"):
            r = self.record(text, self.trusted[:8])
            with self.subTest(line=text):
                self.assertEqual(self.values(r, "USBHOP_PEER_NAME"), ["alice's laptop"], r)
        self.assertEqual(dict(self.record("started a session"))["PRIORITY"], "6")
        self.assertEqual(dict(self.record("disconnecting"))["PRIORITY"], "4")

        # The client: `usbhop list bench` logs about its server with the [peer] name.
        clog, cstream = self.journal_stream("list.log")
        before_list = len(self.records)
        r = subprocess.run([USBHOP, "-c", self.conf, "list", "bench"], stdout=subprocess.PIPE, stderr=clog,
                           env=dict(os.environ, JOURNAL_STREAM=cstream), text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout)
        self.drain("connected to " + self.server_id[:8] + "@")
        about = self.about(self.server_id, before_list)
        self.assertGreaterEqual(len(about), 2, [dict(r)["MESSAGE"] for r in about])
        for r in about:
            with self.subTest(line=dict(r)["MESSAGE"]):
                self.assertEqual(self.values(r, "USBHOP_PEER"), [self.server_id], r)
                self.assertEqual(self.values(r, "USBHOP_ADDRESS"), ["127.0.0.1:%d" % self.port])
        client_line = self.record("connected to " + self.server_id[:8] + "@")
        self.assertEqual(self.values(client_line, "USBHOP_PEER_NAME"), ["bench"])
        # ... and serve about the client, with its authorized_keys comment.
        self.drain()
        sessions = [r for r in self.records if "started a session" in dict(r)["MESSAGE"]
                    and self.values(r, "USBHOP_PEER") == [self.client_id]]
        self.assertTrue(sessions, [dict(r)["MESSAGE"] for r in self.records])
        self.assertEqual(self.values(sessions[0], "USBHOP_PEER_NAME"), ["the bench client"])

        # Every field is one of journald's own or USBHOP_*: no unprefixed PEER= / DEVICE= left.
        for rec in self.records:
            for k, _ in rec:
                with self.subTest(message=dict(rec)["MESSAGE"], field=k):
                    self.assertTrue(k in ("MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER") or k.startswith("USBHOP_")
                                    or k.startswith("CODE_"))
        self.server.send_signal(signal.SIGTERM)
        self.assertEqual(self.server.wait(timeout=15), 0)


def main():
    global USBHOP, PROBE
    if len(sys.argv) < 3:
        sys.exit("usage: %s path/to/usbhop path/to/proto_probe [unittest args]" % sys.argv[0])
    if os.environ.get(IN_NAMESPACE) != "1":
        if os.geteuid() != 0:
            print("SKIP: needs root for a private mount namespace over /run (CI runs as root)")
            sys.exit(77)
        # A chroot whose / is not a mount point (tools/fresh-check's) cannot
        # make its mounts private; the test then cannot run there without
        # touching the machine's /run, so it skips (tools/check runs it).
        if subprocess.run(["unshare", "-m", "--propagation", "private", "true"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode != 0:
            print("SKIP: no private mount namespace here (a chroot whose / is not a mount point)")
            sys.exit(77)
        # A private mount namespace with a tmpfs over /run: the journal socket
        # bound there is this test's, and the machine's own journal is untouched.
        script = ("mount -t tmpfs -o mode=0755 tmpfs /run && exec \"$0\" \"$@\"")
        os.execvpe("unshare", ["unshare", "-m", "--propagation", "private", "sh", "-c", script, sys.executable,
                               os.path.abspath(__file__), *sys.argv[1:]], dict(os.environ, **{IN_NAMESPACE: "1"}))
    USBHOP = os.path.abspath(sys.argv.pop(1))
    PROBE = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)


if __name__ == "__main__":
    main()
