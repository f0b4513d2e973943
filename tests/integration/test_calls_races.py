"""Races and stuck dialogs (issue 8 item 6): every race a B2BUA meets ends both
legs cleanly, frees the agent and ends the session. A SIPp PBX on the trunk's
address and SIPp desk phones (tests/integration/sipp/race_*.xml) play each
race; for each the test checks

- the SIP messages each peer saw (each SIPp exits 0 with its scripted flow,
  and the message traces hold what the race is about);
- the control-socket events: sessionEnded with its closeBy, and the agent's
  statusChanged back to free (through arrange when the agent talked);
- afterwards: every Gateway.listSessions row `state: ended`,
  seatbridge_sessions_active{type="phone"} 0, and no leg left in the SIP
  layer: on SIGTERM the daemon has no live call to drain for, so it exits at
  once instead of after shutdown.drainSeconds (set long here, DRAIN_SECONDS).

Nothing sleeps to synchronise: tests await SIPp messages and exits, events,
and metrics (harness.wait_for). Three races wait for one of Sofia's 64*T1
timers (Timer H, Timer F): their daemons run with sip.testT1x64Ms at
T1X64_MS instead of RFC 3261's 32 s, so each waits seconds, not half a minute,
and still proves the timer (the session lasted until it)."""
import signal
import time
import unittest

from calls import ALICE, BOB, PHONE_HOST, TRUNK_HOST, SamePortPhone, Trunk, cseq, sdp_media, tag
from test_calls import CallTest

# The drain a stuck leg would make the daemon wait out on SIGTERM; a daemon with
# nothing left exits well within NO_LEG_EXIT.
DRAIN_SECONDS = 30
NO_LEG_EXIT = 10
# The daemon's 64*T1 in the races that wait for it (sip.testT1x64Ms), and the
# SIPp timeout for them: longer than SIPp's own 64*T1 (its T1 stays 500 ms).
T1X64_MS = 8000  # 200 retransmissions at 0.5, 1.5, 3.5 and 7.5 s fit (RFC 3261 section 13.3.1.4)
T1X64 = T1X64_MS / 1000
LONG = 70



class RaceTest(CallTest):
    def start(self, ring_timeout=5, queue_timeout=20, after_call_work=0, online=(ALICE,), drain=DRAIN_SECONDS,
              t1x64_ms=None):
        def long_drain(cfg):
            cfg["shutdown"]["drainSeconds"] = drain
            if t1x64_ms:
                cfg["sip"]["testT1x64Ms"] = t1x64_ms

        d = super().start(ring_timeout, queue_timeout, after_call_work, online, mutate=long_drain)
        self.addCleanup(self.stop_now)  # runs first: before the control connection and the daemon close
        return d

    def call_through(self, phone_scenario, pbx_scenario):
        """A daemon, a desk phone running phone_scenario and the PBX running
        pbx_scenario; the call answered and both SIPps done: (phone, pbx, sid)."""
        self.start()
        phone = self.desk(phone_scenario, "phone")
        pbx = self.trunk(pbx_scenario)
        sid = self.answered()
        self.success(pbx, phone)
        return phone, pbx, sid

    def desk(self, answer, name, extension="1001", timeout=30, port=None):
        """A desk phone of `extension` running `answer` as its call scenario,
        registered (on `port` if given: the binding of a phone before it)."""
        p = self.sipp(SamePortPhone(self.d, extension, answer, port=port, name=name, timeout=timeout))
        p.wait_register_answered()
        p.wait_registered(self.events)
        return p

    def stop_now(self):
        """After a test that left a call up (it failed): SIGTERM, then a second
        one once the drain began, which ends live calls at once."""
        if self.d.proc and self.d.proc.poll() is None:
            self.d.signal(signal.SIGTERM)
            try:
                self.d.wait_notify("STOPPING=1", 5)
            except AssertionError:
                pass
            if self.d.proc.poll() is None:
                self.d.signal(signal.SIGTERM)

    def expect(self, name, user=None, **kw):
        return self.events.expect(name, user, **kw)

    def answered(self, user=ALICE, ring_timeout=5):
        """The session's id once `user`'s phone answered (callIn, then userAccessed)."""
        sid = self.assert_call_in(self.expect("callIn", user), user, ring_timeout)
        self.accessed = self.expect("userAccessed", user, sessionId=sid)
        return sid

    def assert_ended(self, sid, user, close_by, end_state=None, talked=True, timeout=15):
        """sessionEnded with close_by, the agent back to free (through arrange
        when they talked and afterCallWork asks for it), the session's row
        ended, no live session and the active gauge at 0."""
        ended = self.expect("sessionEnded", user, since=0, sessionId=sid, timeout=timeout)
        self.ended_at = ended["_at"]
        self.assertEqual(ended["data"]["closeBy"], close_by, ended)
        after = self.events.after(ended)
        self.events.expect("statusChanged", user, since=after, status="free")
        statuses = self.events.status_changes(user, after)
        self.assertIn(statuses, (["free"], ["arrange", "free"]) if talked else (["free"],), statuses)
        row = self.assert_row(sid, state="ended", closeBy=close_by, userId=user)
        if end_state:
            self.assertEqual(row["endState"], end_state, row)
        self.wait(lambda: all(r.get("state") == "ended" for r in self.events.sessions()), "every session ended")
        self.wait(lambda: self.metric("seatbridge_sessions_active", type="phone") == 0, "no active phone session")
        return ended

    def assert_no_stuck_leg(self):
        """SIGTERM: with no leg left the drain has nothing to wait for, so the
        daemon exits 0 at once, not after shutdown.drainSeconds."""
        for s in self.peers:
            self.assertFalse(s.running(), f"{s.name} still running")
        started = time.monotonic()
        self.d.signal(signal.SIGTERM)
        rc = self.d.proc.wait(DRAIN_SECONDS + 15)
        took = time.monotonic() - started
        self.assertEqual(rc, 0, self.d.logs()[-3000:])
        self.assertLess(took, NO_LEG_EXIT, f"the drain waited {took:.1f}s for a live leg\n{self.d.logs()[-3000:]}")

    def responses(self, sipp, method, direction="received"):
        """Statuses of the responses to `method` it received (or sent), in order."""
        msgs = sipp.received() if direction == "received" else sipp.sent()
        return [m.status for m in msgs if m.status and m.cseq_method() == method]


