"""Issue 2: the daemon starts, answers OPTIONS, serves metrics and status,
reloads on SIGHUP (refusing a broken file), and drains on SIGTERM."""
import os
import signal
import socket
import sqlite3
import time
import unittest

from harness import CTL, BIN, Daemon, run


class Lifecycle(unittest.TestCase):
    def setUp(self):
        self.d = Daemon().start()

    def tearDown(self):
        self.d.close()

    def test_options_answered_by_sipsak_over_udp_and_tcp(self):
        for transport in ("udp", "tcp"):
            r = run(["sipsak", "-vv", "-E", transport, "-s", f"sip:127.0.0.1:{self.d.sip_port}"], timeout=20)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("SIP/2.0 200 OK", r.stdout)
            self.assertIn("Allow:", r.stdout)
        self.assertGreaterEqual(self.d.metric("seatbridge_sip_requests_total", {"method": "OPTIONS"}), 2)
        self.assertGreaterEqual(self.d.metric("seatbridge_sip_responses_total", {"method": "OPTIONS", "code": "200"}), 2)

    def test_unknown_methods_get_501_and_one_bounded_metric_label(self):
        # A scanner inventing method names must not grow the metric label set.
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.settimeout(10)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        try:
            for i in range(3):
                method = f"XSCAN{i}"
                sock.sendto((f"{method} sip:127.0.0.1:{self.d.sip_port} SIP/2.0\r\n"
                             f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK-scan{i}\r\n"
                             f"From: <sip:scan@127.0.0.1>;tag=s{i}\r\nTo: <sip:x@127.0.0.1>\r\n"
                             f"Call-ID: scan-{i}\r\nCSeq: 1 {method}\r\nMax-Forwards: 70\r\n"
                             f"Content-Length: 0\r\n\r\n").encode(), ("127.0.0.1", self.d.sip_port))
                answer = sock.recv(65535).decode()
                self.assertTrue(answer.startswith("SIP/2.0 501 "), answer)
        finally:
            sock.close()
        self.assertEqual(self.d.metric("seatbridge_sip_requests_total", {"method": "other"}), 3)
        self.assertEqual(self.d.metric("seatbridge_sip_responses_total", {"method": "other", "code": "501"}), 3)
        self.assertNotIn("XSCAN0", self.d.metrics())

    def test_metrics_serves_build_info_and_process_figures(self):
        text = self.d.metrics()
        self.assertRegex(text, r'seatbridge_build_info\{version="\d+\.\d+\.\d+"\} 1')
        self.assertRegex(text, r"process_resident_memory_bytes \d")
        self.assertRegex(text, r"process_open_fds \d")

    def test_status_through_seatbridgectl(self):
        r = run([CTL, "--socket", self.d.control_socket, "--json", "status"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('"extensions": 3', r.stdout)
        self.assertIn(f"udp:127.0.0.1:{self.d.sip_port}", r.stdout)
        r = run([CTL, "--socket", self.d.control_socket, "status"])
        self.assertIn("agents       2", r.stdout)

    def test_seatbridgectl_explains_a_missing_daemon(self):
        r = run([CTL, "--socket", os.path.join(self.d.tmp, "nope.sock"), "status"])
        self.assertEqual(r.returncode, 3)  # cannot connect (seatbridgectl --help, exit codes)
        self.assertIn("is seatbridged running?", r.stderr)

    def test_broken_json_on_control_socket_gets_an_error_and_connection_stays(self):
        c = self.d.control()
        ready = c.read()
        self.assertEqual(ready["event"], "ready")
        self.assertRegex(ready["data"]["tabUUID"], r"^[0-9a-f-]{36}$")
        c.send_raw("{not json\n")
        err = c.read()
        self.assertEqual(err["status"], "error")
        self.assertEqual(err["errorCode"], "badRequest")
        ok = c.call("Gateway.status")
        self.assertEqual(ok["status"], "success")
        c.close()

    def test_sighup_with_broken_file_keeps_old_config(self):
        good = dict(self.d.config)
        self.d.write_config(None, text="sip: [unclosed\n")
        self.d.signal(signal.SIGHUP)
        self.d.wait_notify("RELOADING=1")
        self.d.wait_notify("READY=1")
        self.assertIn("reload refused", self.d.logs())
        self.assertEqual(self.d.metric("seatbridge_config_reloads_total", {"result": "error"}), 1)
        # Still serving, on the old configuration.
        c = self.d.control()
        c.read()
        self.assertEqual(c.call("Gateway.status")["data"]["extensions"], 3)
        r = run(["sipsak", "-s", f"sip:127.0.0.1:{self.d.sip_port}"])
        self.assertEqual(r.returncode, 0)
        # A valid file afterwards takes effect without a restart.
        good["extensions"] = good["extensions"] + [{"id": "1009", "password": "pw"}]
        self.d.write_config(good)
        self.d.signal(signal.SIGHUP)
        self.d.wait_notify("RELOADING=1")
        self.d.wait_notify("READY=1")
        self.assertEqual(c.call("Gateway.status")["data"]["extensions"], 4)
        self.assertEqual(self.d.metric("seatbridge_config_reloads_total", {"result": "ok"}), 1)
        c.close()

    def test_sigterm_exits_zero_within_the_bound(self):
        start = time.monotonic()
        self.d.signal(signal.SIGTERM)
        self.d.wait_notify("STOPPING=1")
        self.assertEqual(self.d.proc.wait(10), 0)
        self.assertLess(time.monotonic() - start, self.d.config["shutdown"]["drainSeconds"] + 2)
        self.assertFalse(os.path.exists(self.d.control_socket), "control socket removed on exit")

    def test_sigint_behaves_as_sigterm(self):
        self.d.signal(signal.SIGINT)
        self.assertEqual(self.d.proc.wait(10), 0)


class Watchdog(unittest.TestCase):
    def test_watchdog_pings_while_both_loops_answer(self):
        # As systemd starts it with WatchdogSec=1: pings come at half the interval.
        d = Daemon().start(extra_env={"WATCHDOG_USEC": "1000000"})
        try:
            d.wait_notify("WATCHDOG=1", timeout=5)
            d.wait_notify("WATCHDOG=1", timeout=5)
        finally:
            d.close()


class StartupErrors(unittest.TestCase):
    def test_corrupt_store_is_a_clear_startup_error(self):
        d = Daemon()
        try:
            with open(d.config["storage"]["path"], "wb") as f:
                f.write(b"this is not a database" * 100)
            d.start(expect_ready=False)
            self.assertEqual(d.proc.wait(15), 1)
            self.assertIn("corrupt", d.logs())
            self.assertIn("storage.path", d.logs())
        finally:
            d.close()

    def test_unwritable_store_is_a_clear_startup_error(self):
        d = Daemon()
        try:
            d.config["storage"]["path"] = "/proc/seatbridge/x.db"
            d.write_config(d.config)
            d.start(expect_ready=False)
            self.assertEqual(d.proc.wait(15), 1)
            self.assertIn("storage.path /proc/seatbridge/x.db", d.logs())
        finally:
            d.close()

    def test_store_has_schema_version(self):
        d = Daemon().start()
        try:
            self.assertEqual(d.stop(), 0)
            db = sqlite3.connect(d.config["storage"]["path"])
            self.assertGreaterEqual(db.execute("PRAGMA user_version").fetchone()[0], 1)
            db.close()
        finally:
            d.close()

    def test_sip_port_in_use_is_a_clear_startup_error(self):
        first = Daemon().start()
        try:
            second = Daemon(mutate=lambda c: c["sip"].update(listen=first.config["sip"]["listen"]))
            try:
                second.start(expect_ready=False)
                self.assertEqual(second.proc.wait(15), 1)
                self.assertIn("sip.listen", second.logs())
            finally:
                second.close()
        finally:
            first.close()

    def test_check_config_accepts_the_demo_config(self):
        r = run([BIN, "--check-config", os.path.join(os.environ.get("SEATBRIDGE_SOURCE_DIR", "."),
                                                     "config", "seatbridge.yaml")])
        self.assertEqual(r.returncode, 0, r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
