"""Attended transfer from a real desk phone (issue 9): alice's phone is
twinkle-console (twinkle.py), which takes a customer's call from the PBX (a
SIPp trunk that takes re-INVITEs, sipp/trunk_call_hold.xml), consults bob
(`transfer -c 1002`: the customer's line on hold, an internal call to bob's
SIPp phone), and transfers (`transfer -c`): a REFER in the customer's dialog
whose Refer-To carries Replaces naming the consultation's dialog (RFC 3515,
RFC 3891, RFC 5589 section 7).

seatbridge is the target of that REFER as well as the peer of both dialogs:
it answers 202, tells the phone in NOTIFY sipfrags (100, then 200), BYEs the
phone's two legs, and puts the customer and bob through to each other: the
PBX is re-INVITEd in its own dialog with bob's SDP (sendrecv: the customer is
off hold), then bob with the PBX's answer. The customer's session goes on
with bob as its agent; the consultation ends for both agents."""
import shutil
import unittest

from calls import ALICE, BOB, CUSTOMER, Trunk, sdp_media
from test_calls import CallTest
from twinkle import Twinkle


def direction(msg):
    for line in msg.body.splitlines():
        if line in ("a=sendrecv", "a=sendonly", "a=recvonly", "a=inactive"):
            return line[2:]
    return "sendrecv"


@unittest.skipUnless(shutil.which("twinkle-console"), "twinkle-console is not installed (scripts/deps test)")
class AttendedTransfer(CallTest):
    def setUp(self):
        # Twinkle 1.10 answers MD5 challenges only.
        self.start(ring_timeout=10, queue_timeout=20, after_call_work=5, online=(),
                   mutate=lambda cfg: cfg["security"].update(digestAlgorithms=["MD5"]))
        self.alice = Twinkle(self.d.tmp, "alice", "1001", "pw-1001", self.d.sip_port, self.d.config["sip"]["domain"])
        self.addCleanup(self.alice.close)
        self.peers.append(self.alice)
        self.alice.start().wait_registered()
        self.bob = self.phone("1002", "phone_answer_reinvites")
        for user in (ALICE, BOB):
            self.events.ok("Agent.online", {"userId": user})
            self.events.expect("statusChanged", user, status="free")

    def consult(self):
        """The customer's call answered on alice's phone, then bob consulted
        from it: returns (pbx, the customer's sessionId, the consultation's)."""
        pbx = self.sipp(Trunk(self.d, "trunk_call_hold"))
        sid = self.assert_call_in(self.events.expect("callIn", ALICE), ALICE, 10)
        self.alice.wait_output(r"Line 1: incoming call")
        self.alice.command("answer")
        self.events.expect("userAccessed", ALICE, sessionId=sid)
        pbx.wait_sent("ACK")
        # Twinkle holds a line only once it counts it established (our ACK in).
        self.alice.wait_output(r"Line 1: call established")
        self.alice.command("transfer -c 1002")
        # Its hold key first (the customer's leg re-INVITEd sendonly), then the call to bob.
        self.events.expect("hold", ALICE, sessionId=sid, by="seat")
        call_in = self.events.expect("callIn", BOB)
        self.assertEqual(call_in["data"]["type"], "internal")
        self.assertEqual(call_in["data"]["peerUserId"], ALICE)
        consult = call_in["data"]["sessionId"]
        self.events.expect("userAccessed", BOB, sessionId=consult)
        self.alice.wait_output(r"Line 2: far end answered call")
        return pbx, sid, consult

    def test_the_customer_is_put_through_to_the_consulted_agent(self):
        pbx, sid, consult = self.consult()
        mark = self.events.mark()
        self.alice.command("transfer -c")
        done = self.events.expect("transfer", ALICE, since=mark, sessionId=sid)
        self.assertEqual(done["data"], {"sessionId": sid, "skillGroupId": "", "userId": BOB})
        # The consultation is over for both; bob learns the customer's call is his.
        for user in (ALICE, BOB):
            ended = self.events.expect("sessionEnded", user, since=mark, sessionId=consult)
            self.assertEqual(ended["data"]["closeBy"], "seat")
        self.events.expect("unHold", ALICE, since=mark, sessionId=sid)
        offer = self.events.expect("callIn", BOB, since=mark, sessionId=sid)
        self.assertEqual(offer["data"]["callerPhoneNumber"], CUSTOMER)
        self.events.expect("userAccessed", BOB, since=mark, sessionId=sid)
        self.events.expect("statusChanged", ALICE, since=mark, status="arrange")
        self.assertFalse([e for e in self.events.status_changes(BOB, mark)],
                         "bob stays busy from the consultation into the customer's call")

        # What alice's phone saw: its REFER, with Replaces, accepted and reported on.
        refer = self.alice.sent("REFER")
        self.assertEqual(len(refer), 1)
        self.assertIn("Replaces=", refer[0].get("refer-to"), refer[0].raw)
        self.alice.wait_output(r"Line 1: call successfully referred")
        self.assertTrue(self.alice.received(status=202))
        notifies = [n.body.strip() for n in self.alice.received("NOTIFY")]
        self.assertEqual(notifies, ["SIP/2.0 100 Trying", "SIP/2.0 200 OK"])
        self.wait(lambda: len(self.alice.received("BYE")) + len(self.alice.sent("BYE")) >= 2,
                  "both of alice's calls over")

        # The customer's dialog (the same Call-ID) now carries bob's audio, off hold;
        # bob's carries the customer's.
        def last_reinvite(peer):
            invites = [m for m in peer.received("INVITE") if m.get("to") and "tag=" in m.get("to")]
            return invites[-1] if invites else None
        self.wait(lambda: (lambda m: m is not None and sdp_media(m)[1] == self.bob.rtp_port)(last_reinvite(pbx)),
                  "the PBX re-INVITEd with bob's SDP")
        to_pbx = last_reinvite(pbx)
        self.assertEqual(direction(to_pbx), "sendrecv", to_pbx.raw)
        self.assertEqual(to_pbx.get("call-id"), pbx.answer().get("call-id"), "the customer's dialog, unchanged")
        self.wait(lambda: (lambda m: m is not None and sdp_media(m)[1] == pbx.rtp_port)(last_reinvite(self.bob)),
                  "bob re-INVITEd with the customer's SDP")
        self.assertEqual(direction(last_reinvite(self.bob)), "sendrecv")

        session = self.events.session(sid)
        self.assertEqual(session["userId"], BOB)
        self.assertEqual(session["state"], "active")
        self.assertEqual(self.events.session(consult)["state"], "ended")

        # The customer hangs up: bob's phone gets the BYE, his session ends.
        pbx.poke()
        ended = self.events.expect("sessionEnded", BOB, sessionId=sid)
        self.assertEqual(ended["data"]["closeBy"], "client")
        self.success(pbx, self.bob)
        self.assertEqual(self.live_sessions(), [])


if __name__ == "__main__":
    unittest.main()
