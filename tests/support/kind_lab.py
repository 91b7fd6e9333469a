"""One kind cluster with SPIRE in real pods, for the runbook tests (tests/kind).

`KindLab(work)`: up = the offline kind lab's cluster `ardur-runbooks` and its in-cluster
PostgreSQL (molecule/default/create.yml), deploy.yml and samples.yml with the kind scenario's
inventory (webhook on, bundle wait on: as users run them), then an svid-watch pod on every node
(molecule/default/watchers.yml) fetching an X.509-SVID every second; down deletes the cluster
and stops the lab's engine. `Watch` reads the watchers' counters around a runbook.

The cluster, PostgreSQL and the inputs are the kind scenario's own (one source); only the cluster
name and the scratch dir differ, so these tests never touch molecule's cluster. Needs root and the
offline kind lab built (make kind-build): skipped without it, failed with ARDUR_SPIRE_REQUIRE_LAB=1.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lab_binaries import lab_binary
from lab_instance import default_context_env, run

REPO = Path(__file__).resolve().parents[2]
SCENARIO = REPO / "molecule" / "default"
KINDLAB = REPO / "lab" / "kind" / "kindlab.py"
CLUSTER = os.environ.get("ARDUR_SPIRE_KIND_RUNBOOK_CLUSTER", "ardur-runbooks")
NAMESPACE = "spire-system"
WATCH_NAMESPACE = "ardur-verify"  # kind_watch_namespace in the scenario's inventory
SERVERS = 3
# deploy.yml inputs of the session beyond the scenario's: a 2-minute X.509-SVID TTL keeps the grace
# period of a CA rotation (at least one SVID lifetime) short.
DEPLOY_EXTRA = {"spire_server_default_x509_svid_ttl": "2m"}


def kind_env():
    """os.environ plus `kindlab.py env` (DOCKER_HOST, PATH with kind, ARDUR_SPIRE_KIND_IMAGES)."""
    env = dict(os.environ)
    out = subprocess.run([sys.executable, str(KINDLAB), "env"], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        key, _sep, value = line.removeprefix("export ").partition("=")
        env[key] = os.path.expandvars(value.strip("'\"").replace("$PATH", env.get("PATH", "")))
    return env


def need_kind():
    """Skip (or fail, with ARDUR_SPIRE_REQUIRE_LAB=1) when the offline kind lab cannot run here."""
    problems = []
    images = Path(kind_env()["ARDUR_SPIRE_KIND_IMAGES"])
    if not images.is_file():
        problems.append(f"no {images} (make kind-build)")
    elif "workload" not in json.loads(images.read_text(encoding="utf-8")):
        problems.append(f"{images} names no workload image")
    if lab_binary("kubectl") is None:
        problems.append("kubectl not built (lab/build.sh k8s)")
    if os.geteuid() != 0:
        problems.append("the kind lab needs root (it runs its own dockerd)")
    if problems:
        if os.environ.get("ARDUR_SPIRE_REQUIRE_LAB") == "1":
            raise RuntimeError("the kind lab cannot run and ARDUR_SPIRE_REQUIRE_LAB=1: " + "; ".join(problems))
        pytest.skip("; ".join(problems))


class KindLab:
    """The cluster: its environment, lifecycle, playbook runs, kubectl and the health report."""

    def __init__(self, work):
        """WORK: the scenario's ephemeral dir (kubeconfig, PostgreSQL CA and passwords), vars files, reports."""
        self.work = Path(work)
        self.env = kind_env()
        self.env.update({"ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0",
                         "MOLECULE_EPHEMERAL_DIRECTORY": str(self.work), "MOLECULE_PROJECT_DIRECTORY": str(REPO)})
        self.env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + self.env["PATH"]
        self.kubeconfig = self.work / "kubeconfig"
        self.timings = {}
        # deploy.yml's inputs beyond the scenario's, as the session's user keeps them: a test that
        # changes what they must be (new datastore credentials) updates them, as the runbook says.
        self.deploy_inputs = dict(DEPLOY_EXTRA)

    def timed(self, name, started):
        """Record and print the seconds since STARTED under NAME."""
        self.timings[name] = time.monotonic() - started
        print(f"{name}: {self.timings[name]:.1f} s")

    # ----------------------------------------------------------------- lifecycle --
    def playbook(self, playbook, extra_vars=None):
        """(argv, env) of PLAYBOOK (a path) with the scenario's inventory, this cluster's name and
        EXTRA_VARS (a 0600 file); the environment's default context is a decoy: every task must
        take spire_kubeconfig."""
        self.work.mkdir(parents=True, exist_ok=True)
        vars_file = self.work / f"{Path(playbook).stem}-vars-{time.monotonic_ns()}.json"
        vars_file.write_text(json.dumps({"kind_cluster_name": CLUSTER, **(extra_vars or {})}), encoding="utf-8")
        os.chmod(vars_file, 0o600)
        argv = [Path(sys.executable).parent / "ansible-playbook", "-i", SCENARIO / "inventory" / "hosts.yml",
                playbook, "-e", f"@{vars_file}"]
        return argv, {**self.env, **default_context_env(self.work)}

    def ansible(self, playbook, extra_vars=None, check=True, args=(), timeout=900):
        """Run PLAYBOOK (see playbook()); the CompletedProcess."""
        argv, env = self.playbook(playbook, extra_vars)
        return run(argv + list(args), env, check=check, timeout=timeout)

    def up(self):
        """Cluster and PostgreSQL, deploy.yml, samples.yml, the watchers (each idempotent)."""
        for name, playbook in (("cluster + PostgreSQL", SCENARIO / "create.yml"),
                               ("deploy.yml", REPO / "playbooks" / "deploy.yml"),
                               ("samples.yml", REPO / "playbooks" / "samples.yml"),
                               ("watchers", SCENARIO / "watchers.yml")):
            started = time.monotonic()
            self.ansible(playbook, self.deploy_inputs, timeout=1800)
            self.timed(name, started)

    def deploy(self):
        """deploy.yml again, with the session's inputs; its output."""
        return self.ansible(REPO / "playbooks" / "deploy.yml", self.deploy_inputs).stdout

    def down(self):
        """Delete the cluster and stop the lab's engine (best effort)."""
        run([sys.executable, KINDLAB, "down", "--name", CLUSTER, "--engine"], self.env, check=False)

    # ------------------------------------------------------------------- kubectl --
    def kubectl(self, *args, namespace=NAMESPACE, check=True, timeout=120):
        """kubectl ARGS against the cluster, in NAMESPACE."""
        return run([lab_binary("kubectl"), "--kubeconfig", self.kubeconfig, "-n", namespace, *args], self.env,
                   timeout=timeout, check=check)

    def kubectl_json(self, *args, namespace=NAMESPACE):
        """kubectl ARGS -o json, parsed."""
        return json.loads(self.kubectl(*args, "-o", "json", namespace=namespace).stdout)

    def server_pods(self):
        """The spire-server pods by name: {name: pod}."""
        pods = self.kubectl_json("get", "pods", "-l", "app.kubernetes.io/name=spire-server")["items"]
        return {pod["metadata"]["name"]: pod for pod in pods}

    def secret(self, name):
        """Secret NAME as the API returns it, or None when it does not exist."""
        res = self.kubectl("get", "secret", name, "-o", "json", check=False)
        return json.loads(res.stdout) if res.returncode == 0 else None

    def spire_server(self, index, *args):
        """spire-server ARGS inside server pod INDEX (its own admin socket); it must succeed. Its stdout."""
        return self.kubectl("exec", f"spire-server-{index}", "-c", "spire-server", "--",
                            "/opt/spire/bin/spire-server", *args).stdout

    def wait_servers_ready(self, timeout=600):
        """Until the StatefulSet has every replica updated and Ready."""
        self.kubectl("rollout", "status", "statefulset/spire-server", f"--timeout={timeout}s", timeout=timeout + 30)

    def webhook_admits(self, name):
        """A server-side dry-run create of a valid ClusterSPIFFEID NAME: the API server calls the
        webhook (failurePolicy Fail), so this fails when it cannot reach it or verify its certificate.
        (rc, output)."""
        path = self.work / f"{name}.json"
        path.write_text(json.dumps({
            "apiVersion": "spire.spiffe.io/v1alpha1", "kind": "ClusterSPIFFEID", "metadata": {"name": name},
            "spec": {"spiffeIDTemplate": "spiffe://{{ .TrustDomain }}/dry-run/{{ .PodMeta.Name }}",
                     "podSelector": {"matchLabels": {"app": name}}}}), encoding="utf-8")
        res = self.kubectl("create", "--dry-run=server", "-f", path, check=False)
        return res.returncode, res.stdout + res.stderr

    # ------------------------------------------------------------------- reports --
    def health(self, name, check_mode=False, kubeconfig=None):
        """health.yml through the kubernetes (pod exec) transport with KUBECONFIG or the admin one;
        (rc, report or None, output)."""
        report = self.work / f"health-{name}.json"
        report.unlink(missing_ok=True)
        extra = {"spire_kubeconfig": str(kubeconfig or self.kubeconfig), "health_report_path": str(report)}
        res = self.ansible(REPO / "playbooks" / "health.yml", extra, check=False,
                           args=["--check"] if check_mode else [])
        data = json.loads(report.read_text(encoding="utf-8")) if report.exists() else None
        return res.returncode, data, res.stdout + res.stderr