class CancelRaces(RaceTest):
    def test_cancel_crossing_the_agents_200(self):
        # The phone answers right after its 180; the PBX CANCELs on seatbridge's
        # 180 (sent when the call is queued, as the phone is rung). SIPp may
        # take the CANCEL in before or after it sent the 200: both are met.
        self.cancel_crossing("race_phone_answer_at_once")

    def test_cancel_crossing_the_agents_200_without_180(self):
        # The phone answers 200 with no provisional answer: a CANCEL that
        # seatbridge decides on first is held (RFC 3261 section 9.1), so the
        # customer's CANCEL and the agent's 200 race on equal terms.
        self.cancel_crossing("race_phone_answer_no_ring")

    def test_customers_cancel_first_then_the_agents_200(self):
        # One interleaving of the race forced: the phone answers only once
        # seatbridge's CANCEL has reached it (200 to the CANCEL, then 200 to the
        # INVITE), so the customer's CANCEL is always first at seatbridge and the
        # phone's 2xx always comes after seatbridge's CANCEL: it must be ACKed
        # and BYEd (RFC 3261 section 9.1).
        self.start(ring_timeout=10, queue_timeout=20, after_call_work=0)
        phone = self.desk("race_phone_answer_after_cancel", "phone")
        pbx = self.sipp(Trunk(self.d, "race_trunk_cancel_on_180"))
        sid = self.expect("callIn", ALICE)["data"]["sessionId"]
        self.success(pbx, phone)
        self.assertEqual(pbx.final_status(), 487, pbx.summary())
        self.assertEqual(self.responses(pbx, "CANCEL"), [200], pbx.summary())
        steps = [(m.direction, m.method or m.status, m.cseq_method()) for m in phone.messages()
                 if m.cseq_method() != "REGISTER"]
        self.assertEqual(steps, [("received", "INVITE", "INVITE"), ("sent", 180, "INVITE"),
                                 ("received", "CANCEL", "CANCEL"), ("sent", 200, "CANCEL"),
                                 ("sent", 200, "INVITE"), ("received", "ACK", "ACK"),
                                 ("received", "BYE", "BYE"), ("sent", 200, "BYE")], phone.summary())
        self.assert_ended(sid, ALICE, "client", end_state="ringingGiveUp", talked=False)
        self.assertFalse([e for e in self.events.seen if e["event"] == "userAccessed"])
        self.assert_no_stuck_leg()

    def cancel_crossing(self, phone_scenario):
        """Three rounds of the race, each phone taking over the binding of the
        one before; either outcome is legal, and both legs always end."""
        self.start(ring_timeout=10, queue_timeout=20, after_call_work=0)
        outcomes = []
        port = None  # each round's phone takes over the binding of the one before
        for round_ in range(3):
            try:
                outcomes.append(self.crossing_round(phone_scenario, round_, port))
            except AssertionError as e:
                raise AssertionError(f"round {round_} (after {outcomes}): {e}") from None
            port = self.peers[-2].port  # the phone's (the PBX started after it)
        print(f"\n    outcomes: {', '.join(outcomes)}", flush=True)
        self.assert_no_stuck_leg()

    def crossing_round(self, phone_scenario, round_, port):
        """One race; returns its outcome."""
        phone = self.desk(phone_scenario, f"phone{round_}", port=port)
        mark = self.events.mark()
        # Round 0 CANCELs the moment the 180 arrives, rounds 1 and 2 a millisecond
        # or two later: the race lands on both sides whatever the load.
        pbx = Trunk(self.d, "race_trunk_cancel_on_180", name=f"pbx{round_}", talk_ms=round_)
        pbx.cmd.append("-pause_msg_ign")  # see the scenario: what comes in its jitter is read later
        self.sipp(pbx)
        sid = self.events.expect("callIn", ALICE, since=mark)["data"]["sessionId"]
        self.success(pbx, phone)
        final = pbx.final_status()
        self.assertIn(final, (200, 487), pbx.summary())
        # Whatever won, the phone's 200 was ACKed and the dialog ended with BYE.
        acks, byes = phone.received("ACK"), phone.received("BYE")
        self.assertTrue(acks, phone.summary())
        self.assertEqual(len(byes), 1, phone.summary())
        ok = [m for m in phone.sent(status=200) if m.cseq_method() == "INVITE"][0]
        self.assertEqual(cseq(acks[0])[0], cseq(ok)[0], "the ACK has the INVITE's CSeq number")
        self.assertEqual(tag(byes[0].get("to")), tag(ok.get("to")), "the BYE is in the dialog the 200 made")
        if final == 487:
            # 200 to the CANCEL, 487 to the INVITE (RFC 3261 section 9.2); the
            # phone's crossing 200 was ACKed and BYEd (section 9.1).
            self.assertEqual(self.responses(pbx, "CANCEL"), [200], pbx.summary())
            self.assertFalse(pbx.received("BYE"), pbx.summary())
            self.assert_ended(sid, ALICE, "client", end_state="ringingGiveUp", talked=False)
            self.assertFalse([e for e in self.events.seen[mark:] if e["event"] == "userAccessed"])
            return "cancelled"
        # The 2xx won: the PBX ACKed and BYEd it; nta answered the CANCEL 481,
        # the INVITE being answered already (or the 200 reached the PBX before
        # it sent its CANCEL, and it sent none).
        cancelled = bool(pbx.sent("CANCEL"))
        self.assertEqual(self.responses(pbx, "CANCEL"), [481] if cancelled else [], pbx.summary())
        self.assertEqual(sdp_media(pbx.answer()), (PHONE_HOST, phone.rtp_port))
        self.assertEqual(self.responses(pbx, "BYE"), [200], pbx.summary())
        self.expect("userAccessed", ALICE, since=mark, sessionId=sid)
        self.assert_ended(sid, ALICE, "client")
        return "bridged" if cancelled else "answered first"

    def test_phone_answers_200_after_seatbridges_cancel(self):
        # ringTimeout 1 s: seatbridge CANCELs alice's phone, which answers the
        # CANCEL 200 and then the INVITE 200 (not 487). seatbridge ACKs and BYEs
        # that 2xx (RFC 3261 section 9.1) and moves the call on to bob.
        self.start(ring_timeout=1, queue_timeout=20, online=(ALICE, BOB))
        alice = self.desk("race_phone_answer_after_cancel", "alice", extension="1001")
        bob = self.desk("phone_answer", "bob", extension="1002")
        pbx = self.trunk("trunk_call_hangup", talk_ms=300)

        sid = self.assert_call_in(self.expect("callIn", ALICE), ALICE, 1)
        moved = self.expect("autoTransfer", ALICE, sessionId=sid)
        self.events.expect("statusChanged", ALICE, since=self.events.after(moved), status="free")
        self.assert_call_in(self.expect("callIn", BOB, sessionId=sid), BOB, 1)
        self.expect("userAccessed", BOB, sessionId=sid)
        self.success(alice, bob, pbx)

        invite = alice.received("INVITE")[0]
        self.assertTrue(alice.received("CANCEL"), alice.summary())
        ok = [m for m in alice.sent(status=200) if m.cseq_method() == "INVITE"]
        self.assertTrue(ok, alice.summary())
        ack, bye = alice.received("ACK"), alice.received("BYE")
        self.assertEqual(len(ack), 1, alice.summary())
        self.assertEqual(len(bye), 1, alice.summary())
        self.assertEqual(cseq(ack[0]), (cseq(invite)[0], "ACK"), "the ACK has the INVITE's CSeq number")
        self.assertEqual(tag(bye[0].get("to")), tag(ok[0].get("to")), "the BYE ends the dialog that 2xx made")
        self.assertEqual(bye[0].get("call-id"), invite.get("call-id"))
        self.assert_bridged(pbx, bob)

        ended = self.assert_ended(sid, BOB, "client")
        # Alice never talked: no userAccessed, no wrap-up, and free since the move.
        self.assertFalse([e for e in self.events.seen if e["event"] == "userAccessed" and e.get("userId") == ALICE])
        self.assertEqual(self.events.status_changes(ALICE, self.events.after(moved)), ["free"])
        self.assertNotIn(ALICE, [e.get("userId") for e in self.events.seen[self.events.after(ended):]
                                 if e["event"] == "statusChanged"])
        self.assert_no_stuck_leg()


