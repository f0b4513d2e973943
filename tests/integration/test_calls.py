"""Inbound calls end to end: a SIPp PBX on the trunk's address (127.0.0.2)
calls the sales number, seatbridge queues the call and rings the agents' desk
phones (SIPp scripts registered as 1001 / 1002), and every step shows on the
control socket (callIn, userAccessed, autoTransfer, sessionEnded, statusChanged),
in Gateway.listSessions and in the metrics.

ScenarioSelfTest runs the SIPp scenarios against each other without the daemon,
so a broken scenario shows as such and not as a daemon bug."""
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from calls import (ALICE, BOB, CUSTOMER, NUMBER, PHONE_HOST, TRUNK_HOST, Events, Phone, Sipp, Trunk, call_daemon,
                   sdp_media)
from harness import SipPhone, free_port, wait_for

CALL_IN_FIELDS = {"sessionId", "type", "timeout", "callerPhoneNumber", "calleePhoneNumber", "serverType", "remark",
                  "ivrPath", "callerLocation", "protectedCallee", "protectedCaller"}


class CallTest(unittest.TestCase):
    """One daemon per test, the sales group's timers as the test needs them."""

    def start(self, ring_timeout=2, queue_timeout=3, after_call_work=0, online=(ALICE,), mutate=None):
        self.peers = []
        self.d = call_daemon(ring_timeout, queue_timeout, after_call_work, mutate)
        self.addCleanup(self.d.close)
        self.d.start()
        self.events = Events(self.d)
        self.events.context = self.context
        self.addCleanup(self.events.close)
        for user in online:
            self.events.ok("Agent.online", {"userId": user})
            self.events.expect("statusChanged", user, status="free")
        return self.d

    def sipp(self, s):
        """Starts a SIPp and closes it (killing it if need be) after the test."""
        self.addCleanup(s.close)
        self.peers.append(s)
        return s.start()

    def context(self):
        """What a failure message adds: each SIPp's steps and the daemon's last log lines."""
        try:  # a daemon that just crashed closes the control socket before it is reaped
            rc = self.d.proc.wait(0.5)
        except subprocess.TimeoutExpired:
            rc = None
        daemon = "running" if rc is None else f"exited {rc}"
        return "\n".join(["--- peers:"] + [s.summary() for s in self.peers] +
                         [f"--- daemon ({daemon}) log (tail):", self.d.logs()[-4000:]])

    def wait(self, predicate, what, timeout=10):
        try:
            return wait_for(predicate, timeout, what)
        except AssertionError as e:
            raise AssertionError(f"{e}\n{self.context()}") from None

    def phone(self, extension="1001", answer="phone_answer", talk_ms=0):
        p = self.sipp(Phone(self.d, extension, answer, talk_ms))
        p.wait_registered(self.events)
        return p

    def trunk(self, scenario="trunk_call", **kw):
        return self.sipp(Trunk(self.d, scenario, **kw))

    def live_sessions(self):
        return [r for r in self.events.sessions() if r.get("state") != "ended"]

    def metric(self, name, **labels):
        return self.d.metric(name, labels) or 0

    def success(self, *sipps):
        """Each SIPp exits 0 (else the failure shows its trace and the daemon's log)."""
        for s in sipps:
            rc = s.wait()
            if rc != 0:
                raise AssertionError(f"{s.name} exited {rc}\n{s.logs()}\n{self.context()}")

    def assert_call_in(self, event, user, timeout):
        self.assertEqual(event["userId"], user)
        data = event["data"]
        self.assertTrue(CALL_IN_FIELDS <= set(data), f"callIn lacks {CALL_IN_FIELDS - set(data)}: {data}")
        self.assertIsInstance(data["sessionId"], str)
        self.assertTrue(data["sessionId"])
        self.assertEqual(data["type"], "phone")
        self.assertEqual(data["timeout"], timeout)
        self.assertEqual(data["callerPhoneNumber"], CUSTOMER)
        self.assertEqual(data["calleePhoneNumber"], NUMBER)
        self.assertEqual(data["serverType"], "staffExtensionSeat")
        self.assertEqual(data["ivrPath"], [])
        self.assertEqual(data["callerLocation"], "")
        return data["sessionId"]

    def assert_trying_then_ringing(self, pbx, final):
        """The PBX got 100 Trying, then 180 Ringing, then the final answer."""
        steps = [m.status for m in pbx.received() if m.status and m.cseq_method() == "INVITE"]
        self.assertIn(final, steps, pbx.summary())
        early = steps[:steps.index(final)]
        self.assertIn(100, early, pbx.summary())
        self.assertIn(180, early, pbx.summary())
        self.assertLess(early.index(100), early.index(180), pbx.summary())

    def assert_bridged(self, pbx, phone):
        """The phone got an INVITE to its registered Contact with an SDP offer,
        and the PBX's 200 carries the phone's SDP answer."""
        invite = phone.invite()
        self.assertIsNotNone(invite, phone.logs())
        self.assertEqual(invite.first.split()[1].split(";")[0], phone.contact, invite.first)
        self.assertIsNotNone(sdp_media(invite)[1], invite.raw)
        answer = pbx.answer()
        self.assertIsNotNone(answer, pbx.logs())
        self.assertEqual(sdp_media(answer), (PHONE_HOST, phone.rtp_port), answer.raw)
        self.assert_trying_then_ringing(pbx, 200)

    def assert_row(self, session_id, **fields):
        row = self.events.session(session_id)
        self.assertIsNotNone(row, f"no session {session_id} in {self.events.sessions()}")
        for key in ("sessionId", "state", "callerPhoneNumber", "calleePhoneNumber", "userId", "endState", "closeBy"):
            self.assertIn(key, row)
        for key, value in fields.items():
            self.assertEqual(row[key], value, f"{key} of {row}")
        return row


