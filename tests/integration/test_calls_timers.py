"""RFC 4028 session timers and RFC 3262 reliable provisionals on the call
legs, against SIPp peers (tests/integration/sipp/*timer*.xml, trunk_call_100rel.xml):

- the customer's INVITE gets its Session-Expires back in the 200 (RFC 4028 §9),
  or 422 with Min-SE below calls.minSE (§6); our INVITE to the phone offers
  Supported: timer, Session-Expires and Min-SE (§7.1);
- seatbridge refreshes each leg where it is the refresher, with UPDATE (the
  peers allow it) at half the interval (§10);
- a phone that stops refreshing is BYEd at interval - min(32, interval/3), a
  phone that vanished fails seatbridge's refresh: either way both legs end,
  the session ends (closeBy seat), the agent is free again, the record is written;
- an INVITE with Require: 100rel gets a reliable 180 (Require: 100rel, RSeq),
  its PRACK 200, and the call bridges as usual.

The refresh and expiry tests use a 4 s session interval so they run in
seconds: calls.testMinSEFloor lowers RFC 4028's 90 s floor for tests only
(docs/CONFIG.md). Nothing sleeps to synchronise: tests await SIPp messages,
events and metrics."""
import time
import unittest

from calls import ALICE, SamePortPhone, Trunk, cseq, tag
from test_calls_races import RaceTest, DRAIN_SECONDS, LONG

INTERVAL = 4  # seconds: the short session interval of the refresh and expiry tests
T1X64_MS = 4000  # sip.testT1x64Ms of the PRACK timeout test


def short_timers(cfg, interval=INTERVAL):
    cfg.setdefault("calls", {}).update(sessionExpires=interval, minSE=2, testMinSEFloor=2)


class TimerTest(RaceTest):
    def start_with(self, mutate=None):
        def configure(cfg):
            cfg["shutdown"]["drainSeconds"] = DRAIN_SECONDS
            if mutate:
                mutate(cfg)

        from calls import call_daemon, Events
        self.peers = []
        self.d = call_daemon(5, 20, 0, mutate=configure)
        self.addCleanup(self.d.close)
        self.addCleanup(self.stop_now)
        self.d.start()
        self.events = Events(self.d)
        self.events.context = self.context
        self.addCleanup(self.events.close)
        self.events.ok("Agent.online", {"userId": ALICE})
        self.events.expect("statusChanged", ALICE, status="free")

    def timer_phone(self, scenario, se, refresher=None, timeout=30, keys=None):
        """keys: more SIPp -key NAME VALUE pairs the scenario reads."""
        p = SamePortPhone(self.d, "1001", scenario, name="phone", timeout=timeout)
        p.cmd += ["-key", "se", str(se)] + (["-key", "refresher", refresher] if refresher else [])
        for name, value in (keys or {}).items():
            p.cmd += ["-key", name, str(value)]
        self.sipp(p)
        p.wait_register_answered()
        p.wait_registered(self.events)
        return p

    def timer_trunk(self, scenario, se, refresher="uas", timeout=30, keys=None):
        t = Trunk(self.d, scenario, timeout=timeout)
        t.cmd += ["-key", "se", str(se), "-key", "refresher", refresher]
        for name, value in (keys or {}).items():
            t.cmd += ["-key", name, str(value)]
        return self.sipp(t)

