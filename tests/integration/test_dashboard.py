"""Issue 11: the Grafana dashboard (monitoring/grafana/seatbridge.json).

Grafana is not packaged for Debian 12, so the dashboard is not loaded into a
running Grafana here. Instead it is validated against a JSON Schema of
Grafana's dashboard JSON model (monitoring/grafana/dashboard.schema.json,
written from Grafana's documented model; its $comment says what it covers)
with Debian's python3-jsonschema. That runs under /usr/bin/python3: the
`python3` that runs the tests may be another interpreter without the module.
What a schema cannot express is checked here: the rows in their order, ids
unique, panels inside the 24-column grid and not overlapping, every query on
the ${datasource} variable, the contact-centre panels filtered by $skillGroup.

Then every metric a panel reads must be one a live daemon exports, and every
label a panel groups by must be on its series, as for the alert rules. The
queries themselves run against a real Prometheus in test_monitoring.py
(RealPrometheus), which uses dashboard_queries() from here."""
import copy
import json
import os
import re
import subprocess
import unittest

from calls import TRUNK_HOST, call_daemon
from harness import free_port
from test_calls import CallTest

SOURCE = os.environ.get("SEATBRIDGE_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
GRAFANA = os.path.join(SOURCE, "monitoring", "grafana")
DASHBOARD = os.path.join(GRAFANA, "seatbridge.json")
SCHEMA = os.path.join(GRAFANA, "dashboard.schema.json")
# Debian's interpreter, where python3-jsonschema (scripts/deps test) is installed.
SYSTEM_PYTHON = "/usr/bin/python3"

ROWS = ["Contact centre (per skill group)", "Registrations and trunks", "Calls", "Queues (per skill group)",
        "Agents", "Call timing (histogram quantiles)", "Media quality (anchored media)", "Control socket",
        "Security"]
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}

VALIDATE = r"""
import json, sys
import jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
doc = json.load(sys.stdin)
errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(doc), key=lambda e: e.json_path)
for e in errors:
    print(e.json_path + ": " + e.message)
sys.exit(1 if errors else 0)
"""


def load_dashboard():
    with open(DASHBOARD) as f:
        return json.load(f)


def rows_and_panels(doc):
    """[(row title, [panels under it])], in the dashboard's order."""
    out = []
    for p in doc["panels"]:
        if p["type"] == "row":
            out.append((p["title"], list(p.get("panels", []))))
        else:
            out[-1][1].append(p)
    return out


def dashboard_queries(doc=None):
    """[(row title, panel title, PromQL)] of every panel target."""
    doc = doc or load_dashboard()
    return [(row, p["title"], t["expr"]) for row, panels in rows_and_panels(doc) for p in panels
            for t in p.get("targets", [])]


def substitute(expr, skill_group="sales", rate_interval="1m", range_="10m"):
    """The query as Grafana would send it, its variables replaced."""
    for name, value in (("__rate_interval", rate_interval), ("__range", range_), ("__interval", "15s"),
                        ("skillGroup", skill_group)):
        expr = expr.replace("${" + name + "}", value).replace("$" + name, value)
    assert "$" not in expr, expr
    return expr


def validate(doc):
    return subprocess.run([SYSTEM_PYTHON, "-c", VALIDATE, SCHEMA], input=json.dumps(doc), capture_output=True,
                          text=True, timeout=60)


