"""Sofia's early Timer H (docs/ARCHITECTURE.md, "Sofia's early Timer H").

Debian's Sofia-SIP 1.12.11 keeps a cached millisecond clock (sa_millisec)
that agent_recv_message() sets and then zeroes. Its outgoing-transaction timer
yields to the event loop after every 5th retransmission (su_root_yield, "handle
received packets"); a packet read there zeroes the clock, and the
incoming-transaction timer that runs next compares every deadline with 0.
With the 32-bit millisecond clock's top bit set (until 2026-12-25 16:22 UTC,
again from 2027-01-19 12:53 to 2027-02-13 09:25 UTC: half of every 49.7 days;
without it the test still runs but cannot fail), every deadline
then looks past: Timer H fires at once for every 2xx still waiting for its
ACK, and seatbridge used to BYE those calls ~0.5 s after answering them.

The tests build that: a desk phone with six contacts that never answer, so
one of nta's timer runs retransmits six INVITEs (Timer A) and yields; a flood
of stray responses on the daemon's port, so the yield always finds a packet;
and meanwhile a customer call answered whose PBX holds back its ACK, well
within 64*T1. The call must survive and the ACK must be taken. Then a
retransmitted INVITE of a call whose leg is gone must not become a second
session (RFC 3261 section 17.2.3).

Nothing sleeps to synchronise: the tests await SIPp messages and exits,
events, the dead phones' count of INVITE copies, and an OPTIONS answered
after a request (the SIP thread takes one socket's packets in order)."""
import socket
import threading
import time
import unittest
import uuid

from calls import ALICE, BOB, CUSTOMER, NUMBER, TRUNK_HOST, Trunk, sdp_media
from harness import SipMessage, SipPhone, free_port
from test_calls_races import LONG, T1X64, T1X64_MS, RaceTest

DEAD_CONTACTS = 6  # one nta timer run retransmits them all: a yield after the 5th


def top_bit_set():
    """Whether Sofia's 32-bit millisecond clock (su_time_ms: NTP epoch) has
    its top bit set now, the only time the bug bites."""
    ms = int((time.time() + 2208988800) * 1000) & 0xFFFFFFFF
    return bool(ms >> 31)


class DeadPhone(SipPhone):
    """A contact of extension 1002 that registers and then never answers: it
    only counts the INVITE copies it gets (the first and nta's retransmissions)."""

    def __init__(self, daemon):
        super().__init__(daemon.sip_port, "1002", "pw-1002")
        self.invites = 0
        self.running = True
        self.thread = None

    def start(self):
        self.thread = threading.Thread(target=self._count, daemon=True)
        self.thread.start()

    def _count(self):
        while self.running:
            try:
                msg = self.recv(0.2)
            except (socket.timeout, OSError):
                continue
            if msg.method == "INVITE":
                self.invites += 1

    def close(self):
        self.running = False
        if self.thread:
            self.thread.join(2)
        super().close()


class Flood:
    """Stray responses at the daemon's SIP port as fast as one thread sends
    them, so that a packet is always waiting when nta's timer yields."""

    def __init__(self, port):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.target = ("127.0.0.1", port)
        here = self.sock.getsockname()
        self.packet = "\r\n".join([
            "SIP/2.0 200 OK",
            f"Via: SIP/2.0/UDP {here[0]}:{here[1]};branch=z9hG4bKflood{uuid.uuid4().hex[:8]}",
            f"From: <sip:flood@{here[0]}>;tag=f1", f"To: <sip:flood@{here[0]}>;tag=f2",
            f"Call-ID: flood-{uuid.uuid4().hex}", "CSeq: 1 OPTIONS", "Content-Length: 0", "", ""]).encode()
        self.running = False
        self.sent = 0
        self.thread = None

    def start(self):
        self.running = True
        self.thread = threading.Thread(target=self._send, daemon=True)
        self.thread.start()
        return self

    def _send(self):
        while self.running:
            for _ in range(64):
                try:
                    self.sock.sendto(self.packet, self.target)
                    self.sent += 1
                except OSError:
                    pass

    def stop(self):
        self.running = False
        if self.thread:
            self.thread.join(5)
        self.sock.close()


