"""A private lab with the collection deployed and the REAL SPIRE data plane running, for the
runbook tests (tests/lab/test_runbook_*.py).

`RunbookLab(name, slot, work)`: up = lab/lab.py up, lab/postgres.sh up, deploy.yml and
samples.yml with the lab inputs (plus the test's own deploy inputs), lab/dataplane.py up (real
spire-server x3, agents, controller manager and the lab kubelet); down tears all of it down.
`Watch` runs `lab/dataplane.py watch` around a runbook: Workload API fetches on every node and
their failures. Needs root (mount namespaces) and the lab binaries: `need_lab()` skips without
them, and fails under ARDUR_SPIRE_REQUIRE_LAB=1.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lab_binaries import lab_binary
from lab_instance import default_context_env, private_lab, run

REPO = Path(__file__).resolve().parents[2]
BINARIES = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl", "etcd", "kwok",
            "spire-server", "spire-agent", "spire-controller-manager")
SERVERS = 3
NAMESPACE = "spire-system"


def need_lab():
    """Skip (or fail, with ARDUR_SPIRE_REQUIRE_LAB=1) when the lab cannot run here."""
    missing = [name for name in BINARIES if lab_binary(name) is None]
    if missing:
        pytest.skip(f"lab binaries not built (lab/build.sh): {', '.join(missing)}")
    if os.geteuid() != 0:
        if os.environ.get("ARDUR_SPIRE_REQUIRE_LAB") == "1":
            raise RuntimeError("the lab data plane needs root (mount namespaces) and ARDUR_SPIRE_REQUIRE_LAB=1")
        pytest.skip("the lab data plane needs root (mount namespaces)")


class RunbookLab:
    """One lab instance: its environment, lifecycle, playbook runs and the server processes."""

    def __init__(self, name, slot, work, deploy_extra=None):
        """NAME/SLOT: private_lab(); WORK: vars files (0600) and reports; DEPLOY_EXTRA: more deploy.yml inputs."""
        self.env = dict(os.environ)
        for key, value in private_lab(name, slot).items():
            self.env.setdefault(key, value)
        self.env.update({"ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0"})
        self.env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + self.env.get("PATH", "")
        self.state = Path(self.env["ARDUR_SPIRE_LAB_DIR"])
        if self.state == Path.home() / ".cache" / "ardur-spire" / "lab":
            pytest.fail("a runbook test must not use the default lab dir (molecule's): set ARDUR_SPIRE_LAB_DIR elsewhere")
        self.dp = self.state / "dataplane"
        self.work = work
        self.deploy_extra = dict(deploy_extra or {})
        self.playbook = [str(Path(sys.executable).parent / "ansible-playbook")]

    # ----------------------------------------------------------------- lifecycle --
    def python(self, script, *args, **kwargs):
        """Run lab/SCRIPT ARGS with this interpreter."""
        return run([sys.executable, REPO / "lab" / script] + list(args), self.env, **kwargs)

    def ansible(self, playbook, extra_vars, check=True, args=(), timeout=900):
        """Run playbooks/PLAYBOOK with EXTRA_VARS (a 0600 JSON file in the work dir)."""
        self.work.mkdir(parents=True, exist_ok=True)
        vars_file = self.work / f"{Path(playbook).stem}-vars-{time.monotonic_ns()}.json"
        vars_file.write_text(json.dumps(extra_vars), encoding="utf-8")
        os.chmod(vars_file, 0o600)
        # The default context is a decoy: every task must take this lab's spire_kubeconfig.
        return run(self.playbook + ["-i", "localhost,", "-c", "local", REPO / "playbooks" / playbook,
                                    "-e", f"@{vars_file}"] + list(args), {**self.env, **default_context_env(self.work)},
                   check=check, timeout=timeout)

    @property
    def pg_vars_file(self):
        """lab/postgres.sh's postgres_secret_* inputs (a vars file)."""
        return self.state / "postgres" / "postgres_secret_vars.yml"

    def deploy_vars(self):
        """deploy.yml's lab inputs (as molecule/lab/inventory/hosts.yml) plus the test's own."""
        return {
            "ansible_python_interpreter": sys.executable,
            "spire_kubeconfig": str(self.state / "kubeconfig"),
            "spire_trust_domain": "ardur.internal",
            "spire_cluster_name": "ardur",
            # No pod network: no webhook call, no SPIRE inside the pods to publish the bundle.
            "registrations_webhook_enabled": False,
            "spire_server_verify_bundle": False,
            **self.deploy_extra,
        }

    def deploy(self, playbook="deploy.yml", extra=None, check=True):
        """deploy.yml (or PLAYBOOK) with the lab inputs, the PostgreSQL vars file and EXTRA."""
        return self.ansible(playbook, {**self.deploy_vars(), **(extra or {})}, check=check,
                            args=["-e", f"@{self.pg_vars_file}"])

    def up(self):
        """Lab, PostgreSQL, deploy.yml, samples.yml, data plane (each idempotent)."""
        self.python("lab.py", "up")
        run(["bash", REPO / "lab" / "postgres.sh", "up"], self.env)
        self.deploy()
        self.deploy("samples.yml")
        self.python("dataplane.py", "up")

    def down(self):
        """Data plane, PostgreSQL and lab down (errors ignored: best effort)."""
        for argv in ([sys.executable, REPO / "lab" / "dataplane.py", "down"],
                     ["bash", REPO / "lab" / "postgres.sh", "down"],
                     [sys.executable, REPO / "lab" / "lab.py", "down"]):
            run(argv, self.env, check=False)

    # ------------------------------------------------------------------- servers --
    def server_socket(self, index):
        """Host path of server INDEX's admin socket (lab/dataplane.py mounts it there)."""
        return str(self.dp / "pods" / f"spire-server-{index}" / "volumes" / "server-socket" / "api.sock")

    def server_sockets(self):
        """Every server's admin socket, by ordinal."""
        return [self.server_socket(i) for i in range(SERVERS)]

    def pid(self, process):
        """Pid of lab process PROCESS (spire-server-0, spire-agent-lab-node-1...), or None when it does not run."""
        try:
            pid = int((self.dp / "run" / f"{process}.pid").read_text(encoding="utf-8").split()[0])
            stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
        except (OSError, ValueError, IndexError):
            return None
        return None if stat.rsplit(")", 1)[1].split()[0] == "Z" else pid

    def server_pids(self):
        """Pids of the servers, by ordinal (None: not running)."""
        return [self.pid(f"spire-server-{i}") for i in range(SERVERS)]

    def kill(self, process):
        """SIGKILL lab process PROCESS's group (a crash) and wait until it is gone."""
        pid = self.pid(process)
        assert pid, f"{process} is not running"
        os.killpg(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self.pid(process) == pid:
            time.sleep(0.2)
        assert self.pid(process) is None, f"{process} still runs"

    def spire_server(self, index, *args, timeout=60):
        """spire-server ARGS against server INDEX's admin socket (CompletedProcess, not checked)."""
        return run([lab_binary("spire-server"), *args, "-socketPath", self.server_socket(index)], self.env,
                   timeout=timeout, check=False)

    # ------------------------------------------------------------------- kubectl --
    def kubectl(self, *args, check=True):
        """lab/kubectl ARGS in the SPIRE namespace."""
        return run([REPO / "lab" / "kubectl", "-n", NAMESPACE, *args], self.env, timeout=120, check=check)

    def kubectl_json(self, *args):
        """lab/kubectl ARGS -o json in the SPIRE namespace, parsed."""
        return json.loads(self.kubectl(*args, "-o", "json").stdout)

    # ------------------------------------------------------------------- reports --
    def health(self, name, check_mode=False, spire_server=None, kubeconfig=None):
        """health.yml (transport local, this lab's sockets, the CLI SPIRE_SERVER or the lab's, KUBECONFIG or
        the lab's admin one); (rc, report or None, output)."""
        report = self.work / f"health-{name}.json"
        report.unlink(missing_ok=True)
        extra = {
            "ansible_python_interpreter": sys.executable,
            "spire_kubeconfig": str(kubeconfig or self.state / "kubeconfig"),
            "health_transport": "local",
            "health_spire_server_path": str(spire_server or lab_binary("spire-server")),
            "health_server_sockets": self.server_sockets(),
            "health_report_path": str(report),
        }
        res = self.ansible("health.yml", extra, check=False, args=["--check"] if check_mode else [])
        data = json.loads(report.read_text(encoding="utf-8")) if report.exists() else None
        return res.returncode, data, res.stdout + res.stderr


class Watch:
    """`lab/dataplane.py watch` from start() to finish() (SIGTERM): Workload API fetches on every node,
    each SVID verified against the bundle it came with; finish() returns the final counts."""

    def __init__(self, lab, name, interval=0.5):
        self.lab = lab
        self.out = lab.work / f"watch-{name}.json"
        self.interval = interval
        self.proc = None

    def start(self):
        """Start watching; return once a first round has completed."""
        self.out.unlink(missing_ok=True)
        self.proc = subprocess.Popen(  # pylint: disable=consider-using-with
            [sys.executable, str(REPO / "lab" / "dataplane.py"), "watch", "--out", str(self.out),
             "--interval", str(self.interval)], cwd=REPO, env=self.lab.env,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.out.exists() and json.loads(self.out.read_text(encoding="utf-8")).get("rounds", 0) > 0:
                return self
            if self.proc.poll() is not None:
                raise AssertionError(f"dataplane.py watch exited: {self.proc.stderr.read()[-3000:]}")
            time.sleep(0.5)
        raise AssertionError("dataplane.py watch did not complete a round within 180 s")

    def finish(self):
        """Stop watching (it must still be running); the final counts (printed)."""
        alive = self.proc.poll() is None
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=30)
        assert alive, f"dataplane.py watch died while watching: {self.proc.stderr.read()[-3000:]}"
        stats = json.loads(self.out.read_text(encoding="utf-8"))
        print(f"watch: rounds {stats['rounds']}, fetches {stats['fetches']}, failures {stats['failures']}, "
              f"per node {stats.get('nodes')}, last errors {stats['errors'][-3:]}")
        return stats
