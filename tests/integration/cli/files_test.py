"""The files usbhop reads (keys, the config, authorized_keys) as an attacker
or a mistake leaves them: a FIFO, a device, another user's file. Each is
refused at once, with a message naming the file; nothing hangs or swells."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402


class FilesTest(clitest.CliTest):
    def refused_quickly(self, *args):
        start = time.monotonic()
        r = self.run_usbhop(*args, timeout=10)
        elapsed = time.monotonic() - start
        self.assertLess(elapsed, 1.0, "took %.2f s: %s" % (elapsed, r.stderr))
        self.assertNotEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "")
        return r

    def config_with(self, section, key, value):
        return self.write("c.conf", "[%s]\n%s = %s\n" % (section, key, value))

    def test_a_fifo_as_key_is_refused(self):
        fifo = self.path("key.fifo")
        os.mkfifo(fifo, 0o600)
        conf = self.config_with("client", "identity", fifo)
        r = self.refused_quickly("--config", conf, "id")
        self.assertEqual(r.stderr.splitlines(), ["usbhop: refusing %s: it is a FIFO, not a regular file" % fifo])

    def test_a_fifo_as_authorized_keys_is_refused(self):
        fifo = self.path("ak.fifo")
        os.mkfifo(fifo, 0o644)
        conf = self.config_with("server", "authorized_keys", fifo)
        r = self.refused_quickly("check-config", "--config", conf)
        self.assertEqual(r.stderr.splitlines(), ["usbhop: refusing %s: it is a FIFO, not a regular file" % fifo])

    def test_dev_zero_as_authorized_keys_is_refused(self):
        conf = self.config_with("server", "authorized_keys", "/dev/zero")
        r = self.refused_quickly("check-config", "--config", conf)
        self.assertEqual(r.stderr.splitlines(),
                         ["usbhop: refusing /dev/zero: it is a character device, not a regular file"])

    def test_a_fifo_as_config_is_refused(self):
        fifo = self.path("usbhop.conf")
        os.mkfifo(fifo, 0o644)
        r = self.refused_quickly("check-config", "--config", fifo)
        self.assertIn("refusing %s: it is a FIFO" % fifo, r.stderr)

    def test_a_config_over_1_mib_is_refused(self):
        conf = self.write("big.conf", "# padding\n" * (110 * 1024))
        r = self.refused_quickly("check-config", "--config", conf)
        self.assertIn("refusing %s: it is larger than 1048576 bytes" % conf, r.stderr)

    def test_a_symlinked_key_is_refused(self):
        real = self.path("real.key")
        self.assertEqual(self.run_usbhop("--config", self.config_with("client", "identity", real), "id").returncode, 0)
        link = self.path("link.key")
        os.symlink(real, link)
        conf = self.config_with("client", "identity", link)
        r = self.refused_quickly("--config", conf, "id")
        self.assertIn("refusing %s: it is a symbolic link" % link, r.stderr)

    def test_a_key_owned_by_nobody_is_refused(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to give a key to nobody")
        key = self.path("planted.key")
        conf = self.config_with("client", "identity", key)
        self.assertEqual(self.run_usbhop("--config", conf, "id").returncode, 0)
        os.chown(key, 65534, 65534)
        r = self.refused_quickly("--config", conf, "id")
        self.assertEqual(r.stderr.splitlines(), [
            "usbhop: refusing %s: it is owned by nobody (uid 65534), not by root; "
            "another user could have planted it (chown it if you trust it, or use a file of your own)" % key])

    def test_a_key_in_a_directory_anyone_can_write_is_refused(self):
        d = self.path("open")
        os.makedirs(d)
        key = os.path.join(d, "identity.key")
        conf = self.config_with("client", "identity", key)
        self.assertEqual(self.run_usbhop("--config", conf, "id").returncode, 0)
        os.chmod(d, 0o777)
        r = self.refused_quickly("--config", conf, "id")
        self.assertIn("refusing %s: its directory %s" % (key, d), r.stderr)


if __name__ == "__main__":
    clitest.main()
