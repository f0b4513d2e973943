"""bench/calls' outbound stage: Call.startOutboundCall setups per second.

The calls are placed the way a CRM places them: Call.startOutboundCall
{userId, phoneNumber} over the control socket (NDJSON), one request at a
fixed rate, each for an agent that is free at that moment, without waiting
for the answers. seatbridge then runs RFC 3725's third-party call control
(docs/ARCHITECTURE.md, "Calls placed from the socket"): it INVITEs the agent's
desk phone without an offer (the desk SIPp, desk.xml, answers 200 with an
offer and gets the parked ACK), INVITEs the customer through the trunk with
that offer (callOuted; the customer SIPp, customer.xml, answers 200), and
re-INVITEs the desk phone with the customer's SDP (calloutAccepted). The
customer hangs up after the talk time.

A call is good when its request was answered success, its session reached
calloutAccepted and it ended (sessionEnded) with endState ok in the archive
(Gateway.listRecords). Anything else is a failed call: an error answer, no
answer, no calloutAccepted, no end within the step's grace, another endState,
or no agent free when the call was due (the bench's own view of the agents,
from statusChanged: seatbridge has not released them in time).
"""
import collections
import json
import os
import socket
import subprocess
import threading
import time

from peers import DIALLED, SIPP_BUFFER, TRUNK_HOST, read_sipp_stats, spawn, stop_group


class Dialer:
    """One control connection subscribed to every event: requests go out
    without waiting, a reader thread takes answers and events with their
    arrival times (time.monotonic)."""

    def __init__(self, path, agents, timeout=30):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.sock.settimeout(None)
        self.lock = threading.Lock()
        self.next_id = 1
        self.answers = {}          # request id -> (time, message)
        self.owner = {}            # request id -> the agent it was placed for
        self.waiters = {}          # request id -> threading.Event
        self.sessions = {}         # sessionId -> {event name: time, ...}
        self.free = collections.deque(agents)  # agents free, longest free first
        self.free_set = set(agents)
        self.dropped = 0           # events lost (eventsDropped)
        self.events = 0
        self.closed = False
        self.reader = threading.Thread(target=self.read_loop, daemon=True)
        self.reader.start()
        r = self.call("Client.subscribe", {"all": True})
        if r.get("status") != "success":
            raise RuntimeError(f"Client.subscribe: {r}")

    def read_loop(self):
        buf = b""
        while True:
            try:
                chunk = self.sock.recv(1 << 20)
            except OSError:
                chunk = b""
            if not chunk:
                self.closed = True
                for ev in list(self.waiters.values()):
                    ev.set()
                return
            now = time.monotonic()
            buf += chunk
            *lines, buf = buf.split(b"\n")
            for line in lines:
                if line:
                    self.take(json.loads(line), now)

    def take(self, m, now):
        if "event" not in m:
            rid = m.get("id")
            with self.lock:
                self.answers[rid] = (now, m)
                ev = self.waiters.pop(rid, None)
                user = self.owner.pop(rid, None)
                if user and m.get("status") != "success" and user not in self.free_set:
                    self.free_set.add(user)  # refused: the agent was never seized
                    self.free.append(user)
            if ev:
                ev.set()
            return
        self.events += 1
        name, data = m["event"], m.get("data") or {}
        if name == "eventsDropped":
            self.dropped += int(data.get("count", 0))
        elif name == "statusChanged":
            user = m.get("userId")
            with self.lock:
                if data.get("status") == "free":
                    if user not in self.free_set:
                        self.free_set.add(user)
                        self.free.append(user)
                elif user in self.free_set:
                    # busy elsewhere (the bench seizes agents only through its calls)
                    self.free_set.discard(user)
                    try:
                        self.free.remove(user)
                    except ValueError:
                        pass
        elif name in ("callOuted", "calloutAccepted", "sessionEnded", "calloutRefused"):
            sid = data.get("sessionId")
            if sid is not None:
                with self.lock:
                    s = self.sessions.setdefault(sid, {})
                    s.setdefault(name, now)
                    if name == "sessionEnded":
                        s["closeBy"] = data.get("closeBy")

    def send(self, method, params, owner=None):
        with self.lock:
            rid = self.next_id
            self.next_id += 1
            if owner:
                self.owner[rid] = owner
        self.sock.sendall((json.dumps({"id": rid, "method": method, "params": params}) + "\n").encode())
        return rid

    def call(self, method, params=None, timeout=60):
        ev = threading.Event()
        with self.lock:
            rid = self.next_id
            self.next_id += 1
            self.waiters[rid] = ev
        self.sock.sendall((json.dumps({"id": rid, "method": method, "params": params or {}}) + "\n").encode())
        if not ev.wait(timeout) or rid not in self.answers:
            raise RuntimeError(f"no answer to {method} within {timeout}s")
        return self.answers.pop(rid)[1]

    def take_agent(self):
        with self.lock:
            if not self.free:
                return None
            user = self.free.popleft()
            self.free_set.discard(user)
            return user

    def records(self, from_ms, want, timeout=20):
        """{sessionId: endState} of the archive's records from from_ms, waiting
        (the archive is written once a second) until every id in want is there."""
        deadline = time.monotonic() + timeout
        while True:
            got, before = {}, None
            while True:
                params = {"fromMs": from_ms, "limit": 500}
                if before:
                    params["before"] = before
                r = self.call("Gateway.listRecords", params)
                if r.get("status") != "success":
                    raise RuntimeError(f"Gateway.listRecords: {r}")
                for rec in r["data"].get("records", []):
                    got[rec.get("sessionId")] = rec.get("endState")
                before = r["data"].get("next")
                if not before:
                    break
            if want <= set(got) or time.monotonic() > deadline:
                return got
            time.sleep(0.5)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class Customer:
    """The customer's network: SIPp running customer.xml on the trunk's address,
    one per step, taking that step's calls (-m) and then exiting."""

    def __init__(self, work, scenario, env, port, rtp_port):
        self.work, self.scenario, self.env, self.port, self.rtp_port = work, scenario, env, port, rtp_port

    def start(self, count, hold, tag, limit_s):
        self.stat_path = os.path.join(self.work, f"sipp-{tag}.csv")
        self.errors_path = os.path.join(self.work, f"sipp-{tag}-errors.log")
        cmd = ["sipp", "-sf", self.scenario, "-i", TRUNK_HOST, "-bind_local", "-p", str(self.port), "-t", "u1",
               "-m", str(count), "-l", str(max(1000, count)), "-d", str(hold), "-key", "rtp_port", str(self.rtp_port),
               "-buff_size", str(SIPP_BUFFER), "-nostdin", "-aa", "-max_retrans", "5",
               "-trace_stat", "-stf", self.stat_path, "-fd", "1",
               "-trace_err", "-error_file", self.errors_path, "-timeout", f"{limit_s}s", "-timeout_error"]
        self.proc = spawn(cmd, f"sipp-{tag}", os.path.join(self.work, f"sipp-{tag}.out"), env=self.env,
                          cwd=self.work)
        self.tag = tag
        time.sleep(0.3)  # bound before the first call
        if self.proc.poll() is not None:
            raise RuntimeError(f"the customer SIPp exited at once ({self.proc.returncode})")

    def finish(self, grace):
        try:
            rc = self.proc.wait(grace)
        except subprocess.TimeoutExpired:
            rc = -1
        stop_group(self.proc, f"sipp-{self.tag}")
        st = read_sipp_stats(self.stat_path)
        return {"rc": rc, "ok": int(st.get("SuccessfulCall(C)", 0)), "failed": int(st.get("FailedCall(C)", 0)),
                "retrans": int(st.get("Retransmissions(C)", 0))}


