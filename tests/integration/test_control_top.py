"""Issue 11: the queueChanged event (only to connections subscribed to the
`queues` topic) and `seatbridgectl top`, the live view, driven in a real
terminal: a detached tmux session of fixed size runs it while a SIPp PBX calls
the sales number and a SIPp desk phone answers. The test reads the screen with
`tmux capture-pane -p`, polling with a deadline (never sleeping), for the
customer's number and the queue count, the agent's status changing and the call
going away; then `q` (or Ctrl-C, or SIGTERM) must leave the shell's screen as it
was. A resized window, and the daemon stopping and coming back, are followed too.

The call is made to wait in the queue on purpose: Alice is signed in but
notReady when it arrives, so it waits (queued, the count at 1) until the test
sets her free; then her phone rings and answers, and Call.hungUp ends it."""
import os
import shlex
import shutil
import signal
import subprocess
import time
import unittest

from calls import ALICE, CUSTOMER, Events, Phone, Trunk, call_daemon
from harness import CTL

TMUX = shutil.which("tmux")
WIDTH, HEIGHT = 120, 40


class QueuedCall(unittest.TestCase):
    """A daemon with Alice online but notReady, her desk phone registered."""

    def setUp(self):
        self.peers = []
        self.d = call_daemon(ring_timeout=10, queue_timeout=60, after_call_work=0)
        self.addCleanup(self.d.close)
        self.d.start()
        self.events = Events(self.d)
        self.addCleanup(self.events.close)
        self.events.ok("Agent.online", {"userId": ALICE})
        self.events.ok("Agent.setStatus", {"userId": ALICE, "status": "notReady"})
        self.events.expect("statusChanged", ALICE, status="notReady")
        self.phone = self.sipp(Phone(self.d, "1001", "phone_answer"))
        self.phone.wait_registered(self.events)

    def sipp(self, s):
        self.addCleanup(s.close)
        self.peers.append(s)
        return s.start()

    def call_in(self):
        """The PBX calls; it waits for seatbridge's BYE (Call.hungUp)."""
        return self.sipp(Trunk(self.d, "trunk_call"))

    def answer(self):
        """Alice becomes free: the waiting call rings her phone, which answers."""
        self.events.ok("Agent.setStatus", {"userId": ALICE, "status": "free"})
        return self.events.expect("userAccessed", ALICE)["data"]["sessionId"]


class QueueEvents(QueuedCall):
    def test_queue_changed_goes_to_queue_subscribers_only(self):
        queues = Events(self.d)
        self.addCleanup(queues.close)
        answer = queues.ok("Client.subscribe", {"queues": True})
        self.assertEqual((answer["all"], answer["queues"]), (False, True))
        before = self.events.ok("Gateway.listQueues")["queues"]
        self.assertEqual([(q["skillGroup"], q["waiting"], q["oldestWaitMs"]) for q in before if q["skillGroup"] == "sales"],
                         [("sales", 0, 0)])

        pbx = self.call_in()
        joined = queues.expect("queueChanged", skillGroup="sales", waiting=1)
        self.assertNotIn("userId", joined)
        self.assertEqual(set(joined["data"]), {"skillGroup", "waiting", "oldestWaitMs"})
        self.assertLess(joined["data"]["oldestWaitMs"], 5000)
        listed = {q["skillGroup"]: q for q in self.events.ok("Gateway.listQueues")["queues"]}
        self.assertEqual(listed["sales"]["waiting"], 1)

        sid = self.answer()
        left = queues.expect("queueChanged", skillGroup="sales", waiting=0)
        self.assertEqual(left["data"]["oldestWaitMs"], 0)
        self.assertGreater(left["seq"], joined["seq"])
        self.events.ok("Call.hungUp", {"userId": ALICE, "sessionId": sid})
        self.events.expect("sessionEnded", ALICE, sessionId=sid)
        self.assertEqual(pbx.wait(), 0, pbx.logs())

        # The queue subscriber got nothing but queue events; the `all`
        # subscriber (an SDK-style client) got none of them, and sees their
        # seqs as gaps only.
        self.assertEqual({e["event"] for e in queues.seen}, {"queueChanged"})
        self.assertNotIn("queueChanged", {e["event"] for e in self.events.seen})
        all_seqs = {e["seq"] for e in self.events.seen}
        self.assertFalse(all_seqs & {e["seq"] for e in queues.seen})
        # A resume replays the topic to its subscribers alone.
        replay = queues.ok("Client.resume", {"fromSeq": joined["seq"]})
        self.assertGreaterEqual(replay["replayed"], 2)
        again = queues.expect("queueChanged", since=len(queues.seen), skillGroup="sales", waiting=1)
        self.assertEqual(again["seq"], joined["seq"])


