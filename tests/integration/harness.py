"""Runs the real seatbridged on loopback for integration tests.

Readiness, reload and stop are awaited through systemd's notify protocol: the
harness owns a NOTIFY_SOCKET and reads READY=1 / RELOADING=1 / STOPPING=1 as the
daemon sends them, so no test sleeps to synchronise. Configs are written as JSON,
which is valid YAML, so no YAML library is needed.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

BIN = os.environ.get("SEATBRIDGED", "seatbridged")
CTL = os.environ.get("SEATBRIDGECTL", "seatbridgectl")
SOURCE_DIR = os.environ.get("SEATBRIDGE_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))


# Ports this process has handed out. The kernel may give the same ephemeral
# port to two bind(0) calls in a row once the first socket is closed, and a
# daemon's SIP and metrics ports drawn that way collided (CivetServer could
# not listen), so a port is never handed out twice.
_handed_out = set()


def free_port(host="127.0.0.1"):
    """A port free for both UDP and TCP on host (SIP listens on both)."""
    for _ in range(50):
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.bind((host, 0))
        port = t.getsockname()[1]
        if port in _handed_out:
            t.close()
            continue
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind((host, port))
        except OSError:
            continue
        finally:
            u.close()
            t.close()
        _handed_out.add(port)
        return port
    raise RuntimeError("no free port")


def base_config(tmp, sip_port, metrics_port):
    cfg = {
        "sip": {"listen": [f"udp:127.0.0.1:{sip_port}", f"tcp:127.0.0.1:{sip_port}"], "domain": "seatbridge.test"},
        "registrar": {"minExpires": 60, "maxExpires": 3600, "defaultExpires": 600, "maxContacts": 3,
                      "keepaliveSeconds": 30},
        "security": {"digestAlgorithms": ["SHA-256", "MD5"], "maxAuthFailures": 10, "banSeconds": 600},
        "control": {"socket": os.path.join(tmp, "seatbridge.sock"), "mode": "0660", "allowedUids": []},
        "metrics": {"listen": f"127.0.0.1:{metrics_port}"},
        "storage": {"path": os.path.join(tmp, "seatbridge.db")},
        "log": {"level": "info"},
        "shutdown": {"drainSeconds": 5},
        "extensions": [{"id": str(1000 + i), "name": f"Desk {1000 + i}", "password": f"pw-{1000 + i}"}
                       for i in range(1, 4)],
        "agents": [
            {"userId": "alice@example.com", "name": "Alice", "extension": "1001", "mobile": "+15550100001",
             "useMobileAccept": 1, "skillGroups": [{"id": "sales", "priority": 1}]},
            {"userId": "bob@example.com", "name": "Bob", "extension": "1002",
             "skillGroups": [{"id": "sales", "priority": 2}]},
        ],
        "skillGroups": [{"id": "sales", "name": "Sales", "ringTimeout": 20, "queueTimeout": 120,
                         "afterCallWork": 0}],
        "numbers": [{"number": "+15550199000", "skillGroup": "sales"}],
        "trunks": [{"name": "pbx", "address": "127.0.0.2:5060", "transport": "udp",
                    "inboundFrom": ["127.0.0.2/32"], "callerNumbers": ["+15550199000"],
                    # No OPTIONS pings in tests unless one asks: a SIPp PBX takes an
                    # unexpected request as a failure.
                    "pingSeconds": 0}],
    }
    # SEATBRIDGE_TEST_MEDIA=anchored runs every daemon with anchored media: a
    # way to see which call flows the media engine breaks (tests that assert
    # the SDP passed through unchanged fail by design).
    if os.environ.get("SEATBRIDGE_TEST_MEDIA") == "anchored":
        cfg["media"] = {"mode": "anchored"}
    return cfg


class Daemon:
    """One seatbridged process with its own folder, ports and notify socket."""

    def __init__(self, config=None, mutate=None):
        self.tmp = tempfile.mkdtemp(prefix="sbtest-")
        self.sip_port = free_port()
        self.metrics_port = free_port()
        self.config = config or base_config(self.tmp, self.sip_port, self.metrics_port)
        if mutate:
            mutate(self.config)
        self.config_path = os.path.join(self.tmp, "seatbridge.yaml")
        self.write_config(self.config)
        self.notify_path = os.path.join(self.tmp, "notify.sock")
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(self.notify_path)
        self.proc = None
        self.log_path = os.path.join(self.tmp, "daemon.log")
        self.notifications = []

    @property
    def control_socket(self):
        return self.config["control"]["socket"]

    def write_config(self, cfg, text=None):
        with open(self.config_path, "w") as f:
            f.write(text if text is not None else json.dumps(cfg, indent=1))

    def start(self, timeout=20, expect_ready=True, extra_env=None):
        env = dict(os.environ, NOTIFY_SOCKET=self.notify_path, **(extra_env or {}))
        if getattr(self, "log", None):  # a restart: the previous run's handle
            self.log.close()
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([BIN, "--config", self.config_path], stdout=self.log, stderr=subprocess.STDOUT,
                                     env=env)
        if expect_ready:
            self.wait_notify("READY=1", timeout)
        return self

    def wait_notify(self, key, timeout=20):
        """Blocks until the daemon sends a notify message containing key."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.notify.settimeout(min(0.5, max(0.01, deadline - time.monotonic())))
            try:
                msg = self.notify.recv(4096).decode()
            except socket.timeout:
                if self.proc.poll() is not None:
                    raise AssertionError(f"daemon exited with {self.proc.returncode} waiting for {key}:\n{self.logs()}")
                continue
            self.notifications.append(msg)
            if key in msg.split("\n"):
                return msg
        raise AssertionError(f"no {key} within {timeout}s:\n{self.logs()}")

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=15):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("daemon did not stop on SIGTERM")
        return self.proc.returncode if self.proc else None

    def logs(self):
        try:
            with open(self.log_path) as f:
                return f.read()
        except OSError:
            return ""

    def close(self):
        try:
            self.stop()
        finally:
            self.notify.close()
            if getattr(self, "log", None):
                self.log.close()
            if os.environ.get("SEATBRIDGE_KEEP_TMP") is None:
                shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    # --- peers -----------------------------------------------------------
    def metrics(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5) as r:
            return r.read().decode()

    def metric(self, name, labels=None):
        """Value of one sample, or None."""
        want = name
        if labels:
            want += "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"
        for line in self.metrics().splitlines():
            if line.startswith("#"):
                continue
            key, _, value = line.rpartition(" ")
            if key == want or (labels is None and key == name):
                return float(value)
        return None

    def control(self):
        return ControlClient(self.control_socket)