class SessionTimers(TimerTest):
    def test_negotiated_on_both_legs(self):
        # Defaults (sessionExpires 1800, minSE 90): the PBX asks 90 s with
        # refresher=uas, and gets exactly that back (RFC 4028 section 9): no
        # Require: timer, as the UAC does not refresh.
        self.start_with()
        phone = self.timer_phone("phone_timer", 1800, "uac")
        pbx = self.timer_trunk("trunk_call_timer", 90, "uas")
        sid = self.answered()
        pbx.wait_sent("ACK")
        ok = pbx.answer()
        self.assertEqual(ok.get("session-expires"), "90;refresher=uas", ok.raw)
        self.assertIn("timer", ok.get("supported") or "", ok.raw)
        self.assertNotIn("timer", ok.get("require") or "", ok.raw)
        invite = phone.invite()
        self.assertIn("timer", invite.get("supported") or "", invite.raw)
        self.assertEqual(invite.get("session-expires"), "1800", invite.raw)
        self.assertEqual(invite.get("min-se"), "90", invite.raw)
        self.assertNotIn("100rel", invite.get("supported") or "", "no reliable provisionals asked of phones")
        pbx.poke()
        self.success(pbx, phone)
        self.assert_ended(sid, ALICE, "client")
        self.assert_no_stuck_leg()

    def test_seatbridge_refreshes_both_legs(self):
        # A 4 s interval on both legs, seatbridge the refresher on each: UPDATE
        # without a body every 2 s (RFC 4028 section 10, RFC 3311), answered 200,
        # and the call stays up until the customer hangs up.
        self.start_with(short_timers)
        phone = self.timer_phone("phone_timer", INTERVAL, "uac")
        pbx = self.timer_trunk("trunk_call_timer", INTERVAL, "uas")
        sid = self.answered()
        ack = pbx.wait_sent("ACK")
        pbx.wait_trace(lambda msgs: len(pbx.received("UPDATE")) >= 2, "receive two refreshes", timeout=15)
        phone.wait_trace(lambda msgs: len(phone.received("UPDATE")) >= 2, "receive two refreshes", timeout=15)
        for sipp in (pbx, phone):
            for update in sipp.received("UPDATE")[:2]:
                self.assertEqual(update.get("session-expires"), f"{INTERVAL};refresher=uac", update.raw)
                self.assertFalse(update.body.strip(), "a refresh UPDATE carries no body")
                self.assertIn("timer", update.get("supported") or "")
        first, second = pbx.received("UPDATE")[:2]
        if ack.at and first.at and second.at:
            self.assertGreater(first.at - ack.at, INTERVAL / 2 - 0.7, "refreshed at half the interval, not sooner")
            self.assertLess(first.at - ack.at, INTERVAL / 2 + 1.5, "refreshed at half the interval")
            self.assertGreater(second.at - first.at, INTERVAL / 2 - 0.7)
        self.assertFalse(pbx.received("BYE") or phone.received("BYE"), "the call stayed up")
        self.wait(lambda: self.metric("seatbridge_session_refreshes_total", outcome="sent") >= 4, "refreshes counted")
        pbx.poke()
        self.success(pbx, phone)
        self.assertEqual(self.metric("seatbridge_session_refreshes_total", outcome="failed"), 0)
        self.assertEqual(self.metric("seatbridge_session_refreshes_total", outcome="expired"), 0)
        self.assert_ended(sid, ALICE, "client")
        self.assert_no_stuck_leg()

    def test_phone_that_stops_refreshing_is_hung_up(self):
        # The phone said it refreshes (refresher=uas in its 200) and never does:
        # at 4 - min(32, 4/3) s seatbridge BYEs it, and the customer too.
        self.start_with(short_timers)
        phone = self.timer_phone("phone_timer", INTERVAL, "uas")
        pbx = self.timer_trunk("trunk_call_timer", INTERVAL, "uas")
        sid = self.answered()
        answered_at = time.monotonic()
        self.success(phone, pbx)
        self.assertEqual(len(phone.received("BYE")), 1, phone.summary())
        self.assertFalse(phone.received("UPDATE"), "the phone is the refresher: seatbridge sends it none")
        self.assertEqual(len(pbx.received("BYE")), 1, pbx.summary())
        ended = self.assert_ended(sid, ALICE, "seat")
        lasted = ended["_at"] - answered_at
        self.assertGreater(lasted, INTERVAL * 2 / 3 - 0.7, "not before the expiry")
        self.assertLess(lasted, INTERVAL + 2, "by the expiry")
        self.assertEqual(self.metric("seatbridge_session_refreshes_total", outcome="expired"), 1)
        self.assert_no_stuck_leg()

    def test_phone_that_vanished_fails_the_refresh(self):
        # seatbridge refreshes the phone's leg, but the phone is gone (its port
        # closed after the ACK): the UPDATE fails (transport error, or Timer F),
        # the leg is over, the customer gets BYE and the agent is free.
        self.start_with(short_timers)
        phone = self.timer_phone("phone_timer_vanish", INTERVAL, timeout=LONG)
        pbx = self.timer_trunk("trunk_call_timer", INTERVAL, "uas", timeout=LONG)
        sid = self.answered()
        phone.wait_received("ACK")
        self.success(phone)
        self.success(pbx)
        self.assertEqual(len(pbx.received("BYE")), 1, pbx.summary())
        self.assert_ended(sid, ALICE, "seat", timeout=LONG)
        self.assertEqual(self.metric("seatbridge_session_refreshes_total", outcome="failed"), 1)
        self.assert_no_stuck_leg()

    def test_interval_too_small_is_refused_422(self):
        # 30 s is below calls.minSE (90): 422 with Min-SE: 90 (RFC 4028 section
        # 6), counted, and no session is made.
        self.start_with()
        pbx = self.timer_trunk("trunk_timer_422", 30)
        self.success(pbx)
        refused = pbx.received(status=422)
        self.assertEqual(len(refused), 1, pbx.summary())
        self.assertEqual(refused[0].get("min-se"), "90", refused[0].raw)
        self.assertEqual(self.metric("seatbridge_calls_refused_total", reason="intervalTooSmall"), 1)
        self.assertEqual(self.events.sessions(), [])
        self.assert_no_stuck_leg()


