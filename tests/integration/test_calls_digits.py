"""Call.sendDigits end to end: the agent's CRM sends DTMF into a bridged call,
and the PBX (a SIPp trunk, tests/integration/sipp/trunk_call_info.xml) gets each
digit as one SIP INFO in the customer's dialog, application/dtmf-relay
("Signal=<digit>", "Duration=160"), in order, each only after the one before
it was answered; the desk phone gets none. A far end that refuses the first
INFO (415) gets no more, and the call goes on. The methods on the call's audio
answer mediaNotAnchored while seatbridge does not relay it."""
import unittest

from calls import ALICE, Trunk, cseq, tag
from test_calls import CallTest


def signal(info):
    """The digit of an application/dtmf-relay body (RFC-less, Cisco's format)."""
    fields = dict(line.split("=", 1) for line in info.body.splitlines() if "=" in line)
    return fields.get("Signal"), fields.get("Duration")


class SendDigits(CallTest):
    def bridged(self, scenario="trunk_call_info"):
        self.start(ring_timeout=8, queue_timeout=10)
        phone = self.phone("1001", "phone_answer")
        pbx = self.sipp(Trunk(self.d, scenario))
        sid = self.assert_call_in(self.events.expect("callIn", ALICE), ALICE, 8)
        self.events.expect("userAccessed", ALICE, sessionId=sid)
        pbx.wait_sent("ACK")
        return phone, pbx, sid

    def send(self, sid, digits):
        return self.events.call("Call.sendDigits", {"userId": ALICE, "sessionId": sid, "dtmfText": digits})

    def test_digits_reach_the_customers_side_as_info_one_after_the_other(self):
        phone, pbx, sid = self.bridged()
        answer = self.send(sid, "1*9#b")
        self.assertEqual(answer.get("status"), "success", answer)
        self.assertEqual(answer["data"], {"sessionId": sid, "dtmfText": "1*9#B"})
        pbx.wait_trace(lambda msgs: len(pbx.received("INFO")) >= 5, "receive five INFOs")
        pbx.poke()
        self.events.expect("sessionEnded", ALICE, sessionId=sid)
        self.success(pbx, phone)

        infos = pbx.received("INFO")
        self.assertEqual([signal(i) for i in infos], [(d, "160") for d in "1*9#B"], pbx.summary())
        ok = pbx.answer()
        for i, info in enumerate(infos):
            self.assertEqual(info.get("content-type"), "application/dtmf-relay", info.raw)
            self.assertEqual(info.get("call-id"), ok.get("call-id"), "in the customer's dialog")
            self.assertEqual(tag(info.get("from")), tag(ok.get("to")), "from seatbridge's side of it")
            if i:
                self.assertGreater(cseq(info)[0], cseq(infos[i - 1])[0], "CSeq rises (RFC 3261 section 12.2.1.1)")
        # One at a time: each INFO goes out after the 200 to the one before it.
        order = [(m.method or m.status) for m in pbx.messages() if m.method == "INFO" or
                 (m.status and m.cseq_method() == "INFO")]
        self.assertEqual(order, ["INFO", 200] * 5, pbx.summary())
        self.assertFalse(phone.received("INFO"), "the agent's phone gets no digits")

    def test_a_far_end_that_refuses_the_first_info_gets_no_more_and_the_call_goes_on(self):
        phone, pbx, sid = self.bridged("trunk_call_info_refused")
        self.assertEqual(self.send(sid, "123").get("status"), "success")
        pbx.wait_received("INFO")
        pbx.wait_sent(status=415)
        # Then the next digits, sent later, are tried again from the first.
        self.assertEqual(self.send(sid, "4").get("status"), "success")
        pbx.wait_trace(lambda msgs: len(pbx.received("INFO")) >= 2, "receive the later digit")
        pbx.poke()
        self.events.expect("sessionEnded", ALICE, sessionId=sid)
        self.success(pbx, phone)
        self.assertEqual([signal(i)[0] for i in pbx.received("INFO")], ["1", "4"], pbx.summary())

    def test_bad_digits_and_unanswered_sessions_are_refused(self):
        phone, pbx, sid = self.bridged()
        for digits in ("12x", "", "1" * 33):
            r = self.send(sid, digits)
            self.assertEqual(r.get("errorCode"), "invalidParams", r)
        r = self.events.call("Call.muteMic", {"userId": ALICE, "sessionId": sid})
        self.assertEqual(r.get("errorCode"), "mediaNotAnchored", r)
        pbx.poke()
        self.events.expect("sessionEnded", ALICE, sessionId=sid)
        self.success(pbx, phone)
        self.assertFalse(pbx.received("INFO"))
        r = self.send(sid, "1")
        self.assertEqual(r.get("errorCode"), "sessionNotFound", r)


if __name__ == "__main__":
    unittest.main(verbosity=2)
