"""Issue 10: a codec seatbridge relays but does not decode.

Both phones speak G.722 alone (baresip with its g722 module and no g711).
With media.mode anchored the call still goes through seatbridge's engine on
the relay path, undecoded, and each phone hears the other's tone. What needs
the audio decoded is refused or falls back: Call.startRecording answers
codecNotDecodable, and Call.hold, which cannot play our music in G.722,
holds the customer's leg with a sendonly re-INVITE (RFC 3264 §8.4) as in
bypass, so the customer's phone gets an offer it would not get on G.711."""
import unittest

from calls import ALICE
import test_calls_audio as audio  # as a module: its own test classes are not run again here
from test_calls_audio import AGENT_TONE, CUSTOMER_TONE


class UndecodedCodec(audio.AnchoredAudioCall):
    test_customer_and_agent_hear_each_other_the_agent_hangs_up = None
    test_customer_and_agent_hear_each_other_the_customer_hangs_up = None
    CODECS = ("g722",)
    RATE = 16000  # G.722's audio rate (its RTP clock is 8000, RFC 3551 §4.5.2)

    def more_config(self, cfg):
        cfg["recording"] = {"mode": "onDemand", "path": "recordings", "format": "stereo"}

    def test_g722_is_relayed_recording_refused_and_hold_falls_back_to_sendonly(self):
        agent, customer, sid = self.talking(audio.TALK_SECONDS)
        r = self.events.call("Call.startRecording", {"userId": ALICE, "sessionId": sid})
        self.assertEqual((r.get("status"), r.get("errorCode")), ("error", "codecNotDecodable"), r)
        since = len(customer.events)
        self.on_session(sid, "Call.hold")
        self.events.expect("hold", ALICE, sessionId=sid)
        while True:  # a hold re-INVITE reaches the customer: an offer it receives
            e = self.phone_event(customer, "CALL_REMOTE_SDP", since=since)
            if e.get("param") == "offer":
                break
            since = customer.events.index(e) + 1
        self.on_session(sid, "Call.unHold")
        self.events.expect("unHold", ALICE, sessionId=sid)
        customer.command("hangup")
        self.events.expect("sessionEnded", ALICE, sessionId=sid)
        for p in (agent, customer):
            self.assertEqual(p.quit(), 0, p.logs())
        # Heard through the relay, never decoded by seatbridge: each phone's own decoder.
        self.check_heard(customer, CUSTOMER_TONE, AGENT_TONE)
        self.check_heard(agent, AGENT_TONE, CUSTOMER_TONE)
        self.assertEqual(self.d.metric("seatbridge_media_transcoded_packets_total", {}), 0.0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
