"""bench/register's processes: the two servers, and what /proc says about them.

Every server runs in its own process group and is stopped by that group's id.
All addresses are on loopback.
"""
import json
import os
import re
import resource
import signal
import socket
import subprocess
import time
import urllib.request

HOST = "127.0.0.1"
DOMAIN = "bench.seatbridge.test"
SUPPORT = os.path.dirname(os.path.abspath(__file__))
# The UDP receive buffer both servers ask the kernel for, in bytes: seatbridge's
# kUdpReceiveBuffer (lib/sip/sip_server.cpp, set through TPTAG_UDP_RMEM), and
# Kamailio's `maxbuffer` (the upper bound of its SO_RCVBUF probe). The kernel
# caps each at net.core.rmem_max, then doubles it; the bench changes neither.
UDP_RCVBUF = 4 << 20


def free_port(host=HOST, tcp_too=True):
    """A port free for UDP (and TCP when asked) on host."""
    for _ in range(50):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind((host, 0))
        port = u.getsockname()[1]
        if tcp_too:
            t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                t.bind((host, port))
            except OSError:
                u.close()
                continue
            finally:
                t.close()
        u.close()
        return port
    raise RuntimeError("no free port")


def udp_probe(host, port, deadline):
    """Sends OPTIONS until anything answers or deadline (monotonic) passes."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((HOST, 0))
    lport = s.getsockname()[1]
    n = 0
    try:
        while time.monotonic() < deadline:
            n += 1
            msg = (f"OPTIONS sip:{host}:{port} SIP/2.0\r\n"
                   f"Via: SIP/2.0/UDP {HOST}:{lport};rport;branch=z9hG4bK-probe-{os.getpid()}-{n}\r\n"
                   f"Max-Forwards: 70\r\nFrom: <sip:probe@{DOMAIN}>;tag=p{n}\r\nTo: <sip:{host}:{port}>\r\n"
                   f"Call-ID: probe-{os.getpid()}-{n}@{HOST}\r\nCSeq: {n} OPTIONS\r\nContent-Length: 0\r\n\r\n")
            s.sendto(msg.encode(), (host, port))
            s.settimeout(0.3)
            try:
                data = s.recv(65535)
                if data.startswith(b"SIP/2.0 "):
                    return data.split(b"\r\n", 1)[0].decode(errors="replace")
            except socket.timeout:
                pass
        return None
    finally:
        s.close()


def vmrss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def pss_kib(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def process_tree(root):
    """root and every descendant pid, from /proc."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [root]
    while todo and len(out) < 1000:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def cpu_seconds(pid):
    """User + system CPU seconds of pid and all its descendants (all threads)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in process_tree(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return total / tick


def udp_socket_memory(port, host=HOST):
    """{'rb': receive buffer, 'drops': datagrams dropped} of the UDP socket bound to
    host:port, from `ss -m` (the kernel's sk_rcvbuf and sk_drops), or None."""
    try:
        r = subprocess.run(["ss", "-H", "-u", "-a", "-n", "-m", "src", f"{host}:{port}"],
                           capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.findall(r"skmem:\(([^)]*)\)", r.stdout)
    if len(found) != 1:
        return None
    mem = dict(re.findall(r"([a-z_]+)(\d+)", found[0]))
    return {"rb": int(mem["rb"]), "drops": int(mem.get("d", 0))} if "rb" in mem else None


def rmem_max():
    try:
        with open("/proc/sys/net/core/rmem_max") as f:
            return int(f.read())
    except (OSError, ValueError):
        return None


def machine_ticks():
    """The machine's CPU time from /proc/stat (all CPUs, clock ticks): 'steal' (time
    the hypervisor gave to others while this machine's vCPUs wanted it), 'busy'
    (user, nice, system, irq, softirq) and 'total' (every time column)."""
    with open("/proc/stat") as f:
        user, nice, system, idle, iowait, irq, softirq, steal = (int(x) for x in f.readline().split()[1:9])
    return {"steal": steal, "busy": user + nice + system + irq + softirq,
            "total": user + nice + system + idle + iowait + irq + softirq + steal}


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


class Server:
    """A server process in its own process group, killed by group id at the end."""
    name = "?"

    def __init__(self, work):
        self.work = work
        self.proc = None
        self.log_path = os.path.join(work, f"{self.name}.log")
        self.port = free_port()
        self.sipp_port = free_port(tcp_too=False)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(5)

    def memory_kib(self):
        return vmrss_kib(self.proc.pid)

    def udp_memory(self):
        """Receive buffer and drop count of the server's UDP socket (see udp_socket_memory)."""
        return udp_socket_memory(self.port)

    def processes(self):
        """How many processes cpu_seconds sums: the server and its descendants."""
        return len(process_tree(self.proc.pid))


class Seatbridge(Server):
    name = "seatbridge"

    def __init__(self, work, binary, phones):
        super().__init__(work)
        self.binary = binary
        self.metrics_port = free_port(tcp_too=True)
        self.config_path = os.path.join(work, "seatbridge.yaml")
        cfg = {
            "sip": {"listen": [f"udp:{HOST}:{self.port}"], "domain": DOMAIN},
            "registrar": {"minExpires": 60, "maxExpires": 3600, "defaultExpires": 600, "maxContacts": 3,
                          # SIPp would see keepalive OPTIONS as stray messages; Kamailio sends none either.
                          "keepaliveSeconds": 0},
            # MD5 only: SIPp 3.6.1 has no SHA-256, and Kamailio challenges with MD5.
            "security": {"digestAlgorithms": ["MD5"], "maxAuthFailures": 10, "banSeconds": 600},
            "control": {"socket": os.path.join(work, "seatbridge.sock"), "mode": "0660", "allowedUids": []},
            "metrics": {"listen": f"{HOST}:{self.metrics_port}"},
            "storage": {"path": os.path.join(work, "seatbridge.db")},
            "log": {"level": "warning"},
            "shutdown": {"drainSeconds": 1},
            "extensions": [{"id": str(u), "name": f"Bench {u}", "password": pw} for u, pw in phones],
            "agents": [],
            "skillGroups": [],
            "numbers": [],
            "trunks": [],
        }
        with open(self.config_path, "w") as f:
            json.dump(cfg, f, indent=1)

    def check_config(self):
        r = subprocess.run([self.binary, "--check-config", self.config_path], capture_output=True, text=True,
                           timeout=30)
        if r.returncode != 0:
            raise RuntimeError(f"seatbridged --check-config failed:\n{r.stderr}")

    def start(self, timeout=30):
        notify_path = os.path.join(self.work, "notify.sock")
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(notify_path)
        try:
            env = dict(os.environ, NOTIFY_SOCKET=notify_path)
            with open(self.log_path, "w") as out:
                self.proc = subprocess.Popen([self.binary, "--config", self.config_path], stdout=out,
                                             stderr=subprocess.STDOUT, env=env, start_new_session=True)
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

    def metric(self, name):
        """Sum of a Prometheus metric's samples, or None."""
        try:
            with urllib.request.urlopen(f"http://{HOST}:{self.metrics_port}/metrics", timeout=5) as r:
                text = r.read().decode()
        except OSError:
            return None
        total, seen = 0.0, False
        for line in text.splitlines():
            if line.startswith(name) and (len(line) == len(name) or line[len(name)] in " {"):
                total += float(line.rsplit(" ", 1)[1])
                seen = True
        return total if seen else None

    def tail_log(self, n=30):
        try:
            with open(self.log_path) as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""


class Kamailio(Server):
    name = "kamailio"

    def __init__(self, work, phones, children, debug_level, maxbuffer=UDP_RCVBUF):
        super().__init__(work)
        self.runtime = os.path.join(work, "kamailio-run")
        os.makedirs(self.runtime, exist_ok=True)
        users_path = os.path.join(work, "kamailio-users.cfg")
        with open(users_path, "w") as f:
            f.write("route[LOAD_USERS] {\n")
            for user, pw in phones:
                f.write(f'\t$sht(users=>{user}) = "{pw}";\n')
            f.write("}\n")
        with open(os.path.join(SUPPORT, "kamailio.cfg")) as f:
            cfg = f.read()
        for key, value in {"DEBUG": str(debug_level), "CHILDREN": str(children), "HOST": HOST,
                           "PORT": str(self.port), "DOMAIN": DOMAIN, "USERS_FILE": users_path,
                           "MAXBUFFER": str(maxbuffer)}.items():
            cfg = cfg.replace(f"@{key}@", value)
        self.config_path = os.path.join(work, "kamailio.cfg")
        with open(self.config_path, "w") as f:
            f.write(cfg)
        self.cmd = ["kamailio", "-f", self.config_path, "-DD", "-E", "-m", "256", "-M", "16",
                    "-P", os.path.join(self.runtime, "kamailio.pid"), "-Y", self.runtime]

    def check_config(self):
        r = subprocess.run(["kamailio", "-c", "-f", self.config_path], capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise RuntimeError(f"kamailio -c failed:\n{r.stderr[-3000:]}")

    def start(self, timeout=30):
        with open(self.log_path, "w") as out:
            self.proc = subprocess.Popen(self.cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        first = udp_probe(HOST, self.port, time.monotonic() + timeout)
        if first is None or not self.alive():
            raise RuntimeError(f"kamailio did not answer within {timeout}s:\n{self.tail_log()}")

    def memory_kib(self):
        """Proportional set size over all Kamailio processes (they share memory)."""
        total = 0
        for p in process_tree(self.proc.pid):
            total += pss_kib(p) or 0
        return total

    tail_log = Seatbridge.tail_log