def place(dialer, count, rate):
    """Sends count Call.startOutboundCall at rate a second, each for the agent
    free longest; returns the calls [{rid, user, sent}] and the worst lag of a
    send behind its due time (s)."""
    calls, lag = [], 0.0
    t0 = time.monotonic()
    for i in range(count):
        due = t0 + i / rate
        now = time.monotonic()
        if due > now:
            time.sleep(due - now)
            now = time.monotonic()
        lag = max(lag, now - due)
        user = dialer.take_agent()
        if user is None:
            calls.append({"rid": None, "user": None, "sent": now, "why": "no agent free"})
            continue
        sent = time.monotonic()
        rid = dialer.send("Call.startOutboundCall", {"userId": user, "phoneNumber": DIALLED}, owner=user)
        calls.append({"rid": rid, "user": user, "sent": sent})
    return calls, lag


def settle(dialer, calls, deadline):
    """Waits until every placed call's session has ended (or deadline); joins
    answers and sessions into the calls."""
    while True:
        pending = 0
        with dialer.lock:
            for c in calls:
                if c["rid"] is None or c.get("done"):
                    continue
                a = dialer.answers.get(c["rid"])
                if a is None:
                    pending += 1
                    continue
                c["answered"], msg = a
                if msg.get("status") != "success":
                    c["why"] = f"error answer {msg.get('errorCode') or msg.get('status')}"
                    c["done"] = True
                    continue
                c["sid"] = msg["data"]["sessionId"]
                s = dialer.sessions.get(c["sid"], {})
                if "sessionEnded" in s:
                    c.update(s)
                    c["done"] = True
                else:
                    pending += 1
        if not pending or time.monotonic() > deadline or dialer.closed:
            break
        time.sleep(0.1)
    with dialer.lock:
        for c in calls:
            if c["rid"] is not None and not c.get("done"):
                c["why"] = "no answer" if "answered" not in c else "not ended in time"
                if c.get("sid"):
                    c.update(dialer.sessions.get(c["sid"], {}))
    return calls
