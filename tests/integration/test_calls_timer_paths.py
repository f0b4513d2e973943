"""RFC 4028 session-timer paths of the call legs that test_calls_timers.py
does not walk, against SIPp peers (tests/integration/sipp/phone_timer_422.xml,
phone_timer_sdp.xml, trunk_timer_refresher.xml, trunk_timer_reinvite.xml,
trunk_timer_required.xml):

- a phone's 422 to seatbridge's INVITE: the INVITE goes again, once, with the
  phone's Min-SE (§6, §7.1), and the call bridges;
- a phone that does not allow UPDATE is refreshed by re-INVITE repeating
  seatbridge's last SDP to it unchanged (§10, RFC 3264 §8);
- the PBX's own pure refreshes (an UPDATE without a body, a re-INVITE with its
  SDP unchanged) are answered on its leg and never reach the phone;
- the PBX's session-changing re-INVITE is relayed, each leg with its own
  Session-Expires (§7.4, §9);
- with timers off, Require: timer is refused 420 (RFC 3261 §8.2.2.3).

The refresh tests use intervals of a few seconds (calls.testMinSEFloor,
docs/CONFIG.md). Nothing sleeps to synchronise: tests await SIPp messages,
SIPp exits, events and metrics."""
import unittest

from calls import ALICE, PHONE_HOST, TRUNK_HOST, cseq, sdp_media, tag
from harness import free_port
from test_calls_timers import INTERVAL, TimerTest, short_timers

# The phone's Allow (-key allow of phone_timer_sdp.xml), with and without UPDATE.
ALLOW_UPDATE = "INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE"
ALLOW_NO_UPDATE = "INVITE, ACK, CANCEL, BYE, OPTIONS"


def origin(msg):
    """The o= line of a message's SDP body (RFC 4566 §5.2), or None."""
    for line in msg.body.replace("\r\n", "\n").split("\n"):
        if line.startswith("o="):
            return line.strip()
    return None


def branch(msg):
    """The branch parameter of a message's (first) Via."""
    for part in (msg.get("via") or "").split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.lower() == "branch":
            return value
    return None


def interval(msg):
    """The delta-seconds of a message's Session-Expires, or None."""
    value = msg.get("session-expires")
    return int(value.split(";")[0]) if value else None


def response_to(msgs, number, method):
    """The final responses among msgs to CSeq `number method`."""
    return [m for m in msgs if m.status and m.status >= 200 and cseq(m) == (number, method)]


class OutboundRetry(TimerTest):
    def test_phone_422_gets_the_invite_again_with_its_min_se(self):
        # Defaults (sessionExpires 1800, minSE 90): seatbridge's INVITE offers
        # Min-SE 90; the phone wants at least 120 and says so in a 422 (RFC 4028
        # section 6). nta ACKs the 422 itself (RFC 3261 section 17.1.1.3);
        # seatbridge sends the INVITE again, once, as section 7.1 asks: same
        # Call-ID, next CSeq, a Session-Expires of at least the 422's Min-SE and
        # that Min-SE. The phone answers it and the call bridges as usual.
        self.start_with()
        phone = self.timer_phone("phone_timer_422", 1800, "uac", keys={"min_se": 120})
        pbx = self.timer_trunk("trunk_call_timer", 90, "uas")
        sid = self.answered()
        pbx.wait_sent("ACK")
        pbx.poke()
        self.success(pbx, phone)

        invites = phone.received("INVITE")
        self.assertEqual(len(invites), 2, phone.summary())
        first, again = invites
        self.assertIn("timer", first.get("supported") or "", first.raw)
        self.assertEqual(first.get("session-expires"), "1800", first.raw)
        self.assertEqual(first.get("min-se"), "90", first.raw)
        refused = phone.sent(status=422)
        self.assertEqual(len(refused), 1, phone.summary())
        self.assertEqual(refused[0].get("min-se"), "120")
        # The 422's ACK: nta's own, in the INVITE's transaction (same branch and
        # CSeq number, the 422's To tag).
        acks = phone.received("ACK")
        self.assertEqual(len(acks), 2, phone.summary())
        self.assertEqual(cseq(acks[0]), (cseq(first)[0], "ACK"), acks[0].raw)
        self.assertEqual(branch(acks[0]), branch(first), acks[0].raw)
        self.assertEqual(tag(acks[0].get("to")), tag(refused[0].get("to")), acks[0].raw)
        # The INVITE again (section 7.1): same Call-ID and From tag, CSeq one
        # higher, a new transaction, still outside any dialog (no To tag), the
        # same offer, and the phone's Min-SE.
        self.assertEqual(again.get("call-id"), first.get("call-id"), again.raw)
        self.assertEqual(tag(again.get("from")), tag(first.get("from")), again.raw)
        self.assertEqual(cseq(again), (cseq(first)[0] + 1, "INVITE"), again.raw)
        self.assertNotEqual(branch(again), branch(first), "a new transaction")
        self.assertIsNone(tag(again.get("to")), again.raw)
        self.assertGreaterEqual(interval(again), 120, again.raw)
        self.assertEqual(again.get("min-se"), "120", again.raw)
        self.assertIn("timer", again.get("supported") or "", again.raw)
        self.assertEqual(again.body, first.body, "the same offer")
        # Its 200 was ACKed in the dialog the 200 made.
        ok = response_to(phone.sent(), cseq(again)[0], "INVITE")
        self.assertEqual([m.status for m in ok], [200], phone.summary())
        self.assertEqual(cseq(acks[1]), (cseq(again)[0], "ACK"), acks[1].raw)
        self.assertEqual(tag(acks[1].get("to")), tag(ok[0].get("to")), acks[1].raw)
        # The customer never saw the 422: ringing, then the phone's answer.
        self.assertNotIn(422, self.responses(pbx, "INVITE"), pbx.summary())
        self.assert_bridged(pbx, phone)
        self.assertEqual(len(phone.received("BYE")), 1, phone.summary())
        self.assert_ended(sid, ALICE, "client")
        self.assert_no_stuck_leg()


