"""Issue 2: the systemd unit, the production config, the Dockerfile and the
compose demo are checked by the tools that would run them, as far as this
machine allows (no systemd as PID 1, no Docker engine):

- systemd-analyze verify / security --offline on the unit (ExecStart rewritten
  to the built daemon in a temporary copy, because verify needs the binary);
- systemd-sysusers --dry-run on the sysusers file;
- seatbridged --check-config on config/production.yaml and docker/seatbridge.yaml,
  and the paths and bounds they share with the unit and compose file;
- kamailio -c on the demo PBX's configuration;
- the Dockerfile's runtime packages against the libraries the daemon links;
- the compose demo's monitoring: every file it mounts exists, promtool check
  config on docker/prometheus/prometheus.yml laid out as the container sees it
  (with monitoring/alerts.yml beside it), and Grafana's provisioning pointing
  at that Prometheus and at monitoring/grafana/seatbridge.json.
"""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import yaml

from harness import BIN, CTL, SOURCE_DIR, run

UNIT = os.path.join(SOURCE_DIR, "systemd", "seatbridge.service")
SYSUSERS = os.path.join(SOURCE_DIR, "systemd", "seatbridge.sysusers.conf")
PRODUCTION = os.path.join(SOURCE_DIR, "config", "production.yaml")
DOCKERFILE = os.path.join(SOURCE_DIR, "Dockerfile")
DOCKERIGNORE = os.path.join(SOURCE_DIR, ".dockerignore")
COMPOSE = os.path.join(SOURCE_DIR, "docker", "compose.yaml")
DOCKER_CONFIG = os.path.join(SOURCE_DIR, "docker", "seatbridge.yaml")
KAMAILIO_CFG = os.path.join(SOURCE_DIR, "docker", "kamailio", "kamailio.cfg")
KAMAILIO_DOCKERFILE = os.path.join(SOURCE_DIR, "docker", "kamailio", "Dockerfile")
PROMETHEUS_CFG = os.path.join(SOURCE_DIR, "docker", "prometheus", "prometheus.yml")
GRAFANA_PROVISIONING = os.path.join(SOURCE_DIR, "docker", "grafana", "provisioning")


def unit_settings(path=UNIT):
    """{key: [values]} of the [Service] section (repeated keys accumulate)."""
    out, section = {}, None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith(("#", ";")):
                continue
            if line.startswith("["):
                section = line.strip("[]")
                continue
            if section == "Service":
                key, _, value = line.partition("=")
                out.setdefault(key, []).append(value)
    return out


def load_yaml(path):
    with open(path) as f:
        return yaml.safe_load(f)


def read(path):
    with open(path) as f:
        return f.read()


