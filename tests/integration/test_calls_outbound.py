"""Calls the agents place from their desk phone (outbound): the phone dials a
number, seatbridge challenges the INVITE (407), checks the dial plan and the
per-extension limits (lib/core/gateway_outbound.cpp), and rings the customer
through a trunk; what each leg receives and the events that tell the SDK.

The desk phone is test_calls_auth.DeskPhone (scripted, UDP), so every answer
it gets can be checked; the carrier behind the trunk is a SIPp UAS on the
trunk's address and port (127.0.0.2, a second trunk on 127.0.0.3), scenarios
sipp/out_trunk_*.xml. Alice (extension 1001, skill group sales) dials; the
trunk and the sales group carry North American numbers (+1NXXNXXXXXX)."""
import signal
import unittest
import uuid

from calls import ALICE, TRUNK_HOST, sdp_media, tag
from harness import wait_for
from outbound import (CUSTOMER, GROUP_CALLER, INTERNATIONAL, LOCATION, PATTERN, PREMIUM, TRUNK_CALLER, OutboundPhone,
                      OutboundTest, phone_ringing)
from trunk_peers import REALM, TRUNK_PASS, TRUNK_USER, check_digest


class DialAndTalk(OutboundTest):
    def test_the_customer_answers_and_hangs_up(self):
        self.start(after_call_work=1)
        carrier = self.carrier("out_trunk_answer_hangup", talk_ms=300)
        mark = self.events.mark()
        call, outed = self.call_out()
        self.assertEqual(outed, {"sessionId": outed["sessionId"], "callerPhoneNumber": GROUP_CALLER,
                                 "calleePhoneNumber": CUSTOMER, "serverType": "staffExtensionSeat", "tabUUID": ""})
        sid = outed["sessionId"]
        r = self.phone.outcome(call)
        self.assertEqual(r.status, 200, r.raw)
        accepted = self.events.expect("calloutAccepted", ALICE, sessionId=sid)
        self.assertEqual(accepted["data"], {"sessionId": sid})
        # While they talk: a live outbound session of the agent's desk phone.
        live = self.record(sid)
        self.assertEqual((live["direction"], live["serverType"], live["userId"], live["calleePhoneNumber"],
                          live["callerPhoneNumber"]),
                         ("outbound", "staffExtensionSeat", ALICE, CUSTOMER, GROUP_CALLER), live)
        # The customer hangs up: the phone gets the BYE.
        bye = self.phone.take_bye()
        self.assertEqual(bye.get("call-id"), call["call_id"])
        self.assertEqual(tag(bye.get("to")), self.phone.from_tag)
        self.assertEqual(tag(bye.get("from")), tag(r.get("to")))
        self.ended(sid, "client", "ok")
        self.success(carrier)

        # The trunk's INVITE: the number at the trunk, the group's caller number.
        invite = carrier.received("INVITE")
        self.assertEqual(len(invite), 1, carrier.summary())
        invite = invite[0]
        self.assertTrue(invite.first.startswith(f"INVITE sip:{CUSTOMER}@{TRUNK_HOST}:{self.d.trunk_port}"),
                        invite.first)
        self.assertIn(f"<sip:{GROUP_CALLER}@seatbridge.test>", invite.get("from"))
        self.assertIn(f"sip:{CUSTOMER}@", invite.get("to"))
        self.assertIsNone(tag(invite.get("to")))
        self.assertIsNone(invite.get("p-asserted-identity"), "no assertedIdentity configured")
        self.assertIsNone(invite.get("privacy"))
        self.assertNotEqual(invite.get("call-id"), call["call_id"], "a leg of its own (B2BUA)")
        self.assertEqual(sdp_media(invite), ("127.0.0.1", 40000), "the phone's offer")
        # The phone heard the ringing and got the customer's SDP answer.
        self.assertIn(180, [p.status for p in call["provisional"]])
        self.assertEqual(sdp_media(r), (TRUNK_HOST, carrier.rtp_port), r.raw)
        # Event order, and alice: busy for the call, then wrap-up, then free.
        names = [e["event"] for e in self.events.seen[mark:]
                 if e["event"] in ("callOuted", "calloutAccepted", "sessionEnded")]
        self.assertEqual(names, ["callOuted", "calloutAccepted", "sessionEnded"], self.events.describe(mark))
        self.events.expect("statusChanged", ALICE, since=mark, status="free")
        self.assertEqual(self.events.status_changes(ALICE, mark), ["busy", "arrange", "free"],
                         self.events.describe(mark))
        # The stored record.
        records = self.events.ok("Gateway.listRecords").get("records", [])
        rec = next((x for x in records if x.get("sessionId") == sid), None)
        self.assertIsNotNone(rec, records)
        self.assertEqual((rec["direction"], rec["endState"], rec["closeBy"], rec["trunk"], rec["userId"],
                          rec["callerPhoneNumber"], rec["calleePhoneNumber"], rec["skillGroupId"]),
                         ("outbound", "ok", "client", "pbx", ALICE, GROUP_CALLER, CUSTOMER, "sales"), rec)
        self.assertIsNotNone(rec["answeredAt"], rec)

    def test_the_agent_hangs_up(self):
        self.start()
        carrier = self.carrier("out_trunk_answer")
        call, outed = self.call_out()
        self.assertEqual(self.phone.outcome(call).status, 200)
        self.events.expect("calloutAccepted", ALICE, sessionId=outed["sessionId"])
        self.assertEqual(self.phone.hang_up(call).status, 200)
        self.ended(outed["sessionId"], "seat", "ok")
        self.success(carrier)
        bye = carrier.received("BYE")
        self.assertEqual(len(bye), 1, carrier.summary())
        invite = carrier.received("INVITE")[0]
        self.assertEqual(bye[0].get("call-id"), invite.get("call-id"), "the BYE in the trunk leg's dialog")
        self.assertEqual(tag(bye[0].get("from")), tag(invite.get("from")))
        self.events.expect("statusChanged", ALICE, status="free")

    def test_the_agent_hangs_up_from_the_sdk(self):
        self.start()
        carrier = self.carrier("out_trunk_answer")
        call, outed = self.call_out()
        self.assertEqual(self.phone.outcome(call).status, 200)
        self.events.ok("Call.hungUp", {"userId": ALICE, "sessionId": outed["sessionId"]})
        bye = self.phone.take_bye()
        self.assertEqual(bye.get("call-id"), call["call_id"])
        self.ended(outed["sessionId"], "seat", "ok")
        self.success(carrier)
        self.assertEqual(len(carrier.received("BYE")), 1, carrier.summary())

    def test_the_agent_gives_up_from_the_sdk_while_it_rings(self):
        self.start()
        carrier = self.carrier("out_trunk_ring")
        call, outed = self.call_out()
        wait_for(lambda: phone_ringing(self.phone, call), what="180 at the phone")
        self.events.ok("Call.hungUp", {"userId": ALICE, "sessionId": outed["sessionId"]})
        r = self.phone.outcome(call)
        self.assertEqual(r.status, 487, r.raw)
        self.ended(outed["sessionId"], "seat", "callerCancel")
        self.success(carrier)
        self.assertEqual(len(carrier.received("CANCEL")), 1, carrier.summary())

    def test_a_signed_out_agent_may_still_dial_and_keeps_her_status(self):
        self.start(online=False)
        carrier = self.carrier("out_trunk_answer_hangup", talk_ms=100)
        mark = self.events.mark()
        call, outed = self.call_out()
        self.assertEqual(self.phone.outcome(call).status, 200)
        self.phone.take_bye()
        self.ended(outed["sessionId"], "client", "ok")
        self.success(carrier)
        self.assertEqual(self.events.status_changes(ALICE, mark), [])


