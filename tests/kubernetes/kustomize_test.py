"""The kustomize bases of deploy/kubernetes/ agree with their sluice configs (SPEC.md "Several
sluice instances"): each base is rendered with `kubectl kustomize`, the sluice.yaml of its
ConfigMap is written to a file and must pass `sluice check --strict`, and the rendered pod spec
must hold exactly what `sluice check --kubernetes -c` that file prints: container ports, the
readiness and liveness probes, terminationGracePeriodSeconds, no preStop on sluice and, in the
sidecar layout, the app container's preStop. Also: the config is mounted where the container
reads it, with the admin token beside it; Prometheus scrapes the admin port; Services point at
ports that exist; the edge's headless Service is the name scale_out.peers resolves; the
PodDisruptionBudget selects the edge pods.

usage: kustomize_test.py SLUICE_BINARY [unittest arguments]   (exit 77 = skipped: no kubectl or
no PyYAML)
"""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

SKIP = 77
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BASES = os.path.join(ROOT, "deploy", "kubernetes")
SLUICE = None  # set from the command line

try:
    import yaml
except ImportError:
    yaml = None


def render(base):
    out = subprocess.run(["kubectl", "kustomize", os.path.join(BASES, base)], check=True,
                         capture_output=True, text=True).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def one(docs, kind, name=None):
    found = [d for d in docs
             if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
    assert len(found) == 1, f"{len(found)} {kind} {name or ''} in the rendered base"
    return found[0]


def container(pod, name):
    found = [c for c in pod["containers"] if c["name"] == name]
    return found[0] if found else None


def probe(spec, ports):
    """A probe with a named port resolved to its number, as the kubelet does."""
    spec = dict(spec)
    get = dict(spec["httpGet"])
    if isinstance(get["port"], str):
        get["port"] = ports[get["port"]]
    spec["httpGet"] = get
    return spec


class Base:
    """Rendered once per base; each test compares one part with what sluice prints."""
    base = None

    @classmethod
    def setUpClass(cls):
        cls.docs = render(cls.base)
        cls.configmap = one(cls.docs, "ConfigMap")
        cls.config_text = cls.configmap["data"]["sluice.yaml"]
        cls.deployment = one(cls.docs, "Deployment")
        cls.pod = cls.deployment["spec"]["template"]["spec"]
        cls.sluice = container(cls.pod, "sluice")
        cls.dir = tempfile.mkdtemp(prefix=f"sluice-k8s-{cls.base}-")
        cls.config_file = os.path.join(cls.dir, "sluice.yaml")
        with open(cls.config_file, "w") as f:
            f.write(cls.config_text)
        token_file = yaml.safe_load(cls.config_text)["admin"]["token_file"]
        with open(os.path.join(cls.dir, token_file), "w") as f:
            f.write("test-token\n")  # the Secret's stand-in
        printed = subprocess.run([SLUICE, "check", "--kubernetes", "-c", cls.config_file],
                                 capture_output=True, text=True)
        assert printed.returncode == 0, printed.stderr
        cls.expected = yaml.safe_load(printed.stdout)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def ports(self):
        return {p["name"]: p["containerPort"] for p in self.sluice["ports"]}

    def expected_sluice(self):
        return container(self.expected, "sluice")

    def test_the_config_passes_check_strict(self):
        checked = subprocess.run([SLUICE, "check", "--strict", "-c", self.config_file],
                                 capture_output=True, text=True)
        self.assertEqual(checked.returncode, 0, checked.stdout + checked.stderr)

    def test_container_ports_are_the_listeners_and_admin(self):
        self.assertEqual(self.sluice["ports"], self.expected_sluice()["ports"])

    def test_probes_are_readyz_and_livez_on_the_admin_port(self):
        for key in ("readinessProbe", "livenessProbe"):
            self.assertEqual(probe(self.sluice[key], self.ports()),
                             self.expected_sluice()[key], key)

    def test_grace_period_covers_drain_notice_and_drain(self):
        self.assertEqual(self.pod["terminationGracePeriodSeconds"],
                         self.expected["terminationGracePeriodSeconds"])

    def test_sluice_has_no_pre_stop_since_it_drains_itself(self):
        self.assertNotIn("preStop", self.sluice.get("lifecycle", {}))

    def test_the_config_and_token_are_mounted_where_sluice_reads_them(self):
        config_path = self.sluice["args"][self.sluice["args"].index("-c") + 1]
        directory = os.path.dirname(config_path)
        mount = [m for m in self.sluice["volumeMounts"] if m["mountPath"] == directory]
        self.assertEqual(len(mount), 1, f"nothing mounted at {directory}")
        volume = [v for v in self.pod["volumes"] if v["name"] == mount[0]["name"]][0]
        sources = volume["projected"]["sources"]
        self.assertIn({"configMap": {"name": self.configmap["metadata"]["name"]}}, sources)
        token_file = yaml.safe_load(self.config_text)["admin"]["token_file"]
        secret_paths = [i["path"] for s in sources if "secret" in s for i in s["secret"]["items"]]
        self.assertEqual(secret_paths, [token_file])
        self.assertEqual(os.path.basename(config_path), "sluice.yaml")

    def test_prometheus_scrapes_metrics_on_the_admin_port(self):
        annotations = self.deployment["spec"]["template"]["metadata"]["annotations"]
        self.assertEqual(annotations["prometheus.io/scrape"], "true")
        self.assertEqual(annotations["prometheus.io/path"], "/metrics")
        self.assertEqual(int(annotations["prometheus.io/port"]), self.ports()["admin"])

    def test_services_select_the_pods_and_target_a_listener(self):
        labels = self.deployment["spec"]["template"]["metadata"]["labels"]
        listener_ports = set(self.ports()) - {"admin"}
        services = [d for d in self.docs if d["kind"] == "Service"]
        self.assertTrue(services)
        for s in services:
            for k, v in s["spec"]["selector"].items():
                self.assertEqual(labels.get(k), v, s["metadata"]["name"])
            for p in s["spec"]["ports"]:
                self.assertIn(p["targetPort"], listener_ports, s["metadata"]["name"])


class SidecarTest(Base, unittest.TestCase):
    base = "sidecar"

    def test_the_app_outlives_the_drain_of_sluice(self):
        app = container(self.pod, "app")
        self.assertEqual(app["lifecycle"]["preStop"],
                         container(self.expected, "app")["lifecycle"]["preStop"])
        sleep = int(app["lifecycle"]["preStop"]["exec"]["command"][1])
        self.assertLess(sleep, self.pod["terminationGracePeriodSeconds"])

    def test_the_app_listens_on_loopback_only_at_the_configured_server(self):
        app = container(self.pod, "app")
        self.assertNotIn("ports", app)
        servers = yaml.safe_load(self.config_text)["backends"][0]["servers"]
        self.assertEqual([s["address"] for s in servers], ["127.0.0.1:8000"])
        self.assertIn("--bind=127.0.0.1:8000", app["command"])


class EdgeTest(Base, unittest.TestCase):
    base = "edge"

    def test_only_sluice_runs_in_an_edge_pod(self):
        self.assertEqual([c["name"] for c in self.pod["containers"]], ["sluice"])

    def test_peers_resolve_the_headless_service(self):
        headless = [d for d in self.docs
                    if d["kind"] == "Service" and d["spec"].get("clusterIP") == "None"]
        self.assertEqual(len(headless), 1)
        fqdn = headless[0]["metadata"]["name"] + ".default.svc.cluster.local"
        peers = (yaml.safe_load(self.config_text).get("scale_out") or {}).get("peers")
        self.assertIsNotNone(peers, "the edge config has no scale_out.peers")
        self.assertEqual(peers["dns"], fqdn)

    def test_the_disruption_budget_covers_the_edge_pods(self):
        pdb = one(self.docs, "PodDisruptionBudget")
        labels = self.deployment["spec"]["template"]["metadata"]["labels"]
        for k, v in pdb["spec"]["selector"]["matchLabels"].items():
            self.assertEqual(labels.get(k), v)
        self.assertLess(pdb["spec"]["maxUnavailable"], self.deployment["spec"]["replicas"])


def main():
    global SLUICE
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    SLUICE = os.path.abspath(sys.argv[1])
    if not shutil.which("kubectl"):
        print("kubernetes test: SKIPPED: kubectl is not installed (it renders the kustomize "
              "bases with `kubectl kustomize`)")
        return SKIP
    if yaml is None:
        print("kubernetes test: SKIPPED: PyYAML is not installed (Debian package python3-yaml)")
        return SKIP
    result = unittest.main(argv=[sys.argv[0]] + sys.argv[2:], exit=False, verbosity=2).result
    failed = len(result.failures) + len(result.errors)
    print(f"{result.testsRun - failed} passed, {failed} failed")
    return 1 if failed or not result.wasSuccessful() else 0


if __name__ == "__main__":
    sys.exit(main())
