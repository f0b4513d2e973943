"""Issue 8: two real softphones through seatbridge, each hearing the other.

The customer is a baresip on the trunk's address (127.0.0.2, the trunk pbx's
port, no registration) that dials the sales number and plays 697 Hz; the
agent's desk phone is a baresip on 127.0.0.1 registered as extension 1001
(alice) with answermode=auto, playing 1209 Hz. seatbridge queues the trunk's
INVITE, offers it to 1001's contact and bridges the two. In bypass (AudioCall)
it passes the SDP through, so RTP goes from phone to phone; anchored
(AnchoredAudioCall, issue 10) every packet goes through seatbridge's media
engine; SilentPhone kills the agent's phone mid-call and expects the RTP
timeout to end the call. Both dump what they hear (sndfile);
after TALK_SECONDS of audio on both sides one of them hangs up, and the test
checks the control events (callIn, userAccessed, sessionEnded for alice) and,
with a Goertzel filter, that the customer heard mainly 1209 Hz and the agent
mainly 697 Hz: each heard the other, not itself.

The daemon offers MD5 alone: baresip 1.0 (libre 1.1) refuses a challenge list
holding SHA-256 and would only register on its retry 30-60 s later
(test_registrar_baresip.py covers that path)."""
import math
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from audio.baresip import Baresip
from audio.tones import BLOCK, SILENCE_RMS, ToneReport, read_wav, tone_share, write_tone
from calls import ALICE, CUSTOMER, NUMBER, PHONE_HOST, TRUNK_HOST, Events, call_daemon
from harness import wait_for

CUSTOMER_TONE = 697  # Hz, what the customer plays (a DTMF row tone)
AGENT_TONE = 1209    # Hz, what the agent plays (a DTMF column tone)
TALK_SECONDS = 3     # audio each side must have heard before the hang-up
TONE_SECONDS = 30    # longer than any call here: the tone never runs out
MIN_SHARE = 0.8      # the other's tone: at least this share of what one heard
MAX_OWN_SHARE = 0.05  # one's own tone: at most this share (no echo, no loop)


