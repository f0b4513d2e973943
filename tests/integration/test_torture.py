"""Issue 11: RFC 4475's 49 torture messages, sent to a running seatbridged over
UDP and over TCP, each answer checked against what RFC 4475 (and RFC 3261 §8.2's
order of checks, for a UAS) expects of seatbridge.

The messages are the files of RFC 4475's Appendix A archive, byte for byte
(tests/integration/torture/rfc4475, MANIFEST has their SHA-256), with one
exception: the transport token of the topmost Via is set to the transport the
message travels on (UDP, TCP and TLS are all three letters, so nothing else
moves). Sofia's transaction layer drops, silently and counted, a request whose
top Via names another transport than the one it came over (RFC 3261 §18.2.1's
sent-by check as nta applies it); sent unchanged, half the messages would test
only that. One test sends an unchanged TCP-Via message over UDP to show it.

Where each answer goes: over UDP a response goes to the top Via's port at the
source address (RFC 3261 §18.2.2: received=, no rport), so the test sends from
127.0.44.75 and listens on the Via ports the messages name (5060, 5050); over
TCP it comes back on the connection. After each message the test sends a
well-formed OPTIONS on the same socket or connection and reads until that
probe's 200: the SIP thread answers in order, so whatever came before the
probe's answer is all the torture message got. No wall-clock wait decides
that a message went unanswered.

seatbridge is a UAS here (a registrar, and a B2BUA's first leg): RFC 3261 §8.2
has it authenticate first, then check the method, then the Request-URI and the
headers. An INVITE from an address that is no trunk is a desk phone's call: it
gets 403 (From is no extension) or a 401 challenge before any content check,
which RFC 4475 leaves to the element that accepts the request.
"""
import hashlib
import os
import re
import select
import socket
import time
import unittest
import uuid

from harness import Daemon, SipMessage, SipPhone, registered_contacts, wait_for

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "torture", "rfc4475")
SOURCE = "127.0.44.75"      # no trunk's address, and no other test's
VIA_PORTS = (5060, 5050)    # the ports the messages' top Vias name (quotbal.dat: 5050)

DROP = "discarded"  # no answer at all (a response to no request, or no Via to answer to)
WAIT = "waiting"    # TCP only: the stream waits for the body Content-Length promises
CLOSED = "closed"   # TCP only: seatbridge closes the connection (a framing error is unrecoverable)
# TCP only: nothing more is answered on the connection, and it stays open. What
# Sofia-SIP's stream transport does with a message it cannot read at all (no
# request line, no status line it accepts): it drops it but cannot frame what
# follows. RFC 4475 §3.1.2.3 would have the connection closed; the sender's own
# connection is all it costs (every other connection and call goes on, which
# the probe on a connection of its own shows).
DEAF = "deaf"

