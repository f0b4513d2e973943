"""Calls the agents place from their desk phone, when the customer's side
does not simply answer: refusals and the ring bound, a phone that offers
nothing, requests mid-call, failover between trunks, early media. The
helpers and the scripted phone are in outbound.py (test_calls_outbound.py
has the dial plan, the limits and the answered call)."""
import socket
import unittest

from calls import ALICE, TRUNK_HOST, sdp_media
from harness import free_port, wait_for
from outbound import (CUSTOMER, GROUP_CALLER, INTERNATIONAL, PATTERN, TRUNK2_CALLER, TRUNK2_HOST, TRUNK_CALLER,
                      OutboundTest, phone_ringing)


class CustomerFailures(OutboundTest):
    def test_the_customer_is_busy(self):
        self.start()
        carrier = self.carrier("out_trunk_refuse", code=486)
        call, outed = self.call_out()
        r = self.phone.outcome(call)
        self.assertEqual(r.status, 486, r.raw)
        self.assertIn(180, [p.status for p in call["provisional"]])
        self.ended(outed["sessionId"], "client", "busy")
        self.success(carrier)
        self.events.expect("statusChanged", ALICE, status="free")
        self.assertFalse([e for e in self.events.seen if e["event"] == "calloutAccepted"])

    def test_each_refusal_of_the_customers_network_has_its_end_state(self):
        self.start()
        table = [(404, "numberNotExist"), (484, "numberNotExist"), (604, "numberNotExist"), (603, "userReject"),
                 (600, "busy"), (410, "notInService"), (502, "notInService"), (480, "notAnswer"), (408, "notAnswer"),
                 (487, "notAnswer")]
        for code, state in table:
            with self.subTest(code=code):
                carrier = self.carrier("out_trunk_refuse", code=code, name=f"carrier{code}")
                call, outed = self.call_out()
                r = self.phone.outcome(call)
                self.assertEqual(r.status, code, r.raw)  # the phone hears the customer's answer
                self.ended(outed["sessionId"], "client", state)
                self.success(carrier)

    def test_the_customer_does_not_answer_within_ring_timeout(self):
        self.start(ringTimeout=2)
        carrier = self.carrier("out_trunk_ring")
        call, outed = self.call_out()
        r = self.phone.outcome(call)
        self.assertEqual(r.status, 480, r.raw)
        self.ended(outed["sessionId"], "timer", "notAnswer")
        self.success(carrier)
        self.assertEqual(len(carrier.received("CANCEL")), 1, carrier.summary())
        invite = carrier.received("INVITE")[0]
        cancel = carrier.received("CANCEL")[0]
        self.assertGreaterEqual(cancel.at - invite.at, 1.5, "CANCELled after outbound.ringTimeout")

    def test_the_agent_gives_up_while_it_rings(self):
        self.start()
        carrier = self.carrier("out_trunk_ring")
        call, outed = self.call_out()
        wait_for(lambda: phone_ringing(self.phone, call), what="180 at the phone")
        self.assertEqual(self.phone.cancel(call).status, 200)
        r = self.phone.outcome(call)
        self.assertEqual(r.status, 487, r.raw)
        self.ended(outed["sessionId"], "seat", "callerCancel")
        self.success(carrier)
        self.assertEqual(len(carrier.received("CANCEL")), 1, carrier.summary())



