"""Every document a file of the tree cites is in the tree, and every section
it names exists: a clone must be enough to follow any comment.

Checked in src/, tests/, tools/, dist/, man/, docs/, debian/, .ci/ and the
top-level files:
  - FILE.md (with or without a folder) resolves to a file of the tree, looked
    up beside the citing file, from the top of the tree, or in docs/;
  - FILE.md#anchor and [..](#anchor) name a heading of that file (GitHub's
    anchors: lower case, punctuation dropped, spaces become hyphens);
  - FILE.md "Section" names a heading of that file;
  - protocol.md §N / §N.M names a numbered section of docs/protocol.md;
  - nothing sends the reader to a folder outside the clone.

usage: docs_citations_test.py SOURCE_ROOT"""
import os
import re
import sys
import unittest

ROOT = None
SCANNED = ['src', 'tests', 'tools', 'dist', 'man', 'docs', 'debian', '.ci']
TOP_FILES = ['README.md', 'meson.build', 'meson_options.txt', 'meson.options']
SKIPPED_DIRS = {os.path.join('tests', 'fuzz', 'corpus')}
THIS_FILE = os.path.abspath(__file__)

# A cited markdown file, an optional anchor, an optional quoted section.
CITATION = re.compile(r'(?<![\w/.$}-])((?:[\w.-]+/)*[\w-][\w.-]*\.md)(#[\w-]+)?(?:,? "([^"\n]+)")?')
LOCAL_ANCHOR = re.compile(r'\]\((#[\w-]+)\)')
PROTOCOL_SECTION = re.compile(r'protocol\.md,? §(\d+(?:\.\d+)?)')
OUTSIDE = re.compile(r'shared folder|/work/shared|outside the (?:tree|clone)', re.IGNORECASE)


def anchor_of(heading):
    text = heading.strip().lower()
    text = re.sub(r'[^\w\- ]', '', text)
    return text.replace(' ', '-')


def headings(path):
    out = []
    in_fence = False
    with open(path, encoding='utf-8') as f:
        for line in f:
            if line.startswith('```'):
                in_fence = not in_fence
            elif not in_fence and line.startswith('#'):
                out.append(line.lstrip('#').strip())
    return out


def names_section(heading, section):
    """"Status" names "Status: direct or relayed"; "Limits" names "13. Limits"."""
    h, s = heading.lower(), section.lower()
    return h == s or h.startswith(s + ':') or h.endswith(' ' + s)


def scanned_files():
    for top in TOP_FILES:
        p = os.path.join(ROOT, top)
        if os.path.isfile(p):
            yield p
    for d in SCANNED:
        for dirpath, dirnames, filenames in os.walk(os.path.join(ROOT, d)):
            rel = os.path.relpath(dirpath, ROOT)
            dirnames[:] = [n for n in dirnames if os.path.join(rel, n) not in SKIPPED_DIRS]
            for name in filenames:
                p = os.path.join(dirpath, name)
                if os.path.abspath(p) != THIS_FILE:
                    yield p


def read_text(path):
    try:
        with open(path, encoding='utf-8') as f:
            return f.read()
    except (UnicodeDecodeError, OSError):
        return None


def resolve(cited, citing):
    for base in (os.path.dirname(citing), ROOT, os.path.join(ROOT, 'docs')):
        p = os.path.normpath(os.path.join(base, cited))
        if os.path.isfile(p) and p.startswith(os.path.abspath(ROOT)):
            return p
    return None


def problems_in(path, text):
    rel = os.path.relpath(path, ROOT)
    found = []
    for n, line in enumerate(text.splitlines(), 1):
        where = f'{rel}:{n}'
        if OUTSIDE.search(line):
            found.append(f'{where}: sends the reader outside the tree: {line.strip()}')
        for m in CITATION.finditer(line):
            cited, anchor, section = m.group(1), m.group(2), m.group(3)
            token = line[line.rfind(' ', 0, m.start()) + 1:m.end()]
            if '://' in token:
                continue  # part of a URL: not a file of the tree
            target = resolve(cited, path)
            if target is None:
                found.append(f'{where}: cites {cited}, which is not in the tree')
                continue
            names = headings(target)
            if anchor and anchor[1:] not in {anchor_of(h) for h in names}:
                found.append(f'{where}: cites {cited}{anchor}, but {os.path.relpath(target, ROOT)} has no such section')
            if section and not any(names_section(h, section) for h in names):
                found.append(f'{where}: cites {cited} "{section}", but {os.path.relpath(target, ROOT)} '
                             'has no such section')
        if path.endswith('.md'):
            names = {anchor_of(h) for h in headings(path)}
            for m in LOCAL_ANCHOR.finditer(line):
                if m.group(1)[1:] not in names:
                    found.append(f'{where}: links to {m.group(1)}, which is no section of this page')
        for m in PROTOCOL_SECTION.finditer(line):
            number = m.group(1)
            names = headings(os.path.join(ROOT, 'docs', 'protocol.md'))
            if not any(h.split(' ')[0].rstrip('.') == number for h in names):
                found.append(f'{where}: cites protocol.md §{number}, which does not exist')
    return found


class DocsCitations(unittest.TestCase):
    def test_the_map_is_in_the_tree(self):
        for name in ('architecture.md', 'protocol.md'):
            self.assertTrue(os.path.isfile(os.path.join(ROOT, 'docs', name)), f'docs/{name} is missing')

    def test_anchors_follow_githubs_rule(self):
        self.assertEqual(anchor_of('USB facts'), 'usb-facts')
        self.assertEqual(anchor_of('One URB, both ways'), 'one-urb-both-ways')
        self.assertEqual(anchor_of('Where the old design notes and the code disagree'),
                         'where-the-old-design-notes-and-the-code-disagree')

    def test_checker_catches_what_it_should(self):
        # The checker itself, on lines written the way the old comments were.
        fake = os.path.join(ROOT, 'src', 'x.cpp')
        bad = '\n'.join([
            '// (DESIGN.md "Layers")',
            '// see docs/architecture.md#no-such-section',
            '// docs/architecture.md "No such section"',
            '// DESIGN.md in the project\'s shared folder is the map',
            '// protocol.md §99',
        ])
        self.assertEqual(len(problems_in(fake, bad)), 6, problems_in(fake, bad))
        good = '\n'.join([
            '// docs/architecture.md#threads',
            '// (docs/protocol.md §8, docs/relay.md)',
            '// see https://example.org/guide/NOT-HERE.md',
        ])
        self.assertEqual(problems_in(fake, good), [])

    def test_every_citation_resolves(self):
        problems = []
        for path in scanned_files():
            text = read_text(path)
            if text is not None:
                problems += problems_in(path, text)
        self.assertEqual(problems, [], '\n' + '\n'.join(problems))


if __name__ == '__main__':
    ROOT = os.path.abspath(sys.argv.pop(1))
    unittest.main()