# file: (RFC 4475 section, answer over UDP, answer over TCP). An answer is one
# status, a tuple of acceptable ones, DROP or WAIT. The RFC's words are in the
# comment above each group.
EXPECT = {
    # §3.1.1 valid messages: "all elements should treat this as a well-formed
    # request" -- answered, never 400.
    "wsinv": ("3.1.1.1", 481, 481),        # a To tag: an in-dialog INVITE of no dialog (RFC 3261 §12.2.2)
    # "Endpoints will generate a 501 listing the methods they understand": but
    # Debian's Sofia-SIP 1.12.11 reads a method with !, ` or ' in it (all RFC
    # 3261 §25.1 token characters) as garbage and drops the datagram before
    # seatbridge sees it. The one valid message answered wrongly; counted.
    "intmeth": ("3.1.1.2", DROP, DEAF),
    "esc01": ("3.1.1.3", 403, 403),        # an INVITE from no trunk and no extension (§8.2: authentication first)
    "escnull": ("3.1.1.4", 401, 401),      # a REGISTER: challenged
    "esc02": ("3.1.1.5", 501, 501),        # RE%47IST%45R is an unknown method, not REGISTER
    "lwsdisp": ("3.1.1.6", 200, 200),      # OPTIONS
    "longreq": ("3.1.1.7", 403, 403),
    # "handle the REGISTER request normally and ignore the extra bits": over
    # UDP (RFC 3261 §18.3). On a stream those bits are the next message, an
    # INVITE whose body has not all arrived: the connection waits for it.
    "dblreq": ("3.1.1.8", 401, (401, WAIT)),
    "semiuri": ("3.1.1.9", 200, 200),
    "transports": ("3.1.1.10", 200, 200),
    "mpart01": ("3.1.1.11", 501, 501),     # MESSAGE: not implemented here (RFC 3261 §8.2.1)
    "unreason": ("3.1.1.12", DROP, DROP),  # responses that match no transaction: discarded (§18.1.2)
    "noreason": ("3.1.1.13", DROP, DROP),
    # §3.1.2 invalid messages: a 400 where the stack can tell; none is ever
    # taken as valid, and none harms the daemon.
    "badinv01": ("3.1.2.1", DROP, CLOSED),  # "should respond with a 400": its Via is garbage, so no address to answer to
    "clerr": ("3.1.2.2", 400, WAIT),       # "over UDP ... 400"; "over ... TCP ... wait for more data"
    "ncl": ("3.1.2.3", 400, (400, CLOSED)),  # "If a request like this arrives over TCP ... the connection should be closed"
    "scalar02": ("3.1.2.4", 400, 400),
    "scalarlg": ("3.1.2.5", DROP, DROP),   # a response
    "quotbal": ("3.1.2.6", 400, 400),
    "ltgtruri": ("3.1.2.7", 400, 400),
    # "should respond with a 400 ... could attempt to ignore the embedded LWS":
    # Sofia cannot read the request line at all, so there is nothing to answer.
    "lwsruri": ("3.1.2.8", DROP, DEAF),
    # "acceptable to reject ... as malformed. An element that is liberal ... may
    # ignore these extra SP characters": Sofia is liberal, and the request goes
    # on to its answer (an INVITE from no trunk: 403; OPTIONS: 200).
    "lwsstart": ("3.1.2.9", 403, 403),
    "trws": ("3.1.2.10", 200, 200),
    "escruri": ("3.1.2.11", 403, 403),     # "could choose to be liberal ... and ignore the escaped headers"
    "baddate": ("3.1.2.12", 403, 403),     # "shouldn't [reject] unless the contents of the Date ... were actually important"
    "regbadct": ("3.1.2.13", 400, 400),
    "badaspec": ("3.1.2.14", 200, 200),    # "reasonable to reject ... Elements attempting to be liberal may ignore the spaces"
    "baddn": ("3.1.2.15", 400, 400),
    # "should respond ... with a 505": over TCP it does. Over UDP nta sends its
    # 505 before it stamps received= on the Via (RFC 3261 §18.2.1), so the
    # answer goes to the Via's own host, a name that does not resolve here.
    "badvers": ("3.1.2.16", DROP, 505),
    "mismatch01": ("3.1.2.17", 400, 400),
    "mismatch02": ("3.1.2.18", 400, 400),  # "a 501 ... A 400 Bad Request is also acceptable"
    "bigcode": ("3.1.2.19", DROP, DEAF),   # a response: "should simply drop it"
    # §3.2 transaction layer
    "badbranch": ("3.2.1", 200, 200),      # no magic cookie: matched the RFC 2543 way, still answered
    # §3.3 application layer semantics
    "insuf": ("3.3.1", 400, 400),
    "unkscm": ("3.3.2", 416, 416),
    "novelsc": ("3.3.3", 416, 416),
    "unksm2": ("3.3.4", 400, 400),         # a REGISTER whose To is no SIP URI: "a registrar would reject ... 400"
    "bext01": ("3.3.5", 420, 420),
    "invut": ("3.3.6", 403, 403),
    "regaut01": ("3.3.7", 401, 401),
    "multi01": ("3.3.8", 400, 400),
    "mcl01": ("3.3.9", 400, (400, CLOSED)),
    "bcast": ("3.3.10", DROP, DROP),       # a response
    "zeromf": ("3.3.11", 200, 200),        # OPTIONS with Max-Forwards 0 to the UAS itself
    "cparam01": ("3.3.12", 401, 401),
    "cparam02": ("3.3.13", 401, 401),
    "regescrt": ("3.3.14", 401, 401),
    "sdp01": ("3.3.15", 403, 403),
    # §3.4 backward compatibility
    "inv2543": ("3.4.1", 403, 400),        # no Content-Length: fine in a datagram, a 400 on a stream (§18.3)
}