class AnsweredCalls(CallTest):
    def test_answered_then_the_customer_hangs_up(self):
        self.start(ring_timeout=5, queue_timeout=10, after_call_work=1)
        phone = self.phone("1001", "phone_answer")
        mark = self.events.mark()
        pbx = self.trunk("trunk_call_hangup", talk_ms=1000)

        sid = self.assert_call_in(self.events.expect("callIn", ALICE), ALICE, 5)
        self.events.expect("statusChanged", ALICE, since=mark, status="busy")
        accessed = self.events.expect("userAccessed", ALICE, sessionId=sid)
        self.assertEqual(accessed["data"], {"sessionId": sid, "tabUUID": ""})
        self.success(pbx, phone)
        self.assert_bridged(pbx, phone)
        self.assertTrue(phone.received("BYE"), "seatbridge passed the customer's BYE on")

        ended = self.events.expect("sessionEnded", ALICE, sessionId=sid)
        self.assertEqual(ended["data"]["closeBy"], "client")
        self.assertIn("mainReason", ended["data"])
        self.assertIn("subReason", ended["data"])
        after = self.events.after(ended)
        self.events.expect("statusChanged", ALICE, since=after, status="free", timeout=10)
        self.assertEqual(self.events.status_changes(ALICE, after), ["arrange", "free"])

        self.assert_row(sid, state="ended", closeBy="client", userId=ALICE, callerPhoneNumber=CUSTOMER,
                        calleePhoneNumber=NUMBER)
        self.wait(lambda: self.metric("seatbridge_sessions_active", type="phone") == 0, "no active session")
        self.wait(lambda: self.metric("seatbridge_sessions_total", type="phone", closeBy="client") == 1,
                  "one session closed by the client")

    def test_answered_then_the_agent_hangs_up(self):
        self.start(ring_timeout=5, queue_timeout=10, after_call_work=0)
        phone = self.phone("1001", "phone_answer_hangup", talk_ms=1000)
        pbx = self.trunk("trunk_call")

        sid = self.assert_call_in(self.events.expect("callIn", ALICE), ALICE, 5)
        self.events.expect("userAccessed", ALICE, sessionId=sid)
        self.success(pbx, phone)
        self.assert_bridged(pbx, phone)
        self.assertTrue(pbx.received("BYE"), "seatbridge passed the agent's BYE on")

        ended = self.events.expect("sessionEnded", ALICE, sessionId=sid)
        self.assertEqual(ended["data"]["closeBy"], "seat")
        after = self.events.after(ended)
        self.events.expect("statusChanged", ALICE, since=after, status="free")
        self.assertEqual(self.events.status_changes(ALICE, after), ["free"], "no wrap-up with afterCallWork 0")
        self.assert_row(sid, state="ended", closeBy="seat", userId=ALICE)

    def test_call_hung_up_over_the_socket_and_the_session_metrics(self):
        self.start(ring_timeout=5, queue_timeout=10)
        self.assertEqual(self.metric("seatbridge_sessions_active", type="phone"), 0)
        phone = self.phone("1001", "phone_answer")
        pbx = self.trunk("trunk_call")  # both sides wait for seatbridge's BYE

        sid = self.assert_call_in(self.events.expect("callIn", ALICE), ALICE, 5)
        self.events.expect("userAccessed", ALICE, sessionId=sid)
        self.wait(lambda: self.metric("seatbridge_sessions_active", type="phone") == 1, "one active session")
        pbx.wait_sent("ACK")
        self.assert_row(sid, userId=ALICE)
        self.assertTrue(pbx.running() and phone.running(), "the call is up until Call.hungUp")

        self.events.ok("Call.hungUp", {"userId": ALICE, "sessionId": sid})
        self.success(pbx, phone)  # each got a BYE and answered it
        ended = self.events.expect("sessionEnded", ALICE, sessionId=sid)
        self.assertEqual(ended["data"]["closeBy"], "seat")
        self.events.expect("statusChanged", ALICE, status="free")
        self.assert_row(sid, state="ended", closeBy="seat")
        self.wait(lambda: self.metric("seatbridge_sessions_active", type="phone") == 0, "no active session")
        self.wait(lambda: self.metric("seatbridge_sessions_total", type="phone", closeBy="seat") == 1,
                  "one session closed by the seat")
        self.assertEqual(self.metric("seatbridge_sessions_total", type="phone", closeBy="client"), 0)


