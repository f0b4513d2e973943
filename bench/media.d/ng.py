"""bench/media's reference relay: rtpengine 10.5 (Debian's rtpengine-daemon) in
userspace, driven over its ng control protocol.

ng: one UDP datagram per request, "COOKIE BENCODED-DICT", answered with the same
cookie and a bencoded dict ({"result": "ok", "sdp": ...} or {"result": "error",
"error-reason": ...}). The bench plays the signalling proxy's part: `offer`
with the caller's SDP (rtpengine answers with the SDP to hand the callee: its
own endpoint towards the callee), `answer` with the callee's SDP (answered with
the SDP for the caller: its endpoint towards the caller), `delete` at the end.
"""
import os
import re
import socket
import subprocess
import time

from peers import spawn, stop_group, tail  # bench/calls.d (on sys.path)
from procs import cpu_seconds  # bench/register.d (on sys.path)


# --- bencode (the subset ng uses: byte strings, integers, lists, dicts) ----------
def bencode(value):
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, int):
        return b"i%de" % value
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, (bytes, bytearray)):
        return b"%d:%s" % (len(value), bytes(value))
    if isinstance(value, (list, tuple)):
        return b"l" + b"".join(bencode(v) for v in value) + b"e"
    if isinstance(value, dict):
        items = sorted((k.encode() if isinstance(k, str) else k, v) for k, v in value.items())
        return b"d" + b"".join(bencode(k) + bencode(v) for k, v in items) + b"e"
    raise TypeError(f"cannot bencode {type(value).__name__}")


def bdecode(data):
    """Decodes one bencoded value; byte strings come back as str (UTF-8, replaced)."""
    value, end = _bdecode(data, 0)
    if end != len(data):
        raise ValueError("trailing bytes after the bencoded value")
    return value


def _bdecode(data, i):
    c = data[i:i + 1]
    if c == b"i":
        end = data.index(b"e", i)
        return int(data[i + 1:end]), end + 1
    if c == b"l":
        out, i = [], i + 1
        while data[i:i + 1] != b"e":
            v, i = _bdecode(data, i)
            out.append(v)
        return out, i + 1
    if c == b"d":
        out, i = {}, i + 1
        while data[i:i + 1] != b"e":
            k, i = _bdecode(data, i)
            v, i = _bdecode(data, i)
            out[k] = v
        return out, i + 1
    if c.isdigit():
        colon = data.index(b":", i)
        n = int(data[i:colon])
        start = colon + 1
        if start + n > len(data):
            raise ValueError("a bencoded string runs past the end")
        return data[start:start + n].decode("utf-8", "replace"), start + n
    raise ValueError(f"bad bencode at byte {i}")


def sdp_endpoint(sdp):
    """(address, port) of an SDP's audio stream: its media-level c= if any, else the session's."""
    session_c, media_c, port = None, None, None
    in_audio = False
    for line in sdp.replace("\r\n", "\n").split("\n"):
        if line.startswith("m="):
            in_audio = line.startswith("m=audio ")
            if in_audio and port is None:
                port = int(line.split()[1])
        elif line.startswith("c=IN IP4 "):
            addr = line.split()[2].split("/")[0]
            if in_audio and media_c is None:
                media_c = addr
            elif port is None:
                session_c = addr
    return media_c or session_c, port


def offer_sdp(origin, address, port, version=1):
    """The SDP a leg sends: one PCMU stream at address:port, sendrecv, 20 ms packets."""
    return (f"v=0\r\no={origin} {os.getpid()} {version} IN IP4 {address}\r\ns=bench call\r\n"
            f"c=IN IP4 {address}\r\nt=0 0\r\nm=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
            f"a=ptime:20\r\na=sendrecv\r\n")


