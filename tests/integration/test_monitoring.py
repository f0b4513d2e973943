"""Issue 11: the Prometheus alert rules (monitoring/alerts.yml).

promtool (Debian's prometheus) checks the rules and runs their unit tests
(monitoring/alerts_test.yml: input series, and the alerts each must and must
not raise). Then a real seatbridged's /metrics is read: every seatbridge
metric an alert's expression names must be one the daemon exports, and every
label an alert's summary prints must be on that metric's series, so renaming
a metric or a label breaks this test instead of silently muting an alert."""
import os
import re
import subprocess
import unittest

import yaml

from calls import BOB, call_daemon
from harness import wait_for
from test_calls import CallTest

SOURCE = os.environ.get("SEATBRIDGE_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
MONITORING = os.path.join(SOURCE, "monitoring")
ALERTS = os.path.join(MONITORING, "alerts.yml")


def promtool(*args):
    return subprocess.run(["promtool", *args], cwd=MONITORING, capture_output=True, text=True, timeout=120)


def exposition(text):
    """{family: [label-name sets of its series]} of a Prometheus text exposition."""
    families = {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            families.setdefault(line.split()[2], [])
        elif line and not line.startswith("#"):
            first = line.split(" ")[0]
            head = line[:line.index("}") + 1] if "{" in first else first
            name, _, rest = head.partition("{")
            labels = set(re.findall(r'([a-zA-Z_]+)="', rest))
            family = re.sub(r"_(bucket|sum|count)$", "", name) if name not in families else name
            families.setdefault(family, []).append(labels - {"le"})
    return families


class AlertRules(unittest.TestCase):
    def test_promtool_checks_the_rules(self):
        r = promtool("check", "rules", "alerts.yml")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("SUCCESS", r.stdout)

    def test_promtool_unit_tests_pass(self):
        r = promtool("test", "rules", "alerts_test.yml")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("SUCCESS", r.stdout)

    def test_every_alert_reads_metrics_and_labels_the_daemon_exports(self):
        with open(ALERTS) as f:
            rules = [r for g in yaml.safe_load(f)["groups"] for r in g["rules"]]
        self.assertGreaterEqual(len(rules), 10)
        for r in rules:
            self.assertIn("OPERATIONS.md#alerts " + r["alert"], r["annotations"]["runbook"])
        # A trunk that registers: its seatbridge_trunk_registered series exists (at 0 here).
        d = call_daemon(mutate=lambda cfg: cfg["trunks"][0].update(register={"username": "sb", "password": "pw"}))
        self.addCleanup(d.close)
        d.start()
        families = exposition(d.metrics())
        for r in rules:
            names = {re.sub(r"_bucket$", "", n) for n in re.findall(r"\bseatbridge_[a-z_]+", r["expr"])}
            if r["alert"] != "SeatbridgeDown":
                self.assertTrue(names, r["alert"])
            for name in names:
                self.assertIn(name, families, f"{r['alert']}: {name} is not among the daemon's metrics")
            printed = set(re.findall(r"\$labels\.([a-zA-Z_]+)", r["annotations"]["summary"])) - {"instance", "job"}
            for label in printed:
                series = [s for n in names for s in families[n]]
                self.assertTrue(any(label in s for s in series),
                                f"{r['alert']} prints $labels.{label}, which no series of {sorted(names)} has")


class QueueGauges(CallTest):
    def test_a_waiting_customers_wait_is_counted_between_call_events(self):
        # SeatbridgeQueueWaitLong reads seatbridge_queue_oldest_wait_seconds: it
        # must grow while a customer waits, not only when a call event comes.
        # Bob is signed in but has no phone: the customer waits in the queue.
        self.start(ring_timeout=5, queue_timeout=30, online=(BOB,))
        self.assertEqual(self.metric("seatbridge_queue_waiting", skillGroup="sales"), 0, "on the gauges from the start")
        pbx = self.trunk("trunk_cancel")
        wait_for(lambda: self.metric("seatbridge_queue_waiting", skillGroup="sales") == 1, what="the customer queued")
        wait_for(lambda: self.metric("seatbridge_queue_oldest_wait_seconds", skillGroup="sales") >= 2, timeout=10,
                 what="the oldest wait counting up with no call event")
        pbx.give_up()
        wait_for(lambda: self.metric("seatbridge_queue_waiting", skillGroup="sales") == 0, what="the queue empty")
        self.assertEqual(self.metric("seatbridge_queue_oldest_wait_seconds", skillGroup="sales"), 0)
        self.success(pbx)


if __name__ == "__main__":
    unittest.main(verbosity=2)
