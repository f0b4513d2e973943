"""Calls through a trunk to an agent's mobile (staffPhoneSeat): the INVITE
seatbridge sends the trunk, and what the trunk may do with it.

- The trunk challenges it (407): seatbridge answers with the trunk's
  credentials (trunks[].register {username, password}, the same ones it
  registers with) and the call is bridged; the BYE that ends it is challenged
  too and answered (RFC 3261 section 22.2). The digest answers are checked
  here from SIPp's trace.
- The trunk refuses those credentials (a second 407 for the realm): seatbridge
  gives up after one answer and core counts the offer failed.
- The trunk forks the INVITE downstream and two 200s come back with different
  To tags (section 13.2.2.4): both are ACKed, the second dialog is BYEd, and
  the call stays up on the first until the customer hangs up.

The mobile side is a SIPp UAS on the trunk's address and port (127.0.0.2); the
customer's call comes from the same trunk address on another port. Alice has
a mobile and useMobileAccept 1 (the mobile when no desk phone is registered),
and no desk phone registers here."""
import unittest

from calls import ALICE, BOB, CUSTOMER, NUMBER, TRUNK_HOST, Events, Sipp, Trunk, call_daemon, sdp_media, tag
from harness import free_port
from test_calls import CallTest
from test_calls_timers import short_timers
from trunk_peers import REALM, TRUNK_PASS, TRUNK_USER, check_digest, wait_bound

MOBILE = "+15550100001"  # alice's mobile (harness.base_config)


class MobileTest(CallTest):
    """A daemon whose trunk pbx is the mobile SIPp (started first, so the
    REGISTER seatbridge sends at start-up finds it); Alice signed in."""

    def start_mobile(self, scenario, credentials=True, calls=2, ring_timeout=5, queue_timeout=4, confirm_seconds=0,
                     session_expires=None):
        def configure(cfg):
            if credentials:
                cfg["trunks"][0]["register"] = {"username": TRUNK_USER, "password": TRUNK_PASS, "expires": 3600}
            if confirm_seconds:
                cfg.setdefault("calls", {})["mobileConfirmSeconds"] = confirm_seconds
            if session_expires:
                short_timers(cfg, session_expires)
        self.peers = []
        self.d = call_daemon(ring_timeout, queue_timeout, 0, mutate=configure)
        self.addCleanup(self.d.close)
        mobile = Sipp(self.d.tmp, "mobile", scenario, TRUNK_HOST, self.d.trunk_port,
                      args=["-s", MOBILE, "-key", "realm", REALM, "-key", "rtp_port", free_port(TRUNK_HOST)]
                      + (["-key", "se", str(session_expires)] if session_expires else []))
        mobile.cmd[mobile.cmd.index("-m") + 1] = str(calls)
        wait_bound(self.sipp(mobile))
        self.d.start()
        self.events = Events(self.d)
        self.events.context = self.context
        self.addCleanup(self.events.close)
        if credentials:
            self.wait(lambda: self.metric("seatbridge_trunk_registered", trunk="pbx") == 1,
                      "seatbridge registered at the trunk", timeout=15)
        self.events.ok("Agent.online", {"userId": ALICE})
        self.events.expect("statusChanged", ALICE, status="free")
        return mobile

    def customer(self, scenario="trunk_call_hangup", **kw):
        return self.sipp(Trunk(self.d, scenario, port=free_port(TRUNK_HOST), name="customer", **kw))

    def mobile_call_in(self):
        event = self.events.expect("callIn", ALICE)
        self.assertEqual(event["data"]["serverType"], "staffPhoneSeat", event)
        self.assertEqual(event["data"]["callerPhoneNumber"], CUSTOMER)
        self.assertEqual(event["data"]["calleePhoneNumber"], NUMBER)
        return event["data"]["sessionId"]

    def invites(self, mobile):
        return [m for m in mobile.received("INVITE")]


