"""Anchored media on the wire (issue 10, media.mode anchored): the SDP each leg
gets names seatbridge's own RTP endpoint for that leg, and the media engine
relays what each side sends to the other. The signalling is real (a SIPp PBX
on the trunk's address and a SIPp desk phone); the RTP is sent and received
by the test's own UDP sockets at the addresses the SDPs name, so the test can
play a phone behind a NAT: one whose packets come from another port than its
SDP says (symmetric RTP, RFC 4961: seatbridge latches to where they come
from), and a stranger spraying the phone's endpoint afterwards (RTP bleed:
dropped, counted). Nothing sleeps to synchronise: every wait is a socket
poll or a metric with a deadline."""
import math
import os
import select
import shutil
import socket
import struct
import tempfile
import unittest

from audio.tones import write_tone

from calls import ALICE, PHONE_HOST, TRUNK_HOST, Trunk, cseq, sdp_media
from harness import free_port, wait_for
from test_calls import CallTest


def rtp(seq, ssrc, payload=b"\xd5" * 160):
    """A PCMU RTP packet (RFC 3550 section 5.1)."""
    return struct.pack("!BBHII", 0x80, 0, seq, seq * 160, ssrc) + payload


def receive(sock, timeout=2.0):
    """The next datagram and its source, or (None, None) after timeout."""
    ready, _, _ = select.select([sock], [], [], timeout)
    if not ready:
        return None, None
    return sock.recvfrom(2048)


