"""Issue 3: sipvicious, the scanner attackers use. svwar cannot tell configured
extensions from unknown ones; svcrack is banned after maxAuthFailures and never
reaches the right password; a phone on another source address is unaffected."""
import os
import unittest

from harness import Daemon, SipPhone, run


def tool(name):
    # Debian ships svwar/svcrack; newer packagings call them sipvicious_svwar.
    for candidate in (name, "sipvicious_" + name):
        if any(os.access(os.path.join(p, candidate), os.X_OK) for p in os.environ["PATH"].split(os.pathsep)):
            return candidate
    raise unittest.SkipTest(f"{name} is not installed (scripts/deps test)")


class Scanners(unittest.TestCase):
    def setUp(self):
        self.d = Daemon().start()

    def tearDown(self):
        self.d.close()

    def test_svwar_finds_no_extension(self):
        target = ["-p", str(self.d.sip_port), "127.0.0.1"]
        r = run([tool("svwar"), "-e", "995-1010"] + target, timeout=120)
        out = r.stdout + r.stderr
        self.assertIn("authentication request for an unknown extension", out)
        self.assertIn("found nothing", out)
        # Forced, it still cannot tell 1001-1003 from the rest.
        r = run([tool("svwar"), "--force", "-e", "995-1010"] + target, timeout=120)
        out = r.stdout + r.stderr
        self.assertIn("found nothing", out)
        for ext in ("1001", "1002", "1003"):
            self.assertNotIn(f"| {ext}", out)
        self.assertEqual(self.d.metric("seatbridge_banned_sources"), 0)  # probing alone is not a failure

    def test_svcrack_is_banned_before_it_reaches_the_password_and_others_still_register(self):
        words = os.path.join(self.d.tmp, "words.txt")
        with open(words, "w") as f:
            f.write("\n".join([f"guess{i}" for i in range(15)] + ["pw-1001"]) + "\n")
        r = run([tool("svcrack"), "-u", "1001", "-d", words, "-p", str(self.d.sip_port), "--maximumtime", "4",
                 "127.0.0.1"], timeout=120)
        out = r.stdout + r.stderr
        self.assertIn("found nothing", out)
        self.assertNotIn("pw-1001", out)
        self.assertEqual(self.d.metric("seatbridge_banned_sources"), 1)
        self.assertEqual(self.d.metric("seatbridge_auth_failures_total"), 10)
        self.assertGreater(self.d.metric("seatbridge_banned_requests_total"), 0)
        self.assertEqual(self.d.logs().count("banning 127.0.0.1"), 1)  # logged once
        phone = SipPhone(self.d.sip_port, "1001", "pw-1001", host="127.0.0.5")
        try:
            self.assertEqual(phone.register(600).status, 200)
        finally:
            phone.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
