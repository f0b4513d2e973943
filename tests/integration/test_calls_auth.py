"""Calls placed from desk phones: digest authentication of the INVITE (407,
Proxy-Authenticate, RFC 3261 §22.3) with REGISTER's nonces, failure count and
ban; an authenticated call then meets the dial plan, which has no patterns
here, so it is refused 403 Number Not Allowed (calloutRefused, reason
numberNotAllowed; test_calls_outbound.py has the calls that go out); a
stranger gets 403 unchallenged.

A phone is harness.SipPhone (UDP, scripted), which registers as an extension
and then sends INVITEs by hand, so each answer and each ACK can be checked;
a baresip phone shows that a real softphone gets through the challenge too.
A trunk call afterwards (SIPp PBX and desk phone, as in test_calls.py) shows
the daemon still serves calls."""
import re
import socket
import unittest
import uuid

from audio.baresip import Baresip
from calls import ALICE, PHONE_HOST, Events, Phone, Trunk, call_daemon
from harness import SipMessage, SipPhone, digest_hash, wait_for

DIALLED = "+15550100777"  # what the desk phones dial: no dialPatterns are configured, so none allows it
MAX_FAILURES = 3


def params(challenge):
    """The parameters of one Digest challenge; SWS around '=' allowed (RFC 3261 §25.1)."""
    return {k.lower(): v1 or v2 for k, v1, v2 in re.findall(r'(\w+)\s*=\s*(?:"([^"]*)"|([^,\s]+))', challenge)}


class DeskPhone(SipPhone):
    """SipPhone that also places calls: INVITE, Proxy-Authorization, ACK."""

    def __init__(self, *args, transport="UDP", **kw):
        super().__init__(*args, **kw)
        self.transport = transport
        self.call_id = uuid.uuid4().hex
        self.from_tag = uuid.uuid4().hex[:8]

    def invite(self, number=DIALLED, authorization=None, from_user=None, call_id=None, branch=None, cseq=None):
        """(text, fields): an INVITE to number@domain, sent to seatbridge."""
        self.cseq += 1
        ruri = f"sip:{number}@{self.domain}"
        branch = branch or f"z9hG4bK{uuid.uuid4().hex[:16]}"
        sdp = (f"v=0\r\no=desk 1 1 IN IP4 {self.host}\r\ns=-\r\nc=IN IP4 {self.host}\r\nt=0 0\r\n"
               f"m=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")
        fields = {"ruri": ruri, "branch": branch, "call_id": call_id or self.call_id, "cseq": cseq or self.cseq,
                  "from": f"<sip:{from_user or self.user}@{self.domain}>;tag={self.from_tag}"}
        lines = [f"INVITE {ruri} SIP/2.0",
                 f"Via: SIP/2.0/{self.transport} {self.host}:{self.port};rport;branch={branch}",
                 "Max-Forwards: 70",
                 f"From: {fields['from']}",
                 f"To: <{ruri}>",
                 f"Call-ID: {fields['call_id']}",
                 f"CSeq: {fields['cseq']} INVITE",
                 f"Contact: {self.contact()}",
                 "User-Agent: seatbridge-test-phone"]
        if authorization:
            lines.append(f"Proxy-Authorization: {authorization}")
        lines += ["Content-Type: application/sdp", f"Content-Length: {len(sdp)}"]
        return "\r\n".join(lines) + "\r\n\r\n" + sdp, fields

    def ack(self, fields, response):
        """RFC 3261 §17.1.1.3: the ACK of a non-2xx final answer, in its transaction."""
        return "\r\n".join([f"ACK {fields['ruri']} SIP/2.0",
                            f"Via: SIP/2.0/{self.transport} {self.host}:{self.port};rport;branch={fields['branch']}",
                            "Max-Forwards: 70",
                            f"From: {fields['from']}",
                            f"To: {response.get('to')}",
                            f"Call-ID: {fields['call_id']}",
                            f"CSeq: {fields['cseq']} ACK",
                            "Content-Length: 0", "", ""])

    def proxy_authorization(self, challenge, ruri, password=None, user=None, nc=None):
        p = params(challenge)
        alg = p.get("algorithm", "MD5")
        user = user or self.user
        if nc is None:
            self.nc += 1
            nc = self.nc
        nc, cnonce = f"{nc:08x}", uuid.uuid4().hex[:12]
        ha1 = digest_hash(alg, f"{user}:{p['realm']}:{password or self.password}")
        ha2 = digest_hash(alg, f"INVITE:{ruri}")
        resp = digest_hash(alg, f"{ha1}:{p['nonce']}:{nc}:{cnonce}:auth:{ha2}")
        return (f'Digest username="{user}", realm="{p["realm"]}", nonce="{p["nonce"]}", uri="{ruri}", '
                f'response="{resp}", algorithm={alg}, cnonce="{cnonce}", qop=auth, nc={nc}')

    def call(self, text, fields):
        """Sends an INVITE, returns its final answer and ACKs it."""
        self.send(text)
        r = self.final()
        self.send(self.ack(fields, r))
        return r

    def final(self, timeout=5):
        while True:
            r = self.response(timeout)
            if r.status >= 200:
                return r

    def silent(self):
        """Nothing has arrived (checked without waiting)."""
        self.sock.setblocking(False)
        try:
            data = self.sock.recv(65535)
        except BlockingIOError:
            return True
        finally:
            self.sock.setblocking(True)
        raise AssertionError(f"unexpected message: {data[:200]!r}")