class CallerIdentity(OutboundTest):
    def test_asserted_identity_with_the_trunks_caller_number(self):
        # No callerNumbers on the group: the trunk's first is presented.
        self.start(group_caller=False, asserted=True)
        carrier = self.carrier("out_trunk_answer")
        call, outed = self.call_out()
        self.assertEqual(outed["callerPhoneNumber"], TRUNK_CALLER)
        self.assertEqual(self.phone.outcome(call).status, 200)
        self.assertEqual(self.phone.hang_up(call).status, 200)
        self.success(carrier)
        invite = carrier.received("INVITE")[0]
        self.assertIn(f"<sip:{TRUNK_CALLER}@seatbridge.test>", invite.get("from"))
        self.assertEqual(invite.get("p-asserted-identity"), f"<sip:{TRUNK_CALLER}@seatbridge.test>")
        self.assertIsNone(invite.get("privacy"))

    def test_privacy_id_sends_an_anonymous_from(self):
        self.start(asserted=True, privacy=True)
        carrier = self.carrier("out_trunk_answer")
        call, outed = self.call_out()
        self.assertEqual(self.phone.outcome(call).status, 200)
        self.assertEqual(self.phone.hang_up(call).status, 200)
        self.success(carrier)
        invite = carrier.received("INVITE")[0]
        self.assertTrue(invite.get("from").startswith('"Anonymous" <sip:anonymous@anonymous.invalid>'),
                        invite.get("from"))
        self.assertEqual(invite.get("p-asserted-identity"), f"<sip:{GROUP_CALLER}@seatbridge.test>")
        self.assertEqual(invite.get("privacy"), "id")


