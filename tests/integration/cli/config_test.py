"""check-config and the config check every command runs first: exact
FILE:LINE: messages and exit status 2, like sshd -t."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402


class ConfigTest(clitest.CliTest):
    def test_good_file_passes_silently(self):
        conf = self.write("good.conf", "[server]\nlisten = [::]:7000\nauthorized_keys = %s\n" % self.path("ak"))
        r = self.run_usbhop("check-config", "--config", conf)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertEqual(r.stderr, "")

    def test_bad_line_is_named_with_file_and_line(self):
        conf = self.write("bad.conf", "# comment\n[server]\nlisten = [::]:7575\nlistne = [::]:7000\n")
        r = self.run_usbhop("check-config", "--config", conf)
        self.assert_one_line_error(
            r, 2, "usbhop: %s:4: unknown key 'listne' in [server] (did you mean 'listen'?)" % conf)

    def test_every_problem_is_reported(self):
        conf = self.write("bad.conf", "[server]\nlisten = [::]:70000\n[servre]\n[relay]\nidle_timeout = soon\n")
        r = self.run_usbhop("check-config", "-c", conf)
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stderr.splitlines(), [
            "usbhop: %s:2: invalid listen in [server]: port 70000 out of range (1-65535)" % conf,
            "usbhop: %s:3: unknown section [servre] (did you mean [server]?)" % conf,
            "usbhop: %s:5: invalid idle_timeout in [relay]: expected a duration like 30s, 500ms, 2m or 1h, "
            "got 'soon'" % conf,
        ])

    def test_duplicate_key(self):
        conf = self.write("dup.conf", "[client]\nkeep_alive = 1s\nkeep_alive = 2s\n")
        r = self.run_usbhop("--config", conf, "check-config")
        self.assert_one_line_error(
            r, 2, "usbhop: %s:3: duplicate key 'keep_alive' in [client] (first set on line 2)" % conf)

    def test_commands_that_read_the_config_check_it_first(self):
        conf = self.write("bad.conf", "[server]\ngrace = forever\n")
        expected = ("usbhop: %s:2: invalid grace in [server]: expected a duration like 30s, 500ms, 2m or 1h, "
                    "got 'forever'" % conf)
        for args in [["id"], ["trust", "x"], ["serve"], ["relay"], ["list"], ["attach", "pi"]]:
            with self.subTest(args=args):
                r = self.run_usbhop("--config", conf, *args)
                self.assert_one_line_error(r, 2, expected)

    def test_missing_default_file_means_defaults_but_a_named_file_must_exist(self):
        r = self.run_usbhop("check-config", "--config", self.path("nope.conf"))
        self.assert_one_line_error(r, 2, "usbhop: cannot read %s: No such file or directory" % self.path("nope.conf"))

    def test_authorized_keys_are_checked_too(self):
        ak = self.write("ak", "# peers\n\nnot-a-node-id laptop\n")
        conf = self.write("c.conf", "[server]\nauthorized_keys = %s\n" % ak)
        r = self.run_usbhop("check-config", "--config", conf)
        self.assert_one_line_error(r, 2, "usbhop: %s:3: node ID 'not-a-node-id' has 13 characters, expected 56" % ak)

    def test_settings_that_cannot_work_are_refused(self):
        conf = self.write("c.conf", "[server]\nlisten = localhost:7575\nidle_timeout = 1us\n"
                          "[client]\nkeep_alive = 30s\nidle_timeout = 20s\nreconnect_max = 10ms\n")
        r = self.run_usbhop("check-config", "--config", conf)
        self.assertEqual(r.returncode, 2)
        lines = r.stderr.splitlines()
        self.assertEqual([l.split(": ")[1] for l in lines],
                         [conf + ":2", conf + ":3", conf + ":7", conf + ":6"], r.stderr)
        self.assertIn("'localhost' is not a numeric address", lines[0])
        self.assertIn("[client] keep_alive (30s) must be shorter than idle_timeout (20s)", lines[3])

    def test_a_share_peer_missing_from_authorized_keys_is_a_warning(self):
        idconf = self.write("id.conf", "[client]\nidentity = %s\n" % self.path("peer.key"))
        good = self.run_usbhop("--config", idconf, "id").stdout.strip()
        ak = self.write("ak", "")
        conf = self.write("c.conf", "[server]\nauthorized_keys = %s\n[share \"a\"]\nmatch = *:*\npeers = %s\n"
                          % (ak, good))
        r = self.run_usbhop("check-config", "--config", conf)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr.splitlines(), [
            "usbhop: %s:5: warning: [share \"a\"] peers names %s, which is not in %s: it cannot connect until "
            "`usbhop trust %s`" % (conf, good, ak, good)])

    def test_list_keys_names_sections_and_keys(self):
        r = self.run_usbhop("check-config", "--list-keys", "--config", self.write("e.conf", ""))
        self.assertEqual(r.returncode, 0, r.stderr)
        keys = [tuple(l.split()) for l in r.stdout.splitlines()]
        self.assertIn(("server", "listen"), keys)
        self.assertIn(("share", "match"), keys)
        self.assertIn(("peer", "node"), keys)
        self.assertIn(("relay", "max_sessions_per_node"), keys)


if __name__ == "__main__":
    clitest.main()