class AudioCall(unittest.TestCase):
    MEDIA = None  # the daemon's media section: None keeps the default (bypass)
    CODECS = ("g711",)  # the phones' codec modules
    RATE = 8000  # their sample rate (aufile plays only a WAV at the codec's rate)

    def setUp(self):
        self.phones = []

        def configure(cfg):
            cfg["security"].update(digestAlgorithms=["MD5"])
            if self.MEDIA:
                cfg["media"] = dict(self.MEDIA)
            self.more_config(cfg)
        self.d = call_daemon(ring_timeout=10, queue_timeout=20, mutate=configure)
        self.addCleanup(self.d.close)
        self.d.start()
        self.events = Events(self.d, timeout=15)
        self.events.context = self.context
        self.addCleanup(self.events.close)
        self.events.ok("Agent.online", {"userId": ALICE})
        self.events.expect("statusChanged", ALICE, status="free")

    def more_config(self, cfg):
        """A subclass's own keys."""

    def context(self):
        """What a failure adds: each phone's events and output, the daemon's log."""
        try:
            rc = self.d.proc.wait(0.5)
        except subprocess.TimeoutExpired:
            rc = None
        parts = []
        for p in self.phones:
            parts += [f"--- {p.name} events: {p.describe()}", p.logs(3000)]
        parts += [f"--- daemon ({'running' if rc is None else f'exited {rc}'}) log (tail):", self.d.logs()[-5000:]]
        return "\n".join(parts)

    def fail_with_context(self, message):
        raise AssertionError(f"{message}\n{self.context()}") from None

    def phone(self, name, host, account, frequency, sip_port=None):
        tone = write_tone(os.path.join(self.d.tmp, f"{name}-{frequency}Hz.wav"), frequency, TONE_SECONDS, rate=self.RATE)
        p = Baresip(self.d.tmp, name, host, account, tone, sip_port=sip_port, codecs=self.CODECS, rate=self.RATE)
        self.addCleanup(p.close)
        self.phones.append(p)
        try:
            return p.start()
        except AssertionError as e:
            self.fail_with_context(str(e))

    def agent_phone(self):
        """Extension 1001's desk phone (alice's), playing AGENT_TONE."""
        return self.desk_phone("agent", "1001", AGENT_TONE)

    def desk_phone(self, name, extension, tone):
        """A desk phone: registers through seatbridge (its address as the
        outbound proxy, the AOR in the configured domain) and answers every
        call at once."""
        domain = self.d.config["sip"]["domain"]
        proxy = f"sip:127.0.0.1:{self.d.sip_port};transport=udp"
        phone = self.phone(name, PHONE_HOST,
                           f"<sip:{extension}@{domain};transport=udp>;auth_pass=pw-{extension};"
                           f"outbound1=\"{proxy}\";regint=600;answermode=auto", tone)
        # Awaited in seatbridge's bindings, not as baresip's REGISTER_OK: it
        # registers as it starts, often before ctrl_tcp has a client to tell.
        # Its Contact user is the AOR's with a suffix (sip:1001-0x55d4...@HOST:PORT).
        where = f"{PHONE_HOST}:{phone.sip_port}"

        def registered():
            rows = self.events.ok("Gateway.listExtensions").get("extensions", [])
            row = next((r for r in rows if r.get("extensionId") == extension), {})
            return any(c.get("source") == f"udp:{where}" and c.get("uri", "").split(";")[0].endswith("@" + where)
                       for c in row.get("contacts", []))

        self.wait(registered, f"{extension} registered from {where}")
        return phone

    def customer_phone(self):
        """The customer behind the trunk: on the trunk pbx's address and port,
        no registration; its From user is the caller's number."""
        return self.phone("customer", TRUNK_HOST, f"<sip:{CUSTOMER}@{TRUNK_HOST}>;regint=0", CUSTOMER_TONE,
                          sip_port=self.d.trunk_port)

    def wait(self, predicate, what, timeout=15):
        try:
            return wait_for(predicate, timeout, what)
        except AssertionError as e:
            self.fail_with_context(str(e))

    def phone_event(self, phone, type_, timeout=15, since=0):
        try:
            return phone.wait_event(type_, timeout, since)
        except AssertionError as e:
            self.fail_with_context(str(e))

    def talking(self, heard=0.0):
        """The customer's call answered by alice's phone and their RTP flowing,
        once the customer has heard `heard` seconds: (agent, customer, sessionId)."""
        agent = self.agent_phone()
        customer = self.customer_phone()
        mark = self.events.mark()
        customer.command("dial", f"sip:{NUMBER}@127.0.0.1:{self.d.sip_port}")
        sid = self.events.expect("userAccessed", ALICE, since=mark)["data"]["sessionId"]
        for p in (agent, customer):
            self.phone_event(p, "CALL_RTPESTAB")
        self.wait(lambda: customer.heard_seconds() >= heard, "the customer hearing the agent")
        return agent, customer, sid

    def on_session(self, sid, method):
        """Calls a method on alice's session; its answer's data (it must succeed)."""
        r = self.events.call(method, {"userId": ALICE, "sessionId": sid})
        self.assertEqual(r.get("status"), "success", r)
        return r["data"]

    def heard(self, phone, own, other):
        """Its decoded recording, analysed (after it quit, so the file is complete)."""
        path = phone.recording("dec")
        if path is None:
            self.fail_with_context(f"{phone.name} recorded nothing it heard")
        return ToneReport(path, (own, other))

    def sent(self, phone, own, other):
        path = phone.recording("enc")
        return str(ToneReport(path, (own, other))) if path else f"{phone.name} recorded nothing it sent"

    def check_heard(self, phone, own, other):
        """phone heard mainly other's tone, hardly its own."""
        report = self.heard(phone, own, other)
        why = (f"{phone.name} (playing {own} Hz) should hear {other} Hz: {report}\n"
               f"(what it sent: {self.sent(phone, own, other)})")
        self.assertGreaterEqual(report.sounding_seconds, TALK_SECONDS - 0.5, why)
        self.assertGreaterEqual(report.share[other], MIN_SHARE, why)
        self.assertLessEqual(report.share[own], MAX_OWN_SHARE, why)
        return report

    def talk(self, hang_up):
        """One call from the customer to alice's desk phone; hang_up is the
        phone that ends it ('customer' or 'agent'). Returns the session's events."""
        agent = self.agent_phone()
        customer = self.customer_phone()
        mark = self.events.mark()
        try:
            customer.command("dial", f"sip:{NUMBER}@127.0.0.1:{self.d.sip_port}")
        except AssertionError as e:
            self.fail_with_context(str(e))

        call_in = self.events.expect("callIn", ALICE, since=mark)
        sid = call_in["data"]["sessionId"]
        self.assertEqual(call_in["data"]["callerPhoneNumber"], CUSTOMER, call_in)
        self.assertEqual(call_in["data"]["calleePhoneNumber"], NUMBER, call_in)
        self.assertEqual(call_in["data"]["serverType"], "staffExtensionSeat", call_in)
        self.events.expect("userAccessed", ALICE, sessionId=sid)

        # (With answermode=auto baresip 1.0 tells no CALL_INCOMING, only CALL_ESTABLISHED.)
        call_ids = {}
        for p in (agent, customer):
            call_ids[p.name] = self.phone_event(p, "CALL_ESTABLISHED").get("id")
            self.phone_event(p, "CALL_RTPESTAB")  # RTP from the other phone arrives
        self.assertNotEqual(call_ids["agent"], call_ids["customer"],
                            "a B2BUA: the agent's leg is a dialog of its own, with a Call-ID of its own")

        # Talk until both have heard TALK_SECONDS (a bounded wait on the recordings).
        self.wait(lambda: min(agent.heard_seconds(), customer.heard_seconds()) >= TALK_SECONDS,
                  f"{TALK_SECONDS} s of audio heard on both sides", timeout=TALK_SECONDS + 10)

        ender = customer if hang_up == "customer" else agent
        ender.command("hangup")
        for p in (agent, customer):  # the other one's closes only if seatbridge passed the BYE on
            self.phone_event(p, "CALL_CLOSED")
        ended = self.events.expect("sessionEnded", ALICE, sessionId=sid)
        self.events.expect("statusChanged", ALICE, since=self.events.after(ended), status="free")
        row = self.events.session(sid)
        self.assertIsNotNone(row, f"no session {sid} in {self.events.sessions()}")
        self.assertEqual((row.get("state"), row.get("userId"), row.get("closeBy")),
                         ("ended", ALICE, ended["data"]["closeBy"]), row)
        for p in (agent, customer):
            rc = p.quit()
            self.assertEqual(rc, 0, p.logs())

        self.check_heard(customer, CUSTOMER_TONE, AGENT_TONE)
        self.check_heard(agent, AGENT_TONE, CUSTOMER_TONE)
        return ended

    def test_customer_and_agent_hear_each_other_the_customer_hangs_up(self):
        ended = self.talk("customer")
        self.assertEqual(ended["data"]["closeBy"], "client", ended)

    def test_customer_and_agent_hear_each_other_the_agent_hangs_up(self):
        ended = self.talk("agent")
        self.assertEqual(ended["data"]["closeBy"], "seat", ended)


