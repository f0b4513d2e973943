"""Issue 4: a control client that stops reading while thousands of events are
produced. The daemon keeps answering SIP, the other clients get every event, and
the stalled one is told exactly what it missed (eventsDropped) once it reads again."""
import json
import socket
import threading
import unittest

from harness import Daemon, run

ALICE = "alice@example.com"
EVENTS = 40000  # ~90 bytes each: several times the 1 MiB queue plus the socket buffers


class Reader(threading.Thread):
    """Reads every event of one subscribed connection until it has seen seq `until`."""

    def __init__(self, client):
        super().__init__(daemon=True)
        self.c = client
        self.seqs = []
        self.until = None
        self.error = None
        self.done = threading.Event()

    def run(self):
        try:
            while True:
                m = self.c.read()
                if m.get("event") == "statusChanged":
                    self.seqs.append(m["seq"])
                    if self.until is not None and m["seq"] >= self.until:
                        break
                elif "event" in m:
                    raise AssertionError(f"unexpected {m}")
        except Exception as e:  # reported by the test
            self.error = e
        finally:
            self.done.set()


def produce(c, count, start_status="rest"):
    """Pipelines `count` Agent.setStatus toggles (each one statusChanged) and
    reads the answers; returns the last answer's status and a count of failures."""
    statuses = ("rest", "free") if start_status == "rest" else ("free", "rest")
    failures = 0
    batch = 500
    sent = 0
    while sent < count:
        n = min(batch, count - sent)
        lines = []
        for i in range(n):
            lines.append(json.dumps({"id": sent + i, "method": "Agent.setStatus",
                                     "params": {"userId": ALICE, "status": statuses[(sent + i) % 2]}}))
        c.send_raw("\n".join(lines) + "\n")
        got = 0
        while got < n:
            m = c.read_wire()
            if "status" in m:
                got += 1
                failures += m["status"] != "success"
        sent += n
    return failures


class StalledClient(unittest.TestCase):
    def test_a_stalled_client_loses_events_not_the_daemon(self):
        with Daemon() as d:
            producer = d.control()
            producer.read()
            self.assertEqual(producer.call("Agent.online", {"userId": ALICE})["status"], "success")

            stalled = d.control()
            stalled.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            stalled.read()
            sub = stalled.call("Client.subscribe", {"all": True})
            first = sub["data"]["lastSeq"] + 1

            readers = []
            for _ in range(2):
                c = d.control()
                c.read()
                c.call("Client.subscribe", {"all": True})
                readers.append(Reader(c))
            for r in readers:
                r.until = first + EVENTS - 1
                r.start()

            # SIP keeps being answered while the burst is fanned out.
            sip_results = []

            def options():
                for _ in range(3):
                    sip_results.append(run(["sipsak", "-s", f"sip:127.0.0.1:{d.sip_port}"], timeout=20))

            sip = threading.Thread(target=options)
            sip.start()
            failures = produce(producer, EVENTS)
            sip.join()
            self.assertEqual(failures, 0)
            for r in sip_results:
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

            # The readers saw every event, in order, while one client was stalled.
            for r in readers:
                self.assertTrue(r.done.wait(60), "reader finished")
                self.assertIsNone(r.error)
                self.assertEqual(r.seqs, list(range(first, first + EVENTS)))

            # The stalled client reads again: first what was queued before the
            # overflow, then one eventsDropped with the range it missed, then live.
            before = []
            while True:
                m = stalled.read()
                if m["event"] == "eventsDropped":
                    notice = m
                    break
                before.append(m["seq"])
            self.assertEqual(before, list(range(first, first + len(before))))
            self.assertGreater(len(before), 0)
            data = notice["data"]
            self.assertEqual(data["fromSeq"], first + len(before))
            self.assertEqual(data["toSeq"], first + EVENTS - 1)
            self.assertEqual(data["count"], EVENTS - len(before))
            self.assertEqual(notice["seq"], data["toSeq"])
            self.assertEqual(d.metric("seatbridge_control_events_dropped_total"), data["count"])

            # Live events flow again to the stalled client, and resume fetches the gap.
            self.assertEqual(producer.call("Agent.setStatus", {"userId": ALICE, "status": "rest"})["status"], "success")
            self.assertEqual(stalled.read()["seq"], first + EVENTS)
            answer = stalled.call("Client.resume", {"fromSeq": data["fromSeq"]})
            self.assertEqual(answer["status"], "success", answer)
            self.assertEqual(answer["data"]["replayed"], data["count"] + 1)
            replayed = stalled.events(3)
            self.assertEqual([e["seq"] for e in replayed], [data["fromSeq"], data["fromSeq"] + 1, data["fromSeq"] + 2])
            for c in [producer, stalled] + [r.c for r in readers]:
                c.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