TOP_VIA = re.compile(rb"(?im)^(?:via|v)[ \t]*:[ \t\r\n]*SIP[ \t\r\n]*/[ \t\r\n]*[0-9.]+[ \t\r\n]*/[ \t\r\n]*(UDP|TCP|TLS)")


def load(name):
    with open(os.path.join(DATA, name + ".dat"), "rb") as f:
        return f.read()


def over(data, transport):
    """The message with its top Via's transport set to the one it travels on."""
    m = TOP_VIA.search(data)
    if not m:
        return data
    return data[:m.start(1)] + transport.upper().encode() + data[m.end(1):]


def status_of(data):
    m = re.match(rb"SIP/2\.0 (\d{3}) ", data)
    return int(m.group(1)) if m else None


def probe(transport, port, call_id):
    """A well-formed OPTIONS whose 200 marks the end of what came before it."""
    return ("\r\n".join([
        f"OPTIONS sip:probe@127.0.0.1:{port} SIP/2.0",
        f"Via: SIP/2.0/{transport.upper()} {SOURCE}:5060;branch=z9hG4bK{uuid.uuid4().hex[:16]}",
        "Max-Forwards: 70",
        f"From: <sip:probe@{SOURCE}>;tag={uuid.uuid4().hex[:8]}",
        "To: <sip:probe@seatbridge.test>",
        f"Call-ID: {call_id}",
        "CSeq: 1 OPTIONS",
        "Content-Length: 0", "", ""])).encode()


def split_messages(stream):
    """SIP messages read off a TCP stream (each by its Content-Length)."""
    out = []
    while True:
        end = stream.find(b"\r\n\r\n")
        if end < 0:
            return out, stream
        head = stream[:end]
        m = re.search(rb"(?im)^(?:content-length|l)[ \t]*:[ \t]*(\d+)", head)
        length = int(m.group(1)) if m else 0
        if len(stream) < end + 4 + length:
            return out, stream
        out.append(stream[:end + 4 + length])
        stream = stream[end + 4 + length:]


class Torture(unittest.TestCase):
    transport = None

    @classmethod
    def setUpClass(cls):
        def quiet(cfg):
            # 49 strangers' requests from one address: no ban may hide an answer.
            cfg["security"]["maxAuthFailures"] = 1000
        cls.d = Daemon(mutate=quiet)
        cls.d.start()

    @classmethod
    def tearDownClass(cls):
        cls.d.close()

    def answers(self, data, timeout=10):
        """Every status seatbridge sent in answer to data, up to the probe's 200."""
        raise NotImplementedError

    def run_all(self):
        phone = SipPhone(self.d.sip_port, "1001", "pw-1001")
        self.addCleanup(phone.close)
        self.assertEqual(phone.register().status, 200)
        results = {}
        for name, (section, on_udp, on_tcp) in sorted(EXPECT.items()):
            want = on_udp if self.transport == "udp" else on_tcp
            got = self.answers(over(load(name), self.transport), want)
            results[name] = (section, want, got)
        wrong = []
        for name, (section, want, got) in sorted(results.items()):
            if want in (DROP, WAIT, DEAF):
                ok = got == []
            elif isinstance(want, tuple) and WAIT in want:
                ok = got == [want[0]]
            elif want == CLOSED:
                ok = got == [CLOSED]
            elif isinstance(want, tuple) and CLOSED in want:
                ok = got == list(want)
            else:
                ok = bool(got) and got[0] in (want if isinstance(want, tuple) else (want,))
            if not ok:
                wrong.append(f"{name} (RFC 4475 §{section}): expected {want}, got {got or 'nothing'}")
        self.assertEqual(wrong, [], "\n".join(wrong))
        self.assertIsNone(self.d.proc.poll(), "the daemon died")
        # The registration made before them all is still there (a REGISTER
        # without Contact lists the bindings, RFC 3261 §10.2.3).
        text, ruri = phone.build(contact=None)
        phone.send(text)
        r = phone.response()
        if r.status == 401:
            text, ruri = phone.build(contact=None, authorization=phone.authorization(r.all("www-authenticate")[0], ruri))
            phone.send(text)
            r = phone.response()
        self.assertEqual(r.status, 200)
        self.assertEqual([uri for uri, _ in registered_contacts(r)], [f"sip:1001@{phone.host}:{phone.port}"])


