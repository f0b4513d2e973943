"""Call.accept end to end: the socket answers a ringing desk phone. A SIPp
phone that takes remote answer (its 180 lists `talk` in Allow-Events) is sent
NOTIFY Event: talk in the early dialog and answers; userAccessed then carries
the asking connection's tabUUID. A phone that does not offer it gets no NOTIFY,
and Call.accept answers remoteAnswerUnsupported."""
import unittest

from calls import ALICE, PHONE_HOST, cseq, tag
from test_calls import CallTest


class RemoteAnswer(CallTest):
    def accept(self, sid):
        return self.events.call("Call.accept", {"userId": ALICE, "sessionId": sid})

    def test_call_accept_makes_a_talk_capable_phone_answer_in_its_early_dialog(self):
        self.start(ring_timeout=8, queue_timeout=10)
        phone = self.phone("1001", "phone_remote_answer")
        pbx = self.trunk("trunk_call_hangup", talk_ms=500)
        sid = self.assert_call_in(self.events.expect("callIn", ALICE), ALICE, 8)
        # callIn goes out with the INVITE; the phone's 180 (which offers talk)
        # comes after it. Until seatbridge has it, Call.accept says it cannot.
        answers = []

        def accepted():
            r = self.accept(sid)
            answers.append(r)
            if r.get("status") == "success":
                return True
            self.assertEqual(r.get("errorCode"), "remoteAnswerUnsupported", r)
            return False

        self.wait(accepted, "Call.accept succeeds once the phone rings")
        self.assertEqual(answers[-1]["data"], {"sessionId": sid})
        accessed = self.events.expect("userAccessed", ALICE, sessionId=sid)
        self.assertEqual(accessed["data"]["tabUUID"], self.events.tab)
        self.success(pbx, phone)
        self.assert_bridged(pbx, phone)

        # The NOTIFY is a request of the phone's early dialog (RFC 3261 §12.2.1.1):
        # same Call-ID and From tag as the INVITE, the phone's To tag from its 180,
        # the next CSeq, sent to the 180's Contact.
        invite = phone.invite()
        ringing = [m for m in phone.sent(status=180)][0]
        notifies = phone.received("NOTIFY")
        self.assertEqual(len(notifies), 1, phone.summary())
        notify = notifies[0]
        self.assertEqual(notify.get("event"), "talk")
        self.assertTrue(notify.get("subscription-state").startswith("active"), notify.raw)
        self.assertEqual(notify.get("call-id"), invite.get("call-id"))
        self.assertEqual(tag(notify.get("from")), tag(invite.get("from")))
        self.assertEqual(tag(notify.get("to")), tag(ringing.get("to")))
        self.assertIsNotNone(tag(notify.get("to")))
        self.assertGreater(cseq(notify)[0], cseq(invite)[0])
        self.assertEqual(notify.first.split()[1], ringing.get("contact").strip("<>"), notify.first)
        self.assertTrue(notify.first.split()[1].startswith(f"sip:{PHONE_HOST}:"), notify.first)
        # The BYE after it comes later still in the dialog's CSeq order (§12.2.1.1).
        byes = phone.received("BYE")
        self.assertTrue(byes, phone.summary())
        self.assertGreater(cseq(byes[0])[0], cseq(notify)[0])
        self.assertEqual(self.metric("seatbridge_remote_answers_total", outcome="accepted"), 1)
        ended = self.events.expect("sessionEnded", ALICE, sessionId=sid)
        self.assertEqual(ended["data"]["closeBy"], "client")

    def test_a_phone_without_talk_gets_no_notify_and_the_call_rings_on(self):
        self.start(ring_timeout=2, queue_timeout=3)
        phone = self.phone("1001", "phone_noanswer")
        pbx = self.trunk("trunk_rejected")
        sid = self.assert_call_in(self.events.expect("callIn", ALICE), ALICE, 2)
        phone.wait_sent(status=180)
        r = self.accept(sid)
        self.assertEqual(r.get("status"), "error", r)
        self.assertEqual(r.get("errorCode"), "remoteAnswerUnsupported", r)
        self.assertIn("lift the handset", r.get("errorMsg", ""))
        # The offer rings out as if nobody had asked.
        self.events.expect("autoTransfer", ALICE, sessionId=sid)
        self.events.expect("sessionEnded", sessionId=sid)
        self.success(pbx, phone)
        self.assertFalse(phone.received("NOTIFY"), phone.summary())
        self.assertFalse([e for e in self.events.seen if e["event"] == "userAccessed"])

    def test_call_accept_on_someone_elses_or_an_unknown_session(self):
        self.start()
        r = self.accept("no-such-session")
        self.assertEqual(r.get("errorCode"), "sessionNotFound", r)


if __name__ == "__main__":
    unittest.main(verbosity=2)