class DashboardModel(unittest.TestCase):
    def setUp(self):
        self.doc = load_dashboard()
        check = subprocess.run([SYSTEM_PYTHON, "-c", "import jsonschema"], capture_output=True, text=True)
        self.assertEqual(check.returncode, 0,
                         f"{SYSTEM_PYTHON} lacks jsonschema: install python3-jsonschema (scripts/deps test)\n"
                         + check.stderr)

    def test_the_dashboard_is_valid_against_grafanas_dashboard_schema(self):
        r = validate(self.doc)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_the_schema_refuses_broken_dashboards(self):
        # Each a mistake Grafana would not load or would silently drop.
        def panel(doc):
            return rows_and_panels(doc)[0][1][0]

        breakages = {
            "$.panels[1].gridPos.w": lambda d: panel(d)["gridPos"].update(w=30),
            "$.panels[1].fieldConfig.defaults": lambda d: panel(d)["fieldConfig"]["defaults"].update(unti="s"),
            "$.panels[1].type": lambda d: panel(d).update(type="timeserie"),
            "$.templating.list[1]": lambda d: d["templating"]["list"][1].pop("query"),
            "$.panels[1].targets[0]": lambda d: panel(d)["targets"][0].pop("refId"),
            "$.schemaVersion": lambda d: d.update(schemaVersion="39"),
            "$.panels[0]": lambda d: d["panels"][0].pop("collapsed"),
        }
        for path, breaking in breakages.items():
            with self.subTest(path=path):
                broken = copy.deepcopy(self.doc)
                breaking(broken)
                r = validate(broken)
                self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
                self.assertIn(path, r.stdout)

    def test_variables_datasource_and_version(self):
        self.assertEqual(self.doc["schemaVersion"], 39)
        self.assertEqual(self.doc["uid"], "seatbridge")
        variables = {v["name"]: v for v in self.doc["templating"]["list"]}
        self.assertEqual(variables["datasource"]["type"], "datasource")
        self.assertEqual(variables["datasource"]["query"], "prometheus")
        group = variables["skillGroup"]
        self.assertEqual(group["type"], "query")
        self.assertEqual(group["datasource"], DATASOURCE)
        self.assertEqual(group["query"]["query"], "label_values(seatbridge_service_level_target_seconds, skillGroup)")
        self.assertTrue(group["includeAll"] and group["multi"])
        for row, panels in rows_and_panels(self.doc):
            for p in panels:
                with self.subTest(panel=p["title"]):
                    self.assertEqual(p["datasource"], DATASOURCE)
                    self.assertTrue(p["targets"])
                    for t in p["targets"]:
                        self.assertEqual(t["datasource"], DATASOURCE)
                    ref_ids = [t["refId"] for t in p["targets"]]
                    self.assertEqual(len(ref_ids), len(set(ref_ids)))

    def test_rows_in_order_and_contact_centre_figures_first(self):
        self.assertEqual([row for row, _ in rows_and_panels(self.doc)], ROWS)
        contact_centre = [p["title"] for p in rows_and_panels(self.doc)[0][1]]
        for figure in ("Service level", "Average speed of answer", "Abandonment rate", "Longest wait now"):
            self.assertIn(figure, contact_centre)
        # Every figure per skill group, filtered by the variable.
        for row, title, expr in dashboard_queries(self.doc):
            if row in (ROWS[0], ROWS[3]):
                with self.subTest(panel=title):
                    self.assertIn('skillGroup=~"$skillGroup"', expr)
                    self.assertRegex(expr, r"by \(skillGroup")

    def test_the_grid(self):
        ids, cells, last_y = set(), set(), -1
        for p in self.doc["panels"]:
            self.assertNotIn(p["id"], ids, "panel ids are unique")
            ids.add(p["id"])
            g = p["gridPos"]
            self.assertLessEqual(g["x"] + g["w"], 24, p["title"])
            if p["type"] == "row":
                self.assertGreater(g["y"], last_y, f"row {p['title']} below the panels before it")
                self.assertEqual((g["x"], g["w"], g["h"]), (0, 24, 1))
            for x in range(g["x"], g["x"] + g["w"]):
                for y in range(g["y"], g["y"] + g["h"]):
                    self.assertNotIn((x, y), cells, f"{p['title']} overlaps another panel")
                    cells.add((x, y))
            last_y = max(last_y, g["y"] + g["h"] - 1)
            for step_list in [p.get("fieldConfig", {}).get("defaults", {}).get("thresholds", {}).get("steps", [])]:
                values = [s["value"] for s in step_list[1:]]
                self.assertEqual(values, sorted(values), f"{p['title']}: thresholds in ascending order")


def metric_names(expr):
    return set(re.findall(r"\bseatbridge_[a-z_]+", expr))


def family_of(name, families):
    """A histogram's _bucket/_sum/_count series belong to its family."""
    if name in families:
        return name
    base = re.sub(r"_(bucket|sum|count)$", "", name)
    return base if base in families else name


class DashboardMetrics(CallTest):
    def test_every_metric_and_label_the_dashboard_reads_is_one_the_daemon_exports(self):
        from test_monitoring import exposition
        # A trunk that registers (seatbridge_trunk_registered), one answered
        # call (seatbridge_sessions_total) and one refused
        # (seatbridge_calls_refused_total), so every family has a series. The
        # calls come from the trunk's address on other ports: the trunk's own
        # port gets seatbridge's REGISTERs.
        self.start(ring_timeout=5, queue_timeout=10,
                   mutate=lambda cfg: cfg["trunks"][0].update(register={"username": "sb", "password": "pw"}))
        phone = self.phone("1001", "phone_answer")
        pbx = self.trunk("trunk_call_hangup", talk_ms=200, port=free_port(TRUNK_HOST))
        self.success(pbx, phone)
        refused = self.trunk("trunk_rejected", number="+15550100777", port=free_port(TRUNK_HOST), name="refused")
        self.success(refused)
        self.wait(lambda: self.metric("seatbridge_sessions_total", type="phone", closeBy="client") == 1,
                  "the call counted")
        self.wait(lambda: self.metric("seatbridge_calls_refused_total", reason="unknownNumber") == 1,
                  "the refusal counted")
        families = exposition(self.d.metrics())
        doc = load_dashboard()
        targets = [(p["title"], t["expr"], t.get("legendFormat", "")) for _, panels in rows_and_panels(doc)
                   for p in panels for t in p["targets"]]
        variable = doc["templating"]["list"][1]["query"]["query"]
        for title, expr, legend in targets + [("variable skillGroup", variable, "")]:
            with self.subTest(panel=title, expr=expr):
                names = {family_of(n, families) for n in metric_names(expr)}
                self.assertTrue(names)
                for name in names:
                    self.assertTrue(name in families, f"{title}: {name} is not among the daemon's metrics")
                grouped = {label.strip() for labels in re.findall(r"\bby \(([^)]*)\)", expr)
                           for label in labels.split(",")} - {"le", ""}
                grouped |= set(re.findall(r"label_values\([a-z_]+, *([A-Za-z_]+)\)", expr))
                for label in grouped:
                    self.assertTrue(any(label in s for n in names for s in families[n]),
                                    f"{title} groups by {label}, which no series of {sorted(names)} has")
                # A legend can name only labels the aggregation kept.
                for label in re.findall(r"\{\{ *([A-Za-z_]+) *\}\}", legend):
                    self.assertIn(label, grouped, f"{title}: legend {legend!r} names a label the query drops")


if __name__ == "__main__":
    unittest.main(verbosity=2)
