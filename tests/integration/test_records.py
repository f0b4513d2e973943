"""Issue 8 item 7: every ended session is written to the store, read back through
Gateway.listRecords (filters, paging) and `seatbridgectl records`, and is still
there after a restart."""
import json
import os
import unittest

import test_calls
from calls import ALICE, BOB, CUSTOMER, NUMBER, Events
from harness import CTL, run


class Records(test_calls.CallTest):
    def one_call(self):
        """A bridged call that the PBX hangs up; returns its sessionId."""
        phone = self.phone("1001", "phone_answer")
        pbx = self.trunk("trunk_call_hangup", talk_ms=300)
        sid = self.events.expect("callIn", ALICE)["data"]["sessionId"]
        self.events.expect("sessionEnded", ALICE, sessionId=sid)
        self.success(pbx, phone)
        return sid

    def records(self, events, **params):
        r = events.call("Gateway.listRecords", params)
        self.assertEqual(r["status"], "success", r)
        return r["data"]

    def test_an_ended_call_is_archived_filtered_paged_and_survives_a_restart(self):
        self.start(ring_timeout=5, queue_timeout=10, after_call_work=0)
        first = self.one_call()
        second = self.one_call()

        data = self.records(self.events)
        ids = [r["sessionId"] for r in data["records"]]
        self.assertEqual(ids, [second, first], "newest first")
        rec = data["records"][1]
        self.assertEqual((rec["state"], rec["endState"], rec["closeBy"]), ("ended", "ok", "client"))
        self.assertEqual((rec["userId"], rec["callerPhoneNumber"], rec["calleePhoneNumber"]), (ALICE, CUSTOMER, NUMBER))
        self.assertEqual([o["outcome"] for o in rec["offers"]], ["answered"])
        self.assertGreaterEqual(rec["talkMs"], 200)
        for key in ("createdAt", "answeredAt", "endedAt", "waitMs", "ringMs", "trunk"):
            self.assertIn(key, rec)

        # Filters and paging.
        self.assertEqual(self.records(self.events, endState="waitingGiveUp")["records"], [])
        self.assertEqual(self.records(self.events, userId=BOB)["records"], [])
        self.assertEqual(len(self.records(self.events, userId=ALICE)["records"]), 2)
        self.assertEqual(self.records(self.events, fromMs=rec["endedAt"] + 10 ** 9)["records"], [])
        page = self.records(self.events, limit=1)
        self.assertEqual([r["sessionId"] for r in page["records"]], [second])
        page2 = self.records(self.events, limit=1, before=page["next"])
        self.assertEqual([r["sessionId"] for r in page2["records"]], [first])
        self.assertNotIn("next", page2)
        for bad in ({"limit": 0}, {"before": "nonsense"}, {"endState": "fine"}, {"fromMs": "yesterday"}):
            r = self.events.call("Gateway.listRecords", bad)
            self.assertEqual((r["status"], r.get("errorCode")), ("error", "invalidParams"), (bad, r))

        # The operator's view.
        out = run([CTL, "--socket", self.d.control_socket, "--json", "records", "--user", ALICE])
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual([r["sessionId"] for r in json.loads(out.stdout)["records"]], [second, first])
        out = run([CTL, "--socket", self.d.control_socket, "records", "--limit", "1"])
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn(second, out.stdout)
        self.assertIn("more: --before", out.stdout)

        # A restart keeps the archive (the working list of live sessions starts empty).
        self.events.close()
        self.assertEqual(self.d.stop(), 0)
        self.d.start()
        events = Events(self.d)
        self.addCleanup(events.close)
        self.assertEqual([r["sessionId"] for r in self.records(events)["records"]], [second, first])


if __name__ == "__main__":
    unittest.main(verbosity=2)