class AckRaces(RaceTest):
    def bye_before_ack(self, scenario):
        self.start()
        phone = self.desk("phone_answer", "phone")
        pbx = self.trunk(scenario)
        sid = self.answered()
        self.success(pbx, phone)
        self.assertEqual(self.responses(pbx, "BYE"), [200], pbx.summary())
        self.assertEqual(len(phone.received("BYE")), 1, "the customer's BYE went on to the phone")
        self.assert_ended(sid, ALICE, "client")
        return pbx

    def test_bye_before_ack(self):
        pbx = self.bye_before_ack("race_trunk_bye_before_ack")
        order = [m.method for m in pbx.sent() if m.method in ("BYE", "ACK")]
        self.assertEqual(order, ["BYE", "ACK"], pbx.summary())
        self.assert_no_stuck_leg()

    def test_bye_and_the_ack_never_comes(self):
        pbx = self.bye_before_ack("race_trunk_bye_no_ack")
        self.assertFalse(pbx.sent("ACK"), pbx.summary())
        self.assert_no_stuck_leg()

    def test_phone_info_before_the_customers_ack(self):
        # The phone sends an INFO right after answering; the PBX holds its ACK
        # until that INFO has reached it. The customer's dialog is up once the
        # PBX has our 2xx, so the INFO is relayed (not refused 481, which would
        # end the phone's dialog, RFC 3261 section 12.2.1.2).
        phone, pbx, sid = self.call_through("race_phone_info_at_once", "race_trunk_ack_after_info")
        info = pbx.received("INFO")[0]
        self.assertIn("Signal=7", info.body)
        self.assertEqual(info.get("content-type"), "application/dtmf-relay")
        order = [m.method or m.status for m in pbx.messages() if m.method in ("INFO", "ACK", "BYE") or m.status == 200]
        self.assertLess(order.index("INFO"), order.index("ACK"), pbx.summary())
        self.assertEqual([m.status for m in phone.received() if m.status and m.cseq_method() == "INFO"], [200])
        self.assertEqual(len(phone.received("BYE")), 1)
        self.assert_ended(sid, ALICE, "client")
        self.assert_no_stuck_leg()

    def test_ack_never_comes_timer_h(self):
        # RFC 3261 section 13.3.1.4: the 200 is retransmitted until Timer H
        # (64*T1); then the session is over and both legs get BYE.
        self.start(t1x64_ms=T1X64_MS)
        phone = self.desk("phone_answer", "phone", timeout=LONG)
        pbx = self.sipp(Trunk(self.d, "race_trunk_no_ack", timeout=LONG))
        sid = self.answered()
        accessed = self.accessed
        pbx.wait_trace(lambda msgs: len([m for m in msgs if m.status == 200 and m.direction == "received"]) >= 2,
                       "receive the 200 again (retransmitted)")
        self.success(pbx, phone)
        ended = self.expect("sessionEnded", ALICE, sessionId=sid)
        self.assertGreaterEqual(ended["_at"] - accessed["_at"], T1X64 - 2, "the session lasted until Timer H")
        self.assertFalse(pbx.sent("ACK"))
        self.assertEqual(len(pbx.received("BYE")), 1, pbx.summary())
        self.assertEqual(len(phone.received("BYE")), 1, phone.summary())
        self.assertGreaterEqual(len([m for m in pbx.received(status=200) if m.cseq_method() == "INVITE"]), 5,
                                "the 200 was retransmitted until Timer H")
        self.assert_ended(sid, ALICE, "client")
        self.assert_no_stuck_leg()


    def test_offerless_invite_and_the_ack_never_comes(self):
        # The phone's 200 carries the offer, so its ACK waits for the answer in
        # the customer's ACK (RFC 3264 section 5), which never comes: at Timer H
        # the phone's 200 is ACKed as it is, then both legs get BYE.
        self.start(t1x64_ms=T1X64_MS)
        phone = SamePortPhone(self.d, "1001", "phone_answer_offerless", name="phone", timeout=LONG)
        # A phone retransmits its 200 until 64*T1 (RFC 3261 section 13.3.1.4)
        # and then gives up, racing seatbridge's Timer H; SIPp's own limit is
        # shorter, so this one sends its 200 once (-nr) and waits for the ACK.
        phone.cmd += ["-nr"]
        self.sipp(phone)
        phone.wait_register_answered()
        phone.wait_registered(self.events)
        pbx = self.sipp(Trunk(self.d, "race_trunk_offerless_no_ack", timeout=LONG))
        sid = self.answered()
        self.success(pbx, phone)
        self.assertFalse(pbx.sent("ACK"))
        self.assertEqual(len(pbx.received("BYE")), 1, pbx.summary())
        self.assertEqual(sdp_media(pbx.answer())[0], PHONE_HOST, "the customer got the phone's offer")
        self.assertEqual([m.method for m in phone.received() if m.method in ("ACK", "BYE")], ["ACK", "BYE"],
                         phone.summary())
        self.assertEqual(phone.received("ACK")[0].body.strip(), "", "no answer to pass on")
        self.assert_ended(sid, ALICE, "client")
        self.assert_no_stuck_leg()