class ControlClient:
    """NDJSON over the control socket."""

    def __init__(self, path, timeout=10):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""
        self.next_id = 1
        self.stash = []  # messages read by call() while waiting for its answer

    def read(self):
        """The next message: one call() set aside first, else a new line."""
        if self.stash:
            return self.stash.pop(0)
        return self.read_wire()

    def read_wire(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("control socket closed")
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return json.loads(line)

    def wait_event(self, name, pred=None):
        """Reads until an event named name (for which pred holds); returns it.
        Other messages read on the way are dropped."""
        while True:
            m = self.read()
            if m.get("event") == name and (pred is None or pred(m)):
                return m

    def events(self, count, name=None):
        """The next count events (of that name, when given)."""
        out = []
        while len(out) < count:
            m = self.read()
            if "event" in m and (name is None or m["event"] == name):
                out.append(m)
        return out

    def send_raw(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def call(self, method, params=None):
        rid = self.next_id
        self.next_id += 1
        self.send_raw(json.dumps({"id": rid, "method": method, "params": params or {}}) + "\n")
        while True:
            m = self.read_wire()
            if m.get("id") == rid and "status" in m:
                return m
            self.stash.append(m)  # events (and stray answers) stay readable

    def close(self):
        self.sock.close()


def run(cmd, timeout=30, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)


# --- a scriptable SIP phone (UDP, loopback) ---------------------------------
import hashlib
import re
import uuid

_HASHES = {"MD5": "md5", "SHA-256": "sha256", "SHA-512-256": "sha512_256"}


def digest_hash(algorithm, text):
    return hashlib.new(_HASHES[algorithm.upper()], text.encode()).hexdigest()


class SipMessage:
    def __init__(self, raw):
        self.raw = raw
        head, _, self.body = raw.partition("\r\n\r\n")
        lines = head.split("\r\n")
        self.first = lines[0]
        self.headers = []
        for line in lines[1:]:
            name, _, value = line.partition(":")
            self.headers.append((name.strip().lower(), value.strip()))
        parts = self.first.split(" ", 2)
        self.status = int(parts[1]) if parts[0] == "SIP/2.0" else None
        self.method = None if self.status else parts[0]

    def all(self, name):
        return [v for k, v in self.headers if k == name.lower()]

    def get(self, name):
        values = self.all(name)
        return values[0] if values else None


def challenge_params(value):
    return dict((k, v1 or v2) for k, v1, v2 in re.findall(r'(\w+)=(?:"([^"]*)"|([^,\s]+))', value))


class SipPhone:
    """A minimal UDP SIP phone for tests: REGISTERs with digest auth (answering
    the challenge of the algorithm it prefers) and answers OPTIONS keepalives."""

    def __init__(self, server_port, user, password, host="127.0.0.1", server_host="127.0.0.1",
                 domain="seatbridge.test", port=0):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, port))
        self.host, self.port = self.sock.getsockname()
        self.server = (server_host, server_port)
        self.user, self.password, self.domain = user, password, domain
        self.call_id = uuid.uuid4().hex
        self.cseq = 0
        self.nc = 0

    def close(self):
        self.sock.close()

    def contact(self):
        return f"<sip:{self.user}@{self.host}:{self.port}>"

    def build(self, expires=None, contact="default", authorization=None, extra=(), to_user=None):
        self.cseq += 1
        ruri = f"sip:{self.server[0]}:{self.server[1]}"
        lines = [f"REGISTER {ruri} SIP/2.0",
                 f"Via: SIP/2.0/UDP {self.host}:{self.port};rport;branch=z9hG4bK{uuid.uuid4().hex[:16]}",
                 "Max-Forwards: 70",
                 f"From: <sip:{to_user or self.user}@{self.domain}>;tag={uuid.uuid4().hex[:8]}",
                 f"To: <sip:{to_user or self.user}@{self.domain}>",
                 f"Call-ID: {self.call_id}",
                 f"CSeq: {self.cseq} REGISTER",
                 "User-Agent: seatbridge-test-phone"]
        if contact == "default":
            contact = self.contact()
        if contact:
            lines.append(f"Contact: {contact}")
        if expires is not None:
            lines.append(f"Expires: {expires}")
        if authorization:
            lines.append(f"Authorization: {authorization}")
        lines.extend(extra)
        lines.append("Content-Length: 0")
        return "\r\n".join(lines) + "\r\n\r\n", ruri

    def authorization(self, challenge, ruri, password=None, algorithm=None, user=None):
        p = challenge_params(challenge)
        alg = algorithm or p.get("algorithm", "MD5")
        user = user or self.user
        self.nc += 1
        nc, cnonce = f"{self.nc:08x}", uuid.uuid4().hex[:12]
        ha1 = digest_hash(alg, f"{user}:{p['realm']}:{password or self.password}")
        ha2 = digest_hash(alg, f"REGISTER:{ruri}")
        resp = digest_hash(alg, f"{ha1}:{p['nonce']}:{nc}:{cnonce}:auth:{ha2}")
        return (f'Digest username="{user}", realm="{p["realm"]}", nonce="{p["nonce"]}", uri="{ruri}", '
                f'response="{resp}", algorithm={alg}, cnonce="{cnonce}", qop=auth, nc={nc}')

    def send(self, text):
        self.sock.sendto(text.encode(), self.server)

    def recv(self, timeout=5):
        """The next SIP message; OPTIONS keepalives are answered 200 and returned too."""
        self.sock.settimeout(timeout)
        data, addr = self.sock.recvfrom(65535)
        msg = SipMessage(data.decode(errors="replace"))
        msg.source = addr
        if msg.method == "OPTIONS":
            self.answer(msg, addr)
        return msg

    def answer(self, req, addr, status="200 OK"):
        keep = [f"{k.title()}: {v}" for k, v in req.headers if k in ("via", "from", "to", "call-id", "cseq")]
        self.sock.sendto(("SIP/2.0 " + status + "\r\n" + "\r\n".join(keep) + "\r\nContent-Length: 0\r\n\r\n").encode(),
                         addr)

    def response(self, timeout=5):
        """The next response, answering any keepalive that arrives meanwhile."""
        deadline = time.monotonic() + timeout
        while True:
            msg = self.recv(max(0.05, deadline - time.monotonic()))
            if msg.status:
                return msg

    def wait_request(self, method, timeout=10):
        deadline = time.monotonic() + timeout
        while True:
            msg = self.recv(max(0.05, deadline - time.monotonic()))
            if msg.method == method:
                return msg

    def register(self, expires=None, contact="default", password=None, algorithm=None, extra=()):
        """REGISTER, answer the challenge (first offered, or `algorithm`), return the final response."""
        text, ruri = self.build(expires, contact, extra=extra)
        self.send(text)
        r = self.response()
        if r.status != 401:
            return r
        challenges = r.all("www-authenticate")
        chosen = next((c for c in challenges if algorithm is None or f"algorithm={algorithm}" in c), challenges[0])
        text, ruri = self.build(expires, contact, self.authorization(chosen, ruri, password, algorithm), extra=extra)
        self.send(text)
        return self.response()


def registered_contacts(response):
    """[(uri, expires)] from a 200 to REGISTER."""
    out = []
    for v in response.all("contact"):
        m = re.match(r"<([^>]*)>.*expires=(\d+)", v)
        if m:
            out.append((m.group(1), int(m.group(2))))
    return out


def wait_for(predicate, timeout=10, what="condition"):
    """Polls a cheap predicate (a metric, a log line) until true; never a fixed sleep."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
