"""Call.transfer, blind, end to end: a customer call from the PBX (a SIPp trunk
that takes re-INVITEs, sipp/trunk_call_hold.xml) answered by alice's SIPp desk
phone moves to bob, by name or through the sales queue. The customer's leg is
re-INVITEd with bob's SDP once he answers (its dialog stays the same), alice's
leg gets a BYE, and `transfer` comes when the transfer completed: at once for
a queue, on bob's answer for an agent, while alice stays on until then."""
import unittest

from calls import ALICE, BOB, NUMBER, Phone, Trunk, sdp_media
from test_calls import CallTest


class Transfer(CallTest):
    def answered_by_alice(self, refer_to=None, refer_headers=""):
        self.start(ring_timeout=8, queue_timeout=10, after_call_work=5)
        if refer_to:
            # Alice's phone presses its transfer key once the call is up.
            alice = Phone(self.d, "1001", "phone_answer_refer")
            alice.cmd += ["-key", "refer_to", refer_to, "-key", "refer_headers", refer_headers]
            self.sipp(alice).wait_registered(self.events)
        else:
            alice = self.phone("1001", "phone_answer")
        bob = self.phone("1002", "phone_answer")
        pbx = self.sipp(Trunk(self.d, "trunk_call_hold"))
        if refer_to:
            # Bob is free before the call, so the REFER finds him so.
            self.events.ok("Agent.online", {"userId": BOB})
            self.events.expect("statusChanged", BOB, status="free")
        sid = self.assert_call_in(self.events.expect("callIn", ALICE), ALICE, 8)
        self.events.expect("userAccessed", ALICE, sessionId=sid)
        pbx.wait_sent("ACK")
        if not refer_to:
            self.events.ok("Agent.online", {"userId": BOB})
            self.events.expect("statusChanged", BOB, status="free")
        return alice, bob, pbx, sid

    def refer_notifies(self, alice):
        """The sipfrag status lines and Subscription-State of the REFER's NOTIFYs alice got."""
        return [(n.body.strip(), n.get("subscription-state").split(";")[0], n.get("event"))
                for n in alice.received("NOTIFY")]

    def transfer(self, sid, **to):
        return self.events.call("Call.transfer", dict({"userId": ALICE, "sessionId": sid}, **to))

    def finish_with_bob(self, alice, bob, pbx, sid):
        """Bob took the customer: the PBX re-INVITEd with bob's SDP in its own
        dialog, alice's phone BYEd; the customer hangs up and bob's session ends."""
        self.events.expect("userAccessed", BOB, sessionId=sid)
        self.wait(lambda: len(pbx.received("INVITE")) >= 1 and len(pbx.received("ACK")) >= 1,
                  "the PBX took the re-INVITE with bob's SDP")
        reinvite = pbx.received("INVITE")[0]
        self.assertEqual(sdp_media(reinvite)[1], bob.rtp_port, reinvite.raw)
        self.assertEqual(reinvite.get("call-id"), pbx.answer().get("call-id"), "the customer's dialog, unchanged")
        self.wait(lambda: alice.received("BYE"), "alice's phone got its BYE")
        self.assertEqual(self.events.session(sid)["userId"], BOB)
        pbx.poke()
        ended = self.events.expect("sessionEnded", BOB, sessionId=sid)
        self.assertEqual(ended["data"]["closeBy"], "client")
        self.success(pbx, alice, bob)
        # Bob was offered the customer's own SDP.
        self.assertEqual(sdp_media(bob.invite())[1], pbx.rtp_port)

    def test_to_an_agent_alice_stays_on_until_bob_answers(self):
        alice, bob, pbx, sid = self.answered_by_alice()
        mark = self.events.mark()
        r = self.transfer(sid, transferUserId=BOB)
        self.assertEqual(r.get("status"), "success", r)
        call_in = self.events.expect("callIn", BOB, since=mark, sessionId=sid)
        self.assertEqual(call_in["data"]["type"], "phone")
        done = self.events.expect("transfer", ALICE, since=mark, sessionId=sid)
        self.assertEqual(done["data"], {"sessionId": sid, "skillGroupId": "", "userId": BOB})
        accessed = self.events.expect("userAccessed", BOB, since=mark, sessionId=sid)
        # Alice is released when it completed, not before: arrange after the transfer event.
        arrange = self.events.expect("statusChanged", ALICE, since=mark, status="arrange")
        self.assertLess(self.events.seen.index(done), self.events.seen.index(arrange))
        self.assertLess(self.events.seen.index(call_in), self.events.seen.index(done))
        self.events.position = self.events.seen.index(accessed)
        self.finish_with_bob(alice, bob, pbx, sid)

    def test_to_a_skill_group_alice_goes_at_once_and_bob_is_offered_from_the_queue(self):
        alice, bob, pbx, sid = self.answered_by_alice()
        mark = self.events.mark()
        # Bob is busy being... nothing: free. The transfer puts the customer in the sales queue.
        r = self.transfer(sid, skillGroupId="sales")
        self.assertEqual(r.get("status"), "success", r)
        done = self.events.expect("transfer", ALICE, since=mark, sessionId=sid)
        self.assertEqual(done["data"], {"sessionId": sid, "skillGroupId": "sales", "userId": ""})
        self.events.expect("statusChanged", ALICE, since=mark, status="arrange")
        call_in = self.events.expect("callIn", BOB, since=mark, sessionId=sid)
        self.assertLess(self.events.seen.index(done), self.events.seen.index(call_in))
        self.finish_with_bob(alice, bob, pbx, sid)

    def test_the_phones_transfer_key_to_an_extension_is_the_same_transfer(self):
        # Bob's extension: offered while alice waits, bridged on his answer.
        alice, bob, pbx, sid = self.answered_by_alice(refer_to="1002")
        call_in = self.events.expect("callIn", BOB, sessionId=sid)
        done = self.events.expect("transfer", ALICE, sessionId=sid)
        self.assertEqual(done["data"]["userId"], BOB)
        self.assertLess(self.events.seen.index(call_in), self.events.seen.index(done))
        self.finish_with_bob(alice, bob, pbx, sid)
        self.assertTrue(alice.received(status=202), "the REFER was accepted (RFC 3515 section 2.4.2)")
        self.assertEqual(self.refer_notifies(alice), [("SIP/2.0 100 Trying", "active", "refer"),
                                                      ("SIP/2.0 200 OK", "terminated", "refer")])
        self.assertFalse(pbx.received("REFER"), "a REFER is never relayed to the customer's side")

    def test_the_phones_transfer_key_to_a_service_number_queues_the_customer(self):
        alice, bob, pbx, sid = self.answered_by_alice(refer_to=NUMBER)
        done = self.events.expect("transfer", ALICE, sessionId=sid)
        self.assertEqual(done["data"]["skillGroupId"], "sales")
        self.events.expect("callIn", BOB, sessionId=sid)
        self.finish_with_bob(alice, bob, pbx, sid)
        self.assertEqual([n[0] for n in self.refer_notifies(alice)], ["SIP/2.0 100 Trying", "SIP/2.0 200 OK"])

    def test_an_attended_refer_naming_no_dialog_of_ours_is_refused_in_its_notify(self):
        # RFC 3891 section 3: no dialog matches the Replaces; the call stays with alice.
        alice, bob, pbx, sid = self.answered_by_alice(
            refer_to="1002", refer_headers="?Replaces=gone%40nowhere%3Bto-tag%3Dab%3Bfrom-tag%3Dcd")
        self.wait(lambda: len(alice.received("NOTIFY")) >= 2, "both NOTIFYs of the REFER")
        self.assertEqual(self.refer_notifies(alice), [("SIP/2.0 100 Trying", "active", "refer"),
                                                      ("SIP/2.0 481 Call/Transaction Does Not Exist", "terminated",
                                                       "refer")])
        self.assertEqual(self.events.session(sid)["userId"], ALICE)
        self.assertFalse(bob.received("INVITE"), "nobody is rung")
        pbx.poke()
        self.events.expect("sessionEnded", ALICE, sessionId=sid)
        self.success(pbx, alice)

    def test_bad_targets_are_refused(self):
        alice, bob, pbx, sid = self.answered_by_alice()
        for to, code in (({}, "invalidParams"), ({"skillGroupId": "nope"}, "invalidParams"),
                         ({"transferUserId": ALICE}, "invalidParams"),
                         ({"transferUserId": "nobody@example.com"}, "agentNotFound")):
            self.assertEqual(self.transfer(sid, **to).get("errorCode"), code, to)
        pbx.poke()
        self.events.expect("sessionEnded", ALICE, sessionId=sid)
        self.success(pbx, alice)


if __name__ == "__main__":
    unittest.main()
