"""A desk phone registered over TCP, and a daemon restart (docs/OPERATIONS.md,
"Phones on TCP after a restart"): the restart closes the phone's connection;
its binding is restored but names that connection's address, so an offer to
it fails at once (offer outcome failed) and the call moves on to the next
agent: no ring timeout, no stuck session. Once the phone reconnects and
re-registers over TCP, calls reach it through its new connection.

The TCP phone is scripted here (TcpPhone): like most phones it connects from an
ephemeral port and listens on none, so nothing answers at its old address. The
other agent's phone and the PBX are SIPp, as in test_calls.py."""
import socket
import time
import unittest
import uuid

from calls import ALICE, BOB, Events, Phone, Trunk, call_daemon
from harness import SipMessage, SipPhone, free_port, wait_for


class TcpPhone:
    """Extension `user` over one TCP connection to seatbridge: REGISTER with
    digest auth, then answer a call (180, 200 with SDP, wait ACK) and its BYE.
    As a phone does, it keeps its Contact (a port it names but nothing listens
    on: seatbridge must use the connection) and its registration Call-ID across
    connections (RFC 3261 §10.2.4), so re-registering refreshes its binding."""

    def __init__(self, server_port, user, password, domain):
        self.server_port, self.user, self.password, self.domain = server_port, user, password, domain
        self.nc = 0
        self.sock = None
        self.contact_port = free_port()
        self.call_id = uuid.uuid4().hex
        self.cseq = 0

    def connect(self):
        self.close()
        self.sock = socket.create_connection(("127.0.0.1", self.server_port), timeout=10)
        self.host, self.port = self.sock.getsockname()
        self.buf = b""
        return self

    def close(self):
        if self.sock:
            self.sock.close()
            self.sock = None

    @property
    def contact(self):
        return f"sip:{self.user}@127.0.0.1:{self.contact_port};transport=tcp"

    def send(self, text):
        self.sock.sendall(text.encode())

    def read(self, timeout=10):
        """The next message on the connection; None once seatbridge closed it."""
        deadline = time.monotonic() + timeout
        while True:
            head, sep, rest = self.buf.partition(b"\r\n\r\n")
            if sep:
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() in (b"content-length", b"l"):
                        length = int(value.strip())
                if len(rest) >= length:
                    self.buf = rest[length:]
                    return SipMessage((head + sep + rest[:length]).decode(errors="replace"))
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{self.user} over TCP: nothing within {timeout}s")
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                return None
            if not chunk:
                return None
            self.buf += chunk

    def register_request(self, authorization=None):
        self.cseq += 1
        ruri = f"sip:127.0.0.1:{self.server_port};transport=tcp"
        lines = [f"REGISTER {ruri} SIP/2.0",
                 f"Via: SIP/2.0/TCP {self.host}:{self.port};rport;branch=z9hG4bK{uuid.uuid4().hex[:16]}",
                 "Max-Forwards: 70",
                 f"From: <sip:{self.user}@{self.domain}>;tag={uuid.uuid4().hex[:8]}",
                 f"To: <sip:{self.user}@{self.domain}>",
                 f"Call-ID: {self.call_id}",
                 f"CSeq: {self.cseq} REGISTER",
                 f"Contact: <{self.contact}>",
                 "Expires: 600",
                 "User-Agent: seatbridge-test-tcp-phone"]
        if authorization:
            lines.append(f"Authorization: {authorization}")
        return "\r\n".join(lines + ["Content-Length: 0", "", ""]), ruri

    def register(self):
        text, ruri = self.register_request()
        self.send(text)
        ch = self.read()
        assert ch is not None and ch.status == 401, ch and ch.raw
        # The digest arithmetic of harness.SipPhone (it reads user, password and nc).
        auth = SipPhone.authorization(self, ch.get("www-authenticate"), ruri)
        self.send(self.register_request(auth)[0])
        return self.read()

    def reply(self, req, status, to_tag, body="", extra=()):
        keep = [f"{k.title()}: {v}" for k, v in req.headers if k in ("via", "v", "from", "f", "call-id", "i", "cseq")]
        to = req.get("to") or req.get("t")
        if to_tag and "tag=" not in to:
            to += f";tag={to_tag}"
        lines = [f"SIP/2.0 {status}"] + keep + [f"To: {to}", f"Contact: <{self.contact}>"] + list(extra)
        if body:
            lines.append("Content-Type: application/sdp")
        lines.append(f"Content-Length: {len(body)}")
        self.send("\r\n".join(lines) + "\r\n\r\n" + body)

    def expect(self, method, timeout=15):
        msg = self.read(timeout)
        assert msg is not None, f"the connection closed waiting for {method}"
        assert msg.method == method, f"wanted {method}, got {msg.first}"
        return msg

    def answer_call(self, rtp_port):
        """Takes the next INVITE: 180, 200 with an SDP answer, then its ACK."""
        invite = self.expect("INVITE")
        tag = uuid.uuid4().hex[:8]
        self.reply(invite, "180 Ringing", tag)
        sdp = (f"v=0\r\no=tcp 1 1 IN IP4 {self.host}\r\ns=-\r\nc=IN IP4 {self.host}\r\nt=0 0\r\n"
               f"m=audio {rtp_port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")
        self.reply(invite, "200 OK", tag, sdp)
        self.expect("ACK")
        return invite

    def answer_bye(self):
        bye = self.expect("BYE")
        self.reply(bye, "200 OK", None)
        return bye