class OverUdp(Torture):
    transport = "udp"

    def setUp(self):
        self.socks = []
        for port in VIA_PORTS:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((SOURCE, port))
            self.socks.append(s)
            self.addCleanup(s.close)

    def answers(self, data, want=None, timeout=10):
        call_id = "probe-" + uuid.uuid4().hex
        send = self.socks[0]
        send.sendto(data, ("127.0.0.1", self.d.sip_port))
        send.sendto(probe("udp", self.d.sip_port, call_id), ("127.0.0.1", self.d.sip_port))
        got = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select(self.socks, [], [], deadline - time.monotonic())
            for s in ready:
                msg = s.recv(65535)
                if call_id.encode() in msg:
                    # Anything still queued on the other socket came before it.
                    for other in self.socks:
                        while select.select([other], [], [], 0)[0]:
                            got.append(status_of(other.recv(65535)))
                    return got
                got.append(status_of(msg))
        self.fail(f"no answer to the probe within {timeout}s")

    def test_the_49_messages_get_the_answers_rfc_4475_expects(self):
        self.run_all()

    def test_a_request_whose_via_names_another_transport_is_dropped_and_counted(self):
        before = self.d.metric("seatbridge_sip_malformed_total", {"reason": "parser"}) or 0
        got = self.answers(load("unkscm"))  # its top Via says TCP; it comes over UDP
        self.assertEqual(got, [])
        wait_for(lambda: (self.d.metric("seatbridge_sip_malformed_total", {"reason": "parser"}) or 0) > before,
                 what="the dropped request counted")


    def test_an_extension_nobody_supports_is_named_in_the_420(self):
        """RFC 4475 §3.3.5: "containing an Unsupported header field listing these
        features"; Proxy-Require is a proxy's, so only Require's two are named."""
        self.socks[0].sendto(over(load("bext01"), "udp"), ("127.0.0.1", self.d.sip_port))
        self.socks[0].settimeout(10)
        answer = SipMessage(self.socks[0].recv(65535).decode(errors="replace"))
        self.assertEqual(answer.status, 420)
        self.assertEqual(answer.get("unsupported"), "nothingSupportsThis, nothingSupportsThisEither")

    def test_a_trunk_invite_requiring_an_unknown_extension_gets_420_and_no_call(self):
        """RFC 3261 §8.2.2.3 on the INVITE path: 100rel and timer are served, anything else is
        refused before a session begins."""
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.2", 0))
        self.addCleanup(s.close)
        host, port = s.getsockname()
        invite = "\r\n".join([
            f"INVITE sip:+15550199000@127.0.0.1:{self.d.sip_port} SIP/2.0",
            f"Via: SIP/2.0/UDP {host}:{port};rport;branch=z9hG4bK{uuid.uuid4().hex[:16]}",
            "Max-Forwards: 70",
            f"From: <sip:+15551230000@{host}>;tag={uuid.uuid4().hex[:8]}",
            "To: <sip:+15550199000@seatbridge.test>",
            f"Call-ID: {uuid.uuid4().hex}",
            "CSeq: 1 INVITE",
            f"Contact: <sip:pbx@{host}:{port}>",
            "Require: 100rel, timer, frobnication",
            "Supported: timer",
            "Session-Expires: 1800",
            "Content-Length: 0", "", ""])
        s.sendto(invite.encode(), ("127.0.0.1", self.d.sip_port))
        s.settimeout(10)
        answer = SipMessage(s.recv(65535).decode(errors="replace"))
        while answer.status < 200:  # a 100 Trying, if nta sent one
            answer = SipMessage(s.recv(65535).decode(errors="replace"))
        self.assertEqual(answer.status, 420)
        self.assertEqual(answer.get("unsupported"), "frobnication")


    def test_the_sip_port_runs_no_stun_server(self):
        """Sofia's tport answers STUN binding requests on SIP ports unless told not to
        (a reflector, and a 12-byte leak per malformed request: fuzz_nta found it).
        With TPTAG_STUN_SERVER(0) a binding request gets tport's error answer, never
        a binding success (0x0101) with the sender's address."""
        request = bytes.fromhex("0001 0000 2112a442") + os.urandom(12)
        self.socks[0].sendto(request, ("127.0.0.1", self.d.sip_port))
        self.socks[0].sendto(probe("udp", self.d.sip_port, "stun-probe"), ("127.0.0.1", self.d.sip_port))
        self.socks[0].settimeout(10)
        while True:
            answer = self.socks[0].recv(65535)
            if b"stun-probe" in answer:
                break
            self.assertNotEqual(answer[:2], b"\x01\x01", "a STUN binding success")