class Offerless(OutboundTest):
    def test_a_phone_that_offers_nothing_gets_the_customers_offer_and_its_ack_carries_the_answer(self):
        self.start()
        carrier = self.carrier("out_trunk_offerless")
        call = self.phone.dial(CUSTOMER, offer=False)
        outed = self.events.expect("callOuted", ALICE)["data"]
        answer = (f"v=0\r\no=desk 2 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                  f"m=audio 40002 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")
        r = self.phone.outcome(call, ack_sdp=answer)
        self.assertEqual(r.status, 200, r.raw)
        self.assertEqual(sdp_media(r), (TRUNK_HOST, carrier.rtp_port), "the customer's offer")
        invite = carrier.wait_received("INVITE")
        self.assertEqual(invite.body.strip(), "", "no offer to the trunk either")
        ack = carrier.wait_received("ACK")
        self.assertEqual(sdp_media(ack), ("127.0.0.1", 40002), "the phone's answer in the trunk's ACK")
        self.assertEqual(self.phone.hang_up(call).status, 200)
        self.ended(outed["sessionId"], "seat", "ok")
        self.success(carrier)


class MidCall(OutboundTest):
    def test_digits_from_the_sdk_and_a_hold_from_the_phone_reach_the_trunk(self):
        self.start()
        carrier = self.carrier("out_trunk_midcall")
        call, outed = self.call_out()
        self.assertEqual(self.phone.outcome(call).status, 200)
        sid = outed["sessionId"]
        self.events.expect("calloutAccepted", ALICE, sessionId=sid)
        self.events.ok("Call.sendDigits", {"userId": ALICE, "sessionId": sid, "dtmfText": "5"})
        info = carrier.wait_received("INFO")
        self.assertEqual(info.get("content-type"), "application/dtmf-relay", info.raw)
        carrier.wait_sent(status=200)
        hold = (f"v=0\r\no=desk 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                f"m=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendonly\r\n")
        r = self.phone.reinvite(call, hold)
        self.assertEqual(r.status, 200, r.raw)
        self.assertIn("a=recvonly", r.body, "the customer's answer to the hold")
        self.assertEqual(self.phone.hang_up(call).status, 200)
        self.ended(sid, "seat", "ok")
        self.success(carrier)
        reinvite = carrier.received("INVITE")[1]
        self.assertEqual(reinvite.get("call-id"), carrier.received("INVITE")[0].get("call-id"))


class Failover(OutboundTest):
    def start_two(self):
        port2 = free_port(TRUNK2_HOST)
        self.start(trunk2=port2)
        return port2

    def test_a_408_or_5xx_moves_the_call_to_the_next_trunk(self):
        port2 = self.start_two()
        for code in (503, 408, 500):
            with self.subTest(code=code):
                first = self.carrier("out_trunk_refuse", code=code, name=f"trunk1-{code}")
                second = self.carrier("out_trunk_answer_hangup", host=TRUNK2_HOST, port=port2, talk_ms=200,
                                      name=f"trunk2-{code}")
                mark = self.events.mark()
                call, outed = self.call_out()
                r = self.phone.outcome(call)
                self.assertEqual(r.status, 200, r.raw)
                self.assertEqual(sdp_media(r), (TRUNK2_HOST, second.rtp_port))
                self.events.expect("calloutAccepted", ALICE, sessionId=outed["sessionId"])
                self.phone.take_bye()
                self.ended(outed["sessionId"], "client", "ok")
                self.success(first, second)
                one, two = first.received("INVITE")[0], second.received("INVITE")[0]
                self.assertTrue(two.first.startswith(f"INVITE sip:{CUSTOMER}@{TRUNK2_HOST}:{port2}"), two.first)
                self.assertEqual(sdp_media(two), sdp_media(one), "the same offer")
                self.assertIn(f"<sip:{GROUP_CALLER}@", two.get("from"))
                self.assertEqual(len([e for e in self.events.seen[mark:] if e["event"] == "callOuted"]), 1)
                self.assertEqual(self.record(outed["sessionId"])["trunk"], "pbx2")

    def test_the_next_trunk_presents_its_own_caller_number(self):
        """With no group callerNumbers, each trunk presents its own first
        callerNumbers ("else the trunk's first"): a carrier refuses or rewrites
        a number that is not its own."""
        port2 = free_port(TRUNK2_HOST)

        def numbers(cfg):
            cfg["trunks"][1]["callerNumbers"] = [TRUNK2_CALLER]
        self.start(trunk2=port2, group_caller=False, mutate_more=numbers)
        first = self.carrier("out_trunk_refuse", code=503, name="trunk1")
        second = self.carrier("out_trunk_answer", host=TRUNK2_HOST, port=port2, name="trunk2")
        call, outed = self.call_out()
        self.assertEqual(self.phone.outcome(call).status, 200)
        self.assertEqual(self.phone.hang_up(call).status, 200)
        self.success(first, second)
        self.assertIn(f"<sip:{TRUNK_CALLER}@", first.received("INVITE")[0].get("from"))
        self.assertIn(f"<sip:{TRUNK2_CALLER}@", second.received("INVITE")[0].get("from"))

    def test_a_trunk_known_down_is_passed_over_and_none_left_is_503_trunks_down(self):
        """The first trunk is pinged (OPTIONS every second) and a deaf socket
        there never answers: once it is down, calls go straight to the second,
        and a number only the first carries is refused 503 trunksDown."""
        port2 = free_port(TRUNK2_HOST)
        uk = "+44XXXXXXXXXX"

        def ping_the_first(cfg):
            cfg["trunks"][0].update(pingSeconds=1, dialPatterns=[PATTERN, uk])
            next(a for a in cfg["agents"] if a["userId"] == ALICE)["dialPatterns"] = [PATTERN, uk]
        deaf = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(deaf.close)
        self.start(trunk2=port2, mutate_more=ping_the_first, before=lambda d: deaf.bind((TRUNK_HOST, d.trunk_port)))
        self.events.expect("trunkStateChanged", trunk="pbx", up=False)
        self.refused(INTERNATIONAL, 503, "No Trunk Available", "trunksDown")
        second = self.carrier("out_trunk_answer", host=TRUNK2_HOST, port=port2, calls=2, name="trunk2")
        for number in (CUSTOMER, "911"):
            call, _ = self.call_out(number)
            self.assertEqual(self.phone.outcome(call).status, 200)
            self.assertEqual(self.phone.hang_up(call).status, 200)
        self.success(second)
        self.assertEqual([m.first.split("@")[0] for m in second.received("INVITE")],
                         [f"INVITE sip:{CUSTOMER}", "INVITE sip:911"])
        deaf.setblocking(False)
        got = []
        while True:
            try:
                got.append(deaf.recv(65535).split(b" ", 1)[0])
            except BlockingIOError:
                break
        self.assertTrue(got, "the first trunk was pinged")
        self.assertEqual(set(got), {b"OPTIONS"}, "nothing but pings went to the first trunk")

    def test_a_486_is_not_failed_over(self):
        port2 = self.start_two()
        first = self.carrier("out_trunk_refuse", code=486, name="trunk1")
        second = self.carrier("out_trunk_answer", host=TRUNK2_HOST, port=port2, name="trunk2")
        call, outed = self.call_out()
        self.assertEqual(self.phone.outcome(call).status, 486)
        self.ended(outed["sessionId"], "client", "busy")
        self.success(first)
        self.assertEqual(second.messages(), [], second.summary())


class EarlyMedia(OutboundTest):
    def test_the_trunks_183_reaches_the_phone_with_its_sdp(self):
        self.start()
        carrier = self.carrier("out_trunk_early_media", talk_ms=300)
        call, outed = self.call_out()
        r = self.phone.outcome(call)
        self.assertEqual(r.status, 200, r.raw)
        early = [p for p in call["provisional"] if p.status == 183]
        self.assertEqual(len(early), 1, [p.first for p in call["provisional"]])
        self.assertEqual(early[0].get("content-type"), "application/sdp")
        self.assertEqual(sdp_media(early[0]), (TRUNK_HOST, carrier.rtp_port), early[0].raw)
        self.assertEqual(self.phone.hang_up(call).status, 200)
        self.ended(outed["sessionId"], "seat", "ok")
        self.success(carrier)


if __name__ == "__main__":
    unittest.main(verbosity=2)

if __name__ == "__main__":
    unittest.main()
