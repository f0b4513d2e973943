"""Issue 2: `seatbridged --check-config FILE` reports every error as
FILE:LINE:COL: key.path: message on stderr and exits 1; a valid file exits 0.

The expected diagnostics come from tests/fixtures/config/NAME.expect, the same
tables the unit test checks against the loader, so this test proves the daemon's
command line prints what the loader found, in order, with the file name.
"""
import os
import re
import unittest

from harness import BIN, SOURCE_DIR, run

FIXTURES = os.path.join(SOURCE_DIR, "tests", "fixtures", "config")
LINE = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): (?:(?P<path>[A-Za-z][\w.\[\]]*): )?(?P<msg>.+)$")


def read_expect(name):
    """[(line, col, path, message-substring)] from NAME.expect ('-' = no path)."""
    out = []
    with open(os.path.join(FIXTURES, name + ".expect")) as f:
        for text in f:
            text = text.rstrip("\n")
            if not text or text.startswith("#"):
                continue
            pos, path, msg = text.split(": ", 2)
            line, col = pos.split(":")
            out.append((int(line), int(col), "" if path == "-" else path, msg))
    return out


def check_config(path):
    return run([BIN, "--check-config", path])


class CheckConfig(unittest.TestCase):
    def assert_reports(self, name):
        path = os.path.join(FIXTURES, name + ".yaml")
        r = check_config(path)
        self.assertEqual(r.returncode, 1, f"{name}: {r.stdout}{r.stderr}")
        self.assertEqual(r.stdout, "", "diagnostics belong on stderr")
        lines = r.stderr.splitlines()
        want = read_expect(name)
        self.assertEqual(len(lines), len(want), r.stderr)
        for got, (line, col, key, msg) in zip(lines, want):
            m = LINE.match(got)
            self.assertIsNotNone(m, f"not FILE:LINE:COL: key.path: message: {got!r}")
            self.assertEqual(m["file"], path)
            self.assertEqual((int(m["line"]), int(m["col"])), (line, col), got)
            self.assertEqual(m["path"] or "", key, got)
            self.assertIn(msg, m["msg"], got)

    def test_several_errors_are_all_reported_in_file_order(self):
        self.assert_reports("several-errors")
        lines = check_config(os.path.join(FIXTURES, "several-errors.yaml")).stderr.splitlines()
        positions = [tuple(int(x) for x in LINE.match(s).group("line", "col")) for s in lines]
        self.assertEqual(positions, sorted(positions))

    def test_each_error_class_is_reported_with_its_location(self):
        names = sorted(f[:-5] for f in os.listdir(FIXTURES) if f.endswith(".yaml") and not f.startswith("valid-"))
        self.assertGreater(len(names), 20)
        for name in names:
            with self.subTest(fixture=name):
                self.assert_reports(name)

    def test_valid_files_exit_zero_and_say_ok(self):
        demo = os.path.join(SOURCE_DIR, "config", "seatbridge.yaml")
        for path in (demo, os.path.join(FIXTURES, "valid-full.yaml"), os.path.join(FIXTURES, "valid-minimal.yaml")):
            with self.subTest(path=os.path.basename(path)):
                r = check_config(path)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stderr, "")
                self.assertEqual(r.stdout.strip(), f"{path}: ok")

    def test_a_missing_file_is_one_error_naming_it(self):
        path = os.path.join(FIXTURES, "no-such-file.yaml")
        r = check_config(path)
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr, "^" + re.escape(path) + r":1:1: cannot read the file\n$")

    def test_a_relative_path_is_reported_as_given(self):
        r = run([BIN, "--check-config", "yaml-syntax.yaml"], cwd=FIXTURES)
        self.assertEqual(r.returncode, 1)
        self.assertTrue(r.stderr.startswith("yaml-syntax.yaml:2:58: YAML syntax:"), r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