class ChallengingTrunk(OutboundTest):
    def test_the_trunks_407_is_answered_with_its_credentials(self):
        def credentials(cfg):
            cfg["trunks"][0]["register"] = {"username": TRUNK_USER, "password": TRUNK_PASS, "expires": 3600}
        # The carrier first (seatbridge registers with it as it starts): the
        # REGISTER is a call of its own, hence two.
        carrier = self.start(mutate_more=credentials, before=lambda d: self.carrier(
            "trunk_mobile_auth", calls=2, args=["-s", "customer", "-key", "realm", REALM], d=d))
        call, outed = self.call_out()
        r = self.phone.outcome(call)
        self.assertEqual(r.status, 200, r.raw)
        self.assertEqual(self.phone.hang_up(call).status, 200)
        self.ended(outed["sessionId"], "seat", "ok")
        self.success(carrier)
        first, second = carrier.received("INVITE")
        challenge = [m for m in carrier.sent(status=407) if m.cseq_method() == "INVITE"][0]
        self.assertIsNone(first.get("proxy-authorization"))
        check_digest(self, second, "proxy-authorization", challenge.get("proxy-authenticate"))
        self.assertEqual(second.get("from"), first.get("from"))
        self.assertIn(f"<sip:{GROUP_CALLER}@", second.get("from"))
        byes = carrier.received("BYE")
        self.assertEqual(len(byes), 2, carrier.summary())
        check_digest(self, byes[1], "proxy-authorization",
                     [m for m in carrier.sent(status=407) if m.cseq_method() == "BYE"][0].get("proxy-authenticate"))


