"""Issue 10: a customer waiting in the queue hears the skill group's
queueMusic as early media.

With media.mode anchored and queueMusic set, seatbridge answers the
customer's offer itself in a 183 Session Progress (its own SDP, one G.711
law) and plays the music (a WAV of MUSIC_HZ) into the customer's leg while
the call waits and rings alice's desk phone (baresip, answering by hand this
time). When alice accepts, the 200 repeats that answer (RFC 3261 §13.2.1),
the music stops and the customer hears the agent's tone. Judged from the
customer's recording (baresip plays and records early media), span by span.
A customer who gives up while the music plays (CANCEL) ends the session
cleanly: ended as ringingGiveUp (alice's phone was ringing), her INVITE
CANCELled, no endpoint left open."""
import os
import shutil
import tempfile
import unittest

from audio.tones import write_tone
from calls import ALICE, NUMBER, PHONE_HOST
import test_calls_audio as audio  # as a module: its own test classes are not run again here
from test_calls_audio import AGENT_TONE, MAX_OWN_SHARE, MIN_SHARE, window

MUSIC_HZ = 852  # a DTMF row tone, apart from both phones' tones
SPAN = 2.0


class QueueMusic(audio.AnchoredAudioCall):
    test_customer_and_agent_hear_each_other_the_customer_hangs_up = None
    test_customer_and_agent_hear_each_other_the_agent_hangs_up = None

    def more_config(self, cfg):
        music_dir = tempfile.mkdtemp(prefix="sbtest-queue-")
        self.addCleanup(shutil.rmtree, music_dir, True)
        cfg["skillGroups"][0]["queueMusic"] = write_tone(os.path.join(music_dir, "queue.wav"), MUSIC_HZ, 3)

    def manual_desk_phone(self):
        """Alice's desk phone, ringing until the test accepts the call."""
        domain = self.d.config["sip"]["domain"]
        proxy = f"sip:127.0.0.1:{self.d.sip_port};transport=udp"
        phone = self.phone("agent", PHONE_HOST,
                           f"<sip:1001@{domain};transport=udp>;auth_pass=pw-1001;"
                           f"outbound1=\"{proxy}\";regint=600;answermode=manual", AGENT_TONE)
        where = f"udp:{PHONE_HOST}:{phone.sip_port}"

        def registered():
            rows = self.events.ok("Gateway.listExtensions").get("extensions", [])
            row = next((r for r in rows if r.get("extensionId") == "1001"), {})
            return any(c.get("source") == where for c in row.get("contacts", []))

        self.wait(registered, f"1001 registered from {where}")
        return phone

    def waiting_with_music(self):
        """The customer dialled, its call offered to alice's ringing phone, and
        SPAN seconds of queue music heard: (agent, customer, sessionId)."""
        agent = self.manual_desk_phone()
        customer = self.customer_phone()
        mark = self.events.mark()
        customer.command("dial", f"sip:{NUMBER}@127.0.0.1:{self.d.sip_port}")
        sid = self.events.expect("callIn", ALICE, since=mark)["data"]["sessionId"]
        self.phone_event(agent, "CALL_INCOMING")
        self.phone_event(customer, "CALL_PROGRESS")  # our 183
        self.wait(lambda: customer.heard_seconds() >= SPAN, "the customer hearing the queue music")
        return agent, customer, sid

    def test_the_waiting_customer_hears_the_queue_music_then_the_agent(self):
        agent, customer, sid = self.waiting_with_music()
        accepted_at = customer.heard_seconds()
        agent.command("accept")
        self.events.expect("userAccessed", ALICE, sessionId=sid)
        self.phone_event(customer, "CALL_ESTABLISHED")
        self.wait(lambda: customer.heard_seconds() >= accepted_at + SPAN + 0.5, "the customer hearing the agent")
        customer.command("hangup")
        self.events.expect("sessionEnded", ALICE, sessionId=sid)
        for p in (agent, customer):
            self.assertEqual(p.quit(), 0, p.logs())
        path = customer.recording("dec")
        self.assertIsNotNone(path, customer.logs())
        tones = (AGENT_TONE, MUSIC_HZ)
        waiting = window(path, 0.3, accepted_at, tones)
        after = window(path, accepted_at + 0.8, accepted_at + SPAN + 0.5, tones)
        why = f"waiting {waiting}, after the answer {after}"
        self.assertGreaterEqual(waiting[0], 0.5, why)  # sound, not silence
        self.assertGreaterEqual(waiting[1][MUSIC_HZ], MIN_SHARE, why)
        self.assertLessEqual(waiting[1][AGENT_TONE], MAX_OWN_SHARE, why)
        self.assertGreaterEqual(after[1][AGENT_TONE], MIN_SHARE, why)
        self.assertLessEqual(after[1][MUSIC_HZ], MAX_OWN_SHARE, why)

    def test_a_customer_giving_up_while_the_music_plays_ends_the_session_cleanly(self):
        agent, customer, sid = self.waiting_with_music()
        customer.command("hangup")  # a CANCEL: the call was never answered
        ended = self.events.expect("sessionEnded", ALICE, sessionId=sid)
        self.assertEqual(ended["data"]["closeBy"], "client", ended)
        self.phone_event(agent, "CALL_CLOSED")  # its ringing INVITE CANCELled in turn
        row = self.events.session(sid)
        self.assertEqual((row.get("state"), row.get("endState")), ("ended", "ringingGiveUp"), row)
        self.wait(lambda: self.d.metric("seatbridge_media_streams", {}) == 0, "every endpoint closed after the call")
        for p in (agent, customer):
            self.assertEqual(p.quit(), 0, p.logs())


class QueueMusicPcmaAgent(QueueMusic):
    """The same wait with a desk phone that knows PCMA alone: our early answer
    fixed PCMU for the customer (the first law it offers), the phone is
    offered PCMU with PCMA beside it, answers PCMA, and the engine
    transcodes: the customer still hears the agent's tone, in PCMU."""
    test_a_customer_giving_up_while_the_music_plays_ends_the_session_cleanly = None

    def phone(self, name, host, account, frequency, sip_port=None):
        if name == "agent":
            account += ";audio_codecs=PCMA"
        return super().phone(name, host, account, frequency, sip_port)

    def test_the_waiting_customer_hears_the_queue_music_then_the_agent(self):
        super().test_the_waiting_customer_hears_the_queue_music_then_the_agent()
        self.assertGreater(self.d.metric("seatbridge_media_transcoded_packets_total", {}), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
