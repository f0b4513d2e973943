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


def free_port(host="127.0.0.1"):
    """A port free for both UDP and TCP on host (SIP listens on both)."""
    for _ in range(50):
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.bind((host, 0))
        port = t.getsockname()[1]
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind((host, port))
        except OSError:
            continue
        finally:
            u.close()
            t.close()
        return port
    raise RuntimeError("no free port")


def base_config(tmp, sip_port, metrics_port):
    return {
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
                    "inboundFrom": ["127.0.0.2/32"], "callerNumbers": ["+15550199000"]}],
    }


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

    def start(self, timeout=20, expect_ready=True):
        env = dict(os.environ, NOTIFY_SOCKET=self.notify_path)
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

    def read(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("control socket closed")
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return json.loads(line)

    def send_raw(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def call(self, method, params=None):
        rid = self.next_id
        self.next_id += 1
        self.send_raw(json.dumps({"id": rid, "method": method, "params": params or {}}) + "\n")
        while True:
            m = self.read()
            if m.get("id") == rid:
                return m

    def close(self):
        self.sock.close()


def run(cmd, timeout=30, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
