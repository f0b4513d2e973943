"""Issue 3: baresip (Debian 12's 1.0.0, a real softphone, MD5-only) registers
with the default config, which offers SHA-256 and MD5. libre 1.1 refuses any
challenge list holding an algorithm it does not know, so its first attempt
fails; its retry (30-60 s later, libre's failwait) gets MD5 alone
(sip/algorithm_hints.hpp) and succeeds. Awaited through the metric.

libre's failwait doubles with each failure (30 s * 2^failc, times 0.5-1):
the wait allows for one more failed attempt than the design needs (a
REGISTER lost on a loaded machine: up to 60 + 120 s), and a failure shows
baresip's own output and the daemon's log, so a real regression is told
apart from a slow retry."""
import os
import subprocess
import unittest

from harness import Daemon, free_port, wait_for


class Baresip(unittest.TestCase):
    def test_baresip_registers_with_the_default_digest_config(self):
        d = Daemon().start()
        proc = None
        try:
            self.assertEqual(d.config["security"]["digestAlgorithms"], ["SHA-256", "MD5"])
            cfg = os.path.join(d.tmp, "baresip")
            os.makedirs(cfg)
            with open(os.path.join(cfg, "config"), "w") as f:
                f.write(f"poll_method epoll\nsip_listen 127.0.0.6:{free_port('127.0.0.6')}\nsip_transports udp\n"
                        "module_path /usr/lib/baresip/modules\nmodule account.so\nmodule g711.so\n"
                        "audio_player aufile,/dev/null\naudio_source aufile,/dev/null\n")
            with open(os.path.join(cfg, "accounts"), "w") as f:
                f.write(f"<sip:1002@127.0.0.1:{d.sip_port};transport=udp>;auth_pass=pw-1002;regint=600\n")
            out = open(os.path.join(d.tmp, "baresip.out"), "w")
            proc = subprocess.Popen(["baresip", "-f", cfg, "-t", "240"], stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL)
            try:
                # Returns early (False) if baresip exits: its output says why.
                wait_for(lambda: d.metric("seatbridge_registered_contacts") == 1 or proc.poll() is not None,
                         timeout=200, what="baresip's binding")
            except AssertionError:
                pass
            if d.metric("seatbridge_registered_contacts") != 1:
                out.flush()
                with open(os.path.join(d.tmp, "baresip.out")) as f:
                    said = f.read()[-4000:]
                self.fail(f"no binding (baresip {'exited ' + str(proc.returncode) if proc.poll() is not None else 'running'})"
                          f"\n--- baresip:\n{said}\n--- daemon:\n{d.logs()[-4000:]}")
            self.assertEqual(d.metric("seatbridge_auth_failures_total"), 0)
        finally:
            if proc:
                proc.terminate()
                proc.wait(10)
            d.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