class RefreshByReinvite(TimerTest):
    def test_phone_without_update_is_refreshed_by_reinvite_with_the_same_sdp(self):
        # A 4 s interval, seatbridge the refresher of the phone's leg
        # (refresher=uac in the phone's 200), and no UPDATE in the phone's Allow:
        # RFC 4028 section 10 leaves a re-INVITE, which must repeat seatbridge's
        # last SDP to the phone unchanged (same o= line, RFC 3264 section 8), so
        # the refresh changes nothing. Each is answered 200 with the phone's
        # SDP and ACKed by seatbridge (RFC 3261 section 13.2.2.4).
        self.start_with(short_timers)
        phone = self.timer_phone("phone_timer_sdp", INTERVAL, "uac",
                                 keys={"allow": ALLOW_NO_UPDATE, "answer_version": 1})
        pbx = self.timer_trunk("trunk_call_timer", INTERVAL, "uas")
        sid = self.answered()

        def refreshes_acked(_):
            acked = {cseq(m)[0] for m in phone.received("ACK")}
            done = [m for m in phone.received("INVITE")[1:] if cseq(m)[0] in acked]
            return done if len(done) >= 2 else None

        refreshes = phone.wait_trace(refreshes_acked, "have two re-INVITE refreshes ACKed", timeout=15)[:2]
        # Every refresh answered by then is counted once seatbridge has the 200:
        # the phone's two and the PBX's UPDATEs (refreshed with UPDATE, it allows it).
        pbx_updates = len([m for m in pbx.sent(status=200) if m.cseq_method() == "UPDATE"])
        self.wait(lambda: self.metric("seatbridge_session_refreshes_total", outcome="sent") >= 2 + pbx_updates,
                  "the phone's refreshes counted")
        self.assertFalse(pbx.received("BYE") or phone.received("BYE"), "the call stayed up")
        pbx.poke()
        self.success(pbx, phone)

        invite = phone.received("INVITE")[0]
        answer = response_to(phone.sent(), cseq(invite)[0], "INVITE")[0]
        self.assertFalse(phone.received("UPDATE"), "the phone does not allow UPDATE")
        for refresh in refreshes:
            self.assertEqual(refresh.get("call-id"), invite.get("call-id"), refresh.raw)
            self.assertEqual(tag(refresh.get("to")), tag(answer.get("to")), "in the phone's dialog")
            self.assertEqual(refresh.get("session-expires"), f"{INTERVAL};refresher=uac", refresh.raw)
            self.assertIn("timer", refresh.get("supported") or "", refresh.raw)
            self.assertEqual(refresh.get("content-type"), "application/sdp", refresh.raw)
            self.assertEqual(origin(refresh), origin(invite), "seatbridge's SDP to the phone, unchanged")
            self.assertEqual(refresh.body, invite.body, refresh.raw)
            ok = response_to(phone.sent(), cseq(refresh)[0], "INVITE")
            self.assertEqual([m.status for m in ok], [200], phone.summary())
            self.assertEqual(origin(ok[0]), origin(answer), "the phone answered with its SDP, unchanged")
            acks = [m for m in phone.received("ACK") if cseq(m) == (cseq(refresh)[0], "ACK")]
            self.assertEqual(len(acks), 1, phone.summary())
        first, second = refreshes
        if first.at and second.at:
            self.assertGreater(second.at - first.at, INTERVAL / 2 - 0.7, "at half the interval, not sooner")
        self.assertFalse(pbx.received("BYE"), "the customer hung up, not seatbridge")
        self.assertEqual(len(phone.received("BYE")), 1, phone.summary())
        self.assertEqual(self.metric("seatbridge_session_refreshes_total", outcome="failed"), 0)
        self.assertEqual(self.metric("seatbridge_session_refreshes_total", outcome="expired"), 0)
        self.assert_ended(sid, ALICE, "client")
        self.assert_no_stuck_leg()