class ChallengedMobile(MobileTest):
    def test_a_407_to_the_mobiles_invite_is_answered_and_the_call_bridged(self):
        mobile = self.start_mobile("trunk_mobile_auth")
        customer = self.customer(talk_ms=500)
        sid = self.mobile_call_in()
        self.events.expect("userAccessed", ALICE, sessionId=sid)
        ended = self.events.expect("sessionEnded", ALICE, sessionId=sid)
        self.assertEqual(ended["data"]["closeBy"], "client")
        self.success(customer, mobile)

        first, second = self.invites(mobile)
        challenge = [m for m in mobile.sent(status=407) if m.cseq_method() == "INVITE"][0]
        # RFC 3261 section 22.2: the same dialog identifiers, CSeq one higher, a new branch.
        self.assertIsNone(first.get("proxy-authorization"), "no credentials before the challenge")
        self.assertEqual(second.get("call-id"), first.get("call-id"))
        self.assertEqual(tag(second.get("from")), tag(first.get("from")))
        self.assertIsNone(tag(second.get("to")), "the 407's To tag makes no dialog")
        n1, n2 = int(first.get("cseq").split()[0]), int(second.get("cseq").split()[0])
        self.assertEqual(n2, n1 + 1, "CSeq one higher")
        self.assertNotEqual(first.get("via"), second.get("via"), "a new branch")
        self.assertEqual(first.body, second.body, "the same offer")
        check_digest(self, second, "proxy-authorization", challenge.get("proxy-authenticate"))
        # RFC 3261 section 13.2.2.4: the ACK of the 2xx carries the INVITE's credentials.
        ok = [m for m in mobile.sent(status=200) if m.cseq_method() == "INVITE"][0]
        ack = [m for m in mobile.received("ACK") if tag(m.get("to")) == tag(ok.get("to"))]
        self.assertTrue(ack, mobile.summary())
        self.assertEqual(ack[-1].get("proxy-authorization"), second.get("proxy-authorization"))
        # The customer hears the mobile: its 200 carries the mobile's SDP.
        self.assertEqual(sdp_media(customer.answer())[0], TRUNK_HOST)
        # The BYE was challenged and sent again with credentials.
        byes = mobile.received("BYE")
        self.assertEqual(len(byes), 2, mobile.summary())
        self.assertIsNone(byes[0].get("proxy-authorization"))
        bye_challenge = [m for m in mobile.sent(status=407) if m.cseq_method() == "BYE"][0]
        check_digest(self, byes[1], "proxy-authorization", bye_challenge.get("proxy-authenticate"))
        self.assertEqual(int(byes[1].get("cseq").split()[0]), int(byes[0].get("cseq").split()[0]) + 1)
        self.assertEqual(tag(byes[1].get("to")), tag(byes[0].get("to")), "in the same dialog")
        self.wait(lambda: self.metric("seatbridge_offers_total", outcome="answered") == 1, "the offer answered")

    def test_refused_credentials_end_as_a_failed_offer_and_the_call_moves_on(self):
        mobile = self.start_mobile("trunk_mobile_auth_refused")
        self.events.ok("Agent.online", {"userId": BOB})
        self.events.expect("statusChanged", BOB, status="free")
        bob = self.phone("1002", "phone_answer")
        customer = self.customer(talk_ms=500)
        sid = self.mobile_call_in()
        mark = self.events.mark()
        # One answer per realm: the second 407 fails alice's offer (no third
        # INVITE), she is free again, and the call goes to bob's desk phone.
        self.events.expect("statusChanged", ALICE, since=mark, status="free")
        self.assert_call_in(self.events.expect("callIn", BOB, sessionId=sid), BOB, 5)
        self.events.expect("userAccessed", BOB, sessionId=sid)
        self.events.expect("sessionEnded", BOB, sessionId=sid)
        self.success(mobile, customer, bob)
        invites = self.invites(mobile)
        self.assertEqual(len(invites), 2, mobile.summary())
        self.assertEqual(invites[0].get("call-id"), invites[1].get("call-id"))
        challenge = [m for m in mobile.sent(status=407) if m.cseq_method() == "INVITE"][0]
        check_digest(self, invites[1], "proxy-authorization", challenge.get("proxy-authenticate"))
        self.assertFalse([e for e in self.events.seen if e["event"] == "userAccessed" and e.get("userId") == ALICE])
        self.wait(lambda: self.metric("seatbridge_offers_total", outcome="failed") == 1, "alice's offer failed")
        self.assertEqual(self.metric("seatbridge_offers_total", outcome="answered"), 1)

    def test_a_relayed_reinvite_and_info_challenged_by_the_trunk_are_answered(self):
        # The customer puts the call on hold (re-INVITE) and sends a DTMF INFO;
        # the trunk challenges both as they are relayed into the mobile's dialog.
        mobile = self.start_mobile("trunk_mobile_auth_midcall")
        customer = self.customer("race_trunk_reinvite_info")
        sid = self.mobile_call_in()
        self.events.expect("userAccessed", ALICE, sessionId=sid)
        self.events.expect("sessionEnded", ALICE, sessionId=sid)
        self.success(customer, mobile)

        first, held, again = self.invites(mobile)
        self.assertIn("a=sendonly", held.body)
        self.assertEqual(again.body, held.body, "the same offer sent again")
        self.assertEqual(again.get("call-id"), first.get("call-id"))
        self.assertEqual(tag(again.get("to")), tag(held.get("to")), "in the dialog")
        self.assertEqual(int(again.get("cseq").split()[0]), int(held.get("cseq").split()[0]) + 1)
        challenges = [m for m in mobile.sent(status=407)]
        check_digest(self, again, "proxy-authorization", challenges[0].get("proxy-authenticate"))
        acks = mobile.received("ACK")
        self.assertEqual(acks[-1].get("proxy-authorization"), again.get("proxy-authorization"),
                         "the ACK of the re-INVITE's 2xx carries its credentials")
        infos = mobile.received("INFO")
        self.assertEqual(len(infos), 2, mobile.summary())
        self.assertIsNone(infos[0].get("proxy-authorization"))
        check_digest(self, infos[1], "proxy-authorization", challenges[1].get("proxy-authenticate"))
        self.assertEqual(infos[1].body, infos[0].body)
        # The customer saw only the answers that count: the mobile's hold answer and the INFO's 200.
        answers = [(m.status, m.cseq_method()) for m in customer.received() if m.status and m.status >= 200]
        self.assertNotIn(407, [a for a, _ in answers], customer.summary())
        held_ok = [m for m in customer.received(status=200) if m.cseq_method() == "INVITE"][-1]
        self.assertIn("a=recvonly", held_ok.body)

    def test_session_refreshes_challenged_by_the_trunk_are_answered(self):
        # seatbridge refreshes the mobile leg (refresher=uac in the trunk's 200,
        # a 4 s interval): the trunk challenges each of its first two UPDATEs;
        # each is sent again with credentials in the same dialog (CSeq one
        # higher, RFC 3261 section 22.2) and taken, and the call stays up.
        mobile = self.start_mobile("trunk_mobile_auth_refresh", session_expires=4)
        customer = Trunk(self.d, "trunk_call_timer", port=free_port(TRUNK_HOST), name="customer")
        customer.cmd += ["-key", "se", "4", "-key", "refresher", "uas"]
        self.sipp(customer)
        sid = self.mobile_call_in()
        self.events.expect("userAccessed", ALICE, sessionId=sid)
        mobile.wait_trace(lambda msgs: len(mobile.received("UPDATE")) >= 4, "four UPDATEs", timeout=15)
        customer.poke()
        self.events.expect("sessionEnded", ALICE, sessionId=sid)
        self.success(customer, mobile)
        updates = mobile.received("UPDATE")
        challenges = [m for m in mobile.sent(status=407) if m.cseq_method() == "UPDATE"]
        self.assertEqual(len(challenges), 2, mobile.summary())
        for i, challenge in enumerate(challenges):
            bare, again = updates[2 * i], updates[2 * i + 1]
            self.assertIsNone(bare.get("proxy-authorization"), "a new refresh carries no credentials up front")
            check_digest(self, again, "proxy-authorization", challenge.get("proxy-authenticate"))
            self.assertEqual(again.get("call-id"), bare.get("call-id"))
            self.assertEqual(tag(again.get("to")), tag(bare.get("to")), "in the dialog")
            self.assertEqual(int(again.get("cseq").split()[0]), int(bare.get("cseq").split()[0]) + 1)
            self.assertEqual(again.get("session-expires"), "4;refresher=uac", again.raw)
        self.assertFalse([m for m in mobile.received("BYE")][:-1], "only the BYE that ends the call")
        self.assertEqual(self.metric("seatbridge_session_refreshes_total", outcome="failed"), 0)
        self.assertGreaterEqual(self.metric("seatbridge_session_refreshes_total", outcome="sent"), 2)


