"""Call.startOutboundCall end to end: third-party call control (RFC 3725,
docs/ARCHITECTURE.md "Calls placed from the socket"). The agent's device is
rung first with an INVITE that carries no offer, its 2xx offer is answered at
once with the streams parked (inactive, c=0.0.0.0), the customer is then
dialled through the trunk with the agent's offer (callOuted), and the
customer's answer reaches the agent in a re-INVITE under seatbridge's origin
before the bridge (calloutAccepted). The agent's device is a SIPp desk phone
(sipp/phone_answer_3pcc.xml) or, for the dual call, the same scenario playing
the mobile behind a trunk; the customer's network is a SIPp UAS on a trunk
(sipp/out_trunk_*.xml, as test_calls_outbound.py uses them)."""
import binascii
import re
import unittest

from calls import ALICE, BOB, Phone, sdp_media
from harness import free_port, wait_for
from outbound import CUSTOMER, GROUP_CALLER, TRUNK2_HOST, OutboundTest


def origin(msg):
    m = re.search(r"^o=(\S+) (\S+) (\d+) ", msg.body, re.M)
    return (m.group(1), m.group(2), int(m.group(3))) if m else None


class StartOutboundCall(OutboundTest):
    def start3(self, **config):
        """A daemon with the outbound dial plan, alice signed in, no scripted phone."""
        self.start(scripted_phone=False, **config)

    def desk(self):
        phone = Phone(self.d, "1001", "phone_answer_3pcc")
        self.addCleanup(phone.close)
        self.peers.append(phone)
        phone.start().wait_registered(self.events)
        return phone

    def dial(self, **params):
        r = self.events.call("Call.startOutboundCall", dict({"userId": ALICE, "phoneNumber": CUSTOMER}, **params))
        self.assertEqual(r.get("status"), "success", r)
        return r["data"]

    def assert_parked_then_reoffered(self, device, carrier):
        """What the agent's device got: an offerless INVITE, the parked ACK,
        then the customer's SDP in a re-INVITE under seatbridge's origin."""
        invites = device.received("INVITE")
        self.assertEqual(invites[0].body.strip(), "", "RFC 3725: the first INVITE carries no offer")
        ack = device.received("ACK")[0]
        self.assertIn("c=IN IP4 0.0.0.0", ack.body, ack.raw)
        self.assertIn("a=inactive", ack.body, ack.raw)
        parked = origin(ack)
        self.assertEqual(parked[0], "seatbridge")
        reoffer = invites[1]
        self.assertEqual(origin(reoffer), (parked[0], parked[1], parked[2] + 1), "RFC 3264 section 8: same origin, +1")
        self.assertEqual(sdp_media(reoffer), (carrier.host, carrier.rtp_port), "the customer's media address")
        # The customer got the agent's own offer.
        offer = carrier.received("INVITE")[0]
        self.assertEqual(sdp_media(offer)[1], device.rtp_port, offer.raw)

    def test_a_desk_agent_is_rung_first_then_the_customer_and_the_uui_travels(self):
        self.start3()
        phone = self.desk()
        carrier = self.carrier("out_trunk_answer")
        data = self.dial(uui="order=42", phoneDesc="renewal")
        self.assertEqual(data["serverType"], "staffExtensionSeat")
        self.assertEqual(data["calleePhoneNumber"], CUSTOMER)
        self.assertEqual(data["callerPhoneNumber"], GROUP_CALLER)
        self.assertEqual(data["remark"], "renewal")
        sid = data["sessionId"]
        outed = self.events.expect("callOuted", ALICE, sessionId=sid)
        self.assertEqual(outed["data"]["serverType"], "staffExtensionSeat")
        self.assertEqual(outed["data"]["calleePhoneNumber"], CUSTOMER)
        accepted = self.events.expect("calloutAccepted", ALICE, sessionId=sid)
        self.assertLess(self.events.seen.index(outed), self.events.seen.index(accepted))
        wait_for(lambda: len(phone.received("INVITE")) >= 2 and len(phone.received("ACK")) >= 2,
                 what="the phone took the customer's SDP")
        invite = carrier.received("INVITE")[0]
        self.assertEqual(invite.get("user-to-user"), binascii.hexlify(b"order=42").decode() + ";encoding=hex")
        self.assertIn(f"<sip:{GROUP_CALLER}@", invite.get("from"))
        self.assertEqual(self.events.session(sid)["uui"], "order=42")
        self.assertEqual(self.events.ok("Call.hungUp", {"userId": ALICE, "sessionId": sid}), {"sessionId": sid})
        ended = self.events.expect("sessionEnded", ALICE, sessionId=sid)
        self.assertEqual(ended["data"]["closeBy"], "seat")
        self.success(carrier, phone)
        self.assert_parked_then_reoffered(phone, carrier)

    def test_a_mobile_agent_gets_the_dual_call_through_the_trunk(self):
        port2 = free_port(TRUNK2_HOST)
        # The mobile goes out through the first trunk (pbx, which carries no
        # customer numbers here), the customer through pbx2.
        def only_pbx2_dials(cfg):
            cfg["trunks"][0]["dialPatterns"] = []
        self.start3(trunk2=port2, mutate_more=only_pbx2_dials)
        mobile = self.carrier("phone_answer_3pcc", name="mobile")
        mobile.rtp_port = self.rtp_port
        customer = self.carrier("out_trunk_answer_hangup", host=TRUNK2_HOST, port=port2, talk_ms=300, name="customer")
        data = self.dial()
        self.assertEqual(data["serverType"], "staffPhoneSeat")
        sid = data["sessionId"]
        self.events.expect("callOuted", ALICE, sessionId=sid)
        self.events.expect("calloutAccepted", ALICE, sessionId=sid)
        ended = self.events.expect("sessionEnded", ALICE, sessionId=sid)
        self.assertEqual(ended["data"]["closeBy"], "client")
        self.success(customer, mobile)
        self.assertIn("+15550100001@", mobile.received("INVITE")[0].first, "the mobile's number")
        self.assert_parked_then_reoffered(mobile, customer)
        self.assertEqual(self.events.session(sid)["endState"], "ok")

    def test_with_mobile_confirmation_the_customer_is_dialled_on_the_agents_key(self):
        # calls.mobileConfirmSeconds: a mobile's voicemail answers too, so the
        # dual call dials the customer only once the agent pressed a key.
        port2 = free_port(TRUNK2_HOST)

        def confirm(cfg):
            cfg["trunks"][0]["dialPatterns"] = []
            cfg.setdefault("calls", {})["mobileConfirmSeconds"] = 5
        self.start3(trunk2=port2, mutate_more=confirm)
        mobile = self.carrier("mobile_3pcc_confirm", name="mobile")
        customer = self.carrier("out_trunk_answer_hangup", host=TRUNK2_HOST, port=port2, talk_ms=300, name="customer")
        sid = self.dial()["sessionId"]
        self.events.expect("callOuted", ALICE, sessionId=sid)
        self.events.expect("calloutAccepted", ALICE, sessionId=sid)
        self.events.expect("sessionEnded", ALICE, sessionId=sid)
        self.success(customer, mobile)
        key = mobile.sent("INFO")[0]
        dialled = customer.received("INVITE")[0]
        self.assertLess(key.at, dialled.at, "the customer is dialled after the agent's key, not on the answer")
        self.assert_parked_then_reoffered(mobile, customer)
        self.assertEqual(self.events.session(sid)["endState"], "ok")

    def test_a_busy_customer_ends_it_and_the_agent_is_hung_up(self):
        self.start3()
        phone = self.desk()
        carrier = self.carrier("out_trunk_refuse", code=486)
        sid = self.dial()["sessionId"]
        self.events.expect("callOuted", ALICE, sessionId=sid)
        ended = self.events.expect("sessionEnded", ALICE, sessionId=sid)
        self.assertEqual(ended["data"]["closeBy"], "client")
        self.success(carrier, phone)
        self.assertEqual(self.events.session(sid)["endState"], "busy")
        self.assertTrue(phone.received("BYE"), "the parked agent leg is hung up")
        self.assertFalse([e for e in self.events.seen if e["event"] == "calloutAccepted"])

    def test_a_customer_gone_before_the_agent_took_the_reoffer_gets_the_reoffer_acked_then_the_bye(self):
        # The customer hangs up at once; the agent's phone answers the
        # re-INVITE 600 ms later. Its 200 is ACKed, and only then comes the BYE.
        self.start3()
        phone = Phone(self.d, "1001", "phone_answer_3pcc_slow")
        self.addCleanup(phone.close)
        self.peers.append(phone)
        phone.start().wait_registered(self.events)
        carrier = self.carrier("out_trunk_answer_hangup", talk_ms=0)
        sid = self.dial()["sessionId"]
        self.events.expect("sessionEnded", ALICE, sessionId=sid)
        self.success(carrier, phone)
        order = [(m.direction, m.method or m.status, m.cseq_method()) for m in phone.messages()
                 if m.method in ("ACK", "BYE") or (m.status == 200 and m.cseq_method() == "INVITE")]
        reoffer_ok = next(i for i, o in enumerate(order) if o == ("sent", 200, "INVITE") and i > 0)
        self.assertEqual(order[reoffer_ok + 1][:2], ("received", "ACK"), order)
        self.assertEqual(order[reoffer_ok + 2][:2], ("received", "BYE"), order)

    def test_refusals_answer_an_error_code(self):
        self.start3()
        self.events.ok("Agent.online", {"userId": BOB})
        r = self.events.call("Call.startOutboundCall", {"userId": BOB, "phoneNumber": CUSTOMER})
        self.assertEqual(r.get("errorCode"), "deviceUnavailable", r)  # bob's desk phone is not registered, no mobile
        self.desk()
        r = self.events.call("Call.startOutboundCall", {"userId": ALICE, "phoneNumber": "+19005551234"})
        self.assertEqual(r.get("errorCode"), "numberNotAllowed", r)
        refused = self.events.expect("calloutRefused", ALICE)
        self.assertEqual(refused["data"]["reason"], "numberNotAllowed")
        r = self.events.call("Call.startOutboundCall",
                             {"userId": ALICE, "phoneNumber": CUSTOMER, "callerPhoneNumber": "+15550000000"})
        self.assertEqual(r.get("errorCode"), "invalidParams", r)


if __name__ == "__main__":
    unittest.main()
