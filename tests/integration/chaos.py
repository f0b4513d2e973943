"""The chaos run (issue 11, docs/OPERATIONS.md "Chaos run"): seatbridge under
call load on loopback while its peers and the network misbehave, then checked
against what docs/OPERATIONS.md "Restarts" promises after a crash.

- The load: a SIPp trunk (chaos_trunk.xml, from 127.0.0.2, the trusted trunk
  address) places calls at a rate to the inbound number; a SIPp desk
  (chaos_register.xml + chaos_desk.xml) registers N extensions with digest
  auth from one socket and answers every offer; the N agents are signed in
  with Agent.online. Both peers run RFC 4028 session timers with seatbridge
  as the refresher on each leg (a short interval, calls.testMinSEFloor) and
  sip.testT1x64Ms is lowered, so a dead leg is found within seconds by the
  real mechanisms: a refresh that goes unanswered (Timer F), an INVITE
  unanswered (Timer B).
- The network: both peers talk to seatbridge through LossyRelay, a UDP relay
  that drops and duplicates datagrams in both directions with a seeded
  random generator (tc netem needs sch_netem, which a test machine may not
  have). The peers name the relay in their Contact, so seatbridge's own
  requests pass through it too.
- The chaos: the desk SIPp is SIGKILLed mid-call and a new one registers the
  same extensions; the trunk SIPp is SIGKILLed mid-call and a new one goes on
  placing calls; seatbridged itself is SIGKILLed under load and restarted on
  the same config and store.
- The verdicts: the calls the killed peers held end (sessionEnded) by the
  timers; no session is live once the timers have run (Gateway.listSessions,
  seatbridge_sessions_active, and the final SIGTERM finds no leg to drain);
  every agent is offline after the restart; every registration made more
  than the store's flush interval (1 s) before the kill is there after it;
  every session that ended more than the record writer's 1 s before the kill
  has its record (Gateway.listRecords); a final clean call reaches a desk
  that never registered with the restarted daemon (its binding was restored);
  neither daemon run logged a sanitizer error.

Phases move on events and counts (calls placed through the relay, sessions
answered, REGISTERs answered), never on sleeps. tests/integration/test_chaos.py
runs a short version in the suite; bench/chaos a longer one.
"""
import collections
import json
import os
import random
import select
import shutil
import signal
import socket
import subprocess
import threading
import time

from harness import ControlClient, Daemon, SOURCE_DIR, free_port

SCENARIOS = os.path.join(SOURCE_DIR, "tests", "integration", "sipp")
NUMBER = "+15550199000"
CUSTOMER = "+15550100999"
TRUNK_HOST = "127.0.0.2"
HOST = "127.0.0.1"
GROUP = "sales"
FLUSH_S = 1.0  # bindings and records reach the store within a second (OPERATIONS.md "Restarts")
EXPIRES = 3600