def udp(host, port=0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((host, port))
    return s


class AnchoredCall(CallTest):
    """A call through seatbridge with media anchored (no tests of its own: a base)."""

    def bridged(self, pbx_scenario="trunk_call_hold", phone_scenario="phone_answer", queue_music=None, **more):
        """A customer's call answered by alice's SIPp phone, media anchored:
        (pbx, phone, seatbridge's endpoint for the customer, and for the phone)."""
        def configure(cfg):
            cfg.update(media={"mode": "anchored", "rtpPorts": "20000-29999"}, **more)
            if queue_music:
                cfg["skillGroups"][0]["queueMusic"] = queue_music

        self.start(ring_timeout=8, queue_timeout=10, mutate=configure)
        phone = self.phone("1001", phone_scenario)
        pbx = self.sipp(Trunk(self.d, pbx_scenario))
        sid = self.assert_call_in(self.events.expect("callIn", ALICE), ALICE, 8)
        self.events.expect("userAccessed", ALICE, sessionId=sid)
        pbx.wait_sent("ACK")
        to_customer = sdp_media(pbx.answer())  # what seatbridge's 200 told the PBX
        to_phone = sdp_media(phone.invite())    # what seatbridge's INVITE told the phone
        low, high = 20000, 29999
        for where in (to_customer, to_phone):
            self.assertEqual(where[0], "127.0.0.1", "seatbridge's media address (media.address)")
            self.assertTrue(low <= where[1] <= high and where[1] % 2 == 0, where)
        self.assertNotEqual(to_customer, to_phone, "an endpoint per leg")
        return pbx, phone, sid, to_customer, to_phone


class Anchored(AnchoredCall):
    def test_a_phone_behind_a_nat_is_latched_and_a_stranger_is_not(self):
        pbx, phone, sid, to_customer, to_phone = self.bridged()
        customer = udp(TRUNK_HOST, pbx.rtp_port)      # where the PBX's SDP said it receives
        signalled = udp(PHONE_HOST, phone.rtp_port)    # where the phone's SDP said it receives
        natted = udp(PHONE_HOST)                       # where its packets really come from
        for s in (customer, signalled, natted):
            self.addCleanup(s.close)

        # The phone speaks first, from the NAT's port: relayed to the customer.
        natted.sendto(rtp(1, 0xA11CE), to_phone)
        data, source = receive(customer)
        self.assertIsNotNone(data, "the phone's packet reached the customer")
        self.assertEqual(data[12:], b"\xd5" * 160)
        self.assertEqual(source, to_customer, "from seatbridge's endpoint for the customer's leg (symmetric RTP)")
        # The customer answers: it goes back to where the phone's packets came from.
        customer.sendto(rtp(1, 0xC0FFEE), to_customer)
        data, source = receive(natted)
        self.assertIsNotNone(data, "latched: the customer's packet reached the NAT's port")
        self.assertEqual(source, to_phone)
        self.assertEqual(receive(signalled, 0.3), (None, None), "nothing to the address the SDP named")

        # A stranger on the phone's host sprays the phone's endpoint: dropped.
        stranger = udp(PHONE_HOST)
        self.addCleanup(stranger.close)
        for seq in range(2, 6):
            stranger.sendto(rtp(seq, 0xBAD), to_phone)
        natted.sendto(rtp(2, 0xA11CE), to_phone)  # the phone's own packet still passes, and only it
        data, _ = receive(customer)
        self.assertIsNotNone(data)
        self.assertEqual(struct.unpack("!I", data[8:12])[0], 0xA11CE)
        self.assertEqual(receive(customer, 0.3), (None, None), "none of the stranger's packets")
        metric = lambda outcome: self.d.metric("seatbridge_media_packets_total", {"outcome": outcome}) or 0
        wait_for(lambda: metric("stranger") >= 4, what="the stranger's packets counted")
        self.assertGreaterEqual(metric("relayed"), 3)

        pbx.poke()  # the customer hangs up
        self.events.expect("sessionEnded", ALICE, sessionId=sid)
        self.success(pbx, phone)
        wait_for(lambda: self.d.metric("seatbridge_media_streams") == 0, what="the call's endpoints closed")

    def test_digits_go_as_rfc_4733_events_and_the_customers_keys_come_back_as_dtmf(self):
        # The PBX's SDP offered telephone-event (payload type 101): Call.sendDigits
        # goes in the RTP (RFC 4733), not as SIP INFO.
        pbx, phone, sid, to_customer, to_phone = self.bridged()
        customer = udp(TRUNK_HOST, pbx.rtp_port)
        agent = udp(PHONE_HOST, phone.rtp_port)
        for s in (customer, agent):
            self.addCleanup(s.close)
        agent.sendto(rtp(1, 0xA11CE), to_phone)  # the agent talks: the customer's stream starts
        self.assertIsNotNone(receive(customer)[0])
        r = self.events.call("Call.sendDigits", {"userId": ALICE, "sessionId": sid, "dtmfText": "7#"})
        self.assertEqual(r.get("status"), "success", r)
        events = []
        while len(events) < 14:
            data, _ = receive(customer)
            self.assertIsNotNone(data, f"telephone-events so far: {events}")
            pt, code, flags = data[1] & 0x7F, data[12], data[13]
            if pt == 101:
                events.append((code, bool(flags & 0x80), struct.unpack("!I", data[8:12])[0]))
        self.assertEqual([e[0] for e in events], [7] * 7 + [11] * 7, events)
        self.assertEqual([e[1] for e in events[:7]], [False] * 4 + [True] * 3, "RFC 4733: the end sent three times")
        self.assertEqual({e[2] for e in events}, {0xA11CE}, "in the one stream the customer gets")
        self.assertFalse(pbx.received("INFO"), "no SIP INFO where telephone-events were negotiated")
        # The customer presses 3: relayed to the phone, and a dtmf event with flow IN.
        key = struct.pack("!BBHII", 0x80, 101, 10, 4000, 0xC0FFEE) + bytes([3, 10, 0, 160])
        mark = self.events.mark()
        customer.sendto(key, to_customer)
        data, _ = receive(agent)
        self.assertIsNotNone(data)
        self.assertEqual((data[1] & 0x7F, data[12]), (101, 3))
        e = self.events.expect("dtmf", ALICE, since=mark, sessionId=sid)
        self.assertEqual((e["data"]["digit"], e["data"]["flow"]), ("3", "IN"))
        pbx.poke()
        self.events.expect("sessionEnded", ALICE, sessionId=sid)
        self.success(pbx, phone)

    def test_keys_pressed_while_the_recording_is_paused_are_reported_to_nobody(self):
        # A card number keyed in: relayed to the agent's phone as it was sent,
        # but no dtmf event; the key after the resume is reported as ever.
        pbx, phone, sid, to_customer, to_phone = self.bridged(
            recording={"mode": "onDemand", "path": "recordings"})
        customer = udp(TRUNK_HOST, pbx.rtp_port)
        agent = udp(PHONE_HOST, phone.rtp_port)
        for s in (customer, agent):
            self.addCleanup(s.close)
        for method in ("Call.startRecording", "Call.pauseRecording"):
            r = self.events.call(method, {"userId": ALICE, "sessionId": sid})
            self.assertEqual(r.get("status"), "success", r)
        mark = self.events.mark()

        def key(code, seq, ts):
            customer.sendto(struct.pack("!BBHII", 0x80, 101, seq, ts, 0xC0FFEE) + bytes([code, 10, 0, 160]),
                            to_customer)
            data, _ = receive(agent)
            self.assertIsNotNone(data)
            self.assertEqual((data[1] & 0x7F, data[12]), (101, code))
        key(4, 10, 4000)
        r = self.events.call("Call.resumeRecording", {"userId": ALICE, "sessionId": sid})
        self.assertEqual(r.get("status"), "success", r)
        key(5, 11, 8000)
        e = self.events.expect("dtmf", ALICE, since=mark, sessionId=sid)
        self.assertEqual(e["data"]["digit"], "5", "the key pressed while paused was reported")
        pbx.poke()
        self.events.expect("sessionEnded", ALICE, sessionId=sid)
        self.success(pbx, phone)

    def test_a_phones_keys_sent_as_tones_in_its_audio_come_back_as_dtmf(self):
        # The desk phone's SDP (phone_answer.xml) has no telephone-event, so its
        # keys come as tone pairs in its PCMU audio: relayed to the customer as
        # the audio they are, and each reported once as a dtmf event (flow OUT,
        # the agent's side) by the engine's in-band receiver (spandsp).
        pbx, phone, sid, to_customer, to_phone = self.bridged()
        customer = udp(TRUNK_HOST, pbx.rtp_port)
        agent = udp(PHONE_HOST, phone.rtp_port)
        for s in (customer, agent):
            self.addCleanup(s.close)
        mark = self.events.mark()
        for seq, payload in enumerate(dtmf_payloads("58"), start=1):
            agent.sendto(rtp(seq, 0xA11CE, payload), to_phone)
            data, _ = receive(customer)
            self.assertEqual(data[12:] if data else None, payload, "the tones relayed as audio")
        first = self.events.expect("dtmf", ALICE, since=mark, sessionId=sid)
        second = self.events.expect("dtmf", ALICE, since=self.events.after(first), sessionId=sid)
        self.assertEqual([(e["data"]["digit"], e["data"]["flow"]) for e in (first, second)], [("5", "OUT"), ("8", "OUT")])
        wait_for(lambda: (self.d.metric("seatbridge_media_inband_digits_total", {}) or 0) >= 2,
                 what="the keys counted as in-band digits")
        pbx.poke()
        self.events.expect("sessionEnded", ALICE, sessionId=sid)
        self.success(pbx, phone)

    def test_re_offers_across_the_laws_list_both_and_answers_name_the_offerers_law(self):
        # The PBX knows PCMU alone, the phone PCMA alone: every offer seatbridge
        # relays lists both laws (the engine transcodes), and every answer names
        # the law its offerer listed (RFC 3264 section 6.1), for the call, a
        # re-INVITE's offer and the offer in a 200 to one without (answered in
        # the ACK, section 5). Before, a re-offer reached the phone in PCMU alone.
        pbx, phone, sid, _, _ = self.bridged("law_trunk_reinvites", "law_phone_reinvites")
        self.events.expect("sessionEnded", ALICE, sessionId=sid)
        self.success(pbx, phone)
        to_phone = [m for m in phone.received("INVITE") if m.body.strip()]
        self.assertEqual(len(to_phone), 2, phone.summary())  # the call's and the re-INVITE's offers
        for offer in to_phone:
            self.assertEqual(formats(offer)[:2], ["0", "8"], offer.body)
        answers = {cseq(m)[0]: m for m in pbx.received(status=200) if m.cseq_method() == "INVITE"}
        for n in (1, 2):
            self.assertEqual(formats(answers[n])[0], "0", answers[n].body)
            self.assertNotIn("8", formats(answers[n]), answers[n].body)
        self.assertEqual(formats(answers[3])[:2], ["8", "0"], "the phone's offer, with the PBX's law added")
        ack = [m for m in phone.received("ACK") if m.body.strip()]
        self.assertEqual(len(ack), 1, phone.summary())
        self.assertEqual(formats(ack[0]), ["8"], "the PBX's answer in the law the phone offered")
        # One origin per direction, its version rising (RFC 3264 section 8).
        origins = [origin(answers[n]) for n in (1, 2, 3)]
        self.assertEqual(len({o[:2] for o in origins}), 1, origins)
        self.assertEqual([o[2] for o in origins], sorted({o[2] for o in origins}), origins)

    def test_queue_musics_answer_is_the_200s_and_re_offers_keep_seatbridges_origin(self):
        # Queue music: seatbridge answers the PBX's offer itself in a 183, and
        # RFC 3261 section 13.2.1 has the 200 repeat that answer. Whatever the
        # phone's SDP says afterwards reaches the PBX under that same origin,
        # one version further each time (RFC 3264 section 8), in PCMU.
        music_dir = tempfile.mkdtemp(prefix="sbtest-queue-")
        self.addCleanup(shutil.rmtree, music_dir, True)
        music = write_tone(os.path.join(music_dir, "queue.wav"), 852, 1)
        pbx, phone, sid, _, _ = self.bridged("law_trunk_reinvites", "law_phone_reinvites", queue_music=music)
        self.events.expect("sessionEnded", ALICE, sessionId=sid)
        self.success(pbx, phone)
        early = [m for m in pbx.received(status=183) if m.body.strip()]
        self.assertTrue(early, pbx.summary())
        answers = {cseq(m)[0]: m for m in pbx.received(status=200) if m.cseq_method() == "INVITE"}
        self.assertEqual(answers[1].body, early[0].body, "the 200 repeats the 183's answer")
        origins = [origin(answers[n]) for n in (1, 2, 3)]
        self.assertEqual(origins[0][0], "seatbridge", origins)
        self.assertEqual({o[:2] for o in origins}, {origins[0][:2]}, "one origin for the PBX's whole dialog")
        self.assertEqual([o[2] for o in origins], [1, 2, 3], origins)
        self.assertEqual(formats(answers[2]), ["0"], answers[2].body)
        self.assertEqual(formats(answers[3])[:2], ["8", "0"], answers[3].body)


# DTMF's tone pairs (ITU-T Q.23): row and column frequencies of each key.
DTMF_PAIRS = {"1": (697, 1209), "2": (697, 1336), "3": (697, 1477), "4": (770, 1209), "5": (770, 1336),
              "6": (770, 1477), "7": (852, 1209), "8": (852, 1336), "9": (852, 1477), "0": (941, 1336)}


def ulaw(sample):
    """One 16-bit sample in G.711 mu-law."""
    sign = 0x80 if sample < 0 else 0
    magnitude = min(-sample - 1 if sample < 0 else sample, 32635) + 0x84
    exponent = 7
    while exponent > 0 and not magnitude & (0x4000 >> (7 - exponent)):
        exponent -= 1
    return ~(sign | exponent << 4 | (magnitude >> (exponent + 3)) & 0x0F) & 0xFF


def dtmf_payloads(keys, tone_ms=100, gap_ms=100):
    """20 ms PCMU payloads: each key's tone pair for tone_ms, then gap_ms of silence."""
    samples = []
    for key in keys:
        low, high = DTMF_PAIRS[key]
        samples += [int(6000 * (math.sin(2 * math.pi * low * n / 8000) + math.sin(2 * math.pi * high * n / 8000)))
                    for n in range(8 * tone_ms)]
        samples += [0] * (8 * gap_ms)
    return [bytes(ulaw(x) for x in samples[i:i + 160]) for i in range(0, len(samples), 160)]


def formats(msg):
    """The payload types of a message's audio m= line, in order."""
    for line in msg.body.replace("\r\n", "\n").split("\n"):
        if line.startswith("m=audio "):
            return line.split()[3:]
    return []


def origin(msg):
    """(username, session id, version) of a message's o= line."""
    for line in msg.body.replace("\r\n", "\n").split("\n"):
        if line.startswith("o="):
            user, session, version = line[2:].split()[:3]
            return user, session, int(version)
    return None


if __name__ == "__main__":
    unittest.main()
