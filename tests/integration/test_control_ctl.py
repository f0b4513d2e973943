"""Issue 4: seatbridgectl against the real daemon: status, agents, extensions,
sessions, call METHOD key=value, events --from following the stream, --json, and
clear errors when the daemon is absent or refuses the caller.

Issue 11: --json on every command; the exit codes scripts rely on (0 ok, 1 the
method answered an error, 2 usage, 3 cannot connect or not permitted, 4 the
connection failed after connecting: closed, not the protocol, no answer within
--timeout), each against a real daemon or, for 4, a fake server that misbehaves
as a wedged or foreign one would."""
import json
import os
import socket
import subprocess
import threading
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
        self.assertEqual(r.returncode, 3)
        self.assertIn("is seatbridged running?", r.stderr)
        r = run([CTL, "--socket", self.d.control_socket, "frobnicate"])
        self.assertEqual(r.returncode, 2)
        self.assertIn("unknown command", r.stderr)

    def test_json_on_every_command(self):
        """Each command's --json output is JSON (the streaming ones: their first line),
        wherever --json stands on the line."""
        listings = {"status": "lastSeq", "agents": "agents", "extensions": "extensions", "sessions": "sessions",
                    "queues": "queues", "records": "records"}
        for cmd, key in listings.items():
            for argv in (["--json", cmd], [cmd, "--json"]):
                with self.subTest(argv=argv):
                    self.assertIn(key, json.loads(self.ctl(*argv).stdout))
        queues = json.loads(self.ctl("queues", "--json").stdout)["queues"]
        self.assertEqual([(q["skillGroup"], q["waiting"], q["oldestWaitMs"]) for q in queues][0], ("sales", 0, 0))
        answer = json.loads(self.ctl("call", "Gateway.status", "--json").stdout)
        self.assertEqual(answer["status"], "success")
        index = json.loads(self.ctl("--json", "completion").stdout)
        self.assertIn("Agent.setStatus", [m["name"] for m in index["methods"]])
        self.assertIn("top", [c["name"] for c in index["commands"]])
        # An error with --json: the answer object on stdout, the errorCode on stderr, exit 1.
        r = self.ctl("--json", "sessions", "--user", "nobody", code=1)
        self.assertEqual(json.loads(r.stdout)["errorCode"], "agentNotFound")
        self.assertIn("agentNotFound", r.stderr)
        for argv in (["--json", "events"], ["top", "--json"]):
            with self.subTest(argv=argv):
                proc = subprocess.Popen([CTL, "--socket", self.d.control_socket, *argv], stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
                try:
                    if argv[-1] == "events":  # an event to read
                        self.ctl("call", "Agent.online", "userId=bob@example.com")
                        self.ctl("call", "Agent.offline", "userId=bob@example.com")
                    first = json.loads(proc.stdout.readline())
                    self.assertTrue("event" in first or "queues" in first, first)
                    if "queues" in first:
                        self.assertEqual({"lastSeq", "queues", "agents", "calls"}, set(first))
                        self.assertEqual({a["userId"] for a in first["agents"]}, {ALICE, "bob@example.com"})
                finally:
                    proc.kill()
                    proc.wait()
                    proc.stdout.close()
                    proc.stderr.close()


class FakeServer:
    """A Unix socket that accepts one client and does `behave(conn)`: the
    misbehaving daemons exit code 4 is for."""

    def __init__(self, path, behave):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(4)
        self.behave = behave
        self.conns = []
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        self.conns.append(conn)
        self.behave(conn)

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()
        self.thread.join(5)


READY = b'{"event":"ready","seq":5,"data":{"tabUUID":"00000000-0000-4000-8000-000000000000"}}\n'


class ExitCodes(unittest.TestCase):
    """Each exit code, and that the codes stay distinct: a script's `case $?`."""

    @classmethod
    def setUpClass(cls):
        cls.d = Daemon().start()

    @classmethod
    def tearDownClass(cls):
        cls.d.close()

    def ctl(self, *args, socket_path=None):
        return run([CTL, "--socket", socket_path or self.d.control_socket, *args], timeout=20)

    def fake(self, name, behave):
        path = os.path.join(self.d.tmp, name)
        server = FakeServer(path, behave)
        self.addCleanup(server.close)
        return path

    def test_0_success(self):
        self.assertEqual(self.ctl("status").returncode, 0)
        self.assertEqual(self.ctl("call", "Gateway.listAgents").returncode, 0)

    def test_1_the_method_answered_an_error(self):
        r = self.ctl("call", "Call.hungUp", "userId=alice@example.com", "sessionId=nope")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertRegex(r.stderr, r"^seatbridgectl: Call.hungUp: sessionNotFound: ")
        r = self.ctl("sessions", "--user", "nobody")
        self.assertEqual((r.returncode, "agentNotFound" in r.stderr), (1, True), r.stderr)

    def test_2_usage(self):
        for argv in (["frobnicate"], ["status", "extra"], ["call"], ["call", "Agent.online", "oops"],
                     ["--timeout", "soon", "status"], ["records", "--limit", "ten"], ["completion", "fish"], []):
            with self.subTest(argv=argv):
                r = self.ctl(*argv)
                self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
                self.assertIn("usage:", r.stderr)
        # Usage is checked before connecting: 2 even with no daemon there.
        r = self.ctl("status", "extra", socket_path=os.path.join(self.d.tmp, "absent.sock"))
        self.assertEqual(r.returncode, 2)
        r = run([CTL, "--help"])
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"(?s)exit codes:.*  3  cannot connect")

    def test_3_cannot_connect(self):
        r = self.ctl("status", socket_path=os.path.join(self.d.tmp, "absent.sock"))
        self.assertEqual(r.returncode, 3)
        self.assertIn("no control socket", r.stderr)
        # A socket file nobody listens on any more: ECONNREFUSED.
        stale = os.path.join(self.d.tmp, "stale.sock")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(stale)
        s.close()
        r = self.ctl("status", socket_path=stale)
        self.assertEqual(r.returncode, 3)
        self.assertIn("nothing listens", r.stderr)
        # top too: there is nothing to show, so it says so at once.
        r = self.ctl("top", socket_path=stale)
        self.assertEqual(r.returncode, 3, r.stderr)

    def test_4_not_the_protocol(self):
        path = self.fake("http.sock", lambda c: c.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n"))
        r = self.ctl("status", socket_path=path)
        self.assertEqual(r.returncode, 4, r.stderr)
        self.assertIn("does not speak the seatbridge control protocol", r.stderr)

    def test_4_no_answer_within_the_timeout(self):
        path = self.fake("wedged.sock", lambda c: c.sendall(READY))  # then never answers
        r = self.ctl("--timeout", "0.3", "status", socket_path=path)
        self.assertEqual(r.returncode, 4, r.stderr)
        self.assertIn("no answer from the daemon within 300 ms", r.stderr)

    def test_4_closed_after_connecting(self):
        def ready_then_close(c):
            c.sendall(READY)
            c.recv(4096)  # the request
            c.close()
        path = self.fake("closing.sock", ready_then_close)
        r = self.ctl("agents", socket_path=path)
        self.assertEqual(r.returncode, 4, r.stderr)
        self.assertIn("closed the connection", r.stderr)


class Completion(unittest.TestCase):
    """`seatbridgectl completion bash`, sourced in a real bash and driven as
    readline would (COMP_WORDS / COMP_CWORD, then the function): commands,
    methods from the daemon's table, a method's KEY= parameters, and the values
    a parameter allows."""

    def complete(self, *words):
        script = run([CTL, "completion", "bash"])
        self.assertEqual(script.returncode, 0, script.stderr)
        driver = ('source /dev/stdin\n'
                  'COMP_WORDS=("$@"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))\n'
                  'complete -p seatbridgectl >/dev/null || exit 9\n'
                  '_seatbridgectl; printf "%s\\n" "${COMPREPLY[@]}"')
        r = run(["bash", "--norc", "--noprofile", "-c", driver, "bash", "seatbridgectl", *words], input=script.stdout)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.split()

    def test_commands_methods_parameters_and_values(self):
        self.assertIn("top", self.complete(""))
        self.assertEqual(self.complete("--socket", "x.sock", "comp"), ["completion"])
        self.assertEqual(self.complete("call", "Agent.setSt"), ["Agent.setStatus"])
        self.assertIn("Gateway.listQueues", self.complete("call", "Gateway."))
        self.assertEqual(self.complete("call", "Agent.setStatus", "sta"), ["status="])
        # For an agent: userId, which the table leaves implicit, completes too.
        self.assertEqual(self.complete("call", "Agent.online", "u"), ["userId="])
        # readline splits status=re at '=' (COMP_WORDBREAKS): status, =, re.
        self.assertEqual(self.complete("call", "Agent.setStatus", "status", "=", "re"), ["rest"])
        self.assertEqual(self.complete("call", "Agent.setStatus", "status", "="),
                         ["free", "rest", "arrange", "notReady", "stopNotReady"])
        self.assertEqual(self.complete("call", "Client.subscribe", "queues", "=", "t"), ["true"])
        self.assertEqual(self.complete("records", "--end-state", "waitingG"), ["waitingGiveUp"])
        self.assertEqual(self.complete("events", "--f"), ["--from"])

    def test_zsh_script_wraps_the_bash_one(self):
        r = run([CTL, "completion", "zsh"])
        self.assertEqual(r.returncode, 0)
        self.assertTrue(r.stdout.startswith("#compdef seatbridgectl\n"))
        self.assertIn("bashcompinit", r.stdout)
        self.assertIn(run([CTL, "completion", "bash"]).stdout, r.stdout)


class NotPermitted(unittest.TestCase):
    def test_a_refused_uid_is_told_why(self):
        uid = os.getuid()
        with Daemon(mutate=lambda c: c["control"].update(allowedUids=[uid + 4242])) as d:
            r = run([CTL, "--socket", d.control_socket, "status"])
            self.assertEqual(r.returncode, 3)  # a permission failure: as EACCES on the socket
            self.assertIn("refused this connection: notPermitted", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
