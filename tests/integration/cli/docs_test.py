"""The docs hold the parser to its word: the example config parses, and every
key the parser knows is in usbhop.conf(5) under its section and in the example.
Adding a key without documenting it fails here.

And every command and option `usbhop --help` shows is in usbhop(1), and
every environment variable the source reads is under its ENVIRONMENT.

usage: docs_test.py usbhop usbhop.conf.example usbhop.conf.5 usbhop.1"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402

EXAMPLE = None
MANPAGE = None
MANPAGE1 = None


def known_keys(test):
    r = test.run_usbhop("check-config", "--list-keys", "--config", test.write("empty.conf", ""))
    test.assertEqual(r.returncode, 0, r.stderr)
    keys = [tuple(line.split()) for line in r.stdout.splitlines()]
    test.assertGreater(len(keys), 20)
    return keys


def man_sections(text):
    """{section: text of its .SS subsection} for the SECTIONS AND KEYS part."""
    part = text.split(".SH SECTIONS AND KEYS", 1)[1].split("\n.SH ", 1)[0]
    out = {}
    for chunk in part.split("\n.SS ")[1:]:
        header, _, body = chunk.partition("\n")
        name = re.match(r"\[(\w+)", header).group(1)
        out[name] = body
    return out


class DocsTest(clitest.CliTest):
    def test_example_config_parses(self):
        r = self.run_usbhop("check-config", "--config", EXAMPLE)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")

    def test_example_config_with_every_section_uncommented_parses(self):
        # The [share] and [peer] examples are commented out; with placeholders
        # filled in they must parse too.
        r = self.run_usbhop("id", "--config", self.write("id.conf", "[client]\nidentity = ~/k\n"))
        self.assertEqual(r.returncode, 0, r.stderr)
        node = r.stdout.strip()
        with open(EXAMPLE) as f:
            text = f.read()
        lines = []
        for line in text.splitlines():
            m = re.match(r"^#(\[\w+ \"\w+\"\]|\w+ = .*)$", line)
            if m:
                line = m.group(1)
            lines.append(line.replace("<relay-node-id>", node).replace("<node-id>", node))
        conf = self.write("full.conf", "\n".join(lines) + "\n")
        r = self.run_usbhop("check-config", "--config", conf)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_every_key_is_in_the_manual_under_its_section(self):
        with open(MANPAGE) as f:
            sections = man_sections(f.read())
        for section, key in known_keys(self):
            with self.subTest(section=section, key=key):
                self.assertIn(section, sections, "no .SS [%s] in usbhop.conf(5)" % section)
                self.assertIn("\\fB%s =\\fR" % key, sections[section],
                              "[%s] %s is not documented in usbhop.conf(5)" % (section, key))

    def test_the_manual_documents_no_key_the_parser_lacks(self):
        with open(MANPAGE) as f:
            sections = man_sections(f.read())
        known = set(known_keys(self))
        for section, body in sections.items():
            for key in re.findall(r"^\\fB(\w+) =\\fR", body, re.M):
                self.assertIn((section, key), known, "usbhop.conf(5) documents unknown [%s] %s" % (section, key))

    def test_every_key_is_in_the_example(self):
        with open(EXAMPLE) as f:
            text = f.read()
        # Split into sections by (possibly commented) headers.
        current, seen = None, set()
        for line in text.splitlines():
            m = re.match(r"^#?\[(\w+)", line)
            if m:
                current = m.group(1)
                continue
            m = re.match(r"^#?(\w+) = ", line)
            if m and current:
                seen.add((current, m.group(1)))
        for section, key in known_keys(self):
            self.assertIn((section, key), seen, "[%s] %s is missing from usbhop.conf.example" % (section, key))

    def test_every_command_and_option_is_in_usbhop_1(self):
        with open(MANPAGE1) as f:
            page = f.read()
        r = self.run_usbhop("--help")
        commands = re.findall(r"^  ([a-z-]+)   +\S", r.stdout, re.M)
        self.assertIn("check-config", commands)
        for command in commands:
            with self.subTest(command=command):
                roff = command.replace("-", "\\-")
                self.assertTrue("\\fB%s\\fR" % roff in page or "\n.B %s\n" % roff in page,
                                "usbhop %s is not in usbhop(1)" % command)
                h = self.run_usbhop(command, "--help")
                for option in re.findall(r"^  (?:-\w, |    )--([a-z-]+)", h.stdout, re.M):
                    self.assertIn("\\-\\-" + option.replace("-", "\\-"), page,
                                  "usbhop %s --%s is not in usbhop(1)" % (command, option))

    def test_every_environment_variable_read_is_in_usbhop_1(self):
        # Every getenv("NAME") in src/ is under ENVIRONMENT in usbhop(1).
        src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "src")
        names = set()
        for root, _, files in os.walk(src):
            for name in files:
                if name.endswith((".cpp", ".hpp")):
                    with open(os.path.join(root, name)) as f:
                        names |= set(re.findall(r'getenv\("([A-Z_]+)"\)', f.read()))
        self.assertIn("USBHOP_RUNDIR", names)
        with open(MANPAGE1) as f:
            section = f.read().split("\n.SH ENVIRONMENT\n", 1)[1].split("\n.SH ", 1)[0]
        documented = set(re.findall(r"^\.B ([A-Z_]+)", section, re.M)) | set(re.findall(r'", " ([A-Z_]+)', section))
        for name in sorted(names):
            with self.subTest(name=name):
                self.assertIn(name, documented, "%s is read by usbhop but not under ENVIRONMENT in usbhop(1)" % name)

if __name__ == "__main__":
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    EXAMPLE = os.path.abspath(sys.argv.pop(2))
    MANPAGE = os.path.abspath(sys.argv.pop(2))
    MANPAGE1 = os.path.abspath(sys.argv.pop(2))
    clitest.main()