class OverTcp(Torture):
    transport = "tcp"

    def answers(self, data, want=None, timeout=10):
        call_id = "probe-" + uuid.uuid4().hex
        conn = socket.create_connection(("127.0.0.1", self.d.sip_port), source_address=(SOURCE, 0))
        self.addCleanup(conn.close)
        conn.sendall(data)
        marker = conn
        if want in (WAIT, DEAF) or (isinstance(want, tuple) and WAIT in want):
            # The stream takes whatever follows as the promised body: the probe
            # goes on a connection of its own, and this one must stay silent.
            marker = socket.create_connection(("127.0.0.1", self.d.sip_port), source_address=(SOURCE, 0))
            self.addCleanup(marker.close)
        marker.sendall(probe("tcp", self.d.sip_port, call_id))
        buffers = {conn: b"", marker: b""}
        got = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select(list(buffers), [], [], deadline - time.monotonic())
            for s in ready:
                chunk = s.recv(65535)
                if not chunk:
                    if s is conn:
                        # The end of what this message gets (RFC 4475 §3.1.2.3:
                        # "the connection should be closed").
                        return got + [CLOSED]
                    self.fail("seatbridge closed the probe's own connection")
                messages, buffers[s] = split_messages(buffers[s] + chunk)
                for msg in messages:
                    if call_id.encode() in msg:
                        if conn is not marker and conn in buffers:
                            while select.select([conn], [], [], 0)[0]:
                                chunk = conn.recv(65535)
                                if not chunk:
                                    break
                                more, buffers[conn] = split_messages(buffers[conn] + chunk)
                                got.extend(status_of(m) for m in more)
                        return got
                    got.append(status_of(msg))
        self.fail(f"no answer to the probe within {timeout}s")

    def test_the_49_messages_get_the_answers_rfc_4475_expects(self):
        self.run_all()


class Manifest(unittest.TestCase):
    def test_the_data_is_the_archive_of_rfc_4475(self):
        """49 files, each with the SHA-256 MANIFEST names: an edited or lost file fails here."""
        with open(os.path.join(DATA, "MANIFEST")) as f:
            listed = dict(line.split()[::-1] for line in f if line.strip() and not line.startswith("#"))
        self.assertEqual(sorted(listed), sorted(n + ".dat" for n in EXPECT))
        for name, digest in listed.items():
            with open(os.path.join(DATA, name), "rb") as f:
                self.assertEqual(hashlib.sha256(f.read()).hexdigest(), digest, name)


if __name__ == "__main__":
    unittest.main(verbosity=2)