class SystemdUnit(unittest.TestCase):
    def setUp(self):
        if not shutil.which("systemd-analyze"):
            self.skipTest("systemd-analyze is not installed")
        self.tmp = tempfile.mkdtemp(prefix="sbunit-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        # verify refuses a unit whose ExecStart binary is missing: point it at the build.
        text = read(UNIT).replace("/usr/bin/seatbridged", os.path.abspath(BIN))
        self.unit = os.path.join(self.tmp, "seatbridge.service")
        with open(self.unit, "w") as f:
            f.write(text)

    def test_systemd_analyze_verify_is_clean(self):
        r = run(["systemd-analyze", "verify", self.unit])
        self.assertEqual(r.returncode, 0, r.stderr)
        # verify exits 0 on unknown or misspelt keys and only warns: any output is a defect.
        self.assertEqual(r.stderr.strip(), "")

    def test_exposure_stays_low(self):
        # 0-100 scale: 25 means "2.5 OK". A dropped hardening line raises it.
        r = run(["systemd-analyze", "security", "--offline=true", "--threshold=25", self.unit])
        self.assertEqual(r.returncode, 0, r.stdout[-2000:] + r.stderr)
        self.assertRegex(r.stdout, r"Overall exposure level for seatbridge.service: [0-2]\.\d OK")


class UnitAndProductionConfig(unittest.TestCase):
    def setUp(self):
        self.unit = unit_settings()
        self.config = load_yaml(PRODUCTION)

    def test_notify_protocol_and_reload(self):
        self.assertEqual(self.unit["Type"], ["notify"])
        self.assertEqual(self.unit["NotifyAccess"], ["main"])
        self.assertEqual(self.unit["ExecStart"], ["/usr/bin/seatbridged --config /etc/seatbridge/seatbridge.yaml"])
        self.assertEqual(self.unit["ExecReload"], ["/bin/kill -HUP $MAINPID"])
        self.assertEqual(self.unit["WatchdogSec"], ["30"])
        self.assertEqual(self.unit["Restart"], ["on-failure"])

    def test_stop_timeout_exceeds_the_drain_bound(self):
        drain = self.config["shutdown"]["drainSeconds"]
        self.assertGreater(int(self.unit["TimeoutStopSec"][0]), drain + 5)

    def test_dedicated_user_exists_through_sysusers(self):
        self.assertEqual(self.unit["User"], ["seatbridge"])
        self.assertEqual(self.unit["Group"], ["seatbridge"])
        if not shutil.which("systemd-sysusers"):
            self.skipTest("systemd-sysusers is not installed")
        with tempfile.TemporaryDirectory() as root:
            r = run(["systemd-sysusers", "--dry-run", f"--root={root}", SYSUSERS])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Creating user 'seatbridge'", r.stdout + r.stderr)

    def test_hardening(self):
        for key, value in {"ProtectSystem": "strict", "ProtectHome": "yes", "NoNewPrivileges": "yes",
                           "PrivateTmp": "yes", "PrivateDevices": "yes", "ProtectKernelTunables": "yes",
                           "ProtectKernelModules": "yes", "ProtectKernelLogs": "yes", "RestrictNamespaces": "yes",
                           "LockPersonality": "yes", "MemoryDenyWriteExecute": "yes",
                           "SystemCallArchitectures": "native", "UMask": "0027",
                           "CapabilityBoundingSet": "CAP_NET_BIND_SERVICE",
                           "AmbientCapabilities": "CAP_NET_BIND_SERVICE"}.items():
            with self.subTest(key=key):
                self.assertEqual(self.unit.get(key), [value])
        families = set(self.unit["RestrictAddressFamilies"][0].split())
        self.assertEqual(families, {"AF_UNIX", "AF_INET", "AF_INET6", "AF_NETLINK"})

    def test_production_config_passes_check_config(self):
        r = run([BIN, "--check-config", PRODUCTION])
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_production_paths_lie_in_the_directories_systemd_creates(self):
        # ProtectSystem=strict leaves only these writable; a path elsewhere fails at start.
        self.assertEqual(self.unit["RuntimeDirectory"], ["seatbridge"])
        self.assertEqual(self.unit["StateDirectory"], ["seatbridge"])
        self.assertEqual(self.unit["ConfigurationDirectory"], ["seatbridge"])
        self.assertEqual(self.config["control"]["socket"], "/run/seatbridge/seatbridge.sock")
        self.assertEqual(self.config["storage"]["path"], "/var/lib/seatbridge/seatbridge.db")
        self.assertEqual(self.config["sip"]["listen"], ["udp:0.0.0.0:5060", "tcp:0.0.0.0:5060"])


class Docker(unittest.TestCase):
    def setUp(self):
        self.compose = load_yaml(COMPOSE)
        self.config = load_yaml(DOCKER_CONFIG)
        self.dockerfile = read(DOCKERFILE)

    def stages(self):
        """[(FROM line, body)] of the Dockerfile, continuation lines joined."""
        text = re.sub(r"\\\n", " ", self.dockerfile)
        parts = re.split(r"^FROM ", text, flags=re.M)[1:]
        return [(p.splitlines()[0], p) for p in parts]

    def test_docker_config_passes_check_config(self):
        r = run([BIN, "--check-config", DOCKER_CONFIG])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.config["sip"]["listen"], ["udp:0.0.0.0:5060", "tcp:0.0.0.0:5060"])

    def test_dockerfile_is_multi_stage_bookworm_non_root(self):
        stages = self.stages()
        self.assertEqual(len(stages), 2)
        self.assertEqual(stages[0][0].split(), ["debian:12-slim", "AS", "build"])
        self.assertEqual(stages[1][0].split(), ["debian:12-slim"])
        build, runtime = stages[0][1], stages[1][1]
        self.assertIn("scripts/deps build", build)
        self.assertIn("scripts/build release", build)
        self.assertRegex(runtime, r"(?m)^USER seatbridge$")
        self.assertRegex(runtime, r"(?m)^EXPOSE 5060/udp 5060/tcp 9464$")
        self.assertRegex(runtime, r"(?m)^HEALTHCHECK .*seatbridgectl.*status")
        self.assertNotIn("build-essential", runtime)
        self.assertNotIn("-dev", runtime)

    def test_healthcheck_command_exists_and_takes_those_flags(self):
        m = re.search(r'CMD (seatbridgectl --socket (\S+) --timeout \d+ status) >/dev/null \|\| exit 1$', self.dockerfile,
                      re.M)
        self.assertIsNotNone(m)
        self.assertEqual(m[2], self.config["control"]["socket"])
        # Against a socket nobody listens on it must fail with Docker's one failure
        # code (seatbridgectl says 3, cannot connect), never hang or pass.
        command = m[1].replace(m[2], "/nonexistent/seatbridge.sock").replace("seatbridgectl", CTL, 1)
        r = run(["sh", "-c", command + " >/dev/null || exit 1"])
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("no control socket", r.stderr)

    def test_runtime_stage_installs_every_library_the_daemon_links(self):
        if not all(shutil.which(t) for t in ("dpkg", "objdump", "ldd")):
            self.skipTest("needs dpkg, objdump and ldd")
        runtime = self.stages()[1][1]
        needed, resolved = set(), {}
        for binary in (BIN, CTL):
            out = subprocess.run(["objdump", "-p", binary], capture_output=True, text=True, check=True).stdout
            needed |= set(re.findall(r"NEEDED\s+(\S+)", out))
            ldd = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
            resolved.update(re.findall(r"(?m)^\s*(\S+) => (/\S+)", ldd))
        # The C/C++ runtime is in debian:12-slim already; the sanitizers only in test builds.
        base = {"libc6", "libgcc-s1", "libstdc++6", "libasan8", "libubsan1"}
        self.assertIn("libsofia-sip-ua.so.0", needed)
        for soname in sorted(needed):
            self.assertIn(soname, resolved)
            owner = run(["dpkg", "-S", os.path.realpath(resolved[soname])])
            if owner.returncode != 0:
                owner = run(["dpkg", "-S", resolved[soname]])
            self.assertEqual(owner.returncode, 0, owner.stderr)
            package = owner.stdout.split(":")[0].strip()
            if package in base:
                continue
            with self.subTest(soname=soname):
                self.assertRegex(runtime, r"\s" + re.escape(package) + r"\s", f"{soname} comes from {package}")

    def test_dockerignore_keeps_host_build_trees_out_but_not_the_sources(self):
        patterns = [l.strip() for l in read(DOCKERIGNORE).splitlines() if l.strip() and not l.startswith("#")]
        self.assertIn("build", patterns)
        self.assertIn(".git", patterns)
        copied = set(re.findall(r"(?m)^COPY (?!--from)(\S+)", self.dockerfile))
        for path in copied - {"."}:
            with self.subTest(path=path):
                self.assertTrue(os.path.exists(os.path.join(SOURCE_DIR, path)))
                self.assertFalse(any(path == p or path.startswith(p.rstrip("/") + "/") for p in patterns))

    def test_compose_runs_seatbridge_beside_kamailio_on_a_user_defined_network(self):
        services = self.compose["services"]
        self.assertEqual(set(services), {"seatbridge", "kamailio", "prometheus", "grafana"})
        sb, kam = services["seatbridge"], services["kamailio"]
        self.assertEqual(sb["build"]["dockerfile"], "Dockerfile")
        self.assertTrue(os.path.exists(os.path.join(os.path.dirname(COMPOSE), sb["build"]["context"], "Dockerfile")))
        self.assertTrue(os.path.exists(os.path.join(os.path.dirname(COMPOSE), kam["build"], "Dockerfile")))
        network = self.compose["networks"]["sip"]
        self.assertEqual(network["driver"], "bridge")
        self.assertEqual(set(sb["networks"]), {"sip", "monitoring"})
        self.assertEqual(set(kam["networks"]), {"sip"})
        self.assertIn("5060:5060/udp", sb["ports"])
        self.assertIn("5060:5060/tcp", sb["ports"])
        self.assertIn("9464:9464", sb["ports"])
        mounted = {v.split(":")[1]: v.split(":")[0] for v in sb["volumes"]}
        self.assertEqual(mounted["/etc/seatbridge/seatbridge.yaml"], "./seatbridge.yaml")
        self.assertEqual(mounted["/var/lib/seatbridge"], "seatbridge-state")
        self.assertIn("seatbridge-state", self.compose["volumes"])
        self.assertGreater(int(sb["stop_grace_period"].rstrip("s")), self.config["shutdown"]["drainSeconds"])

    def test_addresses_agree_across_compose_seatbridge_and_kamailio(self):
        services = self.compose["services"]
        sb_ip = services["seatbridge"]["networks"]["sip"]["ipv4_address"]
        kam_ip = services["kamailio"]["networks"]["sip"]["ipv4_address"]
        subnet = self.compose["networks"]["sip"]["ipam"]["config"][0]["subnet"]
        prefix = subnet.rsplit(".", 1)[0] + "."
        self.assertTrue(sb_ip.startswith(prefix) and kam_ip.startswith(prefix), subnet)
        trunk = self.config["trunks"][0]
        self.assertEqual(trunk["address"].split(":")[0], "kamailio")
        self.assertEqual(trunk["inboundFrom"], [f"{kam_ip}/32"])
        cfg = read(KAMAILIO_CFG)
        self.assertIn(f'#!define SEATBRIDGE_IP "{sb_ip}"', cfg)
        self.assertIn(f'#!define SEATBRIDGE_URI "sip:{sb_ip}:5060"', cfg)
        # Kamailio relays the contact centre's numbers to seatbridge: every one of them.
        numbers = re.search(r'#!define CONTACT_CENTRE_NUMBERS "([^"]+)"', cfg)[1]
        for n in self.config["numbers"]:
            self.assertRegex(n["number"], numbers)

    def test_the_socket_tmpfs_belongs_to_the_image_user(self):
        uid = re.search(r"ARG SEATBRIDGE_UID=(\d+)", self.dockerfile)[1]
        tmpfs = self.compose["services"]["seatbridge"]["tmpfs"]
        self.assertIn(f"/run/seatbridge:uid={uid},gid={uid},mode=0750", tmpfs)


