"""Issue 10: PCMU on one leg and PCMA on the other, transcoded by seatbridge.

The customer's baresip offers PCMA alone (audio_codecs=PCMA), alice's desk
phone knows PCMU alone. With media.mode anchored seatbridge offers the desk
phone the customer's SDP with PCMU added beside PCMA, the phone answers
PCMU, the customer's 200 names PCMA (the law it offered, RFC 3264 §6.1), and
the media engine converts every packet between the laws. Each phone must
hear the other's tone (a phone decoding the wrong law would hear noise, not
the tone), and the engine's transcoded-packet counter must have moved."""
import unittest

import test_calls_audio as audio  # as a module: its own test classes are not run again here
from test_calls_audio import TALK_SECONDS

CODECS = {"customer": "PCMA", "agent": "PCMU"}


class Transcoding(audio.AnchoredAudioCall):
    test_customer_and_agent_hear_each_other_the_agent_hangs_up = None

    def phone(self, name, host, account, frequency, sip_port=None):
        return super().phone(name, host, f"{account};audio_codecs={CODECS[name]}", frequency, sip_port)

    def talk(self, hang_up):
        ended = super().talk(hang_up)
        transcoded = lambda: self.d.metric("seatbridge_media_transcoded_packets_total", {}) or 0
        # Both directions, 50 packets a second each, for the talk at least.
        self.wait(lambda: transcoded() >= 2 * 50 * (TALK_SECONDS - 1), "packets transcoded between the laws")
        return ended

    def test_customer_and_agent_hear_each_other_the_customer_hangs_up(self):
        super().test_customer_and_agent_hear_each_other_the_customer_hangs_up()


if __name__ == "__main__":
    unittest.main(verbosity=2)
