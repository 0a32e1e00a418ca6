"""tools/install-deps --find-mirror / --find-backports against fixture apt trees.

Each case lays out an etc/apt/ tree in a temporary directory, points the
script at it with USBHOP_APT_ROOT and checks what it found, or that it said
in one line why it found nothing. Covers the layouts README.md lists under
"Supported Debian 12 apt layouts" (issue 19: the installer's one-line
sources.list made the old script exit 2 without a word).
"""
import os
import subprocess
import sys
import tempfile
import unittest

SCRIPT = None
DEBIAN = "http://deb.debian.org/debian"
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"

INSTALLER_LIST = """\
#deb cdrom:[Debian GNU/Linux 12.0.0 _Bookworm_ - Official amd64 DVD Binary-1]/ bookworm contrib main

deb http://deb.debian.org/debian bookworm main
deb-src http://deb.debian.org/debian bookworm main

deb http://security.debian.org/debian-security bookworm-security main
"""

DEB822_CLOUD = """\
Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
# http://snapshot.debian.org/archive/debian-security/20250520T000000Z
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""


class MirrorTest(unittest.TestCase):
    def layout(self, files):
        """files: {relative path under etc/apt: text}. Returns the root."""
        root = tempfile.mkdtemp(prefix="apt-root-")
        self.addCleanup(subprocess.run, ["rm", "-rf", root])
        os.makedirs(os.path.join(root, "etc/apt/sources.list.d"))
        for rel, text in files.items():
            with open(os.path.join(root, "etc/apt", rel), "w") as f:
                f.write(text)
        return root

    def run_script(self, root, option):
        before = sorted(os.walk(root))
        r = subprocess.run([SCRIPT, option], env=dict(os.environ, USBHOP_APT_ROOT=root),
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(sorted(os.walk(root)), before, "the detection must not write")
        return r

    def assert_mirror(self, files, mirror):
        r = self.run_script(self.layout(files), "--find-mirror")
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, mirror + "\n", ""))

    def assert_one_line_error(self, r, *words):
        self.assertEqual(r.returncode, 1, r)
        self.assertEqual(r.stdout, "")
        lines = r.stderr.splitlines()
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertTrue(lines[0].startswith("install-deps: "), lines[0])
        for w in words:
            self.assertIn(w, lines[0])

    def assert_backports(self, files, where):
        root = self.layout(files)
        r = self.run_script(root, "--find-backports")
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(r.stdout.split()[0], os.path.join(root, "etc/apt", where))

    def assert_no_backports(self, files):
        r = self.run_script(self.layout(files), "--find-backports")
        self.assert_one_line_error(r, "bookworm-backports is not enabled")

    # One-line format.
    def test_installer_sources_list_only(self):
        self.assert_mirror({"sources.list": INSTALLER_LIST}, DEBIAN)
        self.assert_no_backports({"sources.list": INSTALLER_LIST})

    def test_one_line_with_options(self):
        self.assert_mirror({"sources.list": "deb [arch=amd64 signed-by=%s] http://ftp.example.org/debian/ bookworm main contrib\n" % KEYRING},
                           "http://ftp.example.org/debian/")

    def test_one_line_with_spaced_options_and_tabs(self):
        self.assert_mirror({"sources.list": "deb [ arch=amd64,i386 trusted=no ]\thttp://m.example.org/debian\tbookworm  non-free main\n"},
                           "http://m.example.org/debian")

    def test_one_line_in_sources_list_d_only(self):
        self.assert_mirror({"sources.list.d/debian.list": "deb http://l.example.org/debian bookworm main\n"},
                           "http://l.example.org/debian")

    def test_security_and_deb_src_lines_are_not_the_mirror(self):
        self.assert_mirror({"sources.list": "deb-src http://src.example.org/debian bookworm main\n"
                                            "deb http://security.debian.org/debian-security bookworm-security main\n"
                                            "deb http://deb.debian.org/debian bookworm main\n"}, DEBIAN)

    # deb822 format.
    def test_deb822_only(self):
        self.assert_mirror({"sources.list.d/debian.sources": DEB822_CLOUD}, DEBIAN)
        self.assert_no_backports({"sources.list.d/debian.sources": DEB822_CLOUD})

    def test_deb822_several_uris_and_suites(self):
        self.assert_mirror({"sources.list.d/debian.sources":
                            "Types: deb-src deb\nURIs: http://a.example.org/debian http://b.example.org/debian\n"
                            "Suites: bookworm-updates bookworm\nComponents: contrib main\n"}, "http://a.example.org/debian")

    def test_deb822_folded_fields_and_disabled_stanza(self):
        self.assert_mirror({"sources.list.d/debian.sources":
                            "Types: deb\nURIs: http://off.example.org/debian\nSuites: bookworm\nComponents: main\nEnabled: no\n\n"
                            "types: deb\nuris:\n http://on.example.org/debian\n http://deb.debian.org/debian\n"
                            "suites: bookworm\ncomponents:\n main\n"}, "http://on.example.org/debian")

    def test_deb822_without_trailing_newline_followed_by_another_file(self):
        self.assert_mirror({"sources.list.d/a.sources": "Types: deb\nURIs: http://a.example.org/debian\nSuites: bookworm\nComponents: main",
                            "sources.list.d/b.list": "deb http://b.example.org/debian trixie main\n"},
                           "http://a.example.org/debian")

    # Both formats, third parties.
    def test_both_formats_present(self):
        files = {"sources.list": "# see sources.list.d\n", "sources.list.d/debian.sources": DEB822_CLOUD}
        self.assert_mirror(files, DEBIAN)
        files["sources.list"] = "deb http://first.example.org/debian bookworm main\n"
        self.assert_mirror(files, "http://first.example.org/debian")

    def test_third_party_bookworm_repositories_are_skipped(self):
        self.assert_mirror({"sources.list.d/aaa-vendor.list":
                            "deb [arch=amd64 signed-by=/etc/apt/keyrings/docker.asc] https://download.docker.com/linux/debian bookworm stable\n"
                            "deb [signed-by=/usr/share/keyrings/vendor.gpg] https://vendor.example.com/debian bookworm main\n",
                            "sources.list.d/debian.sources": DEB822_CLOUD}, DEBIAN)

    # Backports already enabled, under any name.
    def test_backports_in_sources_list(self):
        self.assert_backports({"sources.list": INSTALLER_LIST + "deb http://deb.debian.org/debian bookworm-backports main\n"},
                              "sources.list")

    def test_backports_in_deb822_under_any_name(self):
        self.assert_backports({"sources.list": INSTALLER_LIST,
                               "sources.list.d/zz-local.sources": "Types: deb\nURIs: %s\nSuites: bookworm bookworm-backports\nComponents: main\n" % DEBIAN},
                              "sources.list.d/zz-local.sources")

    def test_commented_or_disabled_backports_do_not_count(self):
        self.assert_no_backports({"sources.list": INSTALLER_LIST + "# deb http://deb.debian.org/debian bookworm-backports main\n",
                                  "sources.list.d/bp.sources": "Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nEnabled: no\n" % DEBIAN,
                                  "sources.list.d/bp.list.save": "deb %s bookworm-backports main\n" % DEBIAN})

    # Nothing to find: one line saying why and what to do.
    def test_no_sources_at_all(self):
        r = self.run_script(self.layout({}), "--find-mirror")
        self.assert_one_line_error(r, "no apt sources found", "sources.list")

    def test_no_bookworm_main_entry(self):
        r = self.run_script(self.layout({"sources.list": "deb http://deb.debian.org/debian trixie main\n"
                                                         "deb-src http://deb.debian.org/debian bookworm main\n",
                                         "sources.list.d/x.sources": "Types: deb\nURIs: http://x.example.org/debian\nSuites: bookworm\nComponents: contrib\n"}),
                            "--find-mirror")
        self.assert_one_line_error(r, "no Debian 'bookworm' source", "rerun")

    def test_missing_apt_directory(self):
        root = tempfile.mkdtemp(prefix="apt-root-")
        self.addCleanup(os.rmdir, root)
        r = self.run_script(root, "--find-mirror")
        self.assert_one_line_error(r, "no apt sources found")


if __name__ == "__main__":
    SCRIPT = sys.argv.pop(1)
    unittest.main(verbosity=2)