class MidCallRequests(RaceTest):
    def test_reinvite_glare(self):
        phone, pbx, sid = self.call_through("race_phone_glare", "race_trunk_glare")
        # RFC 3261 section 14.2: each side lost one round with 491.
        pbx_invites = [(cseq(m)[0], m.status) for m in pbx.received() if m.status and m.cseq_method() == "INVITE"
                       and m.status >= 200]
        self.assertIn((2, 491), pbx_invites, pbx.summary())  # its re-INVITE crossed the phone's: refused by the phone
        self.assertIn((3, 491), pbx_invites, pbx.summary())  # crossed the phone's at seatbridge: refused there
        self.assertIn((4, 200), pbx_invites, pbx.summary())  # the retry went through
        phone_invites = [(cseq(m)[0], m.status) for m in phone.received() if m.status and m.cseq_method() == "INVITE"]
        self.assertIn((1, 491), phone_invites, phone.summary())  # refused by seatbridge
        self.assertIn((2, 491), phone_invites, phone.summary())  # refused by the PBX, relayed
        retry_ok = [m for m in pbx.received(status=200) if cseq(m) == (4, "INVITE")][0]
        self.assertIn("a=recvonly", retry_ok.body)
        self.assertEqual(sdp_media(retry_ok), (PHONE_HOST, phone.rtp_port))
        # The call stayed up through it all and ended with the customer's BYE.
        self.assertEqual(len(phone.received("BYE")), 1, phone.summary())
        self.assert_ended(sid, ALICE, "client")
        self.assert_no_stuck_leg()

    def test_reinvite_and_info_relayed_end_to_end(self):
        phone, pbx, sid = self.call_through("race_phone_reinvite_info", "race_trunk_reinvite_info")

        first, reinvite = phone.received("INVITE")[:2]
        self.assertEqual(reinvite.get("call-id"), first.get("call-id"), "the re-INVITE is in the phone's dialog")
        self.assertEqual(tag(reinvite.get("from")), tag(first.get("from")))
        self.assertIn("a=sendonly", reinvite.body, "the PBX's hold offer reached the phone")
        self.assertEqual(sdp_media(reinvite), (TRUNK_HOST, pbx.rtp_port))
        ok = [m for m in pbx.received(status=200) if cseq(m) == (2, "INVITE")][0]
        self.assertIn("a=recvonly", ok.body, "the phone's answer reached the PBX")
        self.assertEqual(sdp_media(ok), (PHONE_HOST, phone.rtp_port))
        self.assertIn(cseq(reinvite)[0], [cseq(m)[0] for m in phone.received("ACK")], "seatbridge ACKed the 200")

        info = phone.received("INFO")[0]
        self.assertEqual(info.get("content-type"), "application/dtmf-relay")
        self.assertIn("Signal=5", info.body)
        self.assertEqual(self.responses(pbx, "INFO"), [200], pbx.summary())
        self.assertEqual(len(phone.received("BYE")), 1)
        self.assert_ended(sid, ALICE, "client")
        self.assert_no_stuck_leg()


    def test_reinvite_without_an_offer_gets_its_answer_from_the_senders_ack(self):
        # RFC 3264 section 5: the phone's 200 to an offerless re-INVITE is the
        # offer; the PBX answers in its ACK, and only that ACK, carried across,
        # may ACK the phone's 200.
        phone, pbx, sid = self.call_through("race_phone_reinvite_offerless", "race_trunk_reinvite_offerless")

        reinvite = phone.received("INVITE")[1]
        self.assertEqual(reinvite.body.strip(), "", "no offer in the relayed re-INVITE either")
        ok = [m for m in pbx.received(status=200) if cseq(m) == (2, "INVITE")][0]
        self.assertEqual(sdp_media(ok), (PHONE_HOST, phone.rtp_port), "the phone's offer reached the PBX")
        acks = [m for m in phone.received("ACK") if cseq(m)[0] == cseq(reinvite)[0]]
        self.assertEqual(len(acks), 1, phone.summary())
        self.assertIn("a=sendonly", acks[0].body, "the PBX's answer reached the phone in the ACK")
        self.assertEqual(sdp_media(acks[0]), (TRUNK_HOST, pbx.rtp_port))
        self.assertEqual(self.responses(pbx, "INFO"), [200], pbx.summary())
        self.assert_ended(sid, ALICE, "client")
        self.assert_no_stuck_leg()