class RawTrunk:
    """The PBX as a bare UDP socket on the trunk's address, for a flow SIPp
    will not play: an INVITE sent again, the very same, after its call ended."""

    def __init__(self, daemon):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((TRUNK_HOST, daemon.trunk_port))
        self.host, self.port = self.sock.getsockname()
        self.server = ("127.0.0.1", daemon.sip_port)
        self.call_id = f"sbtest-raw-{uuid.uuid4().hex[:10]}"
        self.tag = uuid.uuid4().hex[:8]
        self.branch = "z9hG4bK" + uuid.uuid4().hex[:16]
        body = "\r\n".join(["v=0", f"o=pbx 1 1 IN IP4 {self.host}", "s=trunk call", f"c=IN IP4 {self.host}",
                            "t=0 0", f"m=audio {free_port(TRUNK_HOST)} RTP/AVP 0", "a=rtpmap:0 PCMU/8000",
                            "a=sendrecv", ""])
        self.invite = "\r\n".join([
            f"INVITE sip:{NUMBER}@127.0.0.1:{daemon.sip_port} SIP/2.0",
            f"Via: SIP/2.0/UDP {self.host}:{self.port};rport;branch={self.branch}",
            f"From: \"Customer\" <sip:{CUSTOMER}@{self.host}>;tag={self.tag}",
            f"To: <sip:{NUMBER}@127.0.0.1:{daemon.sip_port}>",
            f"Call-ID: {self.call_id}", "CSeq: 1 INVITE", f"Contact: <sip:{CUSTOMER}@{self.host}:{self.port}>",
            "Max-Forwards: 70", "Content-Type: application/sdp", f"Content-Length: {len(body)}", "", body])
        self.got = []

    def close(self):
        self.sock.close()

    def send(self, text):
        self.sock.sendto(text.encode(), self.server)

    def recv(self, timeout):
        self.sock.settimeout(timeout)
        data, _ = self.sock.recvfrom(65535)
        msg = SipMessage(data.decode(errors="replace"))
        self.got.append(msg)
        return msg

    def until(self, pred, what, timeout=15):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"raw trunk: no {what} within {timeout}s; got {[m.first for m in self.got]}")
            try:
                msg = self.recv(left)
            except socket.timeout:
                continue
            if pred(msg):
                return msg

    def answer(self, req, status="200 OK"):
        keep = [f"{k.title()}: {v}" for k, v in req.headers if k in ("via", "from", "to", "call-id", "cseq")]
        self.send("SIP/2.0 " + status + "\r\n" + "\r\n".join(keep) + "\r\nContent-Length: 0\r\n\r\n")

    def options_answered(self):
        """An OPTIONS from this socket, answered: everything it sent before has been handled."""
        branch = "z9hG4bK" + uuid.uuid4().hex[:16]
        self.send("\r\n".join([
            f"OPTIONS sip:127.0.0.1:{self.server[1]} SIP/2.0",
            f"Via: SIP/2.0/UDP {self.host}:{self.port};rport;branch={branch}",
            f"From: <sip:pbx@{self.host}>;tag={uuid.uuid4().hex[:8]}", f"To: <sip:127.0.0.1:{self.server[1]}>",
            f"Call-ID: {uuid.uuid4().hex}", "CSeq: 1 OPTIONS", "Max-Forwards: 70", "Content-Length: 0", "", ""]))
        return self.until(lambda m: m.status == 200 and branch in (m.get("via") or ""), "200 to the OPTIONS")