class OffersMovingOn(CallTest):
    def test_ring_timeout_moves_the_call_to_the_next_agent(self):
        self.start(ring_timeout=2, queue_timeout=20, online=(ALICE, BOB))
        alice = self.phone("1001", "phone_noanswer")
        bob = self.phone("1002", "phone_answer")
        mark = self.events.mark()
        pbx = self.trunk("trunk_call_hangup", talk_ms=500)

        first = self.events.expect("callIn", ALICE)
        sid = self.assert_call_in(first, ALICE, 2)
        self.events.expect("statusChanged", ALICE, since=mark, status="busy")
        moved = self.events.expect("autoTransfer", ALICE, sessionId=sid, timeout=10)
        self.assertEqual(moved["data"], {"sessionId": sid})
        self.assertGreaterEqual(moved["_at"] - first["_at"], 2 - 1, "the offer rang for ringTimeout")
        self.events.expect("statusChanged", ALICE, since=self.events.after(moved), status="free")
        second = self.events.expect("callIn", BOB, since=self.events.after(moved), sessionId=sid)
        self.assert_call_in(second, BOB, 2)
        self.events.expect("userAccessed", BOB, sessionId=sid)

        self.success(alice, pbx, bob)  # alice's phone got the CANCEL, answered 200 and 487
        self.assertTrue(alice.received("CANCEL"), "seatbridge cancelled the unanswered offer")
        self.assert_bridged(pbx, bob)
        ended = self.events.expect("sessionEnded", BOB, sessionId=sid)
        self.assertEqual(ended["data"]["closeBy"], "client")
        self.assert_row(sid, state="ended", userId=BOB, closeBy="client")

    def test_busy_phone_moves_the_call_to_the_next_agent_at_once(self):
        self.start(ring_timeout=10, queue_timeout=20, online=(ALICE, BOB))
        alice = self.phone("1001", "phone_busy")
        bob = self.phone("1002", "phone_answer")
        pbx = self.trunk("trunk_call_hangup", talk_ms=500)

        first = self.events.expect("callIn", ALICE)
        sid = self.assert_call_in(first, ALICE, 10)
        second = self.events.expect("callIn", BOB, sessionId=sid, timeout=8)
        self.assertLess(second["_at"] - first["_at"], 5, "a 486 does not wait for the ring timeout")
        self.assertFalse([e for e in self.events.between(first, second) if e["event"] == "autoTransfer"],
                         "a rejection is no autoTransfer")
        self.events.expect("userAccessed", BOB, sessionId=sid)
        self.success(alice, pbx, bob)
        self.assert_bridged(pbx, bob)
        ended = self.events.expect("sessionEnded", BOB, sessionId=sid)
        self.assertEqual(ended["data"]["closeBy"], "client")


