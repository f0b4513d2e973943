"""Issue 10: a supervisor listening in, whispering, barging in and taking
over, judged by what three real softphones heard.

The customer (baresip on the trunk's address, 697 Hz) calls the sales number
and alice's desk phone (1001, 1209 Hz) answers, as in test_calls_audio.py,
with media.mode anchored. Sue is a supervisor of sales (role: supervisor,
supervises: [sales]) at desk phone 1003, a third baresip playing 941 Hz that
answers by itself. Each phase is marked by how much each phone had heard when
it began, and each phone's recording is judged in those windows:
- listen: sue hears both the customer and alice; neither hears sue;
- whisper: alice hears the customer and sue; the customer hears alice alone;
- barge: the customer and alice each hear the other and sue;
- sue hangs up: the monitoring ends (monitorEnded, supervisorHungUp) and the
  call goes on, the customer hearing alice alone again.
Takeover: Call.takeover rings sue, bridges her to the customer on her answer
and hangs up alice's phone (takenOver to both); the customer then hears sue,
and sue hanging up ends the session, now hers."""
import unittest

import test_calls_audio as audio
from test_calls_audio import window
from calls import ALICE

SUE = "sue@example.com"
SUPERVISOR_TONE = 941  # Hz, a DTMF row tone apart from the other two
CUSTOMER_TONE, AGENT_TONE = audio.CUSTOMER_TONE, audio.AGENT_TONE
TONES = (CUSTOMER_TONE, AGENT_TONE, SUPERVISOR_TONE)
MIXED_SHARE = 0.3  # two tones of one amplitude mixed: about half the energy each


