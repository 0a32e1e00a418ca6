"""usbhop id and usbhop trust in a scratch HOME: key file modes, refusing a
readable key, malformed IDs, and no duplicate lines in authorized_keys."""
import os
import stat
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402

ID_CHARS = set("abcdefghijklmnopqrstuvwxyz234567")


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


class IdentityTest(clitest.CliTest):
    def setUp(self):
        super().setUp()
        self.ak = self.path("etc", "usbhop", "authorized_keys")
        self.relay_ak = self.path("etc", "usbhop", "relay_authorized_keys")
        # "~/" is the scratch HOME: the test never touches the real one, even as root.
        self.conf = self.write("usbhop.conf", "[server]\nauthorized_keys = %s\n[client]\nidentity = "
                               "~/.config/usbhop/identity.key\n[relay]\nauthorized_keys = %s\n" % (self.ak, self.relay_ak))
        self.key = os.path.join(self.home, ".config", "usbhop", "identity.key")

    def usbhop(self, *args):
        return self.run_usbhop("--config", self.conf, *args)

    def node_id(self):
        r = self.usbhop("id")
        self.assertEqual(r.returncode, 0, r.stderr)
        node = r.stdout.strip()
        self.assertEqual(len(node), 56, r.stdout)
        self.assertTrue(set(node) <= ID_CHARS, node)
        return node

    def test_id_creates_a_private_key_once(self):
        first = self.node_id()
        self.assertEqual(mode(self.key), 0o600)
        self.assertEqual(mode(os.path.dirname(self.key)), 0o700)
        self.assertEqual(self.node_id(), first)

    def test_default_key_lives_under_xdg_config_home(self):
        conf = self.write("empty.conf", "")
        as_user = None
        if os.geteuid() == 0:
            # root's default is /var/lib/usbhop-attach/identity.key: run as nobody instead.
            os.chmod(self.tmp, 0o755)
            os.chmod(conf, 0o644)
            os.chown(self.home, 65534, 65534)

            def as_user():
                os.setgid(65534)
                os.setgroups([])
                os.setuid(65534)
        e = dict(self.env)
        try:
            r = subprocess.run([clitest.USBHOP, "--config", conf, "id"], capture_output=True, text=True, env=e,
                               timeout=30, preexec_fn=as_user)
        except PermissionError:
            self.skipTest("user nobody cannot run %s" % clitest.USBHOP)
        self.assertEqual(r.returncode, 0, r.stderr)
        key = os.path.join(self.env["XDG_CONFIG_HOME"], "usbhop", "identity.key")
        self.assertEqual(mode(key), 0o600)
        self.assertEqual(mode(os.path.dirname(key)), 0o700)

    def test_a_key_readable_by_others_is_refused(self):
        self.node_id()
        os.chmod(self.key, 0o644)
        r = self.usbhop("id")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, "")
        self.assertIn(self.key, r.stderr)
        self.assertIn("readable by others", r.stderr)
        self.assertIn("chmod 600", r.stderr)

    def test_trust_round_trip(self):
        node = self.node_id()
        r = self.usbhop("trust", node, "ada's", "laptop")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("added " + node, r.stdout)
        with open(self.ak) as f:
            self.assertEqual(f.read(), node + " ada's laptop\n")
        self.assertEqual(mode(self.ak), 0o644)

        r = self.usbhop("trust", node, "again")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("already in " + self.ak, r.stdout)
        with open(self.ak) as f:
            self.assertEqual(f.read().count(node), 1)

        r = self.usbhop("check-config")
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_trust_relay_writes_the_relay_file(self):
        node = self.node_id()
        r = self.usbhop("trust", "--relay", node)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(self.relay_ak) as f:
            self.assertEqual(f.read(), node + "\n")
        self.assertFalse(os.path.exists(self.ak))

    def test_a_relay_only_file_selects_the_relay(self):
        # A relay's usbhop.conf has only [relay]: `id` and `trust` speak for it
        # without --relay (they went to [client]/[server] before).
        node = self.node_id()
        relay_key = self.path("var", "lib", "usbhop-relay", "identity.key")
        conf = self.write("relay.conf", "[relay]\nidentity = %s\nauthorized_keys = %s\n" % (relay_key, self.relay_ak))
        r = self.run_usbhop("--config", conf, "id")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(os.path.exists(relay_key), r.stderr)
        relay_id = r.stdout.strip()
        self.assertNotEqual(relay_id, node)
        self.assertEqual(self.run_usbhop("--config", conf, "id", "--relay").stdout.strip(), relay_id)
        r = self.run_usbhop("--config", conf, "trust", node)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("usbhop-relay", r.stdout)
        with open(self.relay_ak) as f:
            self.assertEqual(f.read(), node + "\n")
        self.assertFalse(os.path.exists(self.ak))

    def test_a_server_only_file_selects_the_server_key(self):
        server_key = self.path("var", "lib", "usbhop", "identity.key")
        conf = self.write("server.conf", "[server]\nidentity = %s\n[share \"disk\"]\nmatch = 1234:5678\n" % server_key)
        r = self.run_usbhop("--config", conf, "id")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(os.path.exists(server_key), r.stderr)
        self.assertEqual(self.run_usbhop("--config", conf, "id", "--server").stdout.strip(), r.stdout.strip())
        # A file with more than one role keeps the client as the default.
        self.assertNotEqual(self.node_id(), r.stdout.strip())

    def test_trust_refuses_a_malformed_id(self):
        node = self.node_id()
        typo = node[:10] + ("b" if node[10] == "a" else "a") + node[11:]
        cases = [
            ("short", "usbhop: cannot trust 'short': node ID 'short' has 5 characters, expected 56"),
            (typo, "usbhop: cannot trust '%s': node ID '%s' has a bad checksum (typo?)" % (typo, typo)),
            (node[:55] + "1", "usbhop: cannot trust '%s': node ID has invalid character '1' at position 56 "
                              "(only a-z and 2-7 are used)" % (node[:55] + "1")),
        ]
        for text, message in cases:
            with self.subTest(text=text):
                r = self.usbhop("trust", text)
                self.assert_one_line_error(r, 2, message)
        self.assertFalse(os.path.exists(self.ak))


if __name__ == "__main__":
    clitest.main()
