"""usbhop serve, usbhop list/attach and usbhop relay together on loopback: a
server configured with [server] relay registers; a client given only the
ticket that `usbhop id --server` prints (or a bare node ID with [client]
relay) reaches it through the relay. This machine may have no USB: the server
then shares no devices, and an empty list is the answer to check."""
import os
import shutil
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


class Modes(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="usbhop-relay-modes-")
        self.procs = []
        rport, sport = free_udp_port(), free_udp_port()
        self.rconf = self.write("relay.conf", "[relay]\nlisten = 127.0.0.1:%d\nidentity = %s/relay.key\n"
                                "authorized_keys = %s/relay_keys\n" % (rport, self.tmp, self.tmp))
        relay_id = self.usbhop(self.rconf, "id", "--relay").stdout.strip()
        self.relay_ref = "127.0.0.1:%d %s" % (rport, relay_id)
        self.sconf = self.write("server.conf", "[server]\nlisten = 127.0.0.1:%d\nidentity = %s/server.key\n"
                                "authorized_keys = %s/server_keys\nrelay = %s\n"
                                % (sport, self.tmp, self.tmp, self.relay_ref))
        self.cconf = self.write("client.conf", "[client]\nidentity = %s/client.key\nrelay = %s\n"
                                % (self.tmp, self.relay_ref))
        self.client_id = self.usbhop(self.cconf, "id").stdout.strip()
        r = self.usbhop(self.sconf, "id", "--server")
        self.server_id = r.stdout.strip()
        self.ticket = r.stderr.split("through the relay: ")[1].strip()
        self.usbhop(self.sconf, "trust", self.client_id, "client")
        for node in (self.server_id, self.client_id):
            self.usbhop(self.rconf, "trust", "--relay", node)

    def tearDown(self):
        for p, log in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
            log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def usbhop(self, conf, *args, timeout=30):
        r = subprocess.run([USBHOP, "-c", conf, *args], capture_output=True, text=True, timeout=timeout)
        self.assertEqual(r.returncode, 0, "usbhop %s: %s" % (" ".join(args), r.stderr))
        return r

    def start(self, conf, mode, name):
        log = open(os.path.join(self.tmp, name + ".log"), "w+")
        p = subprocess.Popen([USBHOP, "-c", conf, mode], stdout=log, stderr=log)
        self.procs.append((p, log))
        return log

    def wait_log(self, log, text, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            log.flush()
            log.seek(0)
            body = log.read()
            if text in body:
                return body
            time.sleep(0.1)
        self.fail("no %r in the log:\n%s" % (text, body))

    def test_a_ticket_or_a_bare_node_id_reaches_the_server_through_the_relay(self):
        relay_log = self.start(self.rconf, "relay", "relay")
        self.wait_log(relay_log, "listening on")
        serve_log = self.start(self.sconf, "serve", "serve")
        self.wait_log(serve_log, "registered with relay")
        self.wait_log(relay_log, "registered from 127.0.0.1:")
        # The client config has a relay, so a bare node ID works; a ticket works without it.
        bare = self.usbhop(self.cconf, "list", self.server_id)
        self.assertIn("session", self.wait_log(relay_log, "opened"))
        no_relay = self.write("plain.conf", "[client]\nidentity = %s/client.key\n" % self.tmp)
        ticket = self.usbhop(no_relay, "list", self.ticket)
        self.assertEqual(bare.stdout, ticket.stdout)
        r = subprocess.run([USBHOP, "-c", no_relay, "list", self.server_id], capture_output=True, text=True)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("set [client] relay", r.stderr)


if __name__ == "__main__":
    USBHOP = sys.argv.pop(1)
    unittest.main()
