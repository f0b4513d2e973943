"""Issue 10: a desk phone's own hold key plays seatbridge's hold music.

With media.mode anchored, alice's desk phone (baresip) holds the call with
its own hold command: its re-INVITE (a=sendonly, RFC 3264 §8.4) is answered by
seatbridge itself (recvonly, §6.1) instead of going on to the customer's leg,
which stays sendrecv and hears the skill group's holdMusic (a WAV of
MUSIC_HZ); the phone's resume brings the agent's tone back. The customer
(baresip behind the trunk) must get no re-INVITE at all: its ctrl_tcp tells
each SDP offer it receives (CALL_REMOTE_SDP "offer"), and after its own INVITE
it may see none. The hold and unHold events say by: seat."""
import unittest

from calls import ALICE
import test_calls_audio as audio  # as a module: its own test classes are not run again here
from test_calls_audio import AGENT_TONE, MAX_OWN_SHARE, MIN_SHARE, window


class PhoneHoldMusic(audio.HoldMusic):
    test_the_customer_hears_the_groups_music_on_hold_then_the_agent_again = None

    def offers_received(self, phone):
        return [e for e in phone.events if e.get("type") == "CALL_REMOTE_SDP" and e.get("param") == "offer"]

    def remote_answer(self, phone, since):
        """The SDP answer to the re-INVITE it just sent, after event index since."""
        while True:
            e = self.phone_event(phone, "CALL_REMOTE_SDP", since=since)
            if e.get("param") == "answer":
                return e
            since = phone.events.index(e) + 1

    def test_the_phones_hold_key_plays_our_music_to_the_customer_without_a_reinvite(self):
        agent, customer, sid = self.talking(self.SPAN)
        offers_before = len(self.offers_received(customer))
        held_at = customer.heard_seconds()
        mark = len(agent.events)
        agent.command("hold")
        self.remote_answer(agent, mark)  # our answer to its re-INVITE
        held = self.events.expect("hold", ALICE, sessionId=sid)
        self.assertEqual(held["data"]["by"], "seat", held)
        self.wait(lambda: customer.heard_seconds() >= held_at + self.SPAN, "the customer's span on hold")
        resumed_at = customer.heard_seconds()
        mark = len(agent.events)
        agent.command("resume")
        self.remote_answer(agent, mark)
        unheld = self.events.expect("unHold", ALICE, sessionId=sid)
        self.assertEqual(unheld["data"]["by"], "seat", unheld)
        self.wait(lambda: customer.heard_seconds() >= resumed_at + self.SPAN + 0.5, "the customer's span after")
        # The customer's leg was never re-INVITEd (nor UPDATEd with an offer):
        # a command's answer comes after every event it sent before it.
        customer.command("listcalls")
        self.assertEqual(len(self.offers_received(customer)), offers_before, customer.describe())
        customer.command("hangup")
        self.events.expect("sessionEnded", ALICE, sessionId=sid)
        for p in (agent, customer):
            self.assertEqual(p.quit(), 0, p.logs())
        path = customer.recording("dec")
        tones = (AGENT_TONE, self.MUSIC_HZ)
        before = window(path, 0.5, held_at, tones)
        during = window(path, held_at + 0.5, resumed_at, tones)
        after = window(path, resumed_at + 0.8, resumed_at + self.SPAN + 0.5, tones)
        why = f"before {before}, on hold {during}, after {after}"
        self.assertGreaterEqual(before[1][AGENT_TONE], MIN_SHARE, why)
        self.assertGreaterEqual(during[0], 0.5, why)  # sound, not silence
        self.assertGreaterEqual(during[1][self.MUSIC_HZ], MIN_SHARE, why)
        self.assertLessEqual(during[1][AGENT_TONE], MAX_OWN_SHARE, why)
        self.assertGreaterEqual(after[1][AGENT_TONE], MIN_SHARE, why)


if __name__ == "__main__":
    unittest.main(verbosity=2)
