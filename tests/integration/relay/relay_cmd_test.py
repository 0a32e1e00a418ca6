"""`usbhop relay` as systemd and a stranger see it: the sd_notify sequence on a
real AF_UNIX datagram socket (READY, STATUS, RELOADING on SIGHUP, STOPPING on
SIGTERM with exit 0), the log line for an empty authorized_keys, and a relay
that answers a padded HELLO with a smaller CHALLENGE and everything else from
an unknown address with silence."""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

USBHOP = None


def free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Relay(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="usbhop-relay-")
        self.port = free_udp_port()
        self.conf = os.path.join(self.tmp, "usbhop.conf")
        with open(self.conf, "w") as f:
            f.write("[relay]\nlisten = 127.0.0.1:%d\nidentity = %s/relay.key\nauthorized_keys = %s/relay_keys\n"
                    % (self.port, self.tmp, self.tmp))
        self.notify_path = os.path.join(self.tmp, "notify")
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(self.notify_path)
        env = dict(os.environ, NOTIFY_SOCKET=self.notify_path)
        env.pop("WATCHDOG_USEC", None)
        self.log = open(os.path.join(self.tmp, "relay.log"), "w+")
        self.relay = subprocess.Popen([USBHOP, "-c", self.conf, "relay"], stdout=self.log, stderr=self.log, env=env)

    def tearDown(self):
        if self.relay.poll() is None:
            self.relay.kill()
            self.relay.wait()
        self.notify.close()
        self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def relay_log(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def messages(self, until, timeout=10.0):
        got = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.notify.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = self.notify.recv(4096).decode()
            except socket.timeout:
                break
            got.append(data)
            if until in data:
                return got
        self.fail("no %r from relay; got %r; log:\n%s" % (until, got, self.relay_log()))

    def test_notify_sequence_and_clean_stop(self):
        first = self.messages("READY=1")
        self.assertEqual(first[-1], "READY=1")
        status = self.messages("STATUS=")
        self.assertEqual(status[-1], "STATUS=0 nodes registered, 0 sessions relayed, 0 bytes forwarded")
        self.relay.send_signal(signal.SIGHUP)
        reload = self.messages("READY=1")
        self.assertTrue(reload[0].startswith("RELOADING=1\nMONOTONIC_USEC="), reload)
        self.relay.send_signal(signal.SIGTERM)
        self.assertIn("STOPPING=1", self.messages("STOPPING=1"))
        self.assertEqual(self.relay.wait(timeout=10), 0, self.relay_log())
        log = self.relay_log()
        self.assertIn("lists no nodes: nobody can use this relay until you add node IDs with "
                      "'usbhop trust --relay <node-id>'", log)

    def test_no_amplification_for_a_stranger(self):
        self.messages("READY=1")
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(2)
        hello = bytes([1]) + bytes(range(32)) + bytes(16) + bytes([3])   # wire version 3
        hello += bytes(160 - len(hello))
        s.sendto(hello, ("127.0.0.1", self.port))
        answer = s.recv(2048)
        self.assertEqual(answer[0], 2)                  # CHALLENGE
        self.assertLess(len(answer), len(hello))
        s.settimeout(0.5)
        for junk in [hello[:100],                       # unpadded HELLO
                     hello[:49] + bytes([1]) + hello[50:],   # a version 1 HELLO
                     bytes([11]) + bytes(48),           # KEEP-ALIVE from nobody
                     bytes([6]) + bytes(8) + bytes(48),  # CONNECT from nobody
                     bytes([8]) + bytes(7) + b"\x01" + bytes(1200),   # FORWARD, unknown session
                     bytes([3]) + bytes(112),           # REGISTER with a nonce never given
                     bytes([0xc0]) + bytes(1199)]:      # a QUIC Initial
            s.sendto(junk, ("127.0.0.1", self.port))
            with self.assertRaises(socket.timeout):
                s.recv(2048)
        s.close()


if __name__ == "__main__":
    USBHOP = sys.argv.pop(1)
    unittest.main()