class Watch:
    """The watchers' counters (svid-watch on every node, fetching every second) from start() to
    finish(): finish() returns the fetches and failures in between, per pod and in total."""

    def __init__(self, lab):
        self.lab = lab
        self.before = None
        self.after = None

    def counters(self):
        """{pod: (uid, restarts, status)} of every watcher pod."""
        pods = self.lab.kubectl_json("get", "pods", "-l", "app=svid-watch", namespace=WATCH_NAMESPACE)["items"]
        out = {}
        for pod in pods:
            name = pod["metadata"]["name"]
            status = json.loads(self.lab.kubectl("exec", name, "--", "/usr/local/bin/svid-watch", "status",
                                                 "--status-file", "/tmp/status.json", namespace=WATCH_NAMESPACE).stdout)
            restarts = sum(c.get("restartCount", 0) for c in pod["status"].get("containerStatuses", []))
            out[name] = (pod["metadata"]["uid"], restarts, status)
        return out

    def start(self):
        """Take the first reading (every node has its watcher)."""
        self.before = self.counters()
        assert len(self.before) == SERVERS, f"expected a watcher on each of {SERVERS} nodes: {sorted(self.before)}"
        return self

    def wait_fetches(self, count, timeout=240):
        """Until every watcher has made COUNT more fetches since start()."""
        deadline = time.monotonic() + timeout
        while True:
            now = self.counters()
            behind = [name for name, (_uid, _restarts, status) in self.before.items()
                      if now.get(name, (0, 0, {"fetches": 0}))[2]["fetches"] < status["fetches"] + count]
            if not behind:
                return
            assert time.monotonic() < deadline, f"watchers {behind} made fewer than {count} fetches in {timeout} s"
            time.sleep(2)

    def finish(self):
        """The counts since start(), printed; the same watcher processes must have run throughout
        (uncovered: failures while the watcher's latest SVID had expired; longest_outage_s: the
        longest run of failures since the watcher started). Also
        what the watchers have seen since they started (bundle_root_skis: sets of bundle roots,
        svid_issuer_akis: the roots that signed the servers' CAs) and in their latest fetch
        (last: {pod: (roots, issuer)})."""
        after = self.counters()
        per_pod, errors = {}, []
        for name, (uid, restarts, status) in self.before.items():
            assert name in after and after[name][:2] == (uid, restarts), \
                f"watcher {name} was replaced or restarted: its counts are lost ({(uid, restarts)} -> {after.get(name)})"
            now = after[name][2]
            per_pod[name] = {"fetches": now["fetches"] - status["fetches"], "failures": now["failures"] - status["failures"],
                             "uncovered": now["uncovered"] - status["uncovered"],
                             "longest_outage_s": round(now["longest_outage_seconds"], 1)}
            if per_pod[name]["failures"]:
                errors.append(f"{name}: {now['last_error']}")
        stats = {"fetches": sum(p["fetches"] for p in per_pod.values()),
                 "failures": sum(p["failures"] for p in per_pod.values()),
                 "uncovered": sum(p["uncovered"] for p in per_pod.values()), "pods": per_pod, "errors": errors,
                 "bundle_root_skis": sorted({tuple(skis) for _u, _r, st in after.values() for skis in st["bundle_root_skis"]}),
                 "svid_issuer_akis": sorted({aki for _u, _r, st in after.values() for aki in st["svid_issuer_akis"]}),
                 "last": {name: (st["last_bundle_root_skis"], st["last_svid_issuer_aki"]) for name, (_u, _r, st) in after.items()}}
        print(f"watch: fetches {stats['fetches']}, failures {stats['failures']}, uncovered {stats['uncovered']}, per pod {per_pod}, errors {errors}")
        return stats