class AnchoredAudioCall(AudioCall):
    """The same calls with media.mode anchored: each phone's SDP names
    seatbridge's RTP endpoint for its leg, so every packet goes through the
    media engine, which relays it to the other leg's phone. Each still hears
    the other's tone (and not its own), and the engine counts what it relayed."""
    MEDIA = {"mode": "anchored", "rtpPorts": "20000-29999"}

    def talk(self, hang_up):
        ended = super().talk(hang_up)
        # 50 packets a second each way for TALK_SECONDS at least, through the engine
        # (its counters reach the metrics once a second).
        relayed = lambda: self.d.metric("seatbridge_media_packets_total", {"outcome": "relayed"}) or 0
        self.wait(lambda: relayed() >= 2 * 50 * (TALK_SECONDS - 1), "the engine's relayed packets in the metrics")
        self.wait(lambda: self.d.metric("seatbridge_media_streams", {}) == 0, "every endpoint closed after the call")
        return ended


def window(path, start, end, frequencies):
    """(sounding share, {f: share}) of the recording between start and end seconds."""
    rate, samples = read_wav(path)
    chunk = samples[int(start * rate):int(end * rate)]
    blocks = [chunk[i:i + BLOCK] for i in range(0, len(chunk) - BLOCK + 1, BLOCK)]
    sounding = [b for b in blocks if math.sqrt(sum(x * x for x in b) / BLOCK) >= SILENCE_RMS]
    shares = {f: (sum(tone_share(b, rate, f) for b in sounding) / len(sounding) if sounding else 0.0)
              for f in frequencies}
    return (len(sounding) / len(blocks) if blocks else 0.0), shares