class CallsThatNeverConnect(CallTest):
    def test_customer_cancels_while_the_phone_rings(self):
        self.start(ring_timeout=15, queue_timeout=20)
        alice = self.phone("1001", "phone_noanswer")
        pbx = self.trunk("trunk_cancel")

        sid = self.assert_call_in(self.events.expect("callIn", ALICE), ALICE, 15)
        alice.wait_sent(status=180)  # her phone rings
        pbx.give_up()  # the customer gives up
        self.success(pbx, alice)  # PBX: 200 to CANCEL, 487, ACK; phone: CANCEL, 200, 487, ACK
        self.assertEqual(pbx.final_status(), 487)
        self.assert_trying_then_ringing(pbx, 487)
        self.assertTrue(alice.received("CANCEL"), "the CANCEL went on to the ringing phone")

        ended = self.events.expect("sessionEnded", ALICE, sessionId=sid)
        self.assertEqual(ended["data"]["closeBy"], "client")
        self.events.expect("statusChanged", ALICE, status="free")
        # An agent was ringing: the SDK's ringingGiveUp (waitingGiveUp is for the queue).
        self.assert_row(sid, state="ended", closeBy="client", endState="ringingGiveUp")
        self.assertFalse([e for e in self.events.seen if e["event"] == "userAccessed"])

    def test_customer_gives_up_in_the_queue(self):
        # Bob is signed in but cannot be rung (no phone registered, no mobile): the call waits.
        self.start(ring_timeout=5, queue_timeout=20, online=(BOB,))
        pbx = self.trunk("trunk_cancel")

        row = self.wait(lambda: next((r for r in self.events.sessions() if r.get("callerPhoneNumber") == CUSTOMER),
                                     None), "the queued session")
        sid = row["sessionId"]
        self.assertEqual(row["calleePhoneNumber"], NUMBER)
        self.assertNotEqual(row["state"], "ended", f"the call waits in the queue: {row}")
        pbx.give_up()
        self.success(pbx)
        self.assertEqual(pbx.final_status(), 487)
        self.assert_trying_then_ringing(pbx, 487)

        ended = self.events.expect("sessionEnded", sessionId=sid)
        self.assertEqual(ended["data"]["closeBy"], "client")
        self.assert_row(sid, state="ended", closeBy="client", endState="waitingGiveUp")
        self.assertFalse([e for e in self.events.seen if e["event"] == "callIn"])

    def queue_times_out(self, online):
        self.start(ring_timeout=2, queue_timeout=3, online=online)
        mark = self.events.mark()
        started = time.monotonic()
        pbx = self.trunk("trunk_rejected")
        self.success(pbx)
        status = pbx.final_status()
        self.assertTrue(status is not None and 400 <= status < 600, f"a 4xx or 5xx, not {status}")
        self.assert_trying_then_ringing(pbx, status)
        self.assertGreaterEqual(time.monotonic() - started, 3 - 0.5, "refused only after queueTimeout")

        ended = self.events.expect("sessionEnded", since=mark)
        self.assertEqual(ended["data"]["closeBy"], "timer")
        self.assert_row(ended["data"]["sessionId"], state="ended", closeBy="timer", callerPhoneNumber=CUSTOMER)
        self.assertFalse([e for e in self.events.seen[mark:] if e["event"] == "callIn"])

    def test_nobody_signed_in_refuses_the_call_at_once_as_no_seat_online(self):
        self.start(ring_timeout=2, queue_timeout=30, online=())
        mark = self.events.mark()
        started = time.monotonic()
        pbx = self.trunk("trunk_rejected")
        self.success(pbx)
        self.assertEqual(pbx.final_status(), 480)
        self.assertLess(time.monotonic() - started, 10, "refused at once, not after queueTimeout")
        ended = self.events.expect("sessionEnded", since=mark)
        self.assertEqual(ended["data"]["closeBy"], "admin")
        self.assert_row(ended["data"]["sessionId"], state="ended", closeBy="admin", endState="noSeatOnline")

    def test_a_full_queue_refuses_the_next_customer_486_as_busy(self):
        def one_place(cfg):
            next(g for g in cfg["skillGroups"] if g["id"] == "sales")["maxQueueLength"] = 1

        # Bob is signed in but cannot be rung: the first customer waits and fills the queue.
        self.start(ring_timeout=5, queue_timeout=20, online=(BOB,), mutate=one_place)
        first = self.trunk("trunk_cancel")
        waiting = self.wait(lambda: next(iter(self.live_sessions()), None), "the first customer queued")
        mark = self.events.mark()
        second = self.trunk("trunk_rejected", port=free_port(TRUNK_HOST), name="second")
        self.success(second)
        self.assertEqual(second.final_status(), 486)
        ended = self.events.expect("sessionEnded", since=mark)
        self.assertNotEqual(ended["data"]["sessionId"], waiting["sessionId"])
        self.assert_row(ended["data"]["sessionId"], state="ended", closeBy="admin", endState="busy",
                        mainReason="queueFull")
        self.assertEqual(self.metric("seatbridge_calls_refused_total", reason="queueFull"), 1)
        # The waiting customer was not disturbed; when they leave, the place is free again.
        self.assertEqual(self.events.session(waiting["sessionId"])["state"], "offering")
        first.give_up()
        self.success(first)
        self.events.expect("sessionEnded", sessionId=waiting["sessionId"])
        third = self.trunk("trunk_cancel", port=free_port(TRUNK_HOST), name="third")
        self.wait(lambda: next(iter(self.live_sessions()), None), "the third customer queued")
        third.give_up()
        self.success(third)

    def test_queue_timeout_with_an_agent_online_but_no_phone_registered(self):
        # Bob has no mobile, so with no desk phone registered he cannot be rung.
        self.queue_times_out(online=(BOB,))

    def test_unknown_number_gets_404(self):
        self.start()
        pbx = self.trunk("trunk_rejected", number="+15550188888")
        self.success(pbx)
        self.assertEqual(pbx.final_status(), 404)
        self.assertEqual(self.live_sessions(), [])
        self.assertFalse([e for e in self.events.seen if e["event"] == "callIn"])

    def test_untrusted_source_gets_403(self):
        self.start()
        self.phone("1001", "phone_answer")
        stranger = self.trunk("trunk_rejected", host="127.0.0.5", name="stranger")
        self.success(stranger)
        self.assertEqual(stranger.final_status(), 403)
        self.assertEqual(self.live_sessions(), [])
        self.assertFalse([e for e in self.events.seen if e["event"] == "callIn"])