class VanishingLegs(RaceTest):
    def lost_phone(self, phone_scenario, pbx_scenario, method, timeout=None, t1x64_ms=None):
        """The phone answers, then is gone (or deaf, or forgot the call); the
        PBX's mid-call `method` fails, the call ends with BYE to the PBX."""
        self.start(t1x64_ms=t1x64_ms)
        phone = self.desk(phone_scenario, "phone", timeout=timeout or 30)
        pbx = self.sipp(Trunk(self.d, pbx_scenario, timeout=timeout or 30))
        sid = self.answered()
        phone.wait_received("ACK")
        if phone_scenario == "race_phone_vanish":
            self.success(phone)  # its SIPp is gone: nothing listens on its port
        pbx.poke()
        self.poked_at = time.monotonic()
        self.success(pbx, phone)
        # The mid-call request is CSeq 2 (INVITE: final answers only).
        status = [m.status for m in pbx.received() if m.status and cseq(m) == (2, method) and m.status >= 200]
        self.assertLessEqual(len(status), 1, pbx.summary())
        self.assertEqual(len(pbx.received("BYE")), 1, "seatbridge ended the call on the PBX's side")
        self.assert_ended(sid, ALICE, "seat")
        return (status or [None])[0], phone

    def test_reinvite_to_a_phone_that_vanished(self):
        status, _ = self.lost_phone("race_phone_vanish", "race_trunk_reinvite_lost_phone", "INVITE")
        self.assertIn(status, (408, 503), "no answer, or the phone's address unreachable")
        self.assert_no_stuck_leg()

    def test_info_to_a_phone_that_forgot_the_call(self):
        status, phone = self.lost_phone("race_phone_forgets", "race_trunk_info_lost_phone", "INFO")
        self.assertEqual(status, 481)
        self.assertFalse(phone.received("BYE"), "a 481 dialog gets no BYE")
        self.assert_no_stuck_leg()

    def test_reinvite_to_a_phone_that_forgot_the_call(self):
        status, phone = self.lost_phone("race_phone_forgets", "race_trunk_reinvite_lost_phone", "INVITE")
        self.assertEqual(status, 481)
        self.assert_no_stuck_leg()

    def test_info_to_a_phone_that_stopped_answering_timer_f(self):
        # The INFO relayed to a silent phone times out (Timer F, 64*T1).
        status, phone = self.lost_phone("race_phone_deaf", "race_trunk_info_lost_phone", "INFO", timeout=LONG,
                                        t1x64_ms=T1X64_MS)
        # RFC 4320 section 4.2: nta sends no 408 to the PBX's INFO (its own
        # transaction has timed out too); the BYE says it all.
        self.assertIsNone(status)
        self.assertGreaterEqual(self.ended_at - self.poked_at, T1X64 - 2, "the INFO timed out after 64*T1")
        self.assertGreater(len(phone.received("INFO")), 1, "seatbridge retransmitted the INFO")
        self.assertEqual(len(phone.received("BYE")), 1, "the timed-out dialog is ended with BYE")
        self.assert_no_stuck_leg()


