"""usbhop --help, <command> --help, unknown commands and options, version."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402

COMMANDS = ["serve", "attach", "detach", "list", "status", "relay", "id", "trust", "check-config", "version"]
STUBS = ["serve", "attach", "detach", "list", "status", "relay"]


class HelpTest(clitest.CliTest):
    def test_help_lists_every_command_and_global_option(self):
        for flag in ["--help", "-h"]:
            r = self.run_usbhop(flag)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("Usage: usbhop", r.stdout)
            for c in COMMANDS:
                self.assertRegex(r.stdout, r"\n  %s +\S" % c)
            for opt in ["--config FILE", "--verbose", "--quiet", "--help", "--version"]:
                self.assertIn(opt, r.stdout)
            self.assertIn("(default: ", r.stdout)
            self.assertEqual(r.stderr, "")

    def test_each_command_explains_itself(self):
        for c in COMMANDS:
            with self.subTest(command=c):
                r = self.run_usbhop(c, "--help")
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertTrue(r.stdout.startswith("Usage: usbhop " + c), r.stdout)
                self.assertIn("--config FILE", r.stdout)

    def test_command_options_are_documented_with_defaults(self):
        r = self.run_usbhop("trust", "--help")
        self.assertIn("--relay", r.stdout)
        self.assertIn("relay_authorized_keys", r.stdout)
        r = self.run_usbhop("id", "--help")
        for opt in ["--server", "--relay", "--client"]:
            self.assertIn(opt, r.stdout)
        r = self.run_usbhop("status", "--help")
        self.assertIn("--json", r.stdout)

    def test_unknown_command_suggests_the_closest(self):
        r = self.run_usbhop("serv")
        self.assert_one_line_error(r, 2, "usbhop: unknown command 'serv' (did you mean 'serve'?)")
        r = self.run_usbhop("frobnicate")
        self.assert_one_line_error(r, 2, "usbhop: unknown command 'frobnicate' (try 'usbhop --help')")

    def test_unknown_option_is_named(self):
        r = self.run_usbhop("--bogus")
        self.assert_one_line_error(r, 2, "usbhop: unknown option '--bogus' (try 'usbhop --help')")
        r = self.run_usbhop("id", "--bogus")
        self.assert_one_line_error(r, 2, "usbhop: unknown option '--bogus' (try 'usbhop id --help')")
        r = self.run_usbhop("trust", "-x")
        self.assert_one_line_error(r, 2, "usbhop: unknown option '-x' (try 'usbhop trust --help')")

    def test_missing_value_and_arguments(self):
        r = self.run_usbhop("check-config", "--config")
        self.assert_one_line_error(
            r, 2, "usbhop: option '--config' needs a value (FILE) (try 'usbhop check-config --help')")
        r = self.run_usbhop("trust")
        self.assert_one_line_error(
            r, 2,
            "usbhop: missing arguments: usage is usbhop trust [options] <node-id> [comment...], or usbhop trust "
            "--pending N [comment...] (try 'usbhop trust --help')")
        r = self.run_usbhop("version", "extra")
        self.assert_one_line_error(
            r, 2, "usbhop: unexpected argument 'extra' for 'usbhop version' (try 'usbhop version --help')")

    def test_no_command(self):
        r = self.run_usbhop()
        self.assert_one_line_error(r, 2, "usbhop: no command given (try 'usbhop --help')")

    def test_modes_not_in_this_build_fail(self):
        # Until each mode's issue lands, its command must fail, never pretend to work.
        # A mode that exists by now must run harmlessly: keys in the scratch
        # dir, a loopback port nobody else uses.
        port = 20000 + os.getpid() % 20000
        conf = self.write("modes.conf", "[server]\nlisten = 127.0.0.1:%d\nidentity = %s\nauthorized_keys = %s\n"
                          "[client]\nidentity = %s\n[relay]\nlisten = 127.0.0.1:%d\nidentity = %s\n"
                          "authorized_keys = %s\n" % (port, self.path("s.key"), self.path("ak"), self.path("c.key"),
                                                       port + 1, self.path("r.key"), self.path("rak")))
        for c in STUBS:
            with self.subTest(command=c):
                args = [c, "--config", conf] + (["pi"] if c == "attach" else [])
                try:
                    r = self.run_usbhop(*args, timeout=3)
                except subprocess.TimeoutExpired:
                    continue  # the mode exists now and runs; its own tests cover it
                if "not available" not in r.stderr:
                    continue  # likewise
                self.assertEqual(r.returncode, 1, r.stderr)
                self.assertEqual(r.stderr, "usbhop: '%s' is not available in this build yet\n" % c)

    def test_version_names_the_four_libraries(self):
        for args in [["version"], ["--version"], ["-V"]]:
            r = self.run_usbhop(*args)
            self.assertEqual(r.returncode, 0, r.stderr)
            lines = r.stdout.splitlines()
            self.assertRegex(lines[0], r"^usbhop \d+\.\d+\.\d+")
            for lib in ["libusb", "ngtcp2", "GnuTLS", "libuv"]:
                self.assertTrue(any(l.startswith(lib + " ") and any(ch.isdigit() for ch in l) for l in lines),
                                "%s missing in %r" % (lib, r.stdout))

    def test_verbose_and_quiet_are_accepted_anywhere(self):
        for args in [["-v", "version"], ["version", "-q"], ["-q", "--verbose", "version"]]:
            r = self.run_usbhop(*args)
            self.assertEqual(r.returncode, 0, r.stderr)


if __name__ == "__main__":
    clitest.main()
