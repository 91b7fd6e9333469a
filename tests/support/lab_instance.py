"""A private lab instance (lab/lab.py + lab/postgres.sh) for the live tests and the benchmark.

Each user picks its own state dir and ports (environment overrides, with defaults given by
the caller) so it never touches the default lab (~/.cache/ardur-spire/lab, apiserver 16443)
that molecule uses.
"""

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LAB = REPO / "lab"

# Every port the lab scripts read, with the default lab's value (lab/lab.py, lab/postgres.sh,
# lab/dataplane.py); a private lab in slot N shifts them so no two labs share a port.
DEFAULT_PORTS = {
    "ARDUR_SPIRE_LAB_ETCD_PORT": 22379, "ARDUR_SPIRE_LAB_ETCD_PEER_PORT": 22380,
    "ARDUR_SPIRE_LAB_APISERVER_PORT": 16443, "ARDUR_SPIRE_LAB_KCM_PORT": 20257,
    "ARDUR_SPIRE_LAB_SCHEDULER_PORT": 20259, "ARDUR_SPIRE_LAB_KWOK_PORT": 20247,
    "ARDUR_SPIRE_LAB_PG_PORT": 25432,
}
DP_PORT_BASE = 28000  # the data plane uses BASE+81 .. BASE+179


def run(argv, env, timeout=900, check=True):
    """Run ARGV (niced) from the repo root; with CHECK, fail showing the tail of its output."""
    res = subprocess.run(["nice", "-n", "5"] + [str(a) for a in argv], cwd=REPO, env=env, capture_output=True,
                         text=True, timeout=timeout, check=False)
    if check and res.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, argv))} failed (rc={res.returncode})\n"
                             f"--- stdout\n{res.stdout[-6000:]}\n--- stderr\n{res.stderr[-3000:]}")
    return res


def private_lab(name, slot):
    """Defaults for a private lab: state dir ~/.cache/ardur-spire/NAME, ports of slot SLOT (1, 2, ...)."""
    defaults = {key: str(port + 100 * slot) for key, port in DEFAULT_PORTS.items()}
    defaults["ARDUR_SPIRE_LAB_DP_PORT_BASE"] = str(DP_PORT_BASE + 200 * slot)
    defaults["ARDUR_SPIRE_LAB_DIR"] = str(Path.home() / ".cache" / "ardur-spire" / name)
    return defaults


# A kubeconfig whose only cluster is a loopback port nothing listens on (discard, 9): the default
# context of every playbook run by the live tests, so a task that ignores spire_kubeconfig fails
# there instead of quietly reaching some other cluster.
DECOY_KUBECONFIG = """apiVersion: v1
kind: Config
clusters:
- name: decoy
  cluster: {server: "https://127.0.0.1:9", insecure-skip-tls-verify: true}
users:
- name: decoy
  user: {token: decoy}
contexts:
- name: decoy
  context: {cluster: decoy, user: decoy}
current-context: decoy
"""


def default_context_env(workdir, kubeconfig=None):
    """Environment making KUBECONFIG (the decoy, or KUBECONFIG) the default context of a playbook run."""
    if kubeconfig is None:
        kubeconfig = Path(workdir) / "decoy-kubeconfig"
        kubeconfig.parent.mkdir(parents=True, exist_ok=True)
        kubeconfig.write_text(DECOY_KUBECONFIG, encoding="utf-8")
    return {"KUBECONFIG": str(kubeconfig), "K8S_AUTH_KUBECONFIG": str(kubeconfig)}


