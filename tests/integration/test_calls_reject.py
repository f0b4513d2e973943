"""Reject and delete (issue 9 item 8): Call.end on a ringing offer CANCELs the
agent's phone and offers the call to the next agent at once, with no
autoTransfer (a refusal is not a missed offer); Call.deleteCall drops an ended
session from the agent's working list, and refuses a live one. A SIPp PBX calls
in; alice's SIPp desk phone rings without answering, bob's answers."""
import unittest

from calls import ALICE, BOB
from test_calls import CallTest


class RejectAndDelete(CallTest):
    def test_call_end_goes_to_the_next_agent_and_delete_call_drops_the_ended_session(self):
        self.start(ring_timeout=8, queue_timeout=10, online=(ALICE, BOB))
        alice = self.phone("1001", "phone_noanswer")
        bob = self.phone("1002", "phone_answer")
        pbx = self.trunk("trunk_call_hangup", talk_ms=300)
        offer = self.events.expect("callIn", ALICE)
        sid = offer["data"]["sessionId"]
        alice.wait_sent(status=180)
        self.assertEqual(self.events.ok("Call.end", {"userId": ALICE, "sessionId": sid}), {"sessionId": sid})
        # Bob is offered it at once (well within alice's 8 s ring timeout), and answers.
        self.events.expect("callIn", BOB, sessionId=sid)
        self.events.expect("userAccessed", BOB, sessionId=sid)
        alice.wait_received("CANCEL")
        self.assertFalse([e for e in self.events.seen if e["event"] == "autoTransfer"], "a refusal, not a timeout")
        r = self.events.call("Call.deleteCall", {"userId": BOB, "sessionId": sid})
        self.assertEqual(r.get("errorCode"), "sessionNotEnded", r)
        self.events.expect("sessionEnded", BOB, sessionId=sid)
        self.success(pbx, alice, bob)
        offers = self.events.session(sid)["offers"]
        self.assertEqual([(o["userId"], o["outcome"]) for o in offers], [(ALICE, "rejected"), (BOB, "answered")])
        # The ended session is in bob's list until he deletes it; alice never had it.
        listed = lambda who: [s["sessionId"] for s in self.events.ok("Gateway.listSessions", {"userId": who})["sessions"]]
        self.assertIn(sid, listed(BOB))
        r = self.events.call("Call.deleteCall", {"userId": ALICE, "sessionId": sid})
        self.assertEqual(r.get("errorCode"), "sessionNotFound", r)
        self.assertEqual(self.events.ok("Call.deleteCall", {"userId": BOB, "sessionId": sid}), {"sessionId": sid})
        self.assertNotIn(sid, listed(BOB))
        self.assertEqual(self.events.call("Call.deleteCall", {"userId": BOB, "sessionId": sid}).get("errorCode"),
                         "sessionNotFound")


if __name__ == "__main__":
    unittest.main()
