"""twinkle-console (Debian 12's 1.10.2) as a desk phone for tests: a real user
agent with a transfer key, blind and attended (RFC 3515 REFER, with Replaces
for the attended kind, RFC 3891), driven through its command line on stdin.

Each phone has its own HOME (twinkle keeps everything in ~/.twinkle: the
system settings, the profile, a lock file and its log) with the SIP and RTP
ports of the test, sound devices on ALSA's null plugin (nothing is played or
captured) and the SIP messages in the log (log_show_sip), which the test reads
to see what the phone sent and got. Nothing here sleeps to synchronise: the
callers await twinkle's output, its log, or seatbridge's events."""
import os
import re
import subprocess

from harness import SipMessage, free_port, wait_for

SETTINGS = """dev_ringtone=alsa:null
dev_speaker=alsa:null
dev_mic=alsa:null
validate_audio_dev=no
log_max_size=20
log_show_sip=yes
log_show_debug=no
play_ringtone=no
play_ringback=no
call_waiting=yes
sip_udp_port={sip}
sip_port={sip}
rtp_port={rtp}
"""

PROFILE = """user_name={ext}
user_domain={domain}
user_display=Desk {ext}
auth_realm=
auth_name={ext}
auth_pass={password}
outbound_proxy=127.0.0.1:{server}
all_requests_to_proxy=yes
registrar=127.0.0.1:{server}
register_at_startup=yes
registration_time=600
codecs=g711u,g711a
ext_replaces=yes
allow_refer=yes
referrer_hold=yes
"""


def matches(msg, method, status):
    return (method is None or msg.method == method) and (status is None or msg.status == status)


class Twinkle:
    """One twinkle-console registered as `extension` to seatbridge on 127.0.0.1:server_port."""

    def __init__(self, workdir, name, extension, password, server_port, domain):
        self.name, self.extension = name, extension
        self.home = os.path.join(workdir, name)
        self.conf = os.path.join(self.home, ".twinkle")
        os.makedirs(self.conf)
        self.sip_port = free_port("127.0.0.1")
        self.rtp_port = free_port("127.0.0.1")
        with open(os.path.join(self.conf, "twinkle.sys"), "w") as f:
            f.write(SETTINGS.format(sip=self.sip_port, rtp=self.rtp_port))
        with open(os.path.join(self.conf, "phone.cfg"), "w") as f:
            f.write(PROFILE.format(ext=extension, domain=domain, password=password, server=server_port))
        self.out_path = os.path.join(self.home, "twinkle.out")
        self.log_path = os.path.join(self.conf, "twinkle.log")
        self.proc = self.out = None

    def start(self):
        self.out = open(self.out_path, "w")
        self.proc = subprocess.Popen(["twinkle-console", "phone.cfg"], cwd=self.home,
                                     env=dict(os.environ, HOME=self.home), stdin=subprocess.PIPE,
                                     stdout=self.out, stderr=subprocess.STDOUT)
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def command(self, line):
        """Types one command line."""
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def output(self):
        with open(self.out_path, errors="replace") as f:
            return f.read()

    def wait_output(self, pattern, timeout=15, count=1):
        """Waits until `pattern` (a regex) appears `count` times in what it printed."""
        wait_for(lambda: len(re.findall(pattern, self.output())) >= count or not self.running(), timeout,
                 what=f"{self.name} printing {pattern!r}")
        if not self.running():
            raise AssertionError(f"{self.name} exited {self.proc.returncode}\n{self.logs()}")

    def wait_registered(self, timeout=15):
        self.wait_output(r"registration succeeded", timeout)

    # --- what it sent and got, from its log ----------------------------------
    def messages(self):
        """[(direction 'in'|'out', SipMessage)] in the order of the log."""
        try:
            with open(self.log_path, errors="replace") as f:
                text = f.read()
        except FileNotFoundError:
            return []
        out = []
        # Each report: "+++ time ...\n<body>\n---"; SIP ones start "Send to:" or "Received from:".
        for body in re.findall(r"\+\+\+[^\n]*\n(.*?)\n---", text, re.S):
            m = re.match(r"(Send to|Received from): [^\n]*\n", body)
            if m:
                raw = body[m.end():].replace("\r\n", "\n").replace("\n", "\r\n")
                out.append(("out" if m.group(1) == "Send to" else "in", SipMessage(raw)))
        return out

    def sent(self, method=None, status=None):
        return [m for d, m in self.messages() if d == "out" and matches(m, method, status)]

    def received(self, method=None, status=None):
        return [m for d, m in self.messages() if d == "in" and matches(m, method, status)]

    def logs(self, tail=6000):
        parts = [f"--- {self.name} output:", self.output()[-tail:]]
        try:
            with open(self.log_path, errors="replace") as f:
                parts += [f"--- {self.name} log:", f.read()[-tail:]]
        except FileNotFoundError:
            pass
        return "\n".join(parts)

    def summary(self):
        """What a failure message shows of it (CallTest.context)."""
        return self.logs(3000)

    def close(self):
        if self.running():
            try:
                self.command("quit")
                self.proc.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        if self.proc and self.proc.stdin:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
        if self.out:
            self.out.close()
            self.out = None