class Drain(RaceTest):
    def test_sigterm_with_a_live_call(self):
        # shutdown.drainSeconds 2: new INVITEs get 503 with Retry-After, the
        # live call runs on until the deadline, then both legs get BYE,
        # sessionEnded says closeBy admin, and the daemon exits 0.
        self.start(drain=2)
        phone = self.desk("phone_answer", "phone")
        pbx = self.trunk("trunk_call")
        sid = self.answered()
        pbx.wait_sent("ACK")

        started = time.monotonic()
        self.d.signal(signal.SIGTERM)
        self.wait(lambda: self.events.ok("Gateway.status").get("draining"), "the daemon draining")
        late = self.sipp(Trunk(self.d, "trunk_rejected", name="late", port=0))
        self.success(late)
        self.assertEqual(late.final_status(), 503)
        refused = [m for m in late.received(status=503)][0]
        self.assertTrue(refused.get("retry-after"), refused.raw)
        self.assertTrue(pbx.running() and phone.running(), "the live call runs on while draining")
        self.assertNotEqual(self.events.session(sid)["state"], "ended")
        self.assertEqual(len(self.events.sessions()), 1, "the refused INVITE made no session")

        ended = self.expect("sessionEnded", ALICE, sessionId=sid, timeout=15)
        self.assertEqual(ended["data"]["closeBy"], "admin")
        self.assertEqual(ended["data"]["mainReason"], "shutdown")
        self.assertGreaterEqual(ended["_at"] - started, 2 - 0.5, "the call ran on for drainSeconds")
        self.events.expect("statusChanged", ALICE, since=self.events.after(ended), status="free")
        self.success(pbx, phone)  # each got its BYE and answered it
        self.assertEqual(len(pbx.received("BYE")), 1)
        self.assertEqual(len(phone.received("BYE")), 1)
        self.assertEqual(self.d.proc.wait(15), 0)

    def test_sigterm_then_the_call_ends_by_itself(self):
        # The live call ends before drainSeconds: the daemon exits once it has.
        self.start(drain=DRAIN_SECONDS)
        phone = self.desk("phone_answer", "phone")
        pbx = self.sipp(Trunk(self.d, "race_trunk_hangup_on_poke"))
        sid = self.answered()
        pbx.wait_sent("ACK")
        started = time.monotonic()
        self.d.signal(signal.SIGTERM)
        self.wait(lambda: self.events.ok("Gateway.status").get("draining"), "the daemon draining")
        pbx.poke()  # the customer hangs up now
        self.success(pbx, phone)
        ended = self.expect("sessionEnded", ALICE, sessionId=sid)
        self.assertEqual(ended["data"]["closeBy"], "client")
        self.events.expect("statusChanged", ALICE, since=self.events.after(ended), status="free")
        self.assertEqual(self.d.proc.wait(DRAIN_SECONDS + 15), 0)
        self.assertLess(time.monotonic() - started, NO_LEG_EXIT, "the drain ended with the last call")


if __name__ == "__main__":
    unittest.main(verbosity=2)
