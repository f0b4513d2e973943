"""Issue 10: call recording, judged by what the WAV holds.

The same two baresip phones as test_calls_audio.py (the customer playing
697 Hz on the trunk's address, alice's desk phone 1209 Hz) talk through
seatbridge with media.mode anchored and a recording section:
- Stereo (recording.mode always): the recording starts at the answer
  (recordingStarted), a passage is left out with Call.pauseRecording, and the
  file's left channel holds the customer's tone, its right the agent's, for
  about the time not paused; the session's record names the file.
- Mono (onDemand): nothing until Call.startRecording; the mix holds both
  tones; Call.stopRecording ends the file.
- Unwritable (recording.path is a file, not a folder): recordingFailed with
  the reason, the failure counted, and the call goes on, both phones still
  hearing each other.
A file is judged once complete: libsndfile fixes the WAV's lengths when it
closes the file, so the test awaits a header whose data length matches the
file's size."""
import os
import unittest
import wave

import test_calls_audio as audio
from audio.tones import ToneReport
from calls import ALICE

CUSTOMER_TONE, AGENT_TONE = audio.CUSTOMER_TONE, audio.AGENT_TONE


def complete_wav(path):
    """(channels, seconds) of the WAV at path once its header matches its size, else None."""
    try:
        with wave.open(path, "rb") as w:
            frames, channels, width = w.getnframes(), w.getnchannels(), w.getsampwidth()
        if frames > 0 and os.path.getsize(path) == 44 + frames * channels * width:
            return channels, frames / 8000
    except (OSError, EOFError, wave.Error):
        pass
    return None


class Recorded(audio.AnchoredAudioCall):
    test_customer_and_agent_hear_each_other_the_customer_hangs_up = None
    test_customer_and_agent_hear_each_other_the_agent_hangs_up = None
    RECORDING = {"mode": "always", "path": "recordings", "format": "stereo"}
    SPAN = 2.0  # seconds of each phase

    def more_config(self, cfg):
        cfg["recording"] = dict(self.RECORDING)

    def hang_up(self, agent, customer, sid):
        customer.command("hangup")
        self.events.expect("sessionEnded", ALICE, sessionId=sid)
        for p in (agent, customer):
            self.assertEqual(p.quit(), 0, p.logs())

    def finished_file(self, path):
        return self.wait(lambda: complete_wav(path), f"{path} complete")

    def test_stereo_the_customer_left_the_agent_right_and_a_pause_left_out(self):
        mark = self.events.mark()
        agent, customer, sid = self.talking(self.SPAN)
        started = self.events.expect("recordingStarted", ALICE, since=mark, sessionId=sid)
        path = started["data"]["recording"]
        self.assertEqual(path, os.path.join(self.d.tmp, "recordings", sid + ".wav"))
        paused_at = customer.heard_seconds()
        self.assertEqual(self.on_session(sid, "Call.pauseRecording")["recording"], path)
        self.events.expect("recordingPaused", ALICE, sessionId=sid)
        self.wait(lambda: customer.heard_seconds() >= paused_at + self.SPAN, "the paused span")
        resumed_at = customer.heard_seconds()
        self.on_session(sid, "Call.resumeRecording")
        self.events.expect("recordingResumed", ALICE, sessionId=sid)
        self.wait(lambda: customer.heard_seconds() >= resumed_at + self.SPAN, "the span after the pause")
        talked = customer.heard_seconds()
        # With recording.mode always a call is recorded whole.
        r = self.events.call("Call.stopRecording", {"userId": ALICE, "sessionId": sid})
        self.assertEqual(r.get("errorCode"), "invalidTransition", r)
        self.hang_up(agent, customer, sid)

        channels, seconds = self.finished_file(path)
        self.assertEqual(channels, 2)
        # All but the pause: the phones' own start-up and the commands' way
        # to the engine leave some slack either side.
        self.assertLess(seconds, talked - self.SPAN + 1.0, f"{seconds:.2f} s recorded of {talked:.2f} s")
        self.assertGreater(seconds, talked - self.SPAN - 1.5, f"{seconds:.2f} s recorded of {talked:.2f} s")
        left = ToneReport(path, (CUSTOMER_TONE, AGENT_TONE), channel=0)
        right = ToneReport(path, (CUSTOMER_TONE, AGENT_TONE), channel=1)
        why = f"left: {left}\nright: {right}"
        self.assertGreaterEqual(left.sounding_seconds, 2 * self.SPAN - 1.0, why)
        self.assertGreaterEqual(left.share[CUSTOMER_TONE], audio.MIN_SHARE, why)
        self.assertLessEqual(left.share[AGENT_TONE], audio.MAX_OWN_SHARE, why)
        self.assertGreaterEqual(right.sounding_seconds, 2 * self.SPAN - 1.0, why)
        self.assertGreaterEqual(right.share[AGENT_TONE], audio.MIN_SHARE, why)
        self.assertLessEqual(right.share[CUSTOMER_TONE], audio.MAX_OWN_SHARE, why)
        self.assertEqual(self.events.session(sid).get("recording"), path)
        self.assertGreater(self.d.metric("seatbridge_recording_bytes_total") or 0, 0)