class ScenarioSelfTest(unittest.TestCase):
    """The call scenarios against each other, no daemon: the PBX calls the
    phone's port directly."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="sbsipp-")
        if os.environ.get("SEATBRIDGE_KEEP_TMP") is None:
            self.addCleanup(shutil.rmtree, self.tmp, True)

    def run_sipp(self, s):
        self.addCleanup(s.close)
        return s.start()

    def uas(self, scenario, talk_ms=0):
        rtp_port = free_port(PHONE_HOST)
        s = Sipp(self.tmp, scenario, scenario, PHONE_HOST, args=["-key", "rtp_port", rtp_port, "-d", talk_ms])
        s.rtp_port = rtp_port
        return self.run_sipp(s)

    def uac(self, scenario, target, talk_ms=0):
        class Direct:  # what Trunk needs of a daemon
            tmp = self.tmp
            sip_port = target
            trunk_port = None
        s = Trunk(Direct, scenario, talk_ms=talk_ms, port=free_port(TRUNK_HOST))
        return self.run_sipp(s)

    def ok(self, *sipps):
        for s in sipps:
            rc = s.wait()
            self.assertEqual(rc, 0, f"{s.name} exited {rc}\n{s.logs()}")

    def test_customer_hangs_up(self):
        phone = self.uas("phone_answer")
        pbx = self.uac("trunk_call_hangup", phone.port, talk_ms=200)
        self.ok(pbx, phone)
        self.assertEqual(sdp_media(pbx.answer()), (PHONE_HOST, phone.rtp_port))
        self.assertEqual(len(phone.received("BYE")), 1)

    def test_agent_hangs_up(self):
        phone = self.uas("phone_answer_hangup", talk_ms=200)
        pbx = self.uac("trunk_call", phone.port)
        self.ok(pbx, phone)
        bye = pbx.received("BYE")[0]
        invite = phone.received("INVITE")[0]
        # The BYE speaks in the INVITE's dialog, the sides swapped.
        self.assertEqual(bye.get("call-id"), invite.get("call-id"))
        self.assertEqual(bye.get("to"), invite.get("from"))
        self.assertTrue(bye.get("from").startswith(invite.get("to") + ";tag="), bye.get("from"))

    def test_busy(self):
        phone = self.uas("phone_busy")
        pbx = self.uac("trunk_rejected", phone.port)
        self.ok(pbx, phone)
        self.assertEqual(pbx.final_status(), 486)

    def test_customer_cancels(self):
        phone = self.uas("phone_noanswer")
        pbx = self.uac("trunk_cancel", phone.port)
        phone.wait_sent(status=180)
        pbx.give_up()
        self.ok(pbx, phone)
        self.assertEqual(pbx.final_status(), 487)
        self.assertEqual([m.cseq_method() for m in pbx.received(status=200)], ["CANCEL"])

    def test_phone_registers_then_answers_and_takes_a_keepalive(self):
        registrar = self.run_sipp(Sipp(self.tmp, "registrar", "stub_registrar", PHONE_HOST))

        class Stub:  # what Phone needs of a daemon
            tmp = self.tmp
            sip_port = registrar.port
            config = {"sip": {"domain": "seatbridge.test"}}
        phone = self.run_sipp(Phone(Stub, "1001", "phone_answer"))
        self.ok(registrar)
        self.assertIn(f"Contact: <{phone.contact}>", registrar.received("REGISTER")[-1].raw)
        # A keepalive OPTIONS is answered without disturbing the phone.
        prober = SipPhone(phone.port, "probe", "x")
        self.addCleanup(prober.close)
        prober.send(f"OPTIONS {phone.contact} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{prober.port};branch=z9hG4bKka1\r\n"
                    f"From: <sip:probe@127.0.0.1>;tag=p1\r\nTo: <{phone.contact}>\r\nCall-ID: keepalive-1\r\n"
                    f"CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
        self.assertEqual(prober.response().status, 200)
        self.assertTrue(phone.running())
        pbx = self.uac("trunk_call_hangup", phone.port, talk_ms=200)
        self.ok(pbx, phone)
        self.assertTrue(phone.invite().first.startswith("INVITE sip:+15550199000@"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