RECAP = re.compile(r"^\S+\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


class LabInstance:
    """One lab: its environment, lifecycle, kubectl and ansible-playbook runs."""

    def __init__(self, defaults):
        """DEFAULTS: {ARDUR_SPIRE_LAB_DIR: ..., port vars: ...}; the environment wins."""
        self.env = dict(os.environ)
        for key, value in defaults.items():
            self.env[key] = os.environ.get(key, str(value))
        self.dir = Path(self.env["ARDUR_SPIRE_LAB_DIR"])
        self.env.update({
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_LOCALHOST_WARNING": "false",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
        })

    @property
    def kubeconfig(self):
        return self.dir / "kubeconfig"

    def run(self, argv, check=True, **kwargs):
        return subprocess.run([str(a) for a in argv], env=self.env, capture_output=True, text=True,
                              check=check, **kwargs)

    def up(self):
        for argv in (["nice", "python3", LAB / "lab.py", "up"], ["nice", LAB / "postgres.sh", "up"]):
            proc = self.run(argv, check=False, timeout=600)
            if proc.returncode != 0:
                raise RuntimeError("%s failed:\n%s%s" % (argv, proc.stdout[-3000:], proc.stderr[-3000:]))

    def down(self):
        self.run([LAB / "postgres.sh", "down"], check=False, timeout=300)
        self.run(["python3", LAB / "lab.py", "down"], check=False, timeout=300)

    # ------------------------------------------------------------------ inputs --
    def lab_vars(self):
        """The inputs of molecule/lab/inventory/hosts.yml, for this lab dir (a dict for -e)."""
        import yaml  # pylint: disable=import-outside-toplevel

        pg_vars = yaml.safe_load((self.dir / "postgres" / "postgres_secret_vars.yml").read_text(encoding="utf-8"))
        out = {k: v for k, v in pg_vars.items() if k.startswith("postgres_secret_")}
        out.update({
            "spire_kubeconfig": str(self.kubeconfig),
            "spire_trust_domain": "ardur.internal",
            "spire_cluster_name": "ardur",
            "registrations_webhook_enabled": False,
            "spire_server_verify_bundle": False,
        })
        return out

    def playbook_argv(self, workdir, extra=None, playbook="deploy.yml", args=()):
        """argv of ansible-playbook deploy.yml with the lab inputs plus EXTRA (JSON file, any value passes)."""
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        values = self.lab_vars()
        values.update(extra or {})
        vars_file = workdir / ("vars-%d.json" % time.monotonic_ns())
        vars_file.write_text(json.dumps(values), encoding="utf-8")
        vars_file.chmod(0o600)
        return ["ansible-playbook", "-i", "localhost,", "-c", "local",
                "-e", "ansible_python_interpreter=%s" % _python(),
                str(REPO / "playbooks" / playbook), "-e", "@%s" % vars_file, *args]

    def playbook(self, workdir, extra=None, args=(), env=None, timeout=900):
        full_env = dict(self.env, **default_context_env(workdir), **(env or {}))
        return subprocess.run(self.playbook_argv(workdir, extra, args=args), cwd=str(workdir), env=full_env,
                              capture_output=True, text=True, timeout=timeout, check=False)

    def popen_playbook(self, workdir, extra=None):
        """Start deploy.yml in its own process group (so it can be SIGKILLed as a whole)."""
        log = open(Path(workdir) / "interrupted.log", "w", encoding="utf-8")  # pylint: disable=consider-using-with
        return subprocess.Popen(self.playbook_argv(workdir, extra), cwd=str(workdir),
                                env=dict(self.env, **default_context_env(workdir)),
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    @staticmethod
    def kill_group(proc):
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)

    # ----------------------------------------------------------------- kubectl --
    def kubectl(self, *args, check=True, timeout=120):
        return self.run([LAB / "kubectl", *args], check=check, timeout=timeout)

    def kubectl_json(self, *args):
        return json.loads(self.kubectl(*args, "-o", "json").stdout)


def recap(output):
    """(ok, changed, unreachable, failed) of the PLAY RECAP line, or None."""
    found = RECAP.findall(output)
    return tuple(int(x) for x in found[-1]) if found else None


def changed_tasks(output):
    """The TASK headers of OUTPUT (default callback) followed by a changed result, in order."""
    tasks, task = [], None
    for line in output.splitlines():
        if line.startswith("TASK ["):
            task = line[len("TASK ["):].split("]")[0]
        elif line.startswith("changed: ") and task and task not in tasks:
            tasks.append(task)
    return tasks


def _python():
    import sys  # pylint: disable=import-outside-toplevel

    return sys.executable
