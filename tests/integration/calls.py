"""Helpers for the call tests: SIPp as the PBX behind a trunk and as desk phones,
and a reader of the control socket's call events.

Each SIPp runs in the background with its own message trace (-trace_msg), so a
test can wait for its exit, read what it sent and received, and see why it
failed. Nothing here sleeps to synchronise: tests await events, a SIPp's exit,
or poll with harness.wait_for.

The desk phone is one SIPp process running two scenarios: phone_register.xml
(REGISTER with digest auth, then stay up) and, as its out-of-call scenario, the
one that takes seatbridge's INVITE (phone_answer.xml, phone_busy.xml, ...): the
INVITE has a Call-ID of its own, which SIPp hands to the -oocsf scenario.
"""
import datetime
import os
import signal
import socket
import subprocess
import time
import uuid

from harness import Daemon, SipMessage, free_port, wait_for

SCENARIOS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sipp")

NUMBER = "+15550199000"    # the DID, routed to skill group sales
CUSTOMER = "+15550100999"  # the caller's number the PBX presents
TRUNK_HOST = "127.0.0.2"   # the trunk pbx: its address and inboundFrom
PHONE_HOST = "127.0.0.1"
ALICE = "alice@example.com"  # extension 1001, priority 1 in sales
BOB = "bob@example.com"      # extension 1002, priority 2 in sales

SIPP_TIMEOUT = 30  # seconds: a SIPp that is still running then exits with an error


# --- the daemon -------------------------------------------------------------
def call_daemon(ring_timeout=2, queue_timeout=3, after_call_work=0, mutate=None):
    """A Daemon (not started) whose trunk pbx is 127.0.0.2 on a free port
    (daemon.trunk_port), with the sales group's timers as given. Keepalives are
    off: the phones are SIPp scripts that should see nothing but their call."""
    trunk_port = free_port(TRUNK_HOST)

    def configure(cfg):
        cfg["registrar"]["keepaliveSeconds"] = 0
        trunk = cfg["trunks"][0]
        trunk["address"] = f"{TRUNK_HOST}:{trunk_port}"
        trunk["inboundFrom"] = [f"{TRUNK_HOST}/32"]
        for group in cfg["skillGroups"]:
            if group["id"] == "sales":
                group.update(ringTimeout=ring_timeout, queueTimeout=queue_timeout, afterCallWork=after_call_work)
        if mutate:
            mutate(cfg)

    d = Daemon(mutate=configure)
    d.trunk_port = trunk_port
    return d


# --- SIPp processes ---------------------------------------------------------
class TracedMessage(SipMessage):
    """One message of a SIPp message trace: direction is 'sent' or 'received'."""

    def __init__(self, direction, raw, at=None):
        super().__init__(raw)
        self.direction = direction
        self.at = at  # when SIPp logged it (seconds since the epoch), or None

    def cseq_method(self):
        cseq = self.get("cseq") or ""
        return cseq.split()[-1] if cseq.split() else None


def trace_time(stamp):
    """The time on a trace separator line (" 2026-12-02 00:52:00.325294"), or None."""
    try:
        return datetime.datetime.strptime(stamp.strip().lstrip("-").strip(), "%Y-%m-%d %H:%M:%S.%f").timestamp()
    except ValueError:
        return None


def parse_trace(text):
    """The messages of a SIPp -trace_msg file, in order."""
    out = []
    for block in text.split("\n-----------------------------------------------"):
        lines = block.split("\n")
        # lines[0]: the rest of the separator (a timestamp); lines[1]: what happened.
        what = next((l for l in lines[:3] if " message sent " in l or " message received " in l), None)
        if what is None:
            continue
        body_from = lines.index(what) + 1
        raw = "\n".join(lines[body_from:]).lstrip("\r\n").replace("\r\n", "\n")
        if not raw:
            continue
        head, _, body = raw.partition("\n\n")
        raw = head.replace("\n", "\r\n") + "\r\n\r\n" + (body.rstrip("\n") + "\n" if body.strip() else "")
        out.append(TracedMessage("sent" if " message sent " in what else "received", raw, trace_time(lines[0])))
    return out


def sdp_media(msg):
    """(connection address, audio port) of a message's SDP body, or (None, None)."""
    addr = port = None
    for line in msg.body.replace("\r\n", "\n").split("\n"):
        line = line.strip()
        if line.startswith("c=IN IP4 ") and addr is None:
            addr = line.split()[-1]
        elif line.startswith("m=audio "):
            port = int(line.split()[1])
    return addr, port


def tag(value):
    """The tag parameter of a From or To header value, or None."""
    for part in (value or "").split(";")[1:]:
        name, _, v = part.strip().partition("=")
        if name.lower() == "tag":
            return v
    return None


