"""Internal calls, both ways (issue 9 item 3): an extension dialled on a desk
phone rings that extension's phone with the caller's offer; Call.startInternalCall
rings the caller's own phone first and then the callee's (third-party call
control, as Call.startOutboundCall). The callee gets callIn of type internal
with peerUserId, both agents are busy while it lasts, and both get
sessionEnded. Phones are SIPp desk phones (alice 1001, bob 1002), or the
scripted test_calls_outbound.OutboundPhone where the call is dialled."""
import unittest

from calls import ALICE, BOB, Phone
from outbound import OutboundTest


class InternalCalls(OutboundTest):
    def start2(self):
        self.start(online=(ALICE, BOB), scripted_phone=False)

    def sipp_phone(self, extension, scenario):
        phone = Phone(self.d, extension, scenario)
        self.addCleanup(phone.close)
        self.peers.append(phone)
        phone.start().wait_registered(self.events)
        return phone

    def assert_both_busy(self):
        for who in (ALICE, BOB):
            self.events.expect("statusChanged", who, since=self.since, status="busy")

    def assert_both_ended_then_free(self, sid, ended_by):
        ended = {who: self.events.expect("sessionEnded", who, since=self.since, sessionId=sid) for who in (ALICE, BOB)}
        for who in (ALICE, BOB):
            self.assertEqual(ended[who]["data"]["closeBy"], ended_by)
            self.events.expect("statusChanged", who, since=self.events.after(ended[who]), status="free")
        row = self.events.session(sid)
        self.assertEqual((row["type"], row["userId"], row["peerUserId"]), ("internal", ALICE, BOB))

    def test_call_start_internal_call_rings_the_caller_first_then_the_callee(self):
        self.start2()
        alice = self.sipp_phone("1001", "phone_answer_3pcc")
        bob = self.sipp_phone("1002", "phone_answer_hangup")
        self.since = self.events.mark()
        r = self.events.call("Call.startInternalCall", {"userId": ALICE, "calleeUserId": BOB})
        self.assertEqual(r.get("status"), "success", r)
        sid = r["data"]["sessionId"]
        self.assert_both_busy()
        call_in = self.events.expect("callIn", BOB, sessionId=sid)
        self.assertEqual(call_in["data"]["type"], "internal")
        self.assertEqual(call_in["data"]["peerUserId"], ALICE)
        self.events.expect("userAccessed", BOB, sessionId=sid)
        self.assert_both_ended_then_free(sid, "seat")
        self.success(alice, bob)
        # Bob's phone got alice's own offer; alice's phone got bob's SDP in a re-INVITE.
        self.assertIn(f"m=audio {alice.rtp_port} ", bob.received("INVITE")[0].body)
        self.assertIn(f"m=audio {bob.rtp_port} ", alice.received("INVITE")[1].body)
        self.assertTrue(alice.received("BYE"), "bob hung up: alice's leg gets the BYE")

    def test_an_extension_dialled_on_the_desk_phone_rings_that_phone(self):
        self.start2()
        bob = self.sipp_phone("1002", "phone_answer_hangup")
        self.phone = self.desk_phone()
        self.since = self.events.mark()
        fields = self.phone.dial("1002")
        self.assert_both_busy()
        call_in = self.events.expect("callIn", BOB)
        self.assertEqual(call_in["data"]["type"], "internal")
        self.assertEqual(call_in["data"]["peerUserId"], ALICE)
        sid = call_in["data"]["sessionId"]
        ok = self.phone.outcome(fields)
        self.assertEqual(ok.status, 200, ok.raw)
        self.assertIn(f"m=audio {bob.rtp_port} ", ok.body, "bob's answer reaches alice's phone")
        self.events.expect("userAccessed", BOB, sessionId=sid)
        self.phone.take_bye()  # bob hangs up
        self.assert_both_ended_then_free(sid, "seat")
        self.success(bob)
        self.assertEqual(bob.received("INVITE")[0].get("from").split(";")[0], "<sip:1001@seatbridge.test>")


if __name__ == "__main__":
    unittest.main()