def processes():
    """(pid, parent pid) of every process, from /proc (no procps needed)."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue  # gone meanwhile
        # pid (comm) state ppid ...: comm may hold spaces and parentheses.
        out.append((int(name), int(stat[stat.rindex(")") + 2:].split()[1])))
    return out


@unittest.skipUnless(TMUX, "tmux is not installed (scripts/deps test)")
class TopUnderTmux(QueuedCall):
    def setUp(self):
        super().setUp()
        # A tmux server of the test's own (-S): nothing shared with the user's.
        self.tmux_socket = os.path.join(self.d.tmp, "tmux.sock")
        self.addCleanup(self.tmux, "kill-server", check=False)

    def tmux(self, *args, check=True):
        r = subprocess.run([TMUX, "-S", self.tmux_socket, *args], capture_output=True, text=True, timeout=10)
        if check and r.returncode != 0:
            raise AssertionError(f"tmux {args}: {r.stderr}")
        return r.stdout

    def start_top(self):
        """A shell in a WIDTHxHEIGHT pane prints a marker, runs top, then its exit code."""
        top = " ".join(shlex.quote(a) for a in [CTL, "--socket", self.d.control_socket, "top"])
        # The shell outlives a Ctrl-C as an interactive one does (its trap is
        # not inherited: top gets the default disposition).
        script = f"trap : INT; printf 'shell-before-top\\n'; {top}; echo \"top-exited=$?\"; exec cat"
        # A plain environment: TERM as tmux sets it, no user rc files.
        self.tmux("-f", "/dev/null", "new-session", "-d", "-s", "top", "-x", str(WIDTH), "-y", str(HEIGHT),
                  "sh", "-c", script)
        self.await_screen(lambda s: "seatbridge top" in s and "AGENT" in s, "top's first screen")

    def screen(self):
        return self.tmux("capture-pane", "-p", "-t", "top")

    def await_screen(self, predicate, what, timeout=15):
        """Polls the pane until predicate(text) holds; the last screen in the failure."""
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = self.screen()
            if predicate(text):
                return text
            time.sleep(0.05)  # polling interval of a condition with a deadline, not a wait for it
        raise AssertionError(f"timed out waiting for {what}; the pane shows:\n{text}\n--- daemon log:\n"
                             f"{self.d.logs()[-3000:]}")

    @staticmethod
    def row(text, first):
        """The screen line starting with `first` (after blanks), split in columns."""
        for line in text.splitlines():
            cols = line.split()
            if cols and cols[0] == first:
                return cols
        return None

    def agent_status(self, text):
        cols = self.row(text, ALICE)
        return cols[3] if cols and len(cols) > 3 else None

    def waiting(self, text):
        """The sales queue's WAITING column."""
        cols = self.row(text, "sales")
        return cols[2] if cols and len(cols) > 2 else None

    @staticmethod
    def call_row(text):
        line = next((l for l in text.splitlines() if CUSTOMER in l), None)
        return line.split() if line else None

    def test_top_follows_a_call_and_q_restores_the_terminal(self):
        self.start_top()
        first = self.screen()
        self.assertEqual(len(first.splitlines()), HEIGHT, first)
        self.assertEqual(first.splitlines()[-1].strip(), "q quits", first)  # drawn to the last row
        self.assertTrue(all(len(line) <= WIDTH for line in first.splitlines()))
        self.assertEqual(self.agent_status(first), "notReady")
        self.assertEqual(self.waiting(first), "0")
        self.assertIn("no live calls", first)

        pbx = self.call_in()
        text = self.await_screen(lambda s: self.call_row(s) and self.waiting(s) == "1",
                                 "the customer's number and one waiting in sales")
        # CALL CUSTOMER AGENT STATE DURATION: no agent yet.
        self.assertEqual(self.call_row(text)[1:4], [CUSTOMER, "-", "queued"], text)

        sid = self.answer()
        text = self.await_screen(lambda s: self.agent_status(s) == "busy" and self.waiting(s) == "0"
                                 and (self.call_row(s) or [""] * 4)[3] == "active",
                                 "Alice busy, the queue empty, the call active")
        self.assertEqual(self.call_row(text)[1:4], [CUSTOMER, ALICE, "active"], text)

        self.events.ok("Call.hungUp", {"userId": ALICE, "sessionId": sid})
        self.await_screen(lambda s: CUSTOMER not in s and "no live calls" in s and self.agent_status(s) == "free",
                          "the call gone and Alice free")
        self.assertEqual(pbx.wait(), 0, pbx.logs())

        self.tmux("send-keys", "-t", "top", "q")
        text = self.await_screen(lambda s: "top-exited=" in s, "top to exit")
        self.assertIn("top-exited=0", text)
        # The alternate screen is gone: the shell's own lines are back, top's are not.
        self.assertIn("shell-before-top", text)
        self.assertNotIn("seatbridge top", text)
        self.assertNotIn("AGENT", text)

    def test_a_resized_window_a_lost_daemon_and_ctrl_c(self):
        self.start_top()
        # SIGWINCH: the view is drawn to the new size.
        self.tmux("resize-window", "-t", "top", "-x", "60", "-y", "8")
        text = self.await_screen(lambda s: "more lines" in s, "the view cut to 8 lines")
        self.assertEqual(len(text.splitlines()), 8, text)
        self.assertTrue(all(len(line) <= 60 for line in text.splitlines()), text)
        self.tmux("resize-window", "-t", "top", "-x", str(WIDTH), "-y", str(HEIGHT))
        self.await_screen(lambda s: "no live calls" in s, "the whole view again")

        # The daemon goes away: a clear line, and top keeps trying.
        self.events.close()
        self.d.stop()
        self.await_screen(lambda s: "connection lost" in s and "reconnecting" in s, "the connection-lost line")
        self.d.start()
        self.await_screen(lambda s: "live (event stream" in s and "no live calls" in s, "top reconnected")

        # Ctrl-C: SIGINT restores the terminal and ends top by the signal (130 in sh).
        self.tmux("send-keys", "-t", "top", "C-c")
        text = self.await_screen(lambda s: "top-exited=" in s, "top to exit on Ctrl-C")
        self.assertIn("top-exited=130", text)
        self.assertIn("shell-before-top", text)
        self.assertNotIn("seatbridge top", text)

    def test_sigterm_restores_the_terminal(self):
        self.start_top()
        shell = int(self.tmux("list-panes", "-t", "top", "-F", "#{pane_pid}").split()[0])
        # top is the shell's only child while it runs.
        children = [pid for pid, ppid in processes() if ppid == shell]
        self.assertEqual(len(children), 1, children)
        os.kill(children[0], signal.SIGTERM)
        text = self.await_screen(lambda s: "top-exited=" in s, "top to exit on SIGTERM")
        self.assertIn(f"top-exited={128 + signal.SIGTERM}", text)  # ended by the signal, as sh reports it
        self.assertIn("shell-before-top", text)
        self.assertNotIn("seatbridge top", text)


if __name__ == "__main__":
    unittest.main(verbosity=2)
