"""Issue 10, call quality: seatbridge terminates RTCP on every anchored leg
(RFC 3550 section 6) and puts each leg's estimated MOS, jitter, loss and
round-trip time into the session's record (`quality: {customer, agent}`) and
seatbridge_call_mos.

- Two baresip phones (they send RTCP) talk through seatbridge: the live
  session shows both legs' quality once their reports came, with a round
  trip measured from our SRs and their RRs; after the hang-up the archived
  record has both legs' final figures: MOS 4 to 4.5, no loss, a small RTT.
- SIPp signalling, the test's own RTP: the customer's side skips every 10th
  packet, the agent's is whole. The customer's leg shows about 10 % loss and
  a lower MOS, the agent's none (the gaps seatbridge relayed towards the
  agent are not the agent leg's loss).
Every wait is for an event, a socket, a metric or the record, with a deadline."""
import time
import unittest

import test_calls_audio as audio
from calls import ALICE, PHONE_HOST, TRUNK_HOST
from harness import wait_for
import test_media_anchored as anchored
from test_media_anchored import rtp, udp


def mos_count(d):
    return d.metric("seatbridge_call_mos_count") or 0


def record_of(events, sid):
    rows = events.ok("Gateway.listRecords", {"userId": ALICE}).get("records", [])
    return next((r for r in rows if r.get("sessionId") == sid), None)


class PhonesQuality(audio.AnchoredAudioCall):
    test_customer_and_agent_hear_each_other_the_customer_hangs_up = None
    test_customer_and_agent_hear_each_other_the_agent_hangs_up = None

    def test_two_phones_have_good_quality_both_legs_with_a_round_trip(self):
        before = mos_count(self.d)
        agent, customer, sid = self.talking(1.0)

        def measured():
            q = (self.events.session(sid) or {}).get("quality", {})
            legs = [q.get("customer"), q.get("agent")]
            return q if all(leg and leg.get("rttMs") is not None for leg in legs) else None
        # baresip reports every few seconds, answering our SRs (ours: 1.25-3.75 s, then 2.5-7.5 s).
        live = self.wait(measured, "both legs' quality with a round trip on the live session", timeout=30)
        customer.command("hangup")
        self.events.expect("sessionEnded", ALICE, sessionId=sid)
        for p in (agent, customer):
            self.assertEqual(p.quit(), 0, p.logs())
        # Each leg's final figures come as its endpoint closes, after the end.
        self.wait(lambda: mos_count(self.d) >= before + 2, "seatbridge_call_mos observed for both legs")

        def final():
            r = record_of(self.events, sid)
            q = (r or {}).get("quality", {})
            return q if q.get("customer") and q.get("agent") else None
        quality = self.wait(final, "the record's quality")
        why = f"live {live}, record {quality}"
        for leg in ("customer", "agent"):
            q = quality[leg]
            self.assertGreaterEqual(q["mos"], 4.0, why)
            self.assertLessEqual(q["mos"], 4.5, why)
            self.assertEqual(q["lossPercent"], 0, why)
            self.assertIsNotNone(q["rttMs"], why)
            self.assertLess(q["rttMs"], 50, why)  # loopback
            self.assertLess(q["jitterMs"], 20, why)


class LossyLeg(anchored.AnchoredCall):
    PACKETS = 201

    def test_a_customer_losing_every_tenth_packet_shows_ten_percent_and_a_lower_mos(self):
        pbx, phone, sid, to_customer, to_phone = self.bridged()
        before = mos_count(self.d)
        customer = udp(TRUNK_HOST, pbx.rtp_port)
        agent = udp(PHONE_HOST, phone.rtp_port)
        for s in (customer, agent):
            self.addCleanup(s.close)
        # 20 ms a packet, as a phone sends: the pace is the media's clock (jitter
        # is measured against the timestamps), not a wait for anything.
        start = time.monotonic()
        for seq in range(1, self.PACKETS + 1):
            delay = start + (seq - 1) * 0.02 - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            if seq % 10:
                customer.sendto(rtp(seq, 0xC0FFEE), to_customer)
            agent.sendto(rtp(seq, 0xA11CE), to_phone)
        relayed = lambda: self.d.metric("seatbridge_media_packets_total", {"outcome": "relayed"}) or 0
        wait_for(lambda: relayed() >= self.PACKETS + self.PACKETS * 9 // 10 - 2, what="the packets relayed")
        pbx.poke()  # the customer hangs up
        self.events.expect("sessionEnded", ALICE, sessionId=sid)
        self.success(pbx, phone)
        wait_for(lambda: mos_count(self.d) >= before + 2, what="seatbridge_call_mos observed for both legs")

        def final():
            q = (record_of(self.events, sid) or {}).get("quality", {})
            return q if q.get("customer") and q.get("agent") else None
        quality = wait_for(final, what="the record's quality")
        cust, ag = quality["customer"], quality["agent"]
        # A.1: counting starts at the second packet, so 20 of 200 expected.
        self.assertAlmostEqual(cust["lossPercent"], 10, delta=0.5, msg=quality)
        self.assertLess(cust["mos"], 3.8, quality)
        self.assertGreater(cust["mos"], 2.5, quality)
        self.assertIsNone(cust["rttMs"], quality)  # this "phone" answers no SR
        self.assertEqual(ag["lossPercent"], 0, quality)
        self.assertGreater(ag["mos"], 4.0, quality)
        self.assertLess(cust["mos"], ag["mos"], quality)


if __name__ == "__main__":
    unittest.main(verbosity=2)
