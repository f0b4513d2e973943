"""baresip (Debian 12's 1.0.0) as a headless softphone for tests, driven over
its ctrl_tcp module: netstrings of JSON, commands in ({"command", "params",
"token"}), answers ({"response": true, "ok", "data", "token"}) and events
({"event": true, "type", "class", "id" (the SIP Call-ID), "param", ...}) out.

Each phone has its own config folder: one SIP address (sip_listen), its RTP
pair (rtp_ports, an even port and the next one for RTCP), a tone it plays
(audio_source aufile,WAV) and a folder where the sndfile filter dumps what it
sends (dump-TIME-enc.wav) and what it hears (dump-TIME-dec.wav). No player
module is loaded, so nothing is played on a sound card; the filters see every
decoded frame regardless. Nothing here sleeps to synchronise: callers await
ctrl_tcp events, files and the process's exit.

baresip 1.0 binds its RTP sockets to the wildcard address whatever
net_interface says (which sets only the address its SDP announces); the ports
are checked free on the phone's loopback address and nothing is sent off it.
"""
import glob
import json
import os
import socket
import subprocess
import time

from harness import free_port, wait_for

MODULE_PATH = "/usr/lib/baresip/modules"
LIFETIME = 120  # seconds (-t): a phone a crashed test left behind quits by itself


def rtp_pair(host):
    """An even port and the next one, both free on host: RTP and RTCP, what
    baresip's rtp_ports EVEN-EVEN+1 can only choose. harness.free_port gives
    one of them (Linux hands out odd ports to bind(0), so mostly the RTCP one);
    the other is checked by binding it."""
    for _ in range(100):
        port = free_port(host)
        rtp = port - (port % 2)
        other = rtp + 1 if rtp == port else rtp
        if rtp < 1024 or rtp + 1 > 65535:
            continue
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            probe.bind((host, other))
        except OSError:
            continue
        finally:
            probe.close()
        return rtp
    raise RuntimeError(f"no free RTP port pair on {host}")


def netstring(obj):
    data = json.dumps(obj).encode()
    return str(len(data)).encode() + b":" + data + b","


