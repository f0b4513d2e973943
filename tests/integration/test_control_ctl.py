"""Issue 4: seatbridgectl against the real daemon: status, agents, extensions,
sessions, call METHOD key=value, events --from following the stream, --json, and
clear errors when the daemon is absent or refuses the caller."""
import json
import os
import subprocess
import unittest

from harness import CTL, Daemon, run

ALICE = "alice@example.com"


class Seatbridgectl(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Daemon().start()

    @classmethod
    def tearDownClass(cls):
        cls.d.close()

    def ctl(self, *args, code=0):
        r = run([CTL, "--socket", self.d.control_socket, *args])
        self.assertEqual(r.returncode, code, r.stdout + r.stderr)
        return r

    def test_status_table_and_json(self):
        out = self.ctl("status").stdout
        self.assertRegex(out, r"agents\s+2 \((free|offline) ")
        self.assertIn(f"udp:127.0.0.1:{self.d.sip_port}", out)
        data = json.loads(self.ctl("--json", "status").stdout)
        self.assertEqual(data["extensions"], 3)
        self.assertIn("lastSeq", data)

    def test_agents_and_extensions_tables(self):
        out = self.ctl("agents").stdout.splitlines()
        self.assertRegex(out[0], r"^USER\s+NAME\s+EXTENSION\s+STATUS")
        self.assertTrue(any(line.startswith(ALICE) and "1001" in line for line in out), out)
        agents = json.loads(self.ctl("--json", "agents").stdout)["agents"]
        self.assertEqual({a["userId"] for a in agents}, {ALICE, "bob@example.com"})
        out = self.ctl("extensions").stdout.splitlines()
        self.assertRegex(out[0], r"^EXTENSION\s+NAME\s+AGENT\s+REGISTERED")
        self.assertEqual(len(out), 4)
        self.assertRegex(out[3], r"^1003\s+Desk 1003\s+-\s+no\s+no\s+offline")
        self.assertEqual(self.ctl("sessions").stdout, "no sessions\n")
        self.assertEqual(json.loads(self.ctl("--json", "sessions").stdout), {"sessions": []})
        self.assertIn("agentNotFound", self.ctl("sessions", "--user", "nobody", code=1).stderr)

    def test_call_parses_values_as_json_when_they_are(self):
        data = json.loads(self.ctl("call", "Agent.online", f"userId={ALICE}").stdout)
        self.assertEqual(data["status"], "free")
        r = self.ctl("call", "Agent.setStatus", f"userId={ALICE}", "status=rest", "restReason=Meal")
        self.assertEqual(json.loads(r.stdout)["restReason"], "Meal")
        # 7 is a number, so the daemon's type check answers.
        r = self.ctl("call", "Agent.setStatus", f"userId={ALICE}", "status=7", code=1)
        self.assertIn("invalidParams: 'status' must be a string", r.stderr)
        r = self.ctl("--json", "call", "Call.hungUp", f"userId={ALICE}", "sessionId=nope", code=1)
        self.assertEqual(json.loads(r.stdout)["errorCode"], "sessionNotFound")
        self.assertIn("unknownMethod", self.ctl("call", "No.such", code=1).stderr)
        self.assertIn("KEY=VALUE", self.ctl("call", "Agent.online", "oops", code=2).stderr)
        self.ctl("call", "Agent.setStatus", f"userId={ALICE}", "status=free")

    def test_events_follows_the_stream_from_a_seq(self):
        c = self.d.control()
        ready = c.read()
        c.call("Agent.online", {"userId": "bob@example.com"})
        c.call("Agent.setStatus", {"userId": "bob@example.com", "status": "notReady"})
        proc = subprocess.Popen([CTL, "--socket", self.d.control_socket, "--json", "events", "--from",
                                 str(ready["seq"] + 1), "--user", "bob@example.com"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            first = json.loads(proc.stdout.readline())
            second = json.loads(proc.stdout.readline())
            self.assertEqual([first["seq"], second["seq"]], [ready["seq"] + 1, ready["seq"] + 2])
            self.assertEqual(second["data"]["status"], "notReady")
            # Live events keep coming.
            c.call("Agent.setStatus", {"userId": "bob@example.com", "status": "stopNotReady"})
            live = json.loads(proc.stdout.readline())
            self.assertEqual((live["seq"], live["data"]["status"]), (ready["seq"] + 3, "free"))
        finally:
            proc.kill()
            proc.wait()
            proc.stdout.close()
            proc.stderr.close()
            c.close()
        proc = subprocess.Popen([CTL, "--socket", self.d.control_socket, "events", "--from", str(ready["seq"] + 1)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            line = proc.stdout.readline()
            self.assertRegex(line, rf"^#{ready['seq'] + 1} statusChanged \S+ status=")
        finally:
            proc.kill()
            proc.wait()
            proc.stdout.close()
            proc.stderr.close()

    def test_events_from_a_seq_of_an_earlier_run_is_a_clear_error(self):
        r = run([CTL, "--socket", self.d.control_socket, "events", "--from", "1"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("resumeUnavailable", r.stderr)

    def test_clear_errors_without_a_daemon(self):
        r = run([CTL, "--socket", os.path.join(self.d.tmp, "absent.sock"), "agents"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("is seatbridged running?", r.stderr)
        r = run([CTL, "--socket", self.d.control_socket, "frobnicate"])
        self.assertEqual(r.returncode, 2)
        self.assertIn("unknown command", r.stderr)


class NotPermitted(unittest.TestCase):
    def test_a_refused_uid_is_told_why(self):
        uid = os.getuid()
        with Daemon(mutate=lambda c: c["control"].update(allowedUids=[uid + 4242])) as d:
            r = run([CTL, "--socket", d.control_socket, "status"])
            self.assertEqual(r.returncode, 1)
            self.assertIn("refused this connection: notPermitted", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