def cseq(msg):
    """(number, method) of a traced message's CSeq."""
    number, method = (msg.get("cseq") or "0 ?").split()
    return int(number), method


class Sipp:
    """One SIPp process in the background, bound to host:port (-bind_local)."""

    def __init__(self, workdir, name, scenario, host, port=None, remote=None, ooc=None, args=(),
                 timeout=SIPP_TIMEOUT):
        self.workdir, self.name = workdir, name
        self.host = host
        self.port = port or free_port(host)
        self.scenario, self.ooc = scenario, ooc
        self.trace_path = os.path.join(workdir, f"{name}.messages.log")
        self.errors_path = os.path.join(workdir, f"{name}.errors.log")
        self.out_path = os.path.join(workdir, f"{name}.out.log")
        # Call-IDs this SIPp makes are CID-1, CID-2, ... (poke() needs them).
        self.cid = f"sbtest-{name}-{uuid.uuid4().hex[:10]}"
        cmd = ["sipp"]
        if remote:
            cmd.append(remote)
        cmd += ["-sf", os.path.join(SCENARIOS, scenario + ".xml")]
        if ooc:
            cmd += ["-oocsf", os.path.join(SCENARIOS, ooc + ".xml")]
        cmd += ["-i", host, "-bind_local", "-p", str(self.port), "-t", "u1", "-m", "1", "-l", "1",
                "-cid_str", self.cid + "-%u", "-nostdin", "-timeout", f"{timeout}s", "-timeout_error",
                "-max_retrans", "5", "-trace_msg", "-message_file", self.trace_path,
                "-trace_err", "-error_file", self.errors_path]
        cmd += [str(a) for a in args]
        self.cmd = cmd
        self.proc = None
        self.out = None

    def start(self):
        self.out = open(self.out_path, "w")
        self.proc = subprocess.Popen(self.cmd, stdout=self.out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     cwd=self.workdir)
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def wait(self, timeout=SIPP_TIMEOUT + 10):
        """Its exit code; a SIPp still running after timeout is killed and reported."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"{self.name}: SIPp still running after {timeout}s\n{self.logs()}")

    def result(self, timeout=SIPP_TIMEOUT + 10):
        """(exit code, logs) once it exited."""
        return self.wait(timeout), self.logs()

    def expect_success(self, timeout=SIPP_TIMEOUT + 10):
        """Waits for its exit and fails the test, with its logs, unless it exited 0."""
        rc = self.wait(timeout)
        if rc != 0:
            raise AssertionError(f"{self.name}: SIPp exited {rc}\n{self.logs()}")
        return self

    def kill(self):
        if self.running():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def close(self):
        self.kill()
        if self.out:
            self.out.close()
            self.out = None

    # --- what it did ---------------------------------------------------------
    def _read(self, path):
        try:
            with open(path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def messages(self):
        return parse_trace(self._read(self.trace_path))

    def received(self, method=None, status=None):
        return [m for m in self.messages() if m.direction == "received" and (method is None or m.method == method)
                and (status is None or m.status == status)]

    def sent(self, method=None, status=None):
        return [m for m in self.messages() if m.direction == "sent" and (method is None or m.method == method)
                and (status is None or m.status == status)]

    def final_status(self):
        """The last final answer it received to an INVITE, or None."""
        finals = [m.status for m in self.received() if m.status and m.status >= 200 and m.cseq_method() == "INVITE"]
        return finals[-1] if finals else None

    def wait_trace(self, predicate, what, timeout=15):
        """Polls the message trace until predicate(messages) gives something; returns it."""
        try:
            return wait_for(lambda: predicate(self.messages()), timeout, what=f"{self.name} to {what}")
        except AssertionError as e:
            raise AssertionError(f"{e}\n{self.summary()}") from None

    def wait_sent(self, method=None, status=None, timeout=15):
        """Polls the trace until it sent such a message; returns it."""
        return self.wait_trace(lambda _: (self.sent(method, status) or [None])[0], f"send {method or status}",
                               timeout)

    def wait_received(self, method=None, status=None, timeout=15):
        return self.wait_trace(lambda _: (self.received(method, status) or [None])[0],
                               f"receive {method or status}", timeout)

    def poke(self, call_number=1, timeout=5):
        """Sends the made-up request SBTEST into the call (its Call-ID), which
        trunk_cancel.xml waits for before it cancels; returns once the trace
        shows it arrived."""
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.bind(("127.0.0.1", 0))
            here = s.getsockname()
            text = "\r\n".join([
                f"SBTEST sip:sipp@{self.host}:{self.port} SIP/2.0",
                f"Via: SIP/2.0/UDP {here[0]}:{here[1]};branch=z9hG4bK{uuid.uuid4().hex[:16]}",
                f"From: <sip:test@{here[0]}>;tag={uuid.uuid4().hex[:8]}",
                f"To: <sip:sipp@{self.host}>",
                f"Call-ID: {self.cid}-{call_number}",
                "CSeq: 1 SBTEST",
                "Max-Forwards: 70",
                "Content-Length: 0", "", ""])
            s.sendto(text.encode(), (self.host, self.port))
        finally:
            s.close()
        self.wait_received("SBTEST", timeout=timeout)

    def summary(self):
        """One line: its state and the first line of every message, > sent, < received."""
        state = "running" if self.running() else f"exited {self.proc.returncode}" if self.proc else "not started"
        steps = [("> " if m.direction == "sent" else "< ") + (str(m.status) if m.status else m.method)
                 for m in self.messages()]
        return f"{self.name} ({state}): {', '.join(steps) or 'no messages'}"

    def logs(self, tail=6000):
        trace = self._read(self.trace_path)
        return (f"--- {self.name}: {' '.join(self.cmd)}\n"
                f"--- output:\n{self._read(self.out_path)[-tail:]}\n"
                f"--- errors:\n{self._read(self.errors_path)[-tail:]}\n"
                f"--- messages (last {tail} characters):\n{trace[-tail:]}")


class Trunk(Sipp):
    """The PBX: a SIPp UAC on the trunk's address calling the daemon's number.
    scenario: trunk_call (waits for seatbridge's BYE), trunk_call_hangup (the
    customer hangs up after talk_ms), trunk_cancel (cancels on give_up()),
    trunk_rejected (expects a final 4xx-6xx)."""

    def __init__(self, daemon, scenario="trunk_call", talk_ms=0, number=NUMBER, caller=CUSTOMER, host=TRUNK_HOST,
                 port=None, name="pbx", timeout=SIPP_TIMEOUT):
        if port is None:
            port = daemon.trunk_port if host == TRUNK_HOST else free_port(host)
        self.rtp_port = free_port(host)
        super().__init__(daemon.tmp, name, scenario, host, port, remote=f"127.0.0.1:{daemon.sip_port}",
                         args=["-s", number, "-key", "caller", caller, "-key", "rtp_port", self.rtp_port,
                               "-d", talk_ms,
                               # OPTIONS pings of the trunk (outside the call) are answered 200.
                               "-aa"], timeout=timeout)

    def give_up(self, timeout=15):
        """trunk_cancel: the customer hangs up now. Waits for a provisional
        answer first (RFC 3261 §9.1: no CANCEL before one; SIPp would not send
        it either while it still retransmits the INVITE), then poke()s."""
        self.wait_trace(lambda msgs: any(m.direction == "received" and m.status and m.status < 200 for m in msgs),
                        "get a provisional answer", timeout)
        self.poke()

    def answer(self):
        """The 200 OK it received to its INVITE (with the SDP answer)."""
        ok = [m for m in self.received(status=200) if m.cseq_method() == "INVITE"]
        return ok[0] if ok else None


class Phone(Sipp):
    """A desk phone: registers `extension` with digest auth, then takes one call
    with the out-of-call scenario `answer` (phone_answer, phone_answer_hangup
    with talk_ms, phone_busy, phone_noanswer)."""

    def __init__(self, daemon, extension="1001", answer="phone_answer", talk_ms=0, password=None, name=None,
                 timeout=SIPP_TIMEOUT):
        self.extension = extension
        name = name or f"phone{extension}"
        self.rtp_port = free_port(PHONE_HOST)
        inf = os.path.join(daemon.tmp, f"{name}.csv")
        password = password or f"pw-{extension}"
        with open(inf, "w") as f:
            f.write("SEQUENTIAL\n")
            f.write(f"{extension};[authentication username={extension} password={password}];"
                    f"{daemon.config['sip']['domain']};600\n")
        super().__init__(daemon.tmp, name, "phone_register", PHONE_HOST, remote=f"127.0.0.1:{daemon.sip_port}",
                         ooc=answer, args=["-inf", inf, "-key", "rtp_port", self.rtp_port, "-d", talk_ms],
                         timeout=timeout)

    @property
    def contact(self):
        return f"sip:{self.extension}@{PHONE_HOST}:{self.port}"

    def registered(self, ctl):
        """Whether Gateway.listExtensions shows this phone's contact on its line."""
        r = ctl.call("Gateway.listExtensions")
        for ext in r.get("data", {}).get("extensions", []):
            if ext.get("extensionId") == self.extension:
                return any(c.get("uri", "").split(";")[0] == self.contact for c in ext.get("contacts", []))
        return False

    def wait_registered(self, ctl, timeout=15):
        try:
            wait_for(lambda: self.registered(ctl) or not self.running(), timeout,
                     what=f"extension {self.extension} registered from port {self.port}")
        except AssertionError:
            raise AssertionError(f"{self.name} did not register\n{self.logs()}")
        if not self.registered(ctl):
            raise AssertionError(f"{self.name} exited before it registered\n{self.logs()}")
        return self

    def invite(self):
        """The INVITE it received from seatbridge, or None."""
        got = self.received("INVITE")
        return got[0] if got else None