class ForkedAnswers(MobileTest):
    def test_a_second_2xx_from_a_fork_is_acked_and_byed_and_the_call_stays_up(self):
        mobile = self.start_mobile("trunk_mobile_forked", credentials=False, calls=1)
        customer = self.customer(talk_ms=1500)
        sid = self.mobile_call_in()
        self.events.expect("userAccessed", ALICE, sessionId=sid)
        ended = self.events.expect("sessionEnded", ALICE, sessionId=sid)
        self.assertEqual(ended["data"]["closeBy"], "client", "the customer ended the call, not the fork")
        self.success(customer, mobile)

        oks = [m for m in mobile.sent(status=200) if m.cseq_method() == "INVITE"]
        self.assertEqual(len(oks), 2, mobile.summary())
        a, b = tag(oks[0].get("to")), tag(oks[1].get("to"))
        self.assertNotEqual(a, b)
        acks = mobile.received("ACK")
        self.assertEqual([tag(m.get("to")) for m in acks], [a, b], "each 2xx ACKed (RFC 3261 section 13.2.2.4)")
        invite = mobile.received("INVITE")[0]
        for ack in acks:
            self.assertEqual(int(ack.get("cseq").split()[0]), int(invite.get("cseq").split()[0]))
        byes = mobile.received("BYE")
        self.assertEqual([tag(m.get("to")) for m in byes], [b, a],
                         "dialog B ended at once; dialog A only when the customer hung up")
        # The customer was bridged to dialog A all along and hung up itself.
        self.assertEqual(customer.final_status(), 200)
        self.assertTrue(customer.sent("BYE"))
        self.assertFalse(customer.received("BYE"), "the second 2xx did not end the call")
        self.wait(lambda: self.metric("seatbridge_sessions_active", type="phone") == 0, "no active session")