class ReliableProvisionals(TimerTest):
    def test_require_100rel_gets_a_reliable_180_and_its_prack_200(self):
        self.start_with()
        phone = self.desk("phone_answer", "phone")
        pbx = self.sipp(Trunk(self.d, "trunk_call_100rel"))
        sid = self.answered()
        pbx.wait_sent("ACK")
        ringing = [m for m in pbx.received(status=180)]
        self.assertTrue(ringing, pbx.summary())
        self.assertIn("100rel", ringing[0].get("require") or "", ringing[0].raw)
        self.assertTrue((ringing[0].get("rseq") or "").strip().isdigit(), ringing[0].raw)
        prack = pbx.sent("PRACK")[0]
        self.assertEqual(prack.get("rack"), f"{ringing[0].get('rseq').strip()} 1 INVITE")
        self.assertEqual(self.responses(pbx, "PRACK"), [200], pbx.summary())
        self.assert_bridged(pbx, phone)
        pbx.poke()
        self.success(pbx, phone)
        self.assert_ended(sid, ALICE, "client")
        self.assert_no_stuck_leg()

    def test_a_phones_reliable_180_is_pracked_in_its_early_dialog(self):
        # Our INVITE to the phone offers no 100rel, and the phone sends a
        # reliable 180 anyway: it is PRACKed once (RFC 3262 section 4, RAck:
        # RSeq, CSeq, method), in the early dialog, and the phone then answers.
        self.start_with()
        phone = self.desk("phone_answer_100rel", "phone")
        pbx = self.sipp(Trunk(self.d, "trunk_call_hangup", talk_ms=300))
        sid = self.answered()
        self.success(pbx, phone)
        invite, prack = phone.received("INVITE")[0], phone.received("PRACK")
        self.assertEqual(len(prack), 1, phone.summary())
        self.assertEqual(prack[0].get("rack").split(), ["1", str(cseq(invite)[0]), "INVITE"], prack[0].raw)
        self.assertEqual(cseq(prack[0]), (cseq(invite)[0] + 1, "PRACK"), "the next CSeq of the dialog")
        self.assertEqual(prack[0].get("call-id"), invite.get("call-id"))
        self.assertEqual(tag(prack[0].get("to")), tag(phone.sent(status=180)[0].get("to")))
        self.assert_bridged(pbx, phone)
        self.assert_ended(sid, ALICE, "client")
        self.assert_no_stuck_leg()

    def test_a_reliable_180_never_pracked_ends_the_call(self):
        # RFC 3262 section 3: the 180 is retransmitted until PRACKed; after
        # 64*T1 (sip.testT1x64Ms: 4 s here) the INVITE is answered 503 and the
        # call is over: the phone's ringing fork is CANCELled, the session
        # ends, the agent is free and nothing is left behind.
        self.start_with(lambda cfg: cfg["sip"].update(testT1x64Ms=T1X64_MS))
        phone = self.desk("phone_noanswer", "phone")
        pbx = self.sipp(Trunk(self.d, "trunk_call_100rel_noprack"))
        sid = self.events.expect("callIn", ALICE)["data"]["sessionId"]
        ringing = pbx.wait_received(status=180)
        offered = time.monotonic()
        self.assertIn("100rel", ringing.get("require") or "", ringing.raw)
        self.success(pbx)
        refused = pbx.received(status=503)
        self.assertEqual(len(refused), 1, pbx.summary())
        self.assertGreater(len(pbx.received(status=180)), 1, "the reliable 180 was retransmitted")
        self.assertFalse(pbx.sent("PRACK"))
        ended = self.events.expect("sessionEnded", ALICE, sessionId=sid)
        self.assertLess(ended["_at"] - offered, T1X64_MS / 1000 + 2, "given up at 64*T1, not later")
        phone.wait_received("CANCEL")
        self.success(phone)
        self.events.expect("statusChanged", ALICE, status="free", since=self.events.after(ended))
        self.assert_no_stuck_leg()


if __name__ == "__main__":
    unittest.main(verbosity=2)