class DialPlan(OutboundTest):
    def test_numbers_outside_the_dial_plan_are_refused_and_never_reach_the_trunk(self):
        self.start()
        carrier = self.carrier("out_trunk_answer")
        # NXX: an exchange starting with 1 is no North American number.
        self.refused("+15551234567", 403, "Number Not Allowed", "numberNotAllowed")
        self.refused("+1-555-123-4567", 403, "Number Not Allowed", "numberNotAllowed")  # the same, with separators
        # +1900 is restricted: the wildcards of +1NXXNXXXXXX match it, but only
        # a pattern spelling +1900 out would allow it.
        self.refused(PREMIUM, 403, "Number Not Allowed", "numberNotAllowed")
        self.refused(INTERNATIONAL, 403, "Number Not Allowed", "numberNotAllowed")
        self.refused("011442071234567", 403, "Number Not Allowed", "numberNotAllowed")
        self.refused("555abc", 484, "Address Incomplete", "invalidNumber")
        self.assertEqual(self.refusals("numberNotAllowed"), 5)
        self.assertEqual(self.events.sessions(), [])
        self.assertEqual(carrier.messages(), [], "nothing went to the trunk")
        # The visual separators are dropped: this one goes out, as the first
        # and only INVITE the trunk gets.
        call, outed = self.call_out(CUSTOMER, dialled="+1(555)234-56.78")
        self.assertEqual(self.phone.outcome(call).status, 200)
        self.assertEqual(self.phone.hang_up(call).status, 200)
        self.success(carrier)
        invites = carrier.received("INVITE")
        self.assertEqual([m.first.split()[1].split("@")[0] for m in invites], [f"sip:{CUSTOMER}"])

    def test_the_agents_own_patterns_replace_the_groups_and_a_spelled_out_prefix_allows_it(self):
        def premium(cfg):
            alice = next(a for a in cfg["agents"] if a["userId"] == ALICE)
            alice["dialPatterns"] = ["+1900NXXXXXX", "+44XXXXXXXXXX"]
            cfg["trunks"][0]["dialPatterns"] = [PATTERN, "+1900XXXXXXX"]
        self.start(mutate_more=premium)
        carrier = self.carrier("out_trunk_answer")
        # The group's pattern no longer applies to alice.
        self.refused(CUSTOMER, 403, "Number Not Allowed", "numberNotAllowed")
        # Alice may dial +44, but no trunk carries it.
        self.refused(INTERNATIONAL, 403, "No Route For Number", "noRoute")
        call, outed = self.call_out(PREMIUM)
        self.assertEqual(self.phone.outcome(call).status, 200)
        self.assertEqual(self.phone.hang_up(call).status, 200)
        self.success(carrier)
        self.assertTrue(carrier.received("INVITE")[0].first.startswith(f"INVITE sip:{PREMIUM}@"))

    def test_a_phone_bound_to_no_agent_dials_emergency_numbers_only(self):
        """Extension 1003 has no agent: no dial plan, so only 911 goes out; its
        calloutRefused has no userId and reaches every subscriber."""
        self.start()
        lobby = OutboundPhone(self.d.sip_port, "1003", "pw-1003", host="127.0.0.1", domain="seatbridge.test")
        self.addCleanup(lobby.close)
        self.assertEqual(lobby.register(600).status, 200)
        call = lobby.dial(CUSTOMER)
        self.assertEqual(lobby.outcome(call).first, "SIP/2.0 403 Number Not Allowed")
        refused = self.events.expect("calloutRefused", extensionId="1003")
        self.assertNotIn("userId", refused)
        self.assertEqual(refused["data"]["reason"], "numberNotAllowed")
        carrier = self.carrier("out_trunk_answer")
        call = lobby.dial("911")
        outed = self.events.expect("callOuted", calleePhoneNumber="911")
        self.assertEqual(outed["data"]["callerPhoneNumber"], TRUNK_CALLER, "no group, no location number")
        self.assertEqual(lobby.outcome(call).status, 200)
        self.assertEqual(lobby.hang_up(call).status, 200)
        self.success(carrier)
        row = self.wait_record(outed["data"]["sessionId"], "ok")
        self.assertEqual((row["userId"], row["direction"]), ("", "outbound"), row)

    def test_a_stranger_is_refused_unchallenged(self):
        self.start()
        stranger = self.desk_phone(host="127.0.0.6", register=False)
        text, fields = stranger.invite(CUSTOMER, call_id=uuid.uuid4().hex)
        r = stranger.call(text, fields)
        self.assertEqual((r.status, r.all("proxy-authenticate")), (403, []), r.raw)
        self.assertEqual(self.metric("seatbridge_calls_refused_total", reason="untrustedSource"), 1)
        self.assertEqual(self.events.sessions(), [])


