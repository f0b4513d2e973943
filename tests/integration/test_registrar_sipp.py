"""Issue 3 with SIPp (an MD5-only client) against the default digest config
(SHA-256 and MD5 offered): registration with auth, a wrong password, 423,
unregistration, and maxContacts."""
import os
import unittest

from harness import Daemon, free_port, run, wait_for

SCENARIOS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sipp")


class RegistrarSipp(unittest.TestCase):
    def setUp(self):
        self.d = Daemon(mutate=lambda c: c["registrar"].update(maxContacts=2)).start()

    def tearDown(self):
        self.d.close()

    def sipp(self, scenario, password="pw-1001", expires=600, calls=1, user="1001"):
        inf = os.path.join(self.d.tmp, f"{scenario}.csv")
        with open(inf, "w") as f:
            f.write("SEQUENTIAL\n")
            f.write(f"{user};[authentication username={user} password={password}];seatbridge.test;{expires}\n")
        return run(["sipp", f"127.0.0.1:{self.d.sip_port}", "-sf", os.path.join(SCENARIOS, scenario + ".xml"),
                    "-inf", inf, "-m", str(calls), "-l", "1", "-i", "127.0.0.1", "-p", str(free_port()),
                    "-nostdin", "-timeout", "20", "-timeout_error", "-max_retrans", "3"], timeout=60,
                   cwd=self.d.tmp)

    def contacts(self):
        return self.d.metric("seatbridge_registered_contacts")

    def test_register_with_digest_auth(self):
        r = self.sipp("register_auth")
        self.assertEqual(r.returncode, 0, r.stdout[-2000:] + r.stderr)
        self.assertEqual(self.contacts(), 1)
        self.assertGreaterEqual(self.d.metric("seatbridge_sip_responses_total", {"method": "REGISTER", "code": "200"}), 1)
        self.assertGreaterEqual(self.d.metric("seatbridge_sip_responses_total", {"method": "REGISTER", "code": "401"}), 1)
        self.assertGreaterEqual(self.d.metric("seatbridge_sip_requests_total", {"method": "REGISTER"}), 2)
        self.assertEqual(self.d.metric("seatbridge_auth_failures_total"), 0)

    def test_wrong_password_is_challenged_again_and_counted(self):
        r = self.sipp("register_wrong_password", password="not-it")
        self.assertEqual(r.returncode, 0, r.stdout[-2000:] + r.stderr)
        self.assertEqual(self.d.metric("seatbridge_auth_failures_total"), 1)
        self.assertEqual(self.contacts(), 0)
        # An unknown extension gets exactly the same treatment.
        r = self.sipp("register_wrong_password", user="4711", password="x")
        self.assertEqual(r.returncode, 0, r.stdout[-2000:] + r.stderr)
        self.assertEqual(self.d.metric("seatbridge_auth_failures_total"), 2)

    def test_too_brief_expiry_gets_423_with_min_expires(self):
        r = self.sipp("register_too_brief", expires=10)
        self.assertEqual(r.returncode, 0, r.stdout[-2000:] + r.stderr)
        self.assertEqual(self.d.metric("seatbridge_sip_responses_total", {"method": "REGISTER", "code": "423"}), 1)
        self.assertEqual(self.contacts(), 0)

    def test_unregister_with_expires_zero(self):
        r = self.sipp("unregister")
        self.assertEqual(r.returncode, 0, r.stdout[-2000:] + r.stderr)
        self.assertEqual(self.contacts(), 0)
        self.assertEqual(self.d.metric("seatbridge_sip_responses_total", {"method": "REGISTER", "code": "200"}), 2)

    def test_max_contacts_keeps_the_newest(self):
        # Three phones (three Call-IDs, three contacts) for one extension with
        # maxContacts 2: the least recently refreshed binding gives way.
        r = self.sipp("register_auth", calls=3)
        self.assertEqual(r.returncode, 0, r.stdout[-2000:] + r.stderr)
        self.assertEqual(self.contacts(), 2)
        wait_for(lambda: "gave way to a newer one (maxContacts 2)" in self.d.logs(), what="displacement log")
        self.assertIn("1001-1@", self.d.logs().split("gave way")[0].splitlines()[-1])


if __name__ == "__main__":
    unittest.main(verbosity=2)
