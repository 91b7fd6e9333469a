"""playbooks/health.yml against the REAL SPIRE data plane of its own lab instance.

Brings up a lab of its own (state dir and ports below, each overridable by its environment
variable), PostgreSQL, runs deploy.yml and samples.yml with the lab's inputs, starts the real
spire-server x3, agents and controller manager (lab/dataplane.py), then:

* health.yml exits 0 and its JSON report says healthy: 3 servers, 3 agents = 3 nodes, bundle
  ConfigMap equal to the servers' bundle, positive expiry days;
* spire-server-1 killed (SIGKILL) -> health.yml exits non-zero and the report fails exactly
  the check `server spire-server-1 healthy`; `dataplane.py up` restores it and the report is
  healthy again.

Everything is torn down at the end (dataplane down, postgres down, lab down). Needs root (mount
namespaces) and the lab binaries: skipped without them, failed with ARDUR_SPIRE_REQUIRE_LAB=1.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lab_binaries import lab_binary  # tests/conftest.py puts tests/support on sys.path
from lab_instance import private_lab

REPO = Path(__file__).resolve().parents[2]

LAB_ENV_DEFAULTS = private_lab("lab-health", 2)
BINARIES = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl", "etcd", "kwok",
            "spire-server", "spire-agent", "spire-controller-manager")
SERVERS = 3


def _env():
    env = dict(os.environ)
    for key, value in LAB_ENV_DEFAULTS.items():
        env.setdefault(key, value)
    env["ANSIBLE_NOCOLOR"] = "1"
    env.setdefault("ANSIBLE_FORCE_COLOR", "0")
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    return env


def _run(argv, env, timeout=900, check=True):
    res = subprocess.run(["nice", "-n", "5"] + [str(a) for a in argv], cwd=REPO, env=env, capture_output=True,
                         text=True, timeout=timeout, check=False)
    if check and res.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, argv))} failed (rc={res.returncode})\n"
                             f"--- stdout\n{res.stdout[-6000:]}\n--- stderr\n{res.stderr[-3000:]}")
    return res


def _need_lab():
    """Skip (or fail, with ARDUR_SPIRE_REQUIRE_LAB=1) when the lab cannot run here."""
    missing = [name for name in BINARIES if lab_binary(name) is None]
    if missing:
        pytest.skip(f"lab binaries not built (lab/build.sh): {', '.join(missing)}")
    if os.geteuid() != 0:
        if os.environ.get("ARDUR_SPIRE_REQUIRE_LAB") == "1":
            raise RuntimeError("the lab data plane needs root (mount namespaces) and ARDUR_SPIRE_REQUIRE_LAB=1")
        pytest.skip("the lab data plane needs root (mount namespaces)")


class HealthLab:
    """One lab instance with the collection deployed and the real data plane running."""

    def __init__(self, work):
        self.env = _env()
        self.state = Path(self.env["ARDUR_SPIRE_LAB_DIR"])
        self.work = work  # vars files (0600) and the JSON reports; outlives `lab.py down`
        self.playbook = [str(Path(sys.executable).parent / "ansible-playbook")]

    def python(self, script, *args, **kwargs):
        """Run lab/SCRIPT ARGS with this interpreter."""
        return _run([sys.executable, REPO / "lab" / script] + list(args), self.env, **kwargs)

    def ansible(self, playbook, extra_vars, check=True, args=()):
        """Run playbooks/PLAYBOOK with EXTRA_VARS (a 0600 JSON file in the state dir)."""
        self.work.mkdir(parents=True, exist_ok=True)
        vars_file = self.work / f"{Path(playbook).stem}-vars.json"
        vars_file.write_text(json.dumps(extra_vars), encoding="utf-8")
        os.chmod(vars_file, 0o600)
        return _run(self.playbook + ["-i", "localhost,", "-c", "local", REPO / "playbooks" / playbook,
                                     "-e", f"@{vars_file}"] + list(args), self.env, check=check)

    def deploy_vars(self):
        """deploy.yml's lab inputs (as molecule/lab/inventory/hosts.yml) and the PostgreSQL vars file."""
        pg_vars = self.state / "postgres" / "postgres_secret_vars.yml"
        lab = {
            "ansible_python_interpreter": sys.executable,
            "spire_kubeconfig": str(self.state / "kubeconfig"),
            # No pod network: no webhook call, no SPIRE inside the pods to publish the bundle.
            "registrations_webhook_enabled": False,
            "spire_server_verify_bundle": False,
        }
        return lab, pg_vars

    def up(self):
        """Lab, PostgreSQL, deploy.yml, samples.yml, data plane (each idempotent)."""
        self.python("lab.py", "up")
        _run(["bash", REPO / "lab" / "postgres.sh", "up"], self.env)
        lab, pg_vars = self.deploy_vars()
        for playbook in ("deploy.yml", "samples.yml"):
            self.ansible(playbook, lab, args=["-e", f"@{pg_vars}"])
        self.python("dataplane.py", "up")

    def down(self):
        """Data plane, PostgreSQL and lab down (errors ignored: best effort)."""
        for argv in ([sys.executable, REPO / "lab" / "dataplane.py", "down"],
                     ["bash", REPO / "lab" / "postgres.sh", "down"],
                     [sys.executable, REPO / "lab" / "lab.py", "down"]):
            _run(argv, self.env, check=False)

    def server_socket(self, index):
        """Host path of server INDEX's admin socket (lab/dataplane.py mounts it there)."""
        return str(self.state / "dataplane" / "pods" / f"spire-server-{index}" / "volumes" / "server-socket" / "api.sock")

    def health(self, name, check_mode=False):
        """Run health.yml (transport local, the lab's sockets); (rc, report or None, seconds, output)."""
        report = self.work / f"{name}.json"
        if report.exists():
            report.unlink()
        extra = {
            "ansible_python_interpreter": sys.executable,
            "health_kubeconfig": str(self.state / "kubeconfig"),
            "health_transport": "local",
            "health_spire_server_path": lab_binary("spire-server"),
            "health_server_sockets": [self.server_socket(i) for i in range(SERVERS)],
            "health_report_path": str(report),
        }
        t0 = time.monotonic()
        res = self.ansible("health.yml", extra, check=False, args=["--check"] if check_mode else [])
        seconds = time.monotonic() - t0
        data = json.loads(report.read_text(encoding="utf-8")) if report.exists() else None
        return res.returncode, data, seconds, res.stdout + res.stderr

    def kill_server(self, index):
        """SIGKILL spire-server INDEX's process group and wait until it is gone."""
        pidfile = self.state / "dataplane" / "run" / f"spire-server-{index}.pid"
        pid = int(pidfile.read_text(encoding="utf-8").split()[0])
        os.killpg(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        proc = Path(f"/proc/{pid}")
        while time.monotonic() < deadline and proc.exists():
            try:
                if ") Z " in (proc / "stat").read_text(encoding="utf-8"):
                    break
            except OSError:
                break
            time.sleep(0.2)


@pytest.fixture(name="health_lab", scope="module")
def fixture_health_lab(tmp_path_factory):
    """This test file's own lab, up for the module and torn down at its end."""
    _need_lab()
    lab = HealthLab(tmp_path_factory.mktemp("health"))
    try:
        lab.up()
        yield lab
    finally:
        lab.down()


def test_health_healthy(health_lab):
    """A fresh deployment: every check passes and the JSON report says so."""
    rc, report, seconds, out = health_lab.health("healthy")
    print(f"health.yml took {seconds:.1f} s")
    assert rc == 0, out[-4000:]
    assert report["healthy"] is True and report["failed"] == [], report["failed"]
    assert report["servers"]["expected"] == SERVERS and report["servers"]["healthy"] == SERVERS
    assert report["datastore"]["reachable"] is True
    assert report["agents"]["nodes"] == 3 and report["agents"]["attested"] == 3 and report["agents"]["missing_nodes"] == []
    assert report["bundle"]["match"] is True and report["bundle"]["configmap_certificates"] >= 1
    assert report["upstream_ca"]["days_left"] > 0
    for server in report["servers"]["items"]:
        assert server["x509_authorities"]["active"]["seconds_left"] > 0, server
    assert report["entries"]["controller_manager_entries"] >= 3
    assert len(report["cluster_spiffe_ids"]) == 3
    assert report["controller_manager"]["leader_lease"]["age_seconds"] < 60
    text = json.dumps(report)
    assert "PRIVATE KEY" not in text and "BEGIN CERTIFICATE" not in text


def test_health_check_mode_writes_nothing(health_lab):
    """--check reads and checks everything but writes no report."""
    rc, report, _seconds, out = health_lab.health("check-mode", check_mode=True)
    assert rc == 0, out[-4000:]
    assert report is None
    assert "not written in check mode" in out


def test_health_names_a_dead_server(health_lab):
    """One server killed: non-zero exit naming exactly that server; healthy again once restarted."""
    health_lab.kill_server(1)
    try:
        rc, report, seconds, out = health_lab.health("server-1-down")
        print(f"health.yml (server 1 down) took {seconds:.1f} s")
        print("\n".join(c["line"] for c in report["checks"] if c["status"] != "ok"))
        assert rc != 0
        assert report["healthy"] is False
        assert report["failed"] == ["server spire-server-1 healthy"], report["failed"]
        assert "server spire-server-1 healthy" in out
    finally:
        health_lab.python("dataplane.py", "up")
    rc, report, _seconds, out = health_lab.health("restored")
    assert rc == 0, out[-4000:]
    assert report["servers"]["healthy"] == SERVERS