def log(msg):
    print(f"[chaos {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def wait_for(pred, timeout, what, period=0.05):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(period)


# --- the lossy relay ----------------------------------------------------------
def sip_summary(data):
    """(first line, Call-ID, CSeq) of a SIP datagram, or None."""
    try:
        text = data.decode(errors="replace")
    except Exception:
        return None
    head = text.split("\r\n\r\n", 1)[0].split("\r\n")
    call_id = cseq = None
    for line in head[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name in ("call-id", "i"):
            call_id = value.strip()
        elif name == "cseq":
            cseq = value.strip()
    return head[0], call_id, cseq


class LossyRelay(threading.Thread):
    """A UDP relay between one SIPp (client, a fixed address) and seatbridge
    (server). The SIPp sends to `near`; the relay passes it on from `far`, the
    address seatbridge sees (a trunk's address, a phone's Contact) and sends
    to; what reaches `far` goes back to the client from `near`. Every datagram
    either way is dropped with probability drop, else sent and, with
    probability dup, sent twice, by a random.Random(seed): the decisions are
    the same sequence on every run. It also reads the SIP first lines it
    passes, to count calls placed and answered and REGISTERs answered."""

    def __init__(self, name, host, client, server, seed, drop=0.0, dup=0.0):
        super().__init__(daemon=True, name=f"relay-{name}")
        self.label = name
        self.rng = random.Random(seed)
        self.drop, self.dup = drop, dup
        self.client, self.server = client, server
        self.near = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.near.bind((host, free_port(host)))
        self.far = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.far.bind((host, free_port(host)))
        for s in (self.near, self.far):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.halt = threading.Event()
        self.lock = threading.Lock()
        self.counts = collections.Counter()  # packets, dropped, duplicated per direction
        self.placed = []          # Call-IDs of the calls the client placed (first INVITE seen), in order
        self._placed = set()
        self.finals = {}          # Call-ID -> the first final status seatbridge sent to its INVITE
        self.register_ok = 0      # 200s to REGISTERs passed to the client

    @property
    def near_addr(self):
        return self.near.getsockname()

    @property
    def far_addr(self):
        return self.far.getsockname()

    def run(self):
        while not self.halt.is_set():
            ready, _, _ = select.select([self.near, self.far], [], [], 0.1)
            for s in ready:
                try:
                    data, _ = s.recvfrom(65535)
                except OSError:
                    continue
                up = s is self.near  # client -> seatbridge
                self._note(data, up)
                self._pass(data, up)

    def _note(self, data, up):
        summary = sip_summary(data)
        if not summary:
            return
        first, call_id, cseq = summary
        with self.lock:
            if up and first.startswith("INVITE ") and cseq == "1 INVITE" and call_id not in self._placed:
                self._placed.add(call_id)
                self.placed.append(call_id)
            elif not up and first.startswith("SIP/2.0 "):
                status = int(first.split()[1])
                if cseq and cseq.endswith(" INVITE") and cseq.startswith("1 ") and status >= 200:
                    self.finals.setdefault(call_id, status)
                if status == 200 and cseq and cseq.endswith(" REGISTER"):
                    self.register_ok += 1

    def _pass(self, data, up):
        way = "up" if up else "down"
        out, to = (self.far, self.server) if up else (self.near, self.client)
        with self.lock:
            self.counts[f"{way}_packets"] += 1
            if self.rng.random() < self.drop:
                self.counts[f"{way}_dropped"] += 1
                return
            copies = 2 if self.rng.random() < self.dup else 1
            if copies == 2:
                self.counts[f"{way}_duplicated"] += 1
        for _ in range(copies):
            try:
                out.sendto(data, to)
            except OSError:  # the peer is gone (killed): the datagram is lost, as on a wire
                pass

    def set_loss(self, drop, dup):
        with self.lock:
            self.drop, self.dup = drop, dup

    def snapshot(self):
        with self.lock:
            return {"placed": len(self.placed), "finals": dict(self.finals), "register_ok": self.register_ok,
                    "counts": dict(self.counts)}

    def stop(self):
        self.halt.set()
        self.join(5)
        self.near.close()
        self.far.close()


# --- the control socket's events, read all the time ---------------------------
class EventLog(threading.Thread):
    """One control connection subscribed to every event, read by a thread so
    each event's arrival time (monotonic) is when seatbridge sent it, give or
    take the reading: an upper bound of when it happened. Ends when the
    daemon's socket closes (SIGKILL)."""

    def __init__(self, path):
        super().__init__(daemon=True, name="events")
        self.client = ControlClient(path, timeout=None)
        ready = self.client.read()
        assert ready.get("event") == "ready", ready
        self.client.sock.settimeout(10)
        r = self.client.call("Client.subscribe", {"all": True})
        assert r.get("status") == "success", r
        self.client.sock.settimeout(None)
        self.lock = threading.Lock()
        self.events = []  # (monotonic arrival, event)
        for m in self.client.stash:
            if "event" in m:
                self.events.append((time.monotonic(), m))
        self.client.stash.clear()
        self.closed = threading.Event()

    def run(self):
        try:
            while True:
                m = self.client.read_wire()
                if "event" in m:
                    with self.lock:
                        self.events.append((time.monotonic(), m))
        except (EOFError, OSError, ValueError):
            pass
        finally:
            self.closed.set()

    def of(self, name):
        with self.lock:
            return [(at, e) for at, e in self.events if e.get("event") == name]

    def ended(self):
        """{sessionId: arrival time} of every sessionEnded."""
        return {e["data"]["sessionId"]: at for at, e in self.of("sessionEnded")}

    def close(self):
        try:
            self.client.close()
        except OSError:
            pass
        self.join(5)


# --- SIPp peers -----------------------------------------------------------------
class Peer:
    """One SIPp process in a process group of its own."""

    def __init__(self, work, name, cmd):
        self.work, self.name, self.cmd = work, name, cmd
        self.out_path = os.path.join(work, f"{name}.out.log")
        self.proc = None

    def start(self):
        with open(self.out_path, "w") as out:
            self.proc = subprocess.Popen(self.cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         cwd=self.work, start_new_session=True)
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        """SIGKILL: the process vanishes mid-call, as a phone losing power does."""
        if self.running():
            os.killpg(self.proc.pid, signal.SIGKILL)
        if self.proc:
            self.proc.wait(10)

    def wait(self, timeout):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"{self.name}: SIPp still running after {timeout}s\n{self.tail()}")

    def tail(self, n=3000):
        text = ""
        for path in (self.out_path, os.path.join(self.work, f"{self.name}.errors.log")):
            try:
                with open(path, errors="replace") as f:
                    text += f"--- {path}:\n" + f.read()[-n:] + "\n"
            except OSError:
                pass
        return text


def scenario(work, name, **subst):
    """tests/integration/sipp/NAME.xml with @KEY@ filled in, written to work."""
    with open(os.path.join(SCENARIOS, name + ".xml")) as f:
        text = f.read()
    for key, value in subst.items():
        text = text.replace(f"@{key}@", str(value))
    path = os.path.join(work, name + ".xml")
    with open(path, "w") as f:
        f.write(text)
    return path


# --- the run ---------------------------------------------------------------------
class ChaosRun:
    """One chaos run. The figures: calls placed per trunk SIPp and their
    outcomes, peers killed and the sessions they held, datagrams dropped and
    duplicated, daemon restarts; the verdicts' counts. run() raises
    AssertionError, with the report so far, on a verdict that fails."""

    def __init__(self, seed=11, extensions=12, rate=6, talk_ms=2500, drop=0.05, dup=0.05, calls_per_phase=15,
                 calls_after_restart=20, session_expires=4, t1x64_ms=4000, live_at_kill=3, rounds=1, keep=False):
        self.seed, self.n, self.rate, self.talk_ms = seed, extensions, rate, talk_ms
        self.drop, self.dup = drop, dup
        self.per_phase, self.after_restart = calls_per_phase, calls_after_restart
        self.se, self.t1x64_ms, self.live_at_kill, self.rounds = session_expires, t1x64_ms, live_at_kill, rounds
        self.keep = keep
        self.exts = [str(2001 + i) for i in range(extensions)]
        self.agents = [f"agent{e}@example.com" for e in self.exts]
        self.report = collections.OrderedDict(seed=seed, extensions=extensions, rate=rate, talk_ms=talk_ms,
                                              drop=drop, dup=dup, session_expires=session_expires,
                                              t1x64_ms=t1x64_ms)
        self.peers = []
        self.relays = []
        self.events = None
        self.d = None
        self.daemon_logs = []
        self.serial = collections.Counter()
        self.registered_at = {}  # extensionId -> when its first binding was announced (monotonic)

    # --- set-up --------------------------------------------------------------
    def configure(self, cfg):
        cfg["sip"]["testT1x64Ms"] = self.t1x64_ms
        cfg["registrar"]["keepaliveSeconds"] = 0  # SIPp would take keepalive OPTIONS for calls
        cfg["registrar"]["maxExpires"] = EXPIRES
        cfg["security"]["digestAlgorithms"] = ["MD5"]  # SIPp 3.6 has no SHA-256
        cfg["security"]["maxAuthFailures"] = 1000
        cfg["shutdown"]["drainSeconds"] = 10
        cfg["log"]["level"] = "warning"
        cfg["calls"] = {"sessionExpires": self.se, "minSE": 2, "testMinSEFloor": 2}
        cfg["extensions"] = [{"id": e, "name": f"Desk {e}", "password": f"pw-{e}"} for e in self.exts]
        cfg["agents"] = [{"userId": a, "name": f"Agent {e}", "extension": e, "useMobileAccept": 0,
                          "skillGroups": [{"id": GROUP, "priority": 1}]} for a, e in zip(self.agents, self.exts)]
        cfg["skillGroups"] = [{"id": GROUP, "name": "Sales", "ringTimeout": 5, "queueTimeout": 10,
                               "afterCallWork": 0}]
        cfg["numbers"] = [{"number": NUMBER, "skillGroup": GROUP}]
        cfg["trunks"][0].update(address="%s:%d" % self.trunk_relay.far_addr, inboundFrom=[f"{TRUNK_HOST}/32"],
                                pingSeconds=0)

    def setup(self):
        self.d = Daemon(mutate=lambda cfg: None)
        self.work = self.d.tmp
        server = (HOST, self.d.sip_port)
        self.desk_port = free_port(HOST)
        self.trunk_port = free_port(TRUNK_HOST)
        self.desk_relay = LossyRelay("desk", HOST, (HOST, self.desk_port), server, self.seed * 2 + 1,
                                     self.drop, self.dup)
        self.trunk_relay = LossyRelay("trunk", TRUNK_HOST, (TRUNK_HOST, self.trunk_port), server, self.seed * 2 + 2,
                                      self.drop, self.dup)
        self.relays = [self.desk_relay, self.trunk_relay]
        self.configure(self.d.config)
        self.d.write_config(self.d.config)
        for r in self.relays:
            r.start()
        self.scenarios = {
            "register": scenario(self.work, "chaos_register", DOMAIN=self.d.config["sip"]["domain"], EXPIRES=EXPIRES),
            "desk": scenario(self.work, "chaos_desk", SE=self.se, IDLE_MS=4 * self.se * 1000),
            "trunk": scenario(self.work, "chaos_trunk", SE=self.se, TICKS=max(1, self.talk_ms // 250),
                              RING_MS=30000),
        }
        self.phones_csv = os.path.join(self.work, "phones.csv")
        with open(self.phones_csv, "w") as f:
            f.write("SEQUENTIAL\n")
            for e in self.exts:
                f.write(f"{e};[authentication username={e} password=pw-{e}]\n")

    def start_daemon(self):
        self.d.start()
        self.events = EventLog(self.d.control_socket)
        self.events.start()
        self.ctl = self.d.control()
        ready = self.ctl.read()
        assert ready.get("event") == "ready", ready

    def call(self, method, params=None):
        r = self.ctl.call(method, params)
        assert r.get("status") == "success", (method, params, r)
        return r.get("data", {})

    def peer(self, kind, cmd):
        self.serial[kind] += 1
        name = f"{kind}{self.serial[kind]}"
        cmd = cmd + ["-trace_err", "-error_file", os.path.join(self.work, f"{name}.errors.log")]
        if os.environ.get("SEATBRIDGE_CHAOS_TRACE"):  # every message each SIPp sent and received, for debugging
            cmd += ["-trace_msg", "-message_file", os.path.join(self.work, f"{name}.messages.log")]
        p = Peer(self.work, name, cmd)
        self.peers.append(p)
        return p.start()

    def sb(self):
        return "%s:%d" % (HOST, self.d.sip_port)

    def start_desk(self, register=True):
        relay = "%s:%d" % self.desk_relay.far_addr
        common = ["-i", HOST, "-p", str(self.desk_port), "-t", "u1", "-nostdin", "-key", "relay", relay,
                  "-key", "sb", self.sb(), "-key", "rtp_port", str(free_port(HOST)), "-buff_size", str(1 << 20)]
        remote = "%s:%d" % self.desk_relay.near_addr
        if register:
            cmd = ["sipp", remote, "-sf", self.scenarios["register"], "-oocsf", self.scenarios["desk"],
                   "-inf", self.phones_csv, "-m", str(self.n), "-r", "50", "-l", str(self.n),
                   "-d", str(3600 * 1000)] + common
        else:  # a UAS that takes one call, having sent nothing first
            cmd = ["sipp", "-sf", self.scenarios["desk"], "-m", "1"] + common
        return self.peer("desk", cmd)

    def start_trunk(self, count):
        relay = "%s:%d" % self.trunk_relay.far_addr
        cmd = ["sipp", "%s:%d" % self.trunk_relay.near_addr, "-sf", self.scenarios["trunk"], "-s", NUMBER,
               "-key", "caller", CUSTOMER, "-key", "relay", relay, "-key", "sb", self.sb(),
               "-key", "rtp_port", str(free_port(TRUNK_HOST)), "-i", TRUNK_HOST, "-p", str(self.trunk_port),
               "-t", "u1", "-m", str(count), "-r", str(self.rate), "-l", "200", "-nostdin",
               "-buff_size", str(1 << 20), "-timeout", "300s"]
        return self.peer("trunk", cmd)

    # --- what seatbridge says ---------------------------------------------------
    def sessions(self):
        return self.call("Gateway.listSessions").get("sessions", [])

    def live(self, state=None):
        return [s["sessionId"] for s in self.sessions()
                if s.get("state") != "ended" and (state is None or s.get("state") == state)]

    def active_total(self):
        total = 0.0
        for line in self.d.metrics().splitlines():
            if line.startswith("seatbridge_sessions_active"):
                total += float(line.rpartition(" ")[2])
        return total

    def bindings(self):
        """{extensionId: set of contact URIs} from Gateway.listExtensions."""
        out = {}
        for ext in self.call("Gateway.listExtensions").get("extensions", []):
            out[ext["extensionId"]] = {c.get("uri", "").split(";")[0] for c in ext.get("contacts", [])}
        return out

    def all_registered(self):
        relay = "%s:%d" % self.desk_relay.far_addr
        b = self.bindings()
        return all(f"sip:{e}@{relay}" in b.get(e, ()) for e in self.exts)

    def records(self):
        ids, before = set(), None
        for _ in range(1000):
            params = {"limit": 500}
            if before:
                params["before"] = before
            data = self.call("Gateway.listRecords", params)
            ids.update(r["sessionId"] for r in data.get("records", []))
            before = data.get("next")
            if not before:
                return ids
        raise AssertionError("listRecords never ended")

    def placed(self):
        return len(self.trunk_relay.placed)

    # --- the phases -------------------------------------------------------------
    def await_load(self, goal, what):
        """Until `goal` calls were placed in all and enough are answered and up:
        the moment to kill something mid-call."""
        wait_for(lambda: self.placed() >= goal, (goal - self.placed()) / self.rate + 30,
                 f"{goal} calls placed ({what})")
        return wait_for(lambda: (lambda ids: ids if len(ids) >= self.live_at_kill else None)(self.live("active")),
                        30, f"{self.live_at_kill} calls answered and up ({what})")

    def await_ended(self, ids, what, timeout):
        """The sessions all get sessionEnded within timeout (the timers' work)."""
        ids = set(ids)
        try:
            wait_for(lambda: ids <= set(self.events.ended()), timeout, what)
        except AssertionError:
            left = ids - set(self.events.ended())
            raise AssertionError(f"{len(left)} sessions never ended after {what}: {sorted(left)}\n"
                                 f"{self.sessions_of(left)}") from None

    def sessions_of(self, ids):
        return json.dumps([s for s in self.sessions() if s["sessionId"] in ids], indent=1)[:4000]

    def sign_in(self):
        for a in self.agents:
            self.call("Agent.online", {"userId": a})
        wait_for(lambda: all(a.get("status") == "free" for a in self.call("Gateway.listAgents")["agents"]), 20,
                 "every agent free")

    def kill_peer(self, p, kind):
        live = self.live()
        p.kill()
        self.report.setdefault("kills", []).append({"peer": p.name, "at_placed": self.placed(),
                                                    "sessions_live": len(live)})
        log(f"SIGKILL {p.name} with {len(live)} sessions live")
        return live

    def one_round(self, rnd):
        # How long a killed peer's calls may take to end, by the timers alone: a
        # call still queued waits out the queue (10 s), then its offer; an
        # answered one's refresh is due (se / 2), fails after Timer F, and the
        # BYE to the other leg has its own. Far below calls.maxSessionSeconds.
        kill_budget = 10 + self.se + 2 * self.t1x64_ms / 1000.0 + 10

        # 1. Load through the lossy relays; the desk is killed mid-call.
        # Each phase ends once its calls were placed, counted from the start of
        # the trunk SIPp that places them (-m): a wait for the timers in between
        # does not make a later phase longer.
        start = self.placed()
        trunk = self.start_trunk(2 * self.per_phase)
        self.await_load(start + self.per_phase, "before the desk's SIGKILL")
        held = self.kill_peer(self.desk, "desk")
        mark = self.desk_relay.register_ok
        self.desk = self.start_desk()
        wait_for(lambda: self.desk_relay.register_ok >= mark + self.n, 30, "the new desk's REGISTERs answered")
        self.await_ended(held, "the desk's SIGKILL", kill_budget)
        log(f"round {rnd}: the {len(held)} sessions the killed desk held ended")

        # 2. The trunk is killed mid-call; a new one goes on.
        self.await_load(start + 2 * self.per_phase - 1, "before the trunk's SIGKILL")
        held = self.kill_peer(trunk, "trunk")
        self.trunk_runs.append(trunk)
        self.await_ended(held, "the trunk's SIGKILL", kill_budget)
        log(f"round {rnd}: the {len(held)} sessions the killed trunk held ended")
        # The next trunk starts now, so its calls last past the daemon's restart.
        start = self.placed()
        trunk = self.start_trunk(self.per_phase + self.after_restart)

        # 3. seatbridged is SIGKILLed under load and restarted.
        self.await_load(start + self.per_phase, "before the daemon's SIGKILL")
        before = self.bindings()
        self.note_registrations()
        ended = self.events.ended()
        live = self.live()
        self.add_refreshes()
        self.d.proc.send_signal(signal.SIGKILL)
        self.d.proc.wait(10)
        killed_at = time.monotonic()
        self.events.closed.wait(5)
        self.events.close()
        self.ctl.close()
        self.keep_log(f"run{len(self.daemon_logs) + 1}")
        self.report["restarts"] = self.report.get("restarts", 0) + 1
        log(f"SIGKILL seatbridged with {len(live)} sessions live, {self.placed()} calls placed")
        self.start_daemon()

        # What a restart keeps: agents offline, bindings, records.
        agents = self.call("Gateway.listAgents")["agents"]
        not_offline = [(a["userId"], a["status"]) for a in agents if a.get("status") != "offline"]
        assert not not_offline, f"agents not offline after the restart: {not_offline}"
        # Each line's first binding gave extensionRegistered (an upper bound of
        # when its REGISTER was answered); the new desk re-registered the same
        # Contact (a silent refresh) before the trunk's kill, well before this one.
        old = {x for x, at in self.registered_at.items() if at < killed_at - FLUSH_S}
        assert len(old) == self.n, f"only {len(old)} of {self.n} registrations were older than {FLUSH_S}s"
        after = self.bindings()
        lost = {x: sorted(before[x] - after.get(x, set())) for x in old if before[x] - after.get(x, set())}
        assert not lost, f"registrations lost in the restart: {lost}"
        self.report["registrations_checked"] = self.report.get("registrations_checked", 0) + len(old)
        due = {sid for sid, at in ended.items() if at < killed_at - FLUSH_S}
        missing = due - self.records()
        assert not missing, f"{len(missing)} of {len(due)} ended sessions have no record: {sorted(missing)[:20]}"
        self.report["records_checked"] = self.report.get("records_checked", 0) + len(due)
        self.report.setdefault("lost_in_restart", 0)
        self.report["lost_in_restart"] += len(live)  # live calls a crash ends (no record: they never ended)
        log(f"round {rnd}: after the restart all {len(agents)} agents offline, {len(old)} registrations kept, "
            f"{len(due)} records there")

        # 4. Load again, agents signed back in, until the trunk placed its last
        # call and seatbridge ended every call placed since the restart. The
        # trunk SIPp then goes: what it still holds are calls the restart made
        # seatbridge forget (they would idle out on its side only).
        restarted_at = self.placed()
        self.sign_in()
        goal = start + self.per_phase + self.after_restart

        def settled():
            t = self.trunk_relay.snapshot()
            since = self.trunk_relay.placed[restarted_at:goal]
            return t["placed"] >= goal and all(c in t["finals"] for c in since) and not self.live()

        wait_for(settled, (goal - restarted_at) / self.rate + 60, "every call placed after the restart ended")
        finals = self.trunk_relay.snapshot()["finals"]
        since = self.trunk_relay.placed[restarted_at:goal]
        self.report["after_restart_placed"] = self.report.get("after_restart_placed", 0) + len(since)
        self.report["after_restart_answered"] = (self.report.get("after_restart_answered", 0) +
                                                 sum(1 for c in since if finals.get(c) == 200))
        trunk.kill()
        self.trunk_runs.append(trunk)

    def run(self):
        try:
            return self._run()
        except AssertionError as e:
            raise AssertionError(f"{e}\n{self.diagnosis()}") from None

    def diagnosis(self):
        """seatbridge's view when a verdict failed: live sessions, agents, the log's tail."""
        out = []
        try:
            live = [s for s in self.sessions() if s.get("state") != "ended"]
            out.append(f"--- {len(live)} live sessions: {json.dumps(live)[:3000]}")
            out.append("--- agents: " + ", ".join(f"{a['userId']} {a['status']}"
                                                  for a in self.call("Gateway.listAgents")["agents"]))
        except Exception as e:  # the daemon may be what failed
            out.append(f"--- (no state from the control socket: {e!r})")
        out.append(f"--- daemon log (tail):\n{self.d.logs()[-3000:] if self.d else ''}")
        return "\n".join(out)

    def _run(self):
        started = time.monotonic()
        self.setup()
        log(f"seed {self.seed}; {self.n} extensions, {self.rate} calls/s, talk {self.talk_ms} ms, "
            f"drop {self.drop:.0%} dup {self.dup:.0%}; work {self.work}")
        self.start_daemon()
        self.trunk_runs = []
        self.desk = self.start_desk()
        wait_for(self.all_registered, 30, f"{self.n} extensions registered through the relay")
        self.sign_in()
        for rnd in range(1, self.rounds + 1):
            self.one_round(rnd)

        # The network heals; the timers end whatever the chaos left.
        for r in self.relays:
            r.set_loss(0.0, 0.0)
        wait_for(lambda: not self.live() and self.active_total() == 0, 60, "no live session left")
        # No agent is left busy by a call that ended under it (afterCallWork 0).
        wait_for(lambda: all(a.get("status") == "free" for a in self.call("Gateway.listAgents")["agents"]), 10,
                 "every agent free again")
        ended_since = self.events.ended()
        missing = set(ended_since) - self.records()
        assert not missing, f"sessions ended since the restart without a record: {sorted(missing)[:20]}"
        self.report["records_checked"] += len(ended_since)

        # A clean call to a desk that never registered with this daemon run: the
        # restored binding (the relay's address) still reaches it.
        self.desk.kill()
        self.desk = self.start_desk(register=False)
        final = self.start_trunk(1)
        rc = final.wait(60)
        assert rc == 0, f"the final clean call failed ({rc})\n{final.tail()}"
        rc = self.desk.wait(30)
        assert rc == 0, f"the desk that never registered did not take the final call ({rc})\n{self.desk.tail()}"
        self.trunk_runs.append(final)
        wait_for(lambda: not self.live() and self.active_total() == 0, 30, "no live session after the final call")

        self.add_refreshes()
        # Nothing left to drain: SIGTERM ends the daemon at once (a leg still up
        # would hold it for shutdown.drainSeconds).
        t0 = time.monotonic()
        self.d.proc.send_signal(signal.SIGTERM)
        rc = self.d.proc.wait(30)
        took = time.monotonic() - t0
        self.keep_log(f"run{len(self.daemon_logs) + 1}")
        assert rc == 0, f"seatbridged exited {rc} on SIGTERM"
        assert took < 5, f"the drain waited {took:.1f}s: a leg was left"
        self.check_logs()
        self.figures(time.monotonic() - started)
        # A 500 is seatbridge failing, not the chaos (no agent, a full queue or
        # a restart give 480, 486, 503).
        assert "500" not in self.report["calls_refused"], f"calls answered 500: {self.report['calls_refused']}"
        return self.report

    def note_registrations(self):
        """The first extensionRegistered of each line, over every daemon run
        (a binding restored by a restart gives none: it was registered before)."""
        for at, e in self.events.of("extensionRegistered"):
            self.registered_at.setdefault(e["data"]["extensionId"], at)

    def add_refreshes(self):
        """seatbridge_session_refreshes_total by outcome, added up over the daemon's runs."""
        total = self.report.setdefault("refreshes", {})
        for line in self.d.metrics().splitlines():
            if line.startswith("seatbridge_session_refreshes_total{"):
                outcome = line.split('outcome="', 1)[1].split('"', 1)[0]
                total[outcome] = total.get(outcome, 0) + int(float(line.rpartition(" ")[2]))

    # --- the report -------------------------------------------------------------
    def keep_log(self, name):
        path = os.path.join(self.work, f"daemon-{name}.log")
        shutil.copy(self.d.log_path, path)
        self.daemon_logs.append(path)

    def check_logs(self):
        for path in self.daemon_logs:
            with open(path, errors="replace") as f:
                text = f.read()
            for bad in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
                assert bad not in text, f"{path}: {bad}\n{text[-4000:]}"
            # An exception a Sofia callback caught (LegCallbacks::guarded logs
            # "<what> failed: <why>") is a bug whatever the chaos was.
            caught = [line for line in text.splitlines() if line.startswith("error ") and " failed: " in line]
            assert not caught, f"{path}: {caught[:5]}"

    def figures(self, wall):
        t = self.trunk_relay.snapshot()
        finals = collections.Counter(t["finals"].values())
        counts = collections.Counter()
        for r in self.relays:
            counts.update(r.snapshot()["counts"])
        self.report.update(
            calls_placed=t["placed"], calls_answered=finals.get(200, 0),
            calls_refused={str(k): v for k, v in sorted(finals.items()) if k != 200},
            calls_unanswered=t["placed"] - sum(finals.values()),
            peers_killed=len(self.report.get("kills", [])),
            legs_killed=sum(k["sessions_live"] for k in self.report.get("kills", [])),
            packets=counts["up_packets"] + counts["down_packets"],
            packets_dropped=counts["up_dropped"] + counts["down_dropped"],
            packets_duplicated=counts["up_duplicated"] + counts["down_duplicated"],
            stuck_sessions=0, lost_registrations=0, missing_records=0, wall_seconds=round(wall, 1))

    def summary(self):
        r = self.report
        return (f"chaos report (seed {r['seed']}): {r.get('calls_placed')} calls placed, "
                f"{r.get('calls_answered')} answered, refused {r.get('calls_refused')}, "
                f"{r.get('calls_unanswered')} unanswered; {r.get('peers_killed')} peers SIGKILLed holding "
                f"{r.get('legs_killed')} calls; {r.get('packets_dropped')} of {r.get('packets')} datagrams "
                f"dropped, {r.get('packets_duplicated')} duplicated; session refreshes {r.get('refreshes')}; "
                f"{r.get('restarts')} daemon restarts "
                f"({r.get('lost_in_restart')} live calls lost with it; of the {r.get('after_restart_placed')} "
                f"placed after it {r.get('after_restart_answered')} answered); {r.get('stuck_sessions')} stuck sessions, "
                f"{r.get('lost_registrations')} lost registrations of {r.get('registrations_checked')}, "
                f"{r.get('missing_records')} missing records of {r.get('records_checked')}; "
                f"{r.get('wall_seconds')} s")

    def close(self):
        for p in self.peers:
            try:
                p.kill()
            except Exception:
                pass
        for r in self.relays:
            r.stop()
        if self.events:
            self.events.close()
        if getattr(self, "ctl", None):
            self.ctl.close()
        if self.d:
            if self.d.proc and self.d.proc.poll() is None:
                self.d.proc.kill()
                self.d.proc.wait()
            if self.keep:
                os.environ["SEATBRIDGE_KEEP_TMP"] = "1"
            self.d.close()