def with_auth_limits(cfg):
    cfg["security"]["maxAuthFailures"] = MAX_FAILURES


class CallsFromDeskPhones(unittest.TestCase):
    def setUp(self):
        self.d = call_daemon(ring_timeout=5, queue_timeout=10, mutate=with_auth_limits)
        self.addCleanup(self.d.close)
        self.d.start()
        self.events = Events(self.d)
        self.addCleanup(self.events.close)
        self.phone = self.desk_phone("1001", "127.0.0.1")

    def desk_phone(self, user, host):
        p = DeskPhone(self.d.sip_port, user, f"pw-{user}", host=host, domain=self.d.config["sip"]["domain"])
        self.addCleanup(p.close)
        r = p.register(600)
        self.assertEqual(r.status, 200, r.raw)
        return p

    def metric(self, name, **labels):
        return self.d.metric(name, labels or None) or 0

    def refused(self, reason):
        """Calls refused before authentication counts (untrustedSource, ...)."""
        return self.metric("seatbridge_calls_refused_total", reason=reason)

    def not_allowed(self):
        """Authenticated calls the dial plan refused."""
        return self.metric("seatbridge_outbound_refused_total", reason="numberNotAllowed")

    def await_not_allowed(self, n):
        # The 403 may reach the phone a moment before the counter moves (the
        # refusal's actions run in order, the answer first): awaited, not read.
        wait_for(lambda: self.not_allowed() == n, what=f"{n} refusal(s) counted")
        self.assertEqual(self.not_allowed(), n)

    def challenge(self, phone, **kw):
        """An INVITE without credentials: its 407 (ACKed) and the INVITE's fields."""
        text, fields = phone.invite(**kw)
        r = phone.call(text, fields)
        self.assertEqual(r.status, 407, r.raw)
        return r, fields

    def answer(self, phone, challenge, algorithm="SHA-256", password=None, **kw):
        chosen = next(c for c in challenge.all("proxy-authenticate") if params(c).get("algorithm") == algorithm)
        ruri = f"sip:{DIALLED}@{phone.domain}"
        text, fields = phone.invite(authorization=phone.proxy_authorization(chosen, ruri, password), **kw)
        return text, fields

    def assert_absorbed(self, phone):
        """Whatever phone sent last (an ACK) got no answer: an OPTIONS after it
        is the next thing answered."""
        phone.send(f"OPTIONS sip:127.0.0.1:{self.d.sip_port} SIP/2.0\r\n"
                   f"Via: SIP/2.0/UDP {phone.host}:{phone.port};rport;branch=z9hG4bK{uuid.uuid4().hex[:16]}\r\n"
                   f"From: <sip:{phone.user}@{phone.domain}>;tag=o1\r\nTo: <sip:{phone.domain}>\r\n"
                   f"Call-ID: {uuid.uuid4().hex}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
        r = phone.response()
        self.assertEqual((r.status, r.get("cseq")), (200, "1 OPTIONS"), r.raw)

    def assert_no_call(self):
        self.assertEqual([s for s in self.events.sessions()], [])
        self.events.mark()  # reads the events that came meanwhile
        self.assertFalse([e for e in self.events.seen if e["event"] in ("callIn", "callOuted")])

    def trunk_call_still_works(self):
        """(e) The daemon serves a trunk call: the PBX on 127.0.0.2 to alice's SIPp desk phone
        (the scripted 1001 unregisters first, so that the call rings the SIPp alone)."""
        self.assertEqual(self.phone.register(0).status, 200)
        self.events.ok("Agent.online", {"userId": ALICE})
        self.events.expect("statusChanged", ALICE, status="free")
        phone = Phone(self.d, "1001", "phone_answer", name="sipp1001")
        self.addCleanup(phone.close)
        phone.start().wait_registered(self.events)
        pbx = Trunk(self.d, "trunk_call_hangup", talk_ms=200)
        self.addCleanup(pbx.close)
        pbx.start()
        call_in = self.events.expect("callIn", ALICE)
        for s in (pbx, phone):
            s.expect_success()
        ended = self.events.expect("sessionEnded", ALICE, sessionId=call_in["data"]["sessionId"])
        self.assertEqual(ended["data"]["closeBy"], "client")

    # (a)
    def test_a_registered_phone_is_challenged_407_with_both_algorithms_and_its_ack_is_absorbed(self):
        r, _ = self.challenge(self.phone)
        self.assertEqual(r.first, "SIP/2.0 407 Proxy Authentication Required")
        self.assertIn("tag=", r.get("to"), "a final answer tags To (RFC 3261 §8.2.6.2)")
        self.assertEqual(r.all("www-authenticate"), [])
        challenges = [params(c) for c in r.all("proxy-authenticate")]
        self.assertEqual([c.get("algorithm") for c in challenges], ["SHA-256", "MD5"], r.raw)
        for c in challenges:
            self.assertEqual(c["realm"], "seatbridge.test")
            self.assertEqual(c["qop"], "auth")
            self.assertEqual(c["nonce"], challenges[0]["nonce"], "one nonce for both (RFC 8760 §2.4)")
            self.assertNotIn("stale", c)
        self.assert_absorbed(self.phone)
        self.assertEqual(self.metric("seatbridge_sip_responses_total", method="INVITE", code="407"), 1)
        self.assertEqual(self.metric("seatbridge_sip_requests_total", method="ACK"), 1)
        self.assertEqual(self.metric("seatbridge_auth_failures_total"), 0)
        self.assert_no_call()
        self.phone.silent()

    # (b)
    def test_right_credentials_pass_to_the_dial_plan_which_refuses_the_number(self):
        for n, algorithm in enumerate(("SHA-256", "MD5"), 1):
            ch, _ = self.challenge(self.phone)
            text, fields = self.answer(self.phone, ch, algorithm)
            r = self.phone.call(text, fields)
            self.assertEqual(r.first, "SIP/2.0 403 Number Not Allowed", r.raw)
            self.await_not_allowed(n)
            refused = self.events.expect("calloutRefused", ALICE)
            self.assertEqual(refused["data"], {"extensionId": "1001", "calleePhoneNumber": DIALLED,
                                               "reason": "numberNotAllowed"})
            self.assert_absorbed(self.phone)
        self.assertEqual(self.metric("seatbridge_auth_failures_total"), 0)
        # A retransmission (the 403 lost) is answered the same, not as a replay,
        # and is no new call: not refused (counted) again.
        self.phone.send(text)
        self.assertEqual(self.phone.final().status, 403)
        self.assertEqual(self.not_allowed(), 2)
        # The same credentials on a new request are a replay: a fresh nonce, stale=true (RFC 7616 §3.3).
        auth = re.search(r"Proxy-Authorization: (.*)\r\n", text).group(1)
        text, fields = self.phone.invite(authorization=auth)
        r = self.phone.call(text, fields)
        self.assertEqual(r.status, 407, r.raw)
        self.assertTrue(all(params(c).get("stale") == "true" for c in r.all("proxy-authenticate")), r.raw)
        self.assertEqual(self.metric("seatbridge_auth_failures_total"), 0)
        self.assert_no_call()
        self.assertEqual(self.refused("untrustedSource"), 0)

    # (c) and (e)
    def test_wrong_passwords_are_challenged_again_counted_and_ban_the_source_like_register(self):
        intruder = self.desk_phone("1003", "127.0.0.7")  # registered, then tries another password
        for n in range(1, MAX_FAILURES + 1):
            ch, _ = self.challenge(intruder)
            r = intruder.call(*self.answer(intruder, ch, password="guess"))
            self.assertEqual(r.status, 407, r.raw)  # challenged again, not told why
            self.assertFalse(any("stale" in params(c) for c in r.all("proxy-authenticate")), r.raw)
            self.assertEqual(self.metric("seatbridge_auth_failures_total"), n)
        self.assertEqual(self.metric("seatbridge_banned_sources"), 1)
        self.assertEqual(self.d.logs().count("banning 127.0.0.7"), 1)
        # Banned: INVITE and REGISTER alike are dropped unanswered, and counted.
        for text in (intruder.invite()[0], intruder.build(600)[0]):
            dropped = self.metric("seatbridge_banned_requests_total")
            intruder.send(text)
            wait_for(lambda: self.metric("seatbridge_banned_requests_total") == dropped + 1, what="a dropped request")
        intruder.silent()
        self.assertEqual(self.not_allowed(), 0)
        self.assert_no_call()
        # Other addresses are unaffected: authenticated, then refused by the dial plan.
        ch, _ = self.challenge(self.phone)
        self.assertEqual(self.phone.call(*self.answer(self.phone, ch)).first, "SIP/2.0 403 Number Not Allowed")
        self.await_not_allowed(1)
        self.trunk_call_still_works()

    # (d) and (e)
    def test_a_stranger_gets_403_untrusted_source_whatever_from_says(self):
        stranger = DeskPhone(self.d.sip_port, "9999", "x", host="127.0.0.6", domain="seatbridge.test")
        self.addCleanup(stranger.close)
        for n, claimed in enumerate(("9999", "1001"), 1):  # an unknown caller, then a configured extension
            text, fields = stranger.invite(from_user=claimed)
            r = stranger.call(text, fields)
            self.assertEqual(r.status, 403, r.raw)
            self.assertEqual(r.all("proxy-authenticate"), [], "a stranger is not challenged")
            self.assertEqual(self.refused("untrustedSource"), n)
            self.assert_absorbed(stranger)
        self.assertEqual(self.metric("seatbridge_auth_failures_total"), 0)
        self.assert_no_call()
        self.trunk_call_still_works()

    def test_a_phone_registered_over_udp_is_challenged_over_tcp_too(self):
        tcp = socket.create_connection(("127.0.0.1", self.d.sip_port), timeout=5)
        self.addCleanup(tcp.close)
        host, port = tcp.getsockname()
        caller = DeskPhone(self.d.sip_port, "1001", "pw-1001", transport="TCP", domain="seatbridge.test")
        self.addCleanup(caller.close)
        caller.host, caller.port = host, port  # Via and Contact name the TCP connection
        text, _ = caller.invite()
        tcp.sendall(text.encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = tcp.recv(65535)
            self.assertTrue(chunk, "the connection closed unanswered")
            data += chunk
        r = SipMessage(data.decode(errors="replace"))
        self.assertEqual(r.status, 407, r.raw)  # stateless: no 100 Trying first
        self.assertEqual([params(c).get("algorithm") for c in r.all("proxy-authenticate")], ["SHA-256", "MD5"])


class BaresipCalls(unittest.TestCase):
    """A real softphone: baresip registered as 1001 dials out, answers the 407
    (MD5: baresip 1.0 knows no other, see test_calls_audio.py) and gets 403
    from the dial plan (no dialPatterns configured)."""

    def test_baresip_answers_the_challenge_and_is_refused_by_the_dial_plan(self):
        d = call_daemon(mutate=lambda cfg: cfg["security"].update(digestAlgorithms=["MD5"]))
        self.addCleanup(d.close)
        d.start()
        events = Events(d)
        self.addCleanup(events.close)
        domain = d.config["sip"]["domain"]
        proxy = f"sip:127.0.0.1:{d.sip_port};transport=udp"
        phone = Baresip(d.tmp, "desk", PHONE_HOST, f"<sip:1001@{domain};transport=udp>;auth_pass=pw-1001;"
                        f"outbound1=\"{proxy}\";regint=600", "/dev/null")
        self.addCleanup(phone.close)
        phone.start()
        wait_for(lambda: d.metric("seatbridge_registered_contacts") == 1, timeout=15, what="baresip's binding")
        phone.command("dial", f"sip:{DIALLED}@{domain}")
        closed = phone.wait_event("CALL_CLOSED")
        self.assertIn("403", closed.get("param", ""), closed)
        wait_for(lambda: d.metric("seatbridge_outbound_refused_total", {"reason": "numberNotAllowed"}) == 1,
                 what="the refusal counted")
        events.expect("calloutRefused", ALICE, reason="numberNotAllowed", calleePhoneNumber=DIALLED)
        self.assertEqual(d.metric("seatbridge_sip_responses_total", {"method": "INVITE", "code": "407"}), 1)
        self.assertEqual(d.metric("seatbridge_auth_failures_total") or 0, 0)
        self.assertEqual(events.sessions(), [])
        self.assertEqual(phone.quit(), 0, phone.logs())


if __name__ == "__main__":
    unittest.main(verbosity=2)