class TcpPhoneAfterRestart(unittest.TestCase):
    def start(self, queue_timeout=20):
        self.peers = []
        self.d = call_daemon(ring_timeout=10, queue_timeout=queue_timeout)
        self.addCleanup(self.d.close)
        self.d.start()
        self.events = self.connect_events()
        self.alice = TcpPhone(self.d.sip_port, "1001", "pw-1001", self.d.config["sip"]["domain"])
        self.addCleanup(self.alice.close)

    def restart(self, bindings):
        """Same storage: the bindings come back, alice's TCP connection does not
        (the exiting daemon closed it). Returns alice's restored source."""
        old_source = f"tcp:127.0.0.1:{self.alice.port}"
        self.events.close()
        self.assertEqual(self.d.stop(), 0)
        self.assertIsNone(self.alice.read(), "the daemon closed the phone's connection")
        self.d.start()
        self.assertIn(f"restored {bindings} binding(s)", self.d.logs())
        self.events = self.connect_events()
        self.assertEqual([c["source"] for c in self.contacts("1001")], [old_source], "restored, old address")
        return old_source

    def connect_events(self):
        events = Events(self.d)
        events.context = self.context
        self.addCleanup(events.close)
        return events

    def context(self):
        return "\n".join(["--- peers:"] + [s.summary() for s in self.peers] + ["--- daemon log (tail):",
                                                                              self.d.logs()[-4000:]])

    def sipp(self, s):
        self.addCleanup(s.close)
        self.peers.append(s)
        return s.start()

    def online(self, *users):
        for user in users:
            self.events.ok("Agent.online", {"userId": user})
            self.events.expect("statusChanged", user, status="free")

    def contacts(self, extension):
        rows = self.events.ok("Gateway.listExtensions")["extensions"]
        return next(r for r in rows if r["extensionId"] == extension)["contacts"]

    def success(self, *sipps):
        for s in sipps:
            rc = s.wait()
            if rc != 0:
                raise AssertionError(f"{s.name} exited {rc}\n{s.logs()}\n{self.context()}")

    def test_the_restart_drops_the_tcp_phone_until_it_registers_again(self):
        self.start()
        r = self.alice.connect().register()
        self.assertEqual(r.status, 200, r.raw)
        self.assertEqual([c["source"] for c in self.contacts("1001")], [f"tcp:127.0.0.1:{self.alice.port}"])
        bob = self.sipp(Phone(self.d, "1002", "phone_answer"))  # UDP
        bob.wait_registered(self.events)
        self.restart(bindings=2)
        self.online(ALICE, BOB)  # agents are not restored (docs/OPERATIONS.md)

        # A call: alice (priority 1) is offered it, her INVITE cannot reach the
        # dead connection's address, and the call moves on to bob at once.
        mark = self.events.mark()
        pbx = self.sipp(Trunk(self.d, "trunk_call_hangup", talk_ms=300))
        first = self.events.expect("callIn", ALICE, since=mark)
        sid = first["data"]["sessionId"]
        second = self.events.expect("callIn", BOB, sessionId=sid)
        self.assertLess(second["_at"] - first["_at"], 5, "the failed offer did not wait for ringTimeout (10 s)")
        self.assertFalse([e for e in self.events.between(first, second) if e["event"] == "autoTransfer"])
        self.events.expect("userAccessed", BOB, sessionId=sid)
        self.success(pbx, bob)
        ended = self.events.expect("sessionEnded", BOB, sessionId=sid)
        self.assertEqual(ended["data"]["closeBy"], "client")
        self.assertEqual(self.d.metric("seatbridge_offers_total", {"outcome": "failed"}), 1)
        record = next(r for r in self.events.ok("Gateway.listRecords")["records"] if r["sessionId"] == sid)
        self.assertEqual([(o["userId"], o["outcome"]) for o in record["offers"]],
                         [(ALICE, "failed"), (BOB, "answered")], record)
        self.events.expect("statusChanged", ALICE, since=self.events.after(first), status="free")
        self.assertTrue(all(s["state"] == "ended" for s in self.events.sessions()), self.events.sessions())

        # The phone reconnects and re-registers: a new call reaches it over the new connection.
        r = self.alice.connect().register()
        self.assertEqual(r.status, 200, r.raw)
        sources = [c["source"] for c in self.contacts("1001")]
        self.assertEqual(sources, [f"tcp:127.0.0.1:{self.alice.port}"], "the new connection's address replaced it")
        self.events.ok("Agent.offline", {"userId": BOB})
        mark = self.events.mark()
        pbx = self.sipp(Trunk(self.d, "trunk_call_hangup", talk_ms=300, name="pbx2"))
        invite = self.alice.answer_call(rtp_port=40002)
        self.assertTrue(invite.first.startswith(f"INVITE {self.alice.contact} "), invite.first)
        sid = self.events.expect("callIn", ALICE, since=mark)["data"]["sessionId"]
        self.events.expect("userAccessed", ALICE, sessionId=sid)
        self.alice.answer_bye()  # the customer hangs up after talk_ms
        self.success(pbx)
        ended = self.events.expect("sessionEnded", ALICE, sessionId=sid)
        self.assertEqual(ended["data"]["closeBy"], "client")
        wait_for(lambda: all(s["state"] == "ended" for s in self.events.sessions()), what="every session ended")
        self.assertEqual(self.d.metric("seatbridge_offers_total", {"outcome": "failed"}), 1)


    # A dead TCP binding fails each offer at once. When the one agent is the
    # only one who could take the call, core offers it again no sooner than
    # 2 s after the failure (it once did so at once: 2000 callIn events in 20 s).
    def test_the_only_agent_on_a_dead_tcp_binding_is_not_offered_the_call_in_a_loop(self):
        self.start(queue_timeout=3)
        self.assertEqual(self.alice.connect().register().status, 200)
        self.restart(bindings=1)
        self.online(ALICE)
        pbx = self.sipp(Trunk(self.d, "trunk_rejected"))
        self.success(pbx)
        self.assertEqual(pbx.final_status(), 480, "the queue timeout (docs/OPERATIONS.md)")
        [record] = wait_for(lambda: self.events.ok("Gateway.listRecords")["records"], what="the call's record")
        outcomes = [o["outcome"] for o in record["offers"]]
        self.assertLessEqual(len(outcomes), 2, f"{len(outcomes)} offers of one call to one agent: {outcomes[:5]}...")


if __name__ == "__main__":
    unittest.main(verbosity=2)
