"""bench/calls' processes: seatbridged, Kamailio and the SIPp peers (the trunk's
UAC and the desk phones' UAS), and what /proc, the metrics and gdb say about
them.

Every process runs in its own process group and is stopped by that group's id
(CHILDREN holds the ones still running, for the script's last clean-up). All
addresses are on loopback: the servers and the desk phones on 127.0.0.1, the
trunk on 127.0.0.2.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "register.d"))
from procs import (UDP_RCVBUF, cpu_seconds, free_port, process_tree, udp_probe,  # noqa: E402,F401
                   udp_socket_memory, vmrss_kib)

HOST = "127.0.0.1"        # seatbridge, Kamailio, the desk phones
TRUNK_HOST = "127.0.0.2"  # the PBX behind the trunk (seatbridge's inboundFrom)
DOMAIN = "bench.seatbridge.test"
NUMBER = "+15550199000"   # the inbound number, routed to the skill group
CUSTOMER = "+15550100999"  # the caller the trunk presents
DIALLED = "+15552345678"   # the customer the outbound stage calls (Call.startOutboundCall)
DIAL_PATTERN = "+1NXXNXXXXXX"  # the skill group's and the trunk's dialPatterns: allows DIALLED
GROUP = "bench"
EXPIRES = 3600            # the desk phones register once; the bench is shorter
SIPP_BUFFER = 1 << 20     # every SIPp's socket buffers (-buff_size)
CHILDREN = {}             # pgid -> name, every process group still running


def stop_group(proc, name, grace=10):
    """SIGTERM to the process group, SIGKILL after grace seconds."""
    if proc is None:
        return
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(5)
    CHILDREN.pop(proc.pid, None)


def stop_all():
    for pgid in list(CHILDREN):
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                break
            time.sleep(0.5)
        CHILDREN.pop(pgid, None)


def spawn(cmd, name, log_path, env=None, cwd=None):
    with open(log_path, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                cwd=cwd, start_new_session=True)
    CHILDREN[proc.pid] = name
    return proc


def tail(path, n=30, grep=None):
    try:
        with open(path, errors="replace") as f:
            lines = f.readlines()
    except OSError:
        return ""
    if grep:
        lines = [line for line in lines if re.search(grep, line)]
    return "".join(lines[-n:])


def read_sipp_stats(path):
    """The last line of a SIPp -trace_stat CSV as a dict, or {}."""
    try:
        with open(path) as f:
            lines = [line.strip() for line in f if line.strip()]
    except OSError:
        return {}
    if len(lines) < 2:
        return {}
    return dict(zip(lines[0].rstrip(";").split(";"), lines[-1].rstrip(";").split(";")))


def epoch(stamp):
    """SIPp's CSV time stamp 'DATE<TAB>TIME<TAB>EPOCH' -> epoch seconds."""
    return float(stamp.split("\t")[-1])