class EarlyTimerH(RaceTest):
    def start_daemon(self):
        def cfg(c):
            c["shutdown"]["drainSeconds"] = 30
            c["sip"]["testT1x64Ms"] = T1X64_MS
            c["registrar"]["maxContacts"] = DEAD_CONTACTS + 1
        d = super(RaceTest, self).start(ring_timeout=20, queue_timeout=30, after_call_work=0, online=(ALICE, BOB),
                                        mutate=cfg)
        self.addCleanup(self.stop_now)
        return d

    def dead_phones(self):
        phones = []
        for _ in range(DEAD_CONTACTS):
            p = DeadPhone(self.d)
            self.addCleanup(p.close)
            r = p.register()
            self.assertEqual(r.status, 200, r.raw)
            phones.append(p)
        for p in phones:
            p.start()
        return phones

    def test_an_ack_late_but_within_64_t1_keeps_the_call(self):
        self.start_daemon()
        phone = self.desk("phone_answer", "phone", timeout=LONG)
        dead = self.dead_phones()
        # The customer's call, answered by Alice; its PBX holds back the ACK.
        pbx = self.sipp(Trunk(self.d, "race_trunk_late_ack", timeout=LONG))
        sid = self.answered(ring_timeout=20)
        pbx.wait_received(status=200)
        answered_at = time.monotonic()
        # A second call rings Bob's six dead contacts; nta retransmits the six
        # INVITEs together at 0.5 s and 1.5 s, yielding after the 5th, and
        # the flood makes sure a packet is read there.
        ringing = self.sipp(Trunk(self.d, "trunk_cancel", port=free_port(TRUNK_HOST), name="pbx2", timeout=LONG))
        self.expect("callIn", BOB)
        flood = Flood(self.d.sip_port).start()
        self.addCleanup(flood.stop)
        self.wait(lambda: all(p.invites >= 3 for p in dead) or not pbx.running(),
                  "two rounds of INVITE retransmissions to the dead contacts", timeout=T1X64 - 2)
        flood.stop()
        waited = time.monotonic() - answered_at
        self.assertLess(waited, T1X64 - 1, "the test outran 64*T1: it proves nothing")
        # Without the fix seatbridge has BYEd the customer by now (its SIPp
        # took the BYE as unexpected and gave up).
        self.assertTrue(pbx.running(), f"the customer's call ended before its ACK\n{pbx.logs()}\n{self.context()}")
        self.assertEqual(pbx.received("BYE"), [], pbx.summary())
        if top_bit_set():
            # The bug did fire (else this test would prove nothing): logged once.
            self.wait(lambda: "nta's Timer H fired" in self.d.logs(), "the early Timer H to be logged", timeout=5)
        pbx.poke()  # the ACK, 1.5-2.5 s after the 200
        pbx.wait_sent("ACK")
        # The other customer gives up (before Alice is free to be offered the call).
        ringing.give_up()
        self.success(ringing)
        # The call is still up past 64*T1 of its 200 (an ACK lost would have
        # ended it there), and the customer hangs up when told, answered 200.
        self.wait(lambda: time.monotonic() - answered_at > T1X64 + 1, "64*T1 after the 200 to pass",
                  timeout=T1X64 + 5)
        self.assertTrue(pbx.running(), pbx.summary())
        self.assertNotEqual(self.events.session(sid).get("state"), "ended", self.events.session(sid))
        pbx.poke()
        self.success(pbx)
        self.assertEqual(pbx.received("BYE"), [], pbx.summary())
        self.assert_ended(sid, ALICE, "client")
        self.success(phone)
        self.assertEqual(len(phone.received("BYE")), 1, phone.summary())
        self.assertEqual(len(self.events.sessions()), 2, self.events.sessions())
        self.assert_no_stuck_leg()

    def test_an_invite_retransmitted_after_its_call_ended_is_no_new_session(self):
        # RFC 3261 section 17.2.3: the same INVITE (Call-ID, From tag, CSeq,
        # branch) is a retransmission, also once nta dropped its transaction
        # and seatbridge its leg; a second call would ring an agent again.
        self.start_daemon()
        phone = self.desk("phone_answer", "phone", timeout=LONG)
        pbx = RawTrunk(self.d)
        self.addCleanup(pbx.close)
        pbx.send(pbx.invite)
        ok = pbx.until(lambda m: m.status == 200, "200 to the INVITE", timeout=20)
        sid = self.answered(ring_timeout=20)
        self.assertIsNotNone(sdp_media(ok)[1], ok.raw)
        # No ACK: Timer H, after 64*T1, ends the call with a BYE.
        bye = pbx.until(lambda m: m.method == "BYE", "BYE at Timer H", timeout=T1X64 + 10)
        pbx.answer(bye)
        self.assert_ended(sid, ALICE, "client")
        self.success(phone)
        # The INVITE again, as a late retransmission: absorbed, no answer.
        pbx.got.clear()
        pbx.send(pbx.invite)
        pbx.options_answered()
        self.assertEqual([m.status for m in pbx.got if (m.get("cseq") or "").endswith("INVITE")], [],
                         [m.first for m in pbx.got])
        self.assertEqual([r["sessionId"] for r in self.events.sessions()], [sid], self.events.sessions())
        self.assertEqual([e for e in self.events.seen if e.get("event") == "callIn"][1:], [])
        self.assert_no_stuck_leg()


if __name__ == "__main__":
    unittest.main()
