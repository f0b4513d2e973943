"""A customer's INVITE without an offer (a "delayed offer", RFC 3261 §13.2.1):
the agent's desk phone offers in its 200, the customer answers in its ACK, and
seatbridge ACKs the phone's 200 only then, with that answer (RFC 3264 §5).
Each side must end up with the other's media address."""
import unittest

from calls import ALICE, PHONE_HOST, TRUNK_HOST, sdp_media
from test_calls import CallTest


class DelayedOffer(CallTest):
    def test_the_answer_in_the_customers_ack_reaches_the_phone_in_its_ack(self):
        self.start(ring_timeout=5, queue_timeout=10)
        phone = self.phone("1001", "phone_answer_offerless")
        pbx = self.trunk("trunk_call_offerless", talk_ms=500)
        sid = self.assert_call_in(self.events.expect("callIn", ALICE), ALICE, 5)
        self.events.expect("userAccessed", ALICE, sessionId=sid)
        ended = self.events.expect("sessionEnded", ALICE, sessionId=sid)
        self.assertEqual(ended["data"]["closeBy"], "client")
        self.success(pbx, phone)

        invite = phone.invite()
        self.assertEqual(invite.body.strip(), "", "the INVITE to the phone carries no offer either")
        # The customer's 200 carries the phone's offer ...
        self.assertEqual(sdp_media(pbx.answer()), (PHONE_HOST, phone.rtp_port), pbx.answer().raw)
        # ... and the phone's ACK the customer's answer, in the INVITE's CSeq.
        acks = phone.received("ACK")
        self.assertEqual(len(acks), 1, phone.summary())
        self.assertEqual(sdp_media(acks[0]), (TRUNK_HOST, pbx.rtp_port), acks[0].raw)
        self.assertEqual(acks[0].get("cseq").split()[0], invite.get("cseq").split()[0])
        self.assertEqual(acks[0].get("content-type"), "application/sdp")
        self.wait(lambda: self.metric("seatbridge_sessions_active", type="phone") == 0, "no active session")


if __name__ == "__main__":
    unittest.main(verbosity=2)