class Server:
    name = "?"
    proc = None

    def __init__(self, work):
        self.work = work
        self.port = free_port(HOST)
        self.log_path = os.path.join(work, f"{self.name}.log")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        stop_group(self.proc, self.name)

    def cpu(self):
        """User + system CPU seconds of all the server's processes and threads."""
        return cpu_seconds(self.proc.pid)

    def processes(self):
        return len(process_tree(self.proc.pid))

    def threads_cpu(self):
        """{thread id: user + system CPU seconds} of the server's main process."""
        tick = os.sysconf("SC_CLK_TCK")
        out = {}
        try:
            tids = os.listdir(f"/proc/{self.proc.pid}/task")
        except OSError:
            return out
        for tid in tids:
            try:
                with open(f"/proc/{self.proc.pid}/task/{tid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                out[int(tid)] = (int(fields[11]) + int(fields[12])) / tick
            except (OSError, IndexError, ValueError):
                pass
        return out

    def udp(self):
        return udp_socket_memory(self.port, HOST) or {}

    def tail_log(self, n=30, grep=None):
        return tail(self.log_path, n, grep)

    def settled(self, timeout=30):
        """Waits until no call is left on the server; True when none is."""
        return True


class Seatbridge(Server):
    """seatbridged with N extensions and N agents in one skill group, the number
    routed to it and the trunk on TRUNK_HOST."""
    name = "seatbridge"

    def __init__(self, work, binary, phones, trunk_port, ring_timeout, queue_timeout):
        super().__init__(work)
        self.binary = binary
        self.trunk_port = trunk_port
        self.phones = phones
        self.metrics_port = free_port(HOST)
        self.control_path = os.path.join(work, "seatbridge.sock")
        self.config_path = os.path.join(work, "seatbridge.yaml")
        self.agents = [f"agent{user}@{DOMAIN}" for user, _ in phones]
        cfg = {
            "sip": {"listen": [f"udp:{HOST}:{self.port}"], "domain": DOMAIN},
            # SIPp would take keepalive OPTIONS for calls; Kamailio sends none either.
            "registrar": {"minExpires": 60, "maxExpires": EXPIRES, "defaultExpires": 600, "maxContacts": 3,
                          "keepaliveSeconds": 0},
            # MD5 only: SIPp 3.6.1 has no SHA-256.
            "security": {"digestAlgorithms": ["MD5"], "maxAuthFailures": 10, "banSeconds": 600},
            "control": {"socket": self.control_path, "mode": "0660", "allowedUids": []},
            "metrics": {"listen": f"{HOST}:{self.metrics_port}"},
            "storage": {"path": os.path.join(work, "seatbridge.db")},
            "log": {"level": "warning"},
            "shutdown": {"drainSeconds": 1},
            "extensions": [{"id": u, "name": f"Desk {u}", "password": pw} for u, pw in phones],
            "agents": [{"userId": a, "name": f"Agent {u}", "extension": u, "useMobileAccept": 0,
                        "skillGroups": [{"id": GROUP, "priority": 1}]} for a, (u, _) in zip(self.agents, phones)],
            "skillGroups": [{"id": GROUP, "name": "Bench", "ringTimeout": ring_timeout,
                             "queueTimeout": queue_timeout, "afterCallWork": 0, "dialPatterns": [DIAL_PATTERN]}],
            "numbers": [{"number": NUMBER, "skillGroup": GROUP}],
            # trunk_port: where the outbound stage's customer SIPp listens (the
            # inbound trunk SIPps send from ports of their own). No OPTIONS pings:
            # between the outbound steps nothing listens there, and two pings
            # unanswered would mark the trunk down (503 trunksDown).
            "trunks": [{"name": "pbx", "address": f"{TRUNK_HOST}:{trunk_port}", "transport": "udp",
                        "inboundFrom": [f"{TRUNK_HOST}/32"], "callerNumbers": [NUMBER],
                        "dialPatterns": [DIAL_PATTERN], "pingSeconds": 0}],
            # The outbound stage places every agent's calls in a row: no
            # per-extension limits (0), a customer rings 10 s at most.
            "outbound": {"ringTimeout": 10, "maxConcurrentPerExtension": 0, "maxPerMinutePerExtension": 0},
        }
        with open(self.config_path, "w") as f:
            json.dump(cfg, f, indent=1)
        self.control = None

    def check_config(self):
        r = subprocess.run([self.binary, "--check-config", self.config_path], capture_output=True, text=True,
                           timeout=30)
        if r.returncode != 0:
            raise RuntimeError(f"seatbridged --check-config failed:\n{r.stdout}{r.stderr}")

    def start(self, timeout=30):
        notify_path = os.path.join(self.work, "notify.sock")
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(notify_path)
        try:
            env = dict(os.environ, NOTIFY_SOCKET=notify_path)
            self.proc = spawn([self.binary, "--config", self.config_path], self.name, self.log_path, env=env)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                notify.settimeout(0.5)
                try:
                    if "READY=1" in notify.recv(4096).decode().split("\n"):
                        return
                except socket.timeout:
                    if self.proc.poll() is not None:
                        raise RuntimeError(f"seatbridged exited with {self.proc.returncode}:\n{self.tail_log()}")
            raise RuntimeError(f"seatbridged not ready within {timeout}s:\n{self.tail_log()}")
        finally:
            notify.close()
            os.unlink(notify_path)

    def stop(self):
        if self.control:
            self.control.close()
            self.control = None
        super().stop()

    # --- the control socket (NDJSON, docs/PROTOCOL.md) ----------------------
    def online(self, timeout=30):
        """Agent.online for every agent, over one connection kept open for the run."""
        self.control = Control(self.control_path, timeout)
        for agent in self.agents:
            r = self.control.call("Agent.online", {"userId": agent})
            if r.get("status") != "success":
                raise RuntimeError(f"Agent.online {agent}: {r}")

    # --- metrics -------------------------------------------------------------
    def scrape(self):
        """{sample name with labels: value} of every seatbridge_ sample, or {}."""
        try:
            with urllib.request.urlopen(f"http://{HOST}:{self.metrics_port}/metrics", timeout=5) as r:
                text = r.read().decode()
        except OSError:
            return {}
        out = {}
        for line in text.splitlines():
            if line.startswith("seatbridge_"):
                key, _, value = line.rpartition(" ")
                try:
                    out[key] = float(value)
                except ValueError:
                    pass
        return out

    @staticmethod
    def pick(samples, name, **labels):
        """Sum of the samples of one metric whose labels include these."""
        total, seen = 0.0, False
        for key, value in samples.items():
            base, _, rest = key.partition("{")
            if base != name:
                continue
            if all(f'{k}="{v}"' in rest for k, v in labels.items()):
                total += value
                seen = True
        return total if seen else None

    def state(self):
        """Live sessions, free agents and calls waiting in the queue, from the metrics."""
        m = self.scrape()
        return {"live": self.pick(m, "seatbridge_sessions_active"),
                "free": self.pick(m, "seatbridge_agents", status="free"),
                "waiting": self.pick(m, "seatbridge_queue_waiting")}

    def settled(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            s = self.state()
            if s["live"] == 0 and s["free"] == len(self.agents) and not s["waiting"]:
                return True
            time.sleep(0.25)
        return False

    # --- memory --------------------------------------------------------------
    def memory_kib(self):
        return vmrss_kib(self.proc.pid)

    def heap(self, trim=False):
        """glibc's own count through gdb: {'in_use': bytes, 'system': bytes}, from
        malloc_stats() called in the daemon (it prints to the daemon's stderr, its
        log here); with trim, malloc_trim(0) afterwards and the VmRSS then. gdb
        stops the process for about a second. None when gdb is missing or fails."""
        if not shutil.which("gdb"):
            return None
        before = os.path.getsize(self.log_path)
        cmd = ["gdb", "-batch", "-nx", "-readnever", "-p", str(self.proc.pid), "-ex", "call (void) malloc_stats()"]
        if trim:
            cmd += ["-ex", "call (int) malloc_trim(0)"]
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        except (OSError, subprocess.SubprocessError):
            return None
        if r.returncode != 0:
            return None
        time.sleep(0.2)
        with open(self.log_path, errors="replace") as f:
            f.seek(before)
            text = f.read()
        m = re.search(r"Total \(incl\. mmap\):\s*system bytes\s*=\s*(\d+)\s*in use bytes\s*=\s*(\d+)", text)
        if not m:
            return None
        out = {"system": int(m.group(1)), "in_use": int(m.group(2))}
        if trim:
            out["rss_after_trim"] = self.memory_kib()
        return out


class Control:
    """NDJSON over the control socket: one request at a time, events ignored."""

    def __init__(self, path, timeout=30):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""
        self.next_id = 1

    def read(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RuntimeError("the control socket closed")
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return json.loads(line)

    def call(self, method, params=None):
        rid = self.next_id
        self.next_id += 1
        self.sock.sendall((json.dumps({"id": rid, "method": method, "params": params or {}}) + "\n").encode())
        for _ in range(10000):  # the answer, after any event that comes first
            m = self.read()
            if m.get("id") == rid and "status" in m:
                return m
        raise RuntimeError(f"no answer to {method}")

    def close(self):
        self.sock.close()


class Kamailio(Server):
    """Kamailio as a stateful, record-routing, dialog-tracking proxy to the desk UAS."""
    name = "kamailio"

    def __init__(self, work, template, children, maxbuffer, memory_manager, uas_port, debug_level=-1):
        super().__init__(work)
        self.runtime = os.path.join(work, "kamailio-run")
        os.makedirs(self.runtime, exist_ok=True)
        with open(template) as f:
            cfg = f.read()
        for key, value in {"DEBUG": str(debug_level), "CHILDREN": str(children), "HOST": HOST,
                           "PORT": str(self.port), "MAXBUFFER": str(maxbuffer), "UAS_HOST": HOST,
                           "UAS_PORT": str(uas_port)}.items():
            cfg = cfg.replace(f"@{key}@", value)
        self.config_path = os.path.join(work, "kamailio.cfg")
        with open(self.config_path, "w") as f:
            f.write(cfg)
        # -x/-X: the shared and private memory managers. Debian's default (qm, with
        # memory debugging) spends most of a transaction's CPU in qm_malloc.
        self.cmd = ["kamailio", "-f", self.config_path, "-DD", "-E", "-m", "256", "-M", "16",
                    "-x", memory_manager, "-X", memory_manager,
                    "-P", os.path.join(self.runtime, "kamailio.pid"), "-Y", self.runtime]

    def check_config(self):
        r = subprocess.run(["kamailio", "-c", "-f", self.config_path], capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise RuntimeError(f"kamailio -c failed:\n{r.stderr[-3000:]}")

    def start(self, timeout=30):
        self.proc = spawn(self.cmd, self.name, self.log_path)
        # Any answer will do: OPTIONS gets 405 from this configuration.
        if udp_probe(HOST, self.port, time.monotonic() + timeout) is None or not self.alive():
            raise RuntimeError(f"kamailio did not answer within {timeout}s:\n{self.tail_log()}")

    def memory_kib(self):
        total = 0
        for p in process_tree(self.proc.pid):
            try:
                with open(f"/proc/{p}/smaps_rollup") as f:
                    for line in f:
                        if line.startswith("Pss:"):
                            total += int(line.split()[1])
            except OSError:
                pass
        return total

    def settled(self, timeout=30):
        time.sleep(1)
        return True


class Direct(Server):
    """No server: the trunk calls the desk UAS directly (the SIPp-to-SIPp baseline)."""
    name = "direct"

    def __init__(self, work, uas_port):
        self.work = work
        self.port = uas_port
        self.log_path = os.devnull

    def alive(self):
        return True

    def stop(self):
        pass

    def cpu(self):
        return 0.0

    def processes(self):
        return 0

    def udp(self):
        return {}

    def memory_kib(self):
        return None

    def settled(self, timeout=30):
        time.sleep(1)
        return True


class Desk:
    """The desk phones: one SIPp that registers every extension to seatbridge
    from its one socket (phones.xml, then a pause longer than the bench) and
    answers every INVITE that reaches that socket with desk.xml (-oocsf)."""

    def __init__(self, work, scenarios, phones_csv, env, hold_s):
        self.work = work
        self.port = free_port(HOST)
        self.scenarios, self.phones_csv, self.env, self.hold_s = scenarios, phones_csv, env, hold_s
        self.stat_path = os.path.join(work, "sipp-desk.csv")
        self.errors_path = os.path.join(work, "sipp-desk-errors.log")
        self.log_path = os.path.join(work, "sipp-desk.out")
        self.proc = None

    def start(self, seatbridge, phones):
        cmd = ["sipp", f"{HOST}:{seatbridge.port}", "-sf", self.scenarios["phones"],
               "-oocsf", self.scenarios["desk"], "-inf", self.phones_csv, "-m", str(phones), "-r", "50",
               "-l", str(phones), "-i", HOST, "-p", str(self.port), "-t", "u1",
               "-d", str(int(self.hold_s * 1000)), "-key", "rtp_port", str(free_port(HOST)),
               "-buff_size", str(SIPP_BUFFER), "-nostdin", "-max_retrans", "5",
               "-trace_stat", "-stf", self.stat_path, "-fd", "5",
               "-trace_err", "-error_file", self.errors_path]
        self.proc = spawn(cmd, "sipp-desk", self.log_path, env=self.env, cwd=self.work)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def cpu(self):
        return cpu_seconds(self.proc.pid) if self.alive() else 0.0

    def errors(self):
        """Entries in its error log (unexpected messages, retransmission limits),
        less the note SIPp writes there for every call it takes ("Received
        out-of-call INVITE message, using the out-of-call scenario")."""
        try:
            with open(self.errors_path, errors="replace") as f:
                text = f.read()
        except OSError:
            return {}
        out = {}
        # Entries start with a time stamp 'DATE<TAB>TIME<TAB>EPOCH: ' and may lack a newline.
        for entry in re.split(r"\d{4}-\d\d-\d\d\t[\d:.]+\t[\d.]+: ", text)[1:]:
            if "using the out-of-call scenario" in entry:
                continue
            # One kind per wording: Call-IDs, numbers and addresses left out.
            key = entry.strip().split("\n")[0]
            key = re.sub(r"(Call-I[dD] )'[^']*'|(Dead call )\S+", lambda m: (m.group(1) or m.group(2)) + "X", key)
            key = re.sub(r"\d+", "N", key)[:110]
            out[key] = out.get(key, 0) + 1
        return out

    def stop(self):
        stop_group(self.proc, "sipp-desk")