# --- control events ---------------------------------------------------------
class Events:
    """A control connection subscribed to every event; keeps all of them in
    order (self.seen) so a test can ask for the next one of a kind, or look at
    what came between two."""

    def __init__(self, daemon, timeout=15):
        self.client = daemon.control()
        self.timeout = timeout
        ready = self.client.read()
        assert ready.get("event") == "ready", ready
        self.tab = ready["data"]["tabUUID"]  # this connection's name, as userAccessed gives it
        self.ok("Client.subscribe", {"all": True})
        self.seen = []
        self.position = 0  # expect() looks after this index of seen unless told otherwise
        self.context = lambda: ""  # more to say when expect() times out (the peers' logs)

    def close(self):
        self.client.close()

    def call(self, method, params=None):
        """The raw answer (events read meanwhile stay readable)."""
        self.client.sock.settimeout(self.timeout)
        return self.client.call(method, params)

    def ok(self, method, params=None):
        r = self.call(method, params)
        assert r.get("status") == "success", (method, params, r)
        return r.get("data", {})

    def mark(self):
        """A point in the stream: the events after it are those not read yet."""
        self._drain()
        return len(self.seen)

    def _pull(self, deadline):
        """Reads one message (set aside by a call() first), keeping it if it is an event."""
        if not self.client.stash:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise socket.timeout()
            self.client.sock.settimeout(remaining)
        m = self.client.read()
        if "event" in m:
            m["_at"] = time.monotonic()  # when the test read it
            self.seen.append(m)

    def _drain(self):
        while self.client.stash:
            self._pull(time.monotonic() + 1)

    @staticmethod
    def matches(e, name, user=None, **data):
        if e.get("event") != name:
            return False
        if user is not None and e.get("userId") != user:
            return False
        return all(e.get("data", {}).get(k) == v for k, v in data.items())

    def expect(self, name, user=None, since=None, timeout=None, **data):
        """The first event named name (of that agent, with those data fields)
        after `since` (default: after the last event expect() returned)."""
        start = self.position if since is None else since
        deadline = time.monotonic() + (timeout or self.timeout)
        i = start
        while True:
            while i < len(self.seen):
                if self.matches(self.seen[i], name, user, **data):
                    self.position = i + 1
                    return self.seen[i]
                i += 1
            try:
                self._pull(deadline)
            except socket.timeout:
                raise AssertionError(f"no {name} (userId {user}, {data}) within {timeout or self.timeout}s; "
                                     f"events since: {self.describe(start)}\n{self.context()}") from None
            except EOFError:
                raise AssertionError(f"the control socket closed waiting for {name}; "
                                     f"events since: {self.describe(start)}\n{self.context()}") from None

    def after(self, event):
        """The index just after event in seen (a `since` for expect())."""
        return self.seen.index(event) + 1

    def between(self, a, b):
        """The events after event a and before event b."""
        ia, ib = self.seen.index(a), self.seen.index(b)
        return self.seen[ia + 1:ib]

    def describe(self, start=0):
        return "; ".join(f"{e['event']}({e.get('userId', '')}) {e.get('data')}" for e in self.seen[start:])

    def status_changes(self, user, since=0):
        return [e["data"]["status"] for e in self.seen[since:] if self.matches(e, "statusChanged", user)]

    def session(self, session_id):
        """Its row in Gateway.listSessions, or None."""
        rows = self.ok("Gateway.listSessions").get("sessions", [])
        return next((r for r in rows if r.get("sessionId") == session_id), None)

    def sessions(self):
        return self.ok("Gateway.listSessions").get("sessions", [])


# --- races (test_calls_races.py) --------------------------------------------
class SamePortPhone(Phone):
    """A Phone on a port given (None: a free one). A phone restarted on the port
    it had re-registers the binding it had instead of adding a second contact,
    so a test can take several calls in turn on one extension without
    seatbridge forking to the contacts of phones already gone."""

    def __init__(self, daemon, extension="1001", answer="phone_answer", port=None, **kw):
        super().__init__(daemon, extension, answer, **kw)
        if port:
            self.port = port
            self.cmd[self.cmd.index("-p") + 1] = str(port)

    def wait_register_answered(self, timeout=15):
        """Waits for this SIPp's own REGISTER to be answered 200 (registered()
        is true at once for a binding a previous run on this port left)."""
        self.wait_trace(lambda msgs: any(m.direction == "received" and m.status == 200
                                         and m.cseq_method() == "REGISTER" for m in msgs),
                        "have its REGISTER answered 200", timeout)
        return self