def pbx_refreshes(cfg):
    # A 30 s interval offered to the phone, so seatbridge's own refresh of the
    # phone's leg is not due within the test; the PBX asks for 4 s, granted
    # (RFC 4028 section 9: a shorter one asked for stands, above Min-SE 2).
    cfg.setdefault("calls", {}).update(sessionExpires=30, minSE=2, testMinSEFloor=2)


class PeerRefreshes(TimerTest):
    def test_pbx_refreshes_are_answered_on_its_leg(self):
        # The PBX refreshes its own leg (refresher=uac, 4 s): an UPDATE without
        # a body, then a re-INVITE with its SDP unchanged, 1.5 s apart, each past
        # the 4 - 4/3 s expiry of the one before unless it restarted the timer.
        # Neither changes the session (RFC 3264 section 8), so seatbridge answers
        # each itself, 200 with Session-Expires (RFC 4028 section 9), the
        # re-INVITE's with its last SDP to the PBX: the phone's answer, as the
        # first 200 carried it. The phone sees neither.
        self.start_with(pbx_refreshes)
        phone = self.timer_phone("phone_timer_sdp", 30, "uac", keys={"allow": ALLOW_UPDATE, "answer_version": 1})
        pbx = self.timer_trunk("trunk_timer_refresher", INTERVAL)
        sid = self.answered()
        self.success(pbx, phone)

        se = f"{INTERVAL};refresher=uac"
        first_ok = pbx.answer()
        self.assertEqual(first_ok.get("session-expires"), se, first_ok.raw)
        self.assertIn("timer", first_ok.get("require") or "", "section 9: refresher=uac needs Require: timer")
        invite, refresh_invite = pbx.sent("INVITE")
        self.assertEqual(origin(refresh_invite), origin(invite), "the scenario repeats its SDP unchanged")

        update_ok = response_to(pbx.received(), 2, "UPDATE")
        self.assertEqual([m.status for m in update_ok], [200], pbx.summary())
        self.assertEqual(update_ok[0].get("session-expires"), se, update_ok[0].raw)
        self.assertIn("timer", update_ok[0].get("require") or "", update_ok[0].raw)
        self.assertFalse(update_ok[0].body.strip(), "no body: the UPDATE had none")

        invite_ok = response_to(pbx.received(), 3, "INVITE")
        self.assertEqual([m.status for m in invite_ok], [200], pbx.summary())
        self.assertEqual(invite_ok[0].get("session-expires"), se, invite_ok[0].raw)
        self.assertIn("timer", invite_ok[0].get("require") or "", invite_ok[0].raw)
        self.assertEqual(invite_ok[0].get("content-type"), "application/sdp", invite_ok[0].raw)
        self.assertEqual(origin(invite_ok[0]), origin(first_ok), "seatbridge's last SDP to the PBX, unchanged")
        self.assertEqual(invite_ok[0].body, first_ok.body, invite_ok[0].raw)
        self.assertEqual(sdp_media(invite_ok[0]), (PHONE_HOST, phone.rtp_port))

        # Answered on the PBX's leg: nothing reached the phone, which has its
        # own 30 s timer with seatbridge (not due yet).
        self.assertFalse(phone.received("UPDATE"), phone.summary())
        self.assertEqual(len(phone.received("INVITE")), 1, phone.summary())
        self.assertEqual(phone.received("INVITE")[0].get("session-expires"), "30")
        # Each refresh restarted the PBX leg's timer: seatbridge never BYEd it.
        self.assertFalse(pbx.received("BYE"), pbx.summary())
        self.assertEqual(self.responses(pbx, "BYE"), [200], pbx.summary())
        self.assertEqual(len(phone.received("BYE")), 1, phone.summary())
        self.wait(lambda: self.metric("seatbridge_session_refreshes_total", outcome="received") == 2,
                  "both refreshes counted")
        self.assertEqual(self.metric("seatbridge_session_refreshes_total", outcome="expired"), 0)
        self.assertEqual(self.metric("seatbridge_session_refreshes_total", outcome="sent"), 0)
        self.assert_ended(sid, ALICE, "client")
        self.assert_no_stuck_leg()

    def test_pbx_reinvite_with_a_new_sdp_is_relayed_with_each_legs_timer(self):
        # Defaults: the PBX's leg runs 90 s (seatbridge refreshes, refresher=uas),
        # the phone's 1800 s (seatbridge refreshes, refresher=uac in its 200).
        # The PBX's re-INVITE changes the session (o= version 2, another port),
        # so it is relayed. The re-INVITE seatbridge sends the phone refreshes
        # that leg too (RFC 4028 section 7.4) and carries the phone leg's own
        # Session-Expires, not the PBX's; the 200 back to the PBX carries the
        # phone's new answer and the PBX leg's Session-Expires (section 9).
        self.start_with()
        phone = self.timer_phone("phone_timer_sdp", 1800, "uac", keys={"allow": ALLOW_UPDATE, "answer_version": 2})
        new_port = free_port(TRUNK_HOST)
        pbx = self.timer_trunk("trunk_timer_reinvite", 90, "uas", keys={"new_rtp_port": new_port})
        sid = self.answered()
        self.success(pbx, phone)

        pbx_invite, offer = pbx.sent("INVITE")
        self.assertNotEqual(origin(offer), origin(pbx_invite), "the scenario changes its SDP")
        invites = phone.received("INVITE")
        self.assertEqual(len(invites), 2, phone.summary())
        invite, relayed = invites
        self.assertEqual(relayed.get("call-id"), invite.get("call-id"), "in the phone's dialog")
        self.assertEqual(relayed.body, offer.body, "the PBX's new offer reached the phone")
        self.assertEqual(sdp_media(relayed), (TRUNK_HOST, new_port))
        self.assertEqual(relayed.get("session-expires"), "1800;refresher=uac", relayed.raw)
        self.assertEqual(relayed.get("min-se"), "90", relayed.raw)
        self.assertIn("timer", relayed.get("supported") or "", relayed.raw)
        phone_ok = response_to(phone.sent(), cseq(relayed)[0], "INVITE")
        self.assertEqual([m.status for m in phone_ok], [200], phone.summary())
        self.assertIn((cseq(relayed)[0], "ACK"), [cseq(m) for m in phone.received("ACK")], "seatbridge ACKed it")

        ok = response_to(pbx.received(), 2, "INVITE")
        self.assertEqual([m.status for m in ok], [200], pbx.summary())
        self.assertEqual(ok[0].body, phone_ok[0].body, "the phone's answer reached the PBX")
        self.assertEqual(origin(ok[0]), origin(phone_ok[0]))
        self.assertNotEqual(origin(ok[0]), origin(pbx.answer()), "a new answer, not the first one")
        self.assertEqual(ok[0].get("session-expires"), "90;refresher=uas", ok[0].raw)
        self.assertIn("timer", ok[0].get("supported") or "", ok[0].raw)
        self.assertNotIn("timer", ok[0].get("require") or "", "section 9: the UAS refreshes, no Require")
        # Relayed, not answered as a refresh of the PBX's leg.
        self.assertEqual(self.metric("seatbridge_session_refreshes_total", outcome="received"), 0)
        self.assertEqual(len(phone.received("BYE")), 1, phone.summary())
        self.assert_ended(sid, ALICE, "client")
        self.assert_no_stuck_leg()