class Supervised(audio.AnchoredAudioCall):
    test_customer_and_agent_hear_each_other_the_customer_hangs_up = None
    test_customer_and_agent_hear_each_other_the_agent_hangs_up = None
    SPAN = 2.0  # seconds of each phase

    def more_config(self, cfg):
        cfg["agents"].append({"userId": SUE, "name": "Sue", "extension": "1003", "role": "supervisor",
                              "supervises": ["sales"]})

    def setUp(self):
        super().setUp()
        self.events.ok("Agent.online", {"userId": SUE})
        self.events.expect("statusChanged", SUE, status="free")

    def supervisor_phone(self):
        """Desk phone 1003, sue's, answering by itself."""
        return self.desk_phone("supervisor", "1003", SUPERVISOR_TONE)

    def supervise(self, method, sid, **params):
        r = self.events.call(method, {"userId": SUE, "sessionId": sid, **params})
        self.assertEqual(r.get("status"), "success", r)
        return r["data"]

    def marks(self, *phones):
        return {p.name: p.heard_seconds() for p in phones}

    def span(self, phones, since):
        """Waits until each phone has heard SPAN more seconds than at `since`."""
        for p in phones:
            self.wait(lambda p=p: p.heard_seconds() >= since[p.name] + self.SPAN, f"{p.name}'s span")

    def judge(self, phone, start, end):
        """{tone: share} of what phone heard between its marks (the first 400 ms
        left out: the command's way to the engine and the jitter buffers')."""
        sounding, shares = window(phone.recording("dec"), start[phone.name] + 0.4, end[phone.name], TONES)
        return sounding, shares

    def test_listen_whisper_barge_and_the_supervisor_hanging_up(self):
        agent, customer, sid = self.talking(1.0)
        sup = self.supervisor_phone()
        mark = self.events.mark()
        self.assertEqual(self.supervise("Call.monitor", sid, mode="listen")["mode"], "listen")
        for who in (ALICE, SUE):
            started = self.events.expect("monitorStarted", who, since=mark, sessionId=sid)
            self.assertEqual((started["data"]["mode"], started["data"]["supervisorUserId"]), ("listen", SUE))
        self.phone_event(sup, "CALL_RTPESTAB")
        self.events.expect("statusChanged", SUE, since=mark, status="busy")
        phones = (agent, customer, sup)
        listen = self.marks(*phones)
        self.span(phones, listen)

        whisper = self.marks(*phones)
        self.supervise("Call.monitor", sid, mode="whisper")
        self.events.expect("monitorChanged", ALICE, sessionId=sid, mode="whisper")
        self.span(phones, whisper)

        barge = self.marks(*phones)
        self.supervise("Call.monitor", sid, mode="barge")
        self.events.expect("monitorChanged", SUE, sessionId=sid, mode="barge")
        self.span(phones, barge)

        alone = self.marks(*phones)
        mark = self.events.mark()
        sup.command("hangup")
        ended = self.events.expect("monitorEnded", ALICE, since=mark, sessionId=sid)
        self.assertEqual(ended["data"]["reason"], "supervisorHungUp", ended)
        self.events.expect("statusChanged", SUE, since=mark, status="free")
        self.span((agent, customer), alone)
        self.assertNotEqual(self.events.session(sid).get("state"), "ended", "the call went on")
        end = self.marks(*phones)
        customer.command("hangup")
        self.events.expect("sessionEnded", ALICE, sessionId=sid)
        for p in phones:
            self.assertEqual(p.quit(), 0, p.logs())

        report = {}
        for phase, (start, stop) in {"listen": (listen, whisper), "whisper": (whisper, barge),
                                     "barge": (barge, alone)}.items():
            for p in phones:
                report[(phase, p.name)] = self.judge(p, start, stop)
        for p in (agent, customer):
            report[("alone", p.name)] = self.judge(p, alone, end)
        why = "\n".join(f"{phase:7} {name:10} sounding {s:.2f}: " +
                        ", ".join(f"{f} Hz {100 * v:.0f}%" for f, v in shares.items())
                        for (phase, name), (s, shares) in report.items())

        def share(phase, name, tone):
            return report[(phase, name)][1][tone]

        # listen: sue hears both; nobody hears sue.
        self.assertGreaterEqual(share("listen", "supervisor", CUSTOMER_TONE), MIXED_SHARE, why)
        self.assertGreaterEqual(share("listen", "supervisor", AGENT_TONE), MIXED_SHARE, why)
        self.assertLessEqual(share("listen", "supervisor", SUPERVISOR_TONE), audio.MAX_OWN_SHARE, why)
        self.assertGreaterEqual(share("listen", "agent", CUSTOMER_TONE), audio.MIN_SHARE, why)
        self.assertGreaterEqual(share("listen", "customer", AGENT_TONE), audio.MIN_SHARE, why)
        for name in ("agent", "customer"):
            self.assertLessEqual(share("listen", name, SUPERVISOR_TONE), audio.MAX_OWN_SHARE, why)
        # whisper: alice hears sue and the customer; the customer does not hear sue.
        self.assertGreaterEqual(share("whisper", "agent", SUPERVISOR_TONE), MIXED_SHARE, why)
        self.assertGreaterEqual(share("whisper", "agent", CUSTOMER_TONE), MIXED_SHARE, why)
        self.assertLessEqual(share("whisper", "customer", SUPERVISOR_TONE), audio.MAX_OWN_SHARE, why)
        self.assertGreaterEqual(share("whisper", "customer", AGENT_TONE), audio.MIN_SHARE, why)
        self.assertGreaterEqual(share("whisper", "supervisor", CUSTOMER_TONE), MIXED_SHARE, why)
        # barge: both hear sue.
        self.assertGreaterEqual(share("barge", "customer", SUPERVISOR_TONE), MIXED_SHARE, why)
        self.assertGreaterEqual(share("barge", "customer", AGENT_TONE), MIXED_SHARE, why)
        self.assertGreaterEqual(share("barge", "agent", SUPERVISOR_TONE), MIXED_SHARE, why)
        self.assertGreaterEqual(share("barge", "agent", CUSTOMER_TONE), MIXED_SHARE, why)
        # sue gone: the two hear each other alone.
        self.assertGreaterEqual(share("alone", "customer", AGENT_TONE), audio.MIN_SHARE, why)
        self.assertLessEqual(share("alone", "customer", SUPERVISOR_TONE), audio.MAX_OWN_SHARE, why)
        self.assertGreaterEqual(share("alone", "agent", CUSTOMER_TONE), audio.MIN_SHARE, why)
        for (phase, name), (sounding, _) in report.items():
            self.assertGreaterEqual(sounding, 0.9, f"{phase} {name}: silence\n{why}")

    def test_takeover_puts_the_supervisor_in_the_agents_place(self):
        agent, customer, sid = self.talking(1.0)
        sup = self.supervisor_phone()
        mark = self.events.mark()
        self.supervise("Call.takeover", sid)
        for who in (ALICE, SUE):
            taken = self.events.expect("takenOver", who, since=mark, sessionId=sid)
            self.assertEqual((taken["data"]["userId"], taken["data"]["previousUserId"]), (SUE, ALICE), taken)
        self.phone_event(agent, "CALL_CLOSED")  # alice's leg is hung up
        self.events.expect("statusChanged", ALICE, since=mark, status="free")  # afterCallWork 0 here
        self.phone_event(sup, "CALL_RTPESTAB")
        after = self.marks(customer, sup)
        self.span((customer, sup), after)
        end = self.marks(customer, sup)
        self.assertEqual(self.events.session(sid).get("userId"), SUE)
        sup.command("hangup")
        ended = self.events.expect("sessionEnded", SUE, sessionId=sid)
        self.assertEqual(ended["data"]["closeBy"], "seat", ended)
        self.phone_event(customer, "CALL_CLOSED")
        for p in (agent, customer, sup):
            self.assertEqual(p.quit(), 0, p.logs())
        heard_by_customer = self.judge(customer, after, end)
        heard_by_sue = self.judge(sup, after, end)
        why = f"customer: {heard_by_customer}, sue: {heard_by_sue}"
        self.assertGreaterEqual(heard_by_customer[1][SUPERVISOR_TONE], audio.MIN_SHARE, why)
        self.assertLessEqual(heard_by_customer[1][AGENT_TONE], audio.MAX_OWN_SHARE, why)
        self.assertGreaterEqual(heard_by_sue[1][CUSTOMER_TONE], audio.MIN_SHARE, why)
        self.assertLessEqual(heard_by_sue[1][AGENT_TONE], audio.MAX_OWN_SHARE, why)


if __name__ == "__main__":
    unittest.main()
