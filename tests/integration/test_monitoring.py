"""Issue 11: the Prometheus alert rules (monitoring/alerts.yml), and a real
Prometheus scraping a real seatbridged.

promtool (Debian's prometheus) checks the rules and runs their unit tests
(monitoring/alerts_test.yml: input series, and the alerts each must and must
not raise). Then a real seatbridged's /metrics is read: every seatbridge
metric an alert's expression names must be one the daemon exports, and every
label an alert's summary prints must be on that metric's series, so renaming
a metric or a label breaks this test instead of silently muting an alert.
Last, Debian's Prometheus itself scrapes a running daemon (once a second,
with alerts.yml loaded), a call is made, and the test reads the series the
call must have left through Prometheus's HTTP API: no exporter, no mock.
Every query of the Grafana dashboard (monitoring/grafana/seatbridge.json,
its variables substituted as Grafana would) then runs against that
Prometheus: each must be accepted, and the contact-centre and queue figures
must return a series per skill group.

ServiceLevel: a call answered within its skill group's serviceLevelSeconds
counts in seatbridge_session_answered_in_target_total, one answered later does
not, and a reload changes seatbridge_service_level_target_seconds."""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import unittest
import urllib.error
import urllib.parse
import urllib.request

import yaml

from calls import ALICE, BOB, call_daemon
from harness import free_port, wait_for
from test_calls import CallTest
from test_dashboard import ROWS, dashboard_queries, substitute

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


class ServiceLevel(CallTest):
    def in_target(self):
        return self.metric("seatbridge_session_answered_in_target_total", skillGroup="sales")

    def waits(self, outcome="answered"):
        return self.metric("seatbridge_session_wait_seconds_count", skillGroup="sales", outcome=outcome)

    def test_an_answer_within_the_target_counts_and_a_later_one_does_not(self):
        # A target of 2 s: the first call is answered at once; the second rings
        # a phone that answers only on Call.accept, sent once the queue's own
        # clock (the oldest-wait gauge) says the customer has waited longer.
        def target(cfg):
            for g in cfg["skillGroups"]:
                if g["id"] == "sales":
                    g["serviceLevelSeconds"] = 2
            cfg["skillGroups"].append({"id": "support"})  # serviceLevelSeconds left to its default

        self.start(ring_timeout=10, queue_timeout=20, mutate=target)
        self.assertEqual(self.metric("seatbridge_service_level_target_seconds", skillGroup="sales"), 2)
        self.assertEqual(self.metric("seatbridge_service_level_target_seconds", skillGroup="support"), 20,
                         "the default, for every configured group from the start")
        self.assertEqual(self.in_target(), 0)
        for outcome in ("answered", "abandoned", "timeout"):
            self.assertEqual(self.waits(outcome), 0, f"the {outcome} waits are on the histogram from the start")

        phone = self.phone("1001", "phone_answer")
        pbx = self.trunk("trunk_call_hangup", talk_ms=200)
        sid = self.events.expect("callIn", ALICE)["data"]["sessionId"]
        self.events.expect("sessionEnded", ALICE, sessionId=sid)
        self.success(pbx, phone)
        self.wait(lambda: self.waits() == 1, "the first wait counted")
        self.assertEqual(self.in_target(), 1, "answered within 2 s")

        # Alice leaves; Bob's phone rings and answers when told to, and the
        # customer hangs up when told to.
        self.events.ok("Agent.offline", {"userId": ALICE})
        self.events.ok("Agent.online", {"userId": BOB})
        self.events.expect("statusChanged", BOB, status="free")
        phone = self.phone("1002", "phone_remote_answer")
        pbx = self.trunk("race_trunk_hangup_on_poke", name="pbx2")
        sid = self.events.expect("callIn", BOB)["data"]["sessionId"]
        self.wait(lambda: self.metric("seatbridge_queue_oldest_wait_seconds", skillGroup="sales") > 2,
                  "the customer waiting past the target")
        self.wait(lambda: self.events.call("Call.accept", {"userId": BOB, "sessionId": sid}).get("status")
                  == "success", "Call.accept once the phone rings")
        self.events.expect("userAccessed", BOB, sessionId=sid)

        # While they talk, a reload raises the target to 30 s (and removes a
        # group): the call is still judged by the 2 s it was answered under.
        cfg = self.d.config
        for g in cfg["skillGroups"]:
            if g["id"] == "sales":
                g["serviceLevelSeconds"] = 30
        cfg["skillGroups"] = [g for g in cfg["skillGroups"] if g["id"] != "support"]
        self.d.write_config(cfg)
        self.d.signal(signal.SIGHUP)
        self.d.wait_notify("RELOADING=1")
        self.d.wait_notify("READY=1")
        self.wait(lambda: self.metric("seatbridge_service_level_target_seconds", skillGroup="sales") == 30,
                  "the reloaded target")
        self.assertNotIn('seatbridge_service_level_target_seconds{skillGroup="support"}', self.d.metrics(),
                         "a removed group loses its target series")
        self.assertEqual(self.waits(), 1, "the second call still talking")
        pbx.poke()
        self.events.expect("sessionEnded", BOB, sessionId=sid)
        self.success(pbx, phone)
        self.wait(lambda: self.waits() == 2, "the second wait counted")
        self.assertEqual(self.in_target(), 1, "answered after more than 2 s: not in target")