def no_timers(cfg):
    cfg.setdefault("calls", {})["sessionExpires"] = 0


class TimersOff(TimerTest):
    def test_require_timer_is_refused_420_when_timers_are_off(self):
        # calls.sessionExpires 0: seatbridge runs no session timers, so an
        # INVITE that requires them is refused 420 Bad Extension naming the
        # extension in Unsupported (RFC 3261 section 8.2.2.3, RFC 4028 section
        # 9), counted, and no session is made.
        self.start_with(no_timers)
        pbx = self.timer_trunk("trunk_timer_required", 90)
        self.success(pbx)
        statuses = self.responses(pbx, "INVITE")
        self.assertEqual([s for s in statuses if s >= 200], [420], pbx.summary())
        self.assertEqual(set(statuses) - {420}, {100}, "refused at once: no ringing")
        refused = pbx.received(status=420)[0]
        self.assertIn("timer", refused.get("unsupported") or "", refused.raw)
        self.assertEqual(self.metric("seatbridge_calls_refused_total", reason="badExtension"), 1)
        self.assertEqual(self.events.sessions(), [])
        self.events.mark()
        self.assertFalse([e for e in self.events.seen if e["event"] == "callIn"], self.events.describe())
        self.assert_no_stuck_leg()


if __name__ == "__main__":
    unittest.main(verbosity=2)