class Baresip:
    """One baresip process: host is its SIP and SDP address, account its
    accounts line (<sip:...>;params), tone the WAV it plays."""

    def __init__(self, workdir, name, host, account, tone, sip_port=None, codecs=("g711",), rate=8000):
        self.name, self.host = name, host
        self.rate = rate  # its codec's sample rate: the tone's and the recordings'
        self.dir = os.path.join(workdir, name)
        self.snd_path = os.path.join(self.dir, "recordings")
        os.makedirs(self.snd_path)
        self.sip_port = sip_port or free_port(host)
        self.rtp_port = rtp_pair(host)
        self.ctrl_port = free_port("127.0.0.1")
        self.out_path = os.path.join(self.dir, "baresip.out")
        with open(os.path.join(self.dir, "config"), "w") as f:
            f.write("\n".join([
                "poll_method epoll",
                f"sip_listen {host}:{self.sip_port}",
                f"net_interface {host}",
                f"rtp_ports {self.rtp_port}-{self.rtp_port + 1}",
                "rtcp_mux no",
                f"module_path {MODULE_PATH}",
                *[f"module {c}.so" for c in codecs],
                "module aufile.so",
                "module sndfile.so",
                "module ctrl_tcp.so",
                "module_app account.so",
                "module_app menu.so",
                f"ctrl_tcp_listen 127.0.0.1:{self.ctrl_port}",
                f"audio_source aufile,{tone}",
                f"snd_path {self.snd_path}",
                "", ]))
        with open(os.path.join(self.dir, "accounts"), "w") as f:
            f.write(account + "\n")
        self.proc = self.out = self.sock = None
        self.buf = b""
        self.events = []   # every event read, in order
        self.answers = {}  # token -> answer
        self.next_token = 1

    # --- the process -------------------------------------------------------
    def start(self, timeout=10):
        self.out = open(self.out_path, "w")
        self.proc = subprocess.Popen(["baresip", "-f", self.dir, "-t", str(LIFETIME)], stdout=self.out,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        wait_for(lambda: self._connect() or not self.running(), timeout, what=f"{self.name}'s ctrl_tcp")
        if not self.sock:
            raise AssertionError(f"{self.name} exited {self.proc.returncode} before ctrl_tcp listened\n{self.logs()}")
        return self

    def _connect(self):
        try:
            self.sock = socket.create_connection(("127.0.0.1", self.ctrl_port), timeout=1)
        except OSError:
            return False
        return True

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def quit(self, timeout=10):
        """Asks it to quit (it hangs up what is left, closing its recordings) and
        waits for its exit; kills it if it does not go."""
        if self.running():
            try:
                self.send("quit")
            except OSError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"{self.name} did not quit\n{self.logs()}")
        return self.proc.returncode if self.proc else None

    def close(self):
        if self.running():
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.sock:
            self.sock.close()
            self.sock = None
        if self.out:
            self.out.close()
            self.out = None

    # --- ctrl_tcp ------------------------------------------------------------
    def send(self, command, params=None):
        """Sends a command; returns its token (answer() waits for the answer)."""
        token = f"{self.name}-{self.next_token}"
        self.next_token += 1
        msg = {"command": command, "token": token}
        if params is not None:
            msg["params"] = params
        self.sock.sendall(netstring(msg))
        return token

    def command(self, command, params=None, timeout=10):
        """Sends a command and waits for its answer; fails unless it is ok."""
        token = self.send(command, params)
        answer = self.answer(token, timeout)
        if not answer.get("ok"):
            raise AssertionError(f"{self.name}: /{command} {params or ''} failed: {answer}\n{self.logs()}")
        return answer

    def answer(self, token, timeout=10):
        deadline = time.monotonic() + timeout
        while token not in self.answers:
            self._pull(deadline, f"the answer to {token}")
        return self.answers.pop(token)

    def _pull(self, deadline, what):
        """Reads one netstring, filing it as an event or an answer."""
        while True:
            head, colon, rest = self.buf.partition(b":")
            if colon and head.isdigit() and len(rest) > int(head):
                size = int(head)
                data, self.buf = rest[:size], rest[size + 1:]  # drop the trailing comma
                msg = json.loads(data)
                if msg.get("event"):
                    msg["_at"] = time.monotonic()
                    self.events.append(msg)
                elif msg.get("response"):
                    self.answers[msg.get("token")] = msg
                return msg
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{self.name}: no {what}; events: {self.describe()}\n{self.logs()}")
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                raise AssertionError(f"{self.name}: ctrl_tcp closed waiting for {what} "
                                     f"(running: {self.running()}); events: {self.describe()}\n{self.logs()}")
            self.buf += chunk

    def wait_event(self, type_, timeout=15, since=0):
        """The first event of that type (REGISTER_OK, CALL_INCOMING,
        CALL_ESTABLISHED, CALL_RTPESTAB, CALL_CLOSED, ...) after index since."""
        deadline = time.monotonic() + timeout
        i = since
        while True:
            while i < len(self.events):
                if self.events[i].get("type") == type_:
                    return self.events[i]
                i += 1
            self._pull(deadline, f"{type_} event within {timeout}s")

    def event_types(self):
        return [e.get("type") for e in self.events]

    def describe(self):
        return ", ".join(f"{e.get('type')}({e.get('param', '')})" for e in self.events
                         if e.get("type") != "CALL_RTCP") or "none"

    # --- what it recorded ------------------------------------------------------
    def recording(self, which):
        """The path of its one dump-*-{which}.wav (which: 'dec' heard, 'enc' sent), or None."""
        found = sorted(glob.glob(os.path.join(self.snd_path, f"dump-*-{which}.wav")))
        if len(found) > 1:
            raise AssertionError(f"{self.name}: more than one {which} recording: {found}")
        return found[0] if found else None

    def heard_seconds(self):
        """How much it has heard so far, from the size of its dec recording
        (libsndfile writes each frame as it comes; 16-bit mono at its rate, a 44-byte header)."""
        path = self.recording("dec")
        try:
            return max(0, os.path.getsize(path) - 44) / (2 * self.rate) if path else 0.0
        except OSError:
            return 0.0

    def logs(self, tail=5000):
        try:
            with open(self.out_path, errors="replace", newline="") as f:
                text = f.read()
        except OSError:
            text = ""
        # baresip's status line ("[0:00:03] audio=64000/64000 (bit/s)") rewrites
        # itself with carriage returns: keep what the line last said.
        text = "\n".join(next((s for s in reversed(line.split("\r")) if s.strip()), "") for line in text.split("\n"))
        return f"--- {self.name} ({self.host}:{self.sip_port}, RTP {self.rtp_port}) output (tail):\n{text[-tail:]}"