class Limits(OutboundTest):
    def test_concurrent_limit_and_an_emergency_call_past_it(self):
        self.start(maxConcurrentPerExtension=1)
        carrier = self.carrier("out_trunk_answer", calls=2)
        first, outed = self.call_out()
        self.assertEqual(self.phone.outcome(first).status, 200)
        self.refused(CUSTOMER, 403, "Too Many Calls", "concurrentLimit")
        # 911: no dial pattern names it and the limit is reached, yet it goes
        # out, presenting the extension's location number.
        sos, sos_outed = self.call_out("911")
        self.assertEqual(sos_outed["callerPhoneNumber"], LOCATION)
        self.assertEqual(self.phone.outcome(sos).status, 200)
        for call in (sos, first):
            self.assertEqual(self.phone.hang_up(call).status, 200)
        self.success(carrier)
        invites = carrier.received("INVITE")
        self.assertEqual(len(invites), 2, carrier.summary())
        self.assertTrue(invites[1].first.startswith(f"INVITE sip:911@{TRUNK_HOST}:"), invites[1].first)
        self.assertIn(f"<sip:{LOCATION}@seatbridge.test>", invites[1].get("from"))
        self.ended(outed["sessionId"], "seat", "ok")
        # The limit counts live calls: with both ended, alice may dial again.
        again = self.carrier("out_trunk_refuse", name="carrier-again")
        call, _ = self.call_out()
        self.assertEqual(self.phone.outcome(call).status, 486)
        self.success(again)
        self.assertEqual(self.refusals("concurrentLimit"), 1)

    def test_an_emergency_call_goes_out_while_the_node_drains(self):
        # SIGTERM with a call up: the daemon drains, turning new calls away with
        # 503 (RFC 3261 section 21.5.4); an emergency number is exempt from
        # that as from every limit, and the drain then waits for it too.
        self.start()
        carrier = self.carrier("out_trunk_answer", calls=2)
        first, outed = self.call_out()
        self.assertEqual(self.phone.outcome(first).status, 200)
        self.d.signal(signal.SIGTERM)
        wait_for(lambda: self.events.ok("Gateway.status").get("draining"), what="the daemon draining")
        text, fields = self.phone.invite(CUSTOMER, call_id=uuid.uuid4().hex)
        r = self.phone.call(text, fields)
        self.assertEqual((r.status, r.get("retry-after")), (503, "60"), r.raw)
        sos, sos_outed = self.call_out("112")
        self.assertEqual(sos_outed["callerPhoneNumber"], LOCATION)
        self.assertEqual(self.phone.outcome(sos).status, 200)
        for call in (first, sos):
            self.assertEqual(self.phone.hang_up(call).status, 200)
        self.success(carrier)
        self.assertEqual(len(carrier.received("INVITE")), 2, carrier.summary())
        # Both calls over: the drain is done and the daemon exits by itself.
        self.assertEqual(self.d.proc.wait(15), 0, self.d.logs()[-3000:])

    def test_rate_limit_and_an_emergency_call_past_it(self):
        self.start(maxPerMinutePerExtension=2)
        carrier = self.carrier("out_trunk_refuse", calls=3, code=486)
        for _ in range(2):  # each refused by the customer at once: none is live
            call, outed = self.call_out()
            self.assertEqual(self.phone.outcome(call).status, 486)
            self.ended(outed["sessionId"], "client", "busy")
        self.refused(CUSTOMER, 403, "Call Rate Exceeded", "rateLimit")
        sos, sos_outed = self.call_out("112")
        self.assertEqual(sos_outed["callerPhoneNumber"], LOCATION)
        self.assertEqual(self.phone.outcome(sos).status, 486)
        self.success(carrier)
        invites = carrier.received("INVITE")
        self.assertEqual(len(invites), 3, carrier.summary())
        self.assertIn(f"<sip:{LOCATION}@seatbridge.test>", invites[2].get("from"))

if __name__ == "__main__":
    unittest.main()