class MobileConfirmation(MobileTest):
    """calls.mobileConfirmSeconds: a mobile that answers is put through only
    after the agent's key, so a voicemail is never bridged to the customer."""

    def test_the_agents_key_in_an_info_puts_the_customer_through(self):
        mobile = self.start_mobile("mobile_confirm_key", credentials=False, calls=1, confirm_seconds=3)
        customer = self.customer(talk_ms=500)
        sid = self.mobile_call_in()
        accessed = self.events.expect("userAccessed", ALICE, sessionId=sid)
        ended = self.events.expect("sessionEnded", ALICE, sessionId=sid)
        self.assertEqual(ended["data"]["closeBy"], "client")
        self.success(customer, mobile)
        # The key came before the bridge: the INFO was answered 200 (not 481)
        # and the customer's 200 carries the mobile's SDP.
        self.assertTrue([m for m in mobile.received(status=200) if m.cseq_method() == "INFO"], mobile.summary())
        self.assertEqual(sdp_media(customer.answer())[0], TRUNK_HOST)
        self.assertFalse([e for e in self.events.seen if e["event"] == "autoTransfer"], accessed)
        self.assertEqual(self.metric("seatbridge_offers_total", outcome="answered"), 1)

    def test_a_voicemail_that_answers_without_a_key_is_hung_up_and_never_bridged(self):
        mobile = self.start_mobile("mobile_voicemail", credentials=False, calls=1, queue_timeout=2, confirm_seconds=1)
        customer = self.customer("trunk_rejected")
        sid = self.mobile_call_in()
        self.events.expect("autoTransfer", ALICE, sessionId=sid)
        self.events.expect("sessionEnded", sessionId=sid)
        self.success(customer, mobile)
        self.assertEqual(customer.final_status(), 480, "the queue timeout, never the mobile's 200")
        self.assertTrue(mobile.received("BYE"), mobile.summary())  # seatbridge hung the voicemail up
        self.assertFalse([e for e in self.events.seen if e["event"] == "userAccessed"])
        self.assertEqual(self.metric("seatbridge_offers_total", outcome="missed"), 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