class RealPrometheus(CallTest):
    def prometheus(self):
        """Debian's prometheus scraping this test's daemon every second, with the
        alert rules loaded: its HTTP API's base URL."""
        work = tempfile.mkdtemp(prefix="sbtest-prom-")
        self.addCleanup(shutil.rmtree, work, True)
        with open(os.path.join(work, "prometheus.yml"), "w") as f:
            yaml.safe_dump({
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "rule_files": [os.path.abspath(ALERTS)],
                "scrape_configs": [{"job_name": "seatbridge",
                                    "static_configs": [{"targets": [f"127.0.0.1:{self.d.metrics_port}"]}]}],
            }, f)
        port = free_port()
        log = open(os.path.join(work, "prometheus.log"), "w")
        self.addCleanup(log.close)
        proc = subprocess.Popen(["prometheus", f"--config.file={work}/prometheus.yml",
                                 f"--storage.tsdb.path={work}/data", f"--web.listen-address=127.0.0.1:{port}",
                                 "--log.level=warn"], stdout=log, stderr=subprocess.STDOUT)

        def stop():
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

        self.addCleanup(stop)
        self.prom_log = os.path.join(work, "prometheus.log")
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: self.api(base, "/-/ready", raw=True) is not None or proc.poll() is not None, 30,
                 what="prometheus ready")
        self.assertIsNone(proc.poll(), self.logs())
        return base

    def logs(self):
        with open(self.prom_log) as f:
            return f.read()[-3000:]

    def api(self, base, path, raw=False, **params):
        url = base + path + ("?" + urllib.parse.urlencode(params) if params else "")
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                body = r.read().decode()
        except OSError:
            return None
        return body if raw else json.loads(body)

    def value(self, base, query):
        """The query's single value now, or None while it has none."""
        r = self.api(base, "/api/v1/query", query=query)
        result = (r or {}).get("data", {}).get("result", [])
        return float(result[0]["value"][1]) if len(result) == 1 else None

    def test_a_call_leaves_its_series_in_a_real_prometheus(self):
        self.start(ring_timeout=5, queue_timeout=10)
        base = self.prometheus()
        wait_for(lambda: self.value(base, 'up{job="seatbridge"}') == 1, 20, what="the daemon scraped")
        phone = self.phone("1001", "phone_answer")
        pbx = self.trunk("trunk_call_hangup", talk_ms=500)
        sid = self.events.expect("callIn", ALICE)["data"]["sessionId"]
        self.events.expect("sessionEnded", ALICE, sessionId=sid)
        self.success(pbx, phone)
        must = {
            'seatbridge_sessions_total{type="phone", closeBy="client"}': lambda v: v == 1,
            'seatbridge_session_talk_seconds_count': lambda v: v == 1,
            'seatbridge_session_answer_seconds_count': lambda v: v == 1,
            'seatbridge_offers_total{outcome="answered"}': lambda v: v == 1,
            'seatbridge_registered_contacts': lambda v: v == 1,
            'seatbridge_sessions_active{type="phone"}': lambda v: v == 0,
            'seatbridge_queue_waiting{skillGroup="sales"}': lambda v: v == 0,
            'seatbridge_agents{status="free"}': lambda v: v >= 1,
            'seatbridge_trunk_up{trunk="pbx"}': lambda v: v == 1,
        }
        for query, ok in must.items():
            wait_for(lambda: (v := self.value(base, query)) is not None and ok(v), 20,
                     what=f"{query} in prometheus as the call left it (now {self.value(base, query)})")
        # The alert rules load and evaluate against the live series, and none fires.
        rules = self.api(base, "/api/v1/rules")["data"]["groups"]
        loaded = [r for g in rules for r in g["rules"]]
        self.assertGreaterEqual(len(loaded), 10, rules)
        wait_for(lambda: all(r.get("health") == "ok" and r.get("lastEvaluation", "").startswith("20")
                             for g in self.api(base, "/api/v1/rules")["data"]["groups"] for r in g["rules"]), 20,
                 what="every rule evaluated without error")
        firing = self.api(base, "/api/v1/alerts")["data"]["alerts"]
        self.assertEqual([a["labels"]["alertname"] for a in firing], [], "no alert on a healthy daemon")
        # A call refused too, so the refusals' query of the dashboard has a series.
        refused = self.trunk("trunk_rejected", number="+15550100777", name="refused")
        self.success(refused)
        self.dashboard_queries_answer(base)

    def query(self, base, query):
        """Prometheus's answer to an instant query, an error's included (HTTP 400 has a JSON body too)."""
        url = base + "/api/v1/query?" + urllib.parse.urlencode({"query": query})
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                return json.loads(r.read().decode())
        except urllib.error.HTTPError as e:
            return json.loads(e.read().decode() or "{}")

    def by_group(self, base, query):
        """{skillGroup: value} of a query's series."""
        result = self.query(base, query).get("data", {}).get("result", [])
        return {r["metric"].get("skillGroup"): float(r["value"][1]) for r in result}

    def dashboard_queries_answer(self, base):
        queries = dashboard_queries()
        self.assertGreaterEqual(len(queries), 30)
        for row, title, expr in queries:
            # One skill group, and "All" (the variable's allValue).
            for group in ("sales", ".*"):
                query = substitute(expr, skill_group=group)
                with self.subTest(panel=title, query=query):
                    r = self.query(base, query)
                    self.assertEqual(r.get("status"), "success", f"{title}: {query}: {r}")
        # The figures per skill group have a series for sales once the call's
        # samples are in; the single answered call was answered within 20 s.
        figures = [(title, substitute(expr)) for row, title, expr in queries if row in (ROWS[0], ROWS[3])]
        for title, query in figures:
            wait_for(lambda: "sales" in self.by_group(base, query), 20, what=f"{title}: a series for sales ({query})")
        first = {}
        for title, query in figures:
            first.setdefault(title, query)
        expect = {"Service level": lambda v: v == 1, "Service-level target": lambda v: v == 20,
                  "Average speed of answer": lambda v: 0 < v < 20, "Abandonment rate": lambda v: v == 0,
                  "Longest wait now": lambda v: v == 0, "Queue length": lambda v: v == 0}
        for title, ok in expect.items():
            value = self.by_group(base, first[title])["sales"]
            self.assertTrue(ok(value), f"{title} is {value}: {first[title]}")


if __name__ == "__main__":
    unittest.main(verbosity=2)