class Mute(AnchoredAudioCall):
    """Call.muteMic with anchored media: the customer hears silence instead of
    the agent's tone, then the tone again after Call.unmuteMic; the agent hears
    the customer throughout. Judged from the customer's own recording, in the
    windows the test marked by how much it had heard."""
    test_customer_and_agent_hear_each_other_the_customer_hangs_up = None
    test_customer_and_agent_hear_each_other_the_agent_hangs_up = None
    SPAN = 2.0  # seconds of each phase

    def test_mute_gives_the_customer_silence_and_unmute_the_agent_again(self):
        agent, customer, sid = self.talking(self.SPAN)

        def call(method):
            return self.on_session(sid, method)

        self.assertEqual(call("Call.isMicMuted")["muted"], False)
        muted_at = customer.heard_seconds()
        self.assertEqual(call("Call.muteMic")["muted"], True)
        self.assertEqual(call("Call.isMicMuted")["muted"], True)
        self.wait(lambda: customer.heard_seconds() >= muted_at + self.SPAN, "the customer's muted span")
        unmuted_at = customer.heard_seconds()
        self.assertEqual(call("Call.unmuteMic")["muted"], False)
        self.wait(lambda: customer.heard_seconds() >= unmuted_at + self.SPAN, "the customer's unmuted span")
        agent_heard = agent.heard_seconds()
        customer.command("hangup")
        self.events.expect("sessionEnded", ALICE, sessionId=sid)
        for p in (agent, customer):
            self.assertEqual(p.quit(), 0, p.logs())
        path = customer.recording("dec")
        tones = (CUSTOMER_TONE, AGENT_TONE)
        # Each span without its first 300 ms (the command's way to the engine).
        before = window(path, 0.5, muted_at, tones)
        during = window(path, muted_at + 0.3, unmuted_at, tones)
        after = window(path, unmuted_at + 0.3, unmuted_at + self.SPAN, tones)
        why = f"before {before}, muted {during}, after {after}"
        self.assertGreaterEqual(before[0], 0.9, why)
        self.assertGreaterEqual(before[1][AGENT_TONE], MIN_SHARE, why)
        self.assertLessEqual(during[0], 0.05, why)  # silence: hardly a sounding block
        self.assertGreaterEqual(after[0], 0.9, why)
        self.assertGreaterEqual(after[1][AGENT_TONE], MIN_SHARE, why)
        # The agent heard the customer all along (muting is one way).
        self.assertGreaterEqual(agent_heard, 2 * self.SPAN, agent.logs())
        self.check_heard(agent, AGENT_TONE, CUSTOMER_TONE)