class RecordedOnDemand(Recorded):
    test_stereo_the_customer_left_the_agent_right_and_a_pause_left_out = None
    RECORDING = {"mode": "onDemand", "path": "recordings", "format": "mono"}

    def test_mono_on_demand_holds_both_tones_mixed(self):
        mark = self.events.mark()
        agent, customer, sid = self.talking(1.0)
        path = os.path.join(self.d.tmp, "recordings", sid + ".wav")
        self.assertEqual(self.on_session(sid, "Call.startRecording")["recording"], path)
        self.events.expect("recordingStarted", ALICE, since=mark, sessionId=sid)
        started_at = customer.heard_seconds()
        self.wait(lambda: customer.heard_seconds() >= started_at + self.SPAN, "the recorded span")
        self.on_session(sid, "Call.stopRecording")
        self.events.expect("recordingStopped", ALICE, sessionId=sid)
        channels, seconds = self.finished_file(path)  # complete before the call ends
        self.assertEqual(channels, 1)
        self.assertLess(seconds, self.SPAN + 1.0)
        self.hang_up(agent, customer, sid)
        mix = ToneReport(path, (CUSTOMER_TONE, AGENT_TONE))
        why = str(mix)
        self.assertGreaterEqual(mix.sounding_seconds, self.SPAN - 0.8, why)
        # Two tones of one amplitude: about half the energy each.
        self.assertGreaterEqual(mix.share[CUSTOMER_TONE], 0.3, why)
        self.assertGreaterEqual(mix.share[AGENT_TONE], 0.3, why)


class RecordingUnwritable(Recorded):
    """recording.path names a file: no folder can be made there, so the
    recording fails at its start; the call itself is untouched."""
    test_stereo_the_customer_left_the_agent_right_and_a_pause_left_out = None
    RECORDING = {"mode": "always", "path": "not-a-folder", "format": "stereo"}

    def more_config(self, cfg):
        super().more_config(cfg)
        # The daemon's folder (the config's) exists before it starts: a plain file goes there first.
        with open(os.path.join(os.path.dirname(cfg["storage"]["path"]), "not-a-folder"), "w"):
            pass

    def test_a_recording_that_cannot_be_written_fails_alone(self):
        mark = self.events.mark()
        agent, customer, sid = self.talking(0.5)
        failed = self.events.expect("recordingFailed", ALICE, since=mark, sessionId=sid)
        self.assertIn("cannot open", failed["data"]["reason"], failed)
        self.wait(lambda: (self.d.metric("seatbridge_recording_failures_total") or 0) == 1, "the failure counted")
        heard = customer.heard_seconds()
        self.wait(lambda: customer.heard_seconds() >= heard + 2.0 and agent.heard_seconds() >= 2.0,
                  "the call going on")
        self.hang_up(agent, customer, sid)
        self.check_heard(customer, CUSTOMER_TONE, AGENT_TONE)
        self.check_heard(agent, AGENT_TONE, CUSTOMER_TONE)


if __name__ == "__main__":
    unittest.main()