class NgClient:
    def __init__(self, host, port, timeout=5.0):
        self.addr = (host, port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.sock.settimeout(timeout)
        self.n = 0

    def call(self, command, tries=3, **params):
        """One ng request; its answer dict. Retried on a lost datagram (the same cookie)."""
        self.n += 1
        cookie = f"{os.getpid()}_{self.n}"
        msg = cookie.encode() + b" " + bencode(dict(params, command=command))
        for _ in range(tries):
            self.sock.sendto(msg, self.addr)
            deadline = time.monotonic() + self.sock.gettimeout()
            while time.monotonic() < deadline:
                try:
                    data = self.sock.recv(65535)
                except socket.timeout:
                    break
                c, _, body = data.partition(b" ")
                if c.decode(errors="replace") == cookie:
                    return bdecode(body)
        raise RuntimeError(f"rtpengine: no answer to ng {command} within {tries} tries")

    def ok(self, command, **params):
        r = self.call(command, **params)
        if r.get("result") != "ok":
            raise RuntimeError(f"rtpengine ng {command}: {r.get('result')} {r.get('error-reason', '')}")
        return r

    def close(self):
        self.sock.close()


class Rtpengine:
    """rtpengine in the foreground, userspace only (--table=-1, no kernel module),
    its media on one loopback interface, its ng control on UDP, Debian's
    /etc/rtpengine/rtpengine.conf not read (--config-file=none)."""
    name = "rtpengine"

    def __init__(self, work, host, ng_port, port_min, port_max, threads, log_level=4, timeout=60):
        self.work, self.host, self.ng_port = work, host, ng_port
        self.log_path = os.path.join(work, "rtpengine.log")
        self.pid_path = os.path.join(work, "rtpengine.pid")
        self.threads = threads
        self.cmd = ["rtpengine", "--config-file=none", "--table=-1", f"--interface={host}",
                    f"--listen-ng={host}:{ng_port}", "--foreground", "--log-stderr", f"--log-level={log_level}",
                    f"--num-threads={threads}", f"--port-min={port_min}", f"--port-max={port_max}",
                    f"--timeout={timeout}", "--delete-delay=0", f"--pidfile={self.pid_path}"]
        self.proc = None
        self.ng = None

    def version(self):
        try:
            r = subprocess.run(["rtpengine", "--version"], capture_output=True, text=True, timeout=10)
            m = re.search(r"Version:\s*(\S+)", r.stdout + r.stderr)
            return m.group(1) if m else "?"
        except (OSError, subprocess.SubprocessError):
            return "?"

    def start(self, timeout=20):
        self.proc = spawn(self.cmd, self.name, self.log_path)
        self.ng = NgClient(self.host, self.ng_port, timeout=1.0)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"rtpengine exited with {self.proc.returncode}:\n{tail(self.log_path)}")
            try:
                if self.ng.call("ping", tries=1).get("result") == "pong":
                    self.ng.sock.settimeout(5.0)
                    return
            except RuntimeError:
                pass
        raise RuntimeError(f"rtpengine did not answer ng ping within {timeout}s:\n{tail(self.log_path)}")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def cpu(self):
        return cpu_seconds(self.proc.pid)

    def tail_log(self, n=30):
        return tail(self.log_path, n)

    def setup(self, call_id, caller, callee):
        """One call: caller and callee are (address, port) of the two legs' own
        endpoints. Returns (the endpoint rtpengine gave the caller to send to,
        the one it gave the callee)."""
        r = self.ng.ok("offer", **{"call-id": call_id, "from-tag": f"{call_id}-a",
                                   "sdp": offer_sdp("trunk", *caller), "replace": ["origin", "session-connection"]})
        to_callee = sdp_endpoint(r["sdp"])
        r = self.ng.ok("answer", **{"call-id": call_id, "from-tag": f"{call_id}-a", "to-tag": f"{call_id}-b",
                                    "sdp": offer_sdp("desk", *callee), "replace": ["origin", "session-connection"]})
        to_caller = sdp_endpoint(r["sdp"])
        if None in to_callee or None in to_caller:
            raise RuntimeError(f"rtpengine: no audio endpoint in its SDP for {call_id}")
        return to_caller, to_callee

    def delete(self, call_id):
        self.ng.ok("delete", **{"call-id": call_id, "from-tag": f"{call_id}-a"})

    def stop(self):
        if self.ng:
            self.ng.close()
            self.ng = None
        stop_group(self.proc, self.name)