class HoldMusic(AnchoredAudioCall):
    """Call.hold with anchored media: the customer's leg stays as it is and
    hears the skill group's holdMusic (a WAV of MUSIC_HZ here; the built-in
    chime, 440 and 554 Hz, in the second test), then the agent's tone again
    after Call.unHold. Judged from the customer's recording, span by span."""
    test_customer_and_agent_hear_each_other_the_customer_hangs_up = None
    test_customer_and_agent_hear_each_other_the_agent_hangs_up = None
    MUSIC_HZ = 852  # a DTMF row tone, apart from both phones' tones
    SPAN = 2.0
    music_file = True

    def more_config(self, cfg):
        if self.music_file:
            self.music_dir = tempfile.mkdtemp(prefix="sbtest-music-")
            self.addCleanup(shutil.rmtree, self.music_dir, True)
            path = write_tone(os.path.join(self.music_dir, "hold.wav"), self.MUSIC_HZ, 3)
            cfg["skillGroups"][0]["holdMusic"] = path

    def held_and_resumed(self, music):
        agent, customer, sid = self.talking(self.SPAN)

        def call(method):
            return self.on_session(sid, method)

        held_at = customer.heard_seconds()
        call("Call.hold")
        self.events.expect("hold", ALICE, sessionId=sid)
        self.wait(lambda: customer.heard_seconds() >= held_at + self.SPAN, "the customer's span on hold")
        resumed_at = customer.heard_seconds()
        call("Call.unHold")
        self.events.expect("unHold", ALICE, sessionId=sid)
        self.wait(lambda: customer.heard_seconds() >= resumed_at + self.SPAN + 0.5, "the customer's span after")
        customer.command("hangup")
        self.events.expect("sessionEnded", ALICE, sessionId=sid)
        for p in (agent, customer):
            self.assertEqual(p.quit(), 0, p.logs())
        path = customer.recording("dec")
        tones = (AGENT_TONE,) + tuple(music)
        before = window(path, 0.5, held_at, tones)
        during = window(path, held_at + 0.3, resumed_at, tones)
        # The agent's phone takes its own re-INVITE's time to send again.
        after = window(path, resumed_at + 0.8, resumed_at + self.SPAN + 0.5, tones)
        why = f"before {before}, on hold {during}, after {after}"
        self.assertGreaterEqual(before[1][AGENT_TONE], MIN_SHARE, why)
        self.assertGreaterEqual(during[0], 0.5, why)  # sound, not silence
        self.assertGreaterEqual(sum(during[1][f] for f in music), MIN_SHARE, why)
        self.assertLessEqual(during[1][AGENT_TONE], MAX_OWN_SHARE, why)  # the agent is not heard on hold
        self.assertGreaterEqual(after[1][AGENT_TONE], MIN_SHARE, why)

    def test_the_customer_hears_the_groups_music_on_hold_then_the_agent_again(self):
        self.held_and_resumed((self.MUSIC_HZ,))


class BuiltInHoldMusic(HoldMusic):
    music_file = False
    test_the_customer_hears_the_groups_music_on_hold_then_the_agent_again = None

    def test_without_a_file_the_customer_hears_the_built_in_chime(self):
        self.held_and_resumed((440, 554))


class SilentPhone(AudioCall):
    """media.rtpTimeoutSeconds: the agent's phone dies mid-call (SIGKILL: no
    BYE, no more RTP); seatbridge, which anchors the audio, hears nothing from
    its leg for the timeout and ends the call: the customer gets a BYE, the
    agent is free again instead of held by a dead phone."""
    TIMEOUT = 2
    MEDIA = {"mode": "anchored", "rtpPorts": "20000-29999", "rtpTimeoutSeconds": TIMEOUT}
    # The calls that talk to the end are AnchoredAudioCall's.
    test_customer_and_agent_hear_each_other_the_customer_hangs_up = None
    test_customer_and_agent_hear_each_other_the_agent_hangs_up = None

    def test_a_phone_that_goes_silent_is_hung_up_after_the_rtp_timeout(self):
        agent, customer, sid = self.talking()
        agent.proc.kill()
        agent.proc.wait()
        killed = time.monotonic()
        self.phone_event(customer, "CALL_CLOSED", timeout=self.TIMEOUT + 10)
        ended = self.events.expect("sessionEnded", ALICE, sessionId=sid, timeout=self.TIMEOUT + 10)
        waited = time.monotonic() - killed
        self.assertGreaterEqual(waited, self.TIMEOUT - 0.5, "not before the timeout")
        self.assertEqual(ended["data"]["closeBy"], "seat", ended)
        self.events.expect("statusChanged", ALICE, since=self.events.after(ended), status="free")
        self.assertEqual(self.d.metric("seatbridge_media_timeouts_total"), 1)
        self.assertEqual(customer.quit(), 0, customer.logs())


if __name__ == "__main__":
    unittest.main(verbosity=2)