def bind_mounts(service):
    """[(source on this machine, path in the container)] of a compose service's
    bind mounts (named volumes left out)."""
    out = []
    for v in service.get("volumes", []):
        source, target = v.split(":")[:2]
        if source.startswith((".", "/")):
            out.append((os.path.normpath(os.path.join(os.path.dirname(COMPOSE), source)), target))
    return out


class ComposeMonitoring(unittest.TestCase):
    def setUp(self):
        self.compose = load_yaml(COMPOSE)
        self.services = self.compose["services"]
        self.prometheus = load_yaml(PROMETHEUS_CFG)

    def test_every_file_compose_mounts_exists(self):
        mounts = [(name, m) for name, svc in self.services.items() for m in bind_mounts(svc)]
        self.assertGreaterEqual(len(mounts), 6)
        for name, (source, target) in mounts:
            with self.subTest(service=name, target=target):
                self.assertTrue(os.path.exists(source), f"{name} mounts {source}, which does not exist")
        for name, svc in self.services.items():
            for v in svc.get("volumes", []):
                source = v.split(":")[0]
                if not source.startswith((".", "/")):
                    self.assertIn(source, self.compose["volumes"], f"{name}: named volume {source}")

    def test_prometheus_scrapes_seatbridge_with_the_alert_rules(self):
        prom, sb = self.services["prometheus"], self.services["seatbridge"]
        self.assertTrue(prom["image"].startswith("prom/prometheus:"))
        self.assertIn("9090:9090", prom["ports"])
        self.assertTrue(set(prom["networks"]) & set(sb["networks"]), "prometheus reaches seatbridge")
        mounted = {target: source for source, target in bind_mounts(prom)}
        self.assertEqual(mounted["/etc/prometheus/prometheus.yml"], os.path.normpath(PROMETHEUS_CFG))
        self.assertEqual(mounted["/etc/prometheus/alerts.yml"],
                         os.path.normpath(os.path.join(SOURCE_DIR, "monitoring", "alerts.yml")))
        self.assertIn("--config.file=/etc/prometheus/prometheus.yml", prom["command"])
        # The job the alert rules expect, at the port seatbridge's demo config serves.
        jobs = {j["job_name"]: j for j in self.prometheus["scrape_configs"]}
        port = load_yaml(DOCKER_CONFIG)["metrics"]["listen"].rsplit(":", 1)[1]
        self.assertEqual(jobs["seatbridge"]["static_configs"][0]["targets"], [f"seatbridge:{port}"])
        self.assertIn(f"{port}:{port}", sb["ports"])

    def test_promtool_checks_the_config_as_the_container_sees_it(self):
        if not shutil.which("promtool"):
            self.skipTest("promtool is not installed (scripts/deps test installs prometheus)")
        # The container's /etc/prometheus rebuilt from compose's mounts: the
        # rule file must be where prometheus.yml says, relative to it.
        with tempfile.TemporaryDirectory() as root:
            for source, target in bind_mounts(self.services["prometheus"]):
                dest = os.path.join(root, target.lstrip("/"))
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                shutil.copy(source, dest)
            r = run(["promtool", "check", "config", os.path.join(root, "etc", "prometheus", "prometheus.yml")])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("SUCCESS", r.stdout)
        self.assertRegex(r.stdout, r"SUCCESS: \d+ rules found")

    def test_grafana_provisions_that_prometheus_and_the_dashboard(self):
        graf, prom = self.services["grafana"], self.services["prometheus"]
        self.assertTrue(graf["image"].startswith("grafana/grafana-oss:"))
        self.assertIn("3000:3000", graf["ports"])
        self.assertTrue(set(graf["networks"]) & set(prom["networks"]), "grafana reaches prometheus")
        mounted = {target: source for source, target in bind_mounts(graf)}
        datasources = mounted["/etc/grafana/provisioning/datasources"]
        dashboards = mounted["/etc/grafana/provisioning/dashboards"]
        self.assertEqual(datasources, os.path.join(GRAFANA_PROVISIONING, "datasources"))
        self.assertEqual(dashboards, os.path.join(GRAFANA_PROVISIONING, "dashboards"))
        sources = [d for f in sorted(os.listdir(datasources)) for d in load_yaml(os.path.join(datasources, f))
                   ["datasources"]]
        self.assertEqual([(d["type"], d["url"], d["isDefault"]) for d in sources],
                         [("prometheus", "http://prometheus:9090", True)])
        providers = [p for f in sorted(os.listdir(dashboards)) for p in load_yaml(os.path.join(dashboards, f))
                     ["providers"]]
        self.assertEqual(len(providers), 1)
        folder = providers[0]["options"]["path"]
        # Exactly the dashboard in the provider's folder: nothing else there that is not one.
        in_folder = {t: s for t, s in mounted.items() if os.path.dirname(t) == folder}
        self.assertEqual(in_folder, {folder + "/seatbridge.json": os.path.normpath(
            os.path.join(SOURCE_DIR, "monitoring", "grafana", "seatbridge.json"))})
        self.assertEqual(graf["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"], folder + "/seatbridge.json")


class Kamailio(unittest.TestCase):
    def test_kamailio_accepts_the_demo_configuration(self):
        kamailio = shutil.which("kamailio") or ("/usr/sbin/kamailio" if os.path.exists("/usr/sbin/kamailio") else None)
        if not kamailio:
            self.skipTest("kamailio is not installed (scripts/deps test installs it)")
        r = run([kamailio, "-c", "-f", KAMAILIO_CFG])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("config file ok", r.stdout + r.stderr)

    def test_kamailio_image_checks_and_copies_that_file(self):
        text = read(KAMAILIO_DOCKERFILE)
        self.assertRegex(text, r"(?m)^FROM debian:12-slim$")
        self.assertIn("COPY kamailio.cfg /etc/kamailio/kamailio.cfg", text)
        self.assertIn("RUN kamailio -c -f /etc/kamailio/kamailio.cfg", text)
        self.assertRegex(text, r"(?m)^USER kamailio$")
        self.assertIn("install -d -o kamailio -g kamailio -m 0750 /run/kamailio", text)


if __name__ == "__main__":
    unittest.main(verbosity=2)
