"""playbooks/rotate_datastore_credentials.yml against the REAL data plane of its own lab (slot 6).

deploy.yml and samples.yml, the real spire-server x3, agents and controller manager
(lab/dataplane.py, whose kubelet restarts a server when its Pod is replaced), PostgreSQL with
TLS (lab/postgres.sh: login role `spire` owning database `spire`, admin `spire_admin`), then,
in this order (the tests share the module's lab):

1. bad input (empty password, a DSN with sslmode=disable, the login in use) is refused naming
   the input; Secret spire-datastore byte-identical, no password in the output;
2. --check: the plan, and nothing written (Secret, StatefulSet, PostgreSQL roles);
3. the rotation spire -> spire_a through the admin connection, with `dataplane.py watch`
   (workloads fetching and verifying SVIDs) and a thread sampling the three servers'
   `spire-server healthcheck` every 0.5 s: zero fetch failures, at least 2 of 3 servers
   healthy at every sample, every server process restarted, every datastore session of the
   servers as spire_a (pg_stat_activity), the old credentials refused by PostgreSQL, the new
   ones accepted, health.yml passes, no password in the -v output;
4. a rotation whose new credentials PostgreSQL refuses (connection test off, no admin): the
   first replica does not become healthy, the runbook restores the old Secret, rolls that
   replica back and fails saying so; the servers stay on spire_a, at least 2 of 3 healthy.

The lab is torn down at the end. Needs root and the lab binaries: skipped without them,
failed with ARDUR_SPIRE_REQUIRE_LAB=1.
"""

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml

from lab_binaries import lab_binary  # tests/conftest.py puts tests/support on sys.path
from lab_instance import private_lab

REPO = Path(__file__).resolve().parents[2]

LAB_ENV_DEFAULTS = private_lab("lab-rotate-db", 6)
BINARIES = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl", "etcd", "kwok",
            "spire-server", "spire-agent", "spire-controller-manager")
SERVERS = 3
NAMESPACE = "spire-system"
NEW_LOGIN = "spire_a"
# Reserved characters that the DSN percent-encodes; NEW_TOKEN (in both forms) must never be printed.
NEW_TOKEN = secrets.token_hex(12)
NEW_PASSWORD = f"rot-{NEW_TOKEN}/+:@%"


def _env():
    env = dict(os.environ)
    for key, value in LAB_ENV_DEFAULTS.items():
        env.setdefault(key, value)
    env["ANSIBLE_NOCOLOR"] = "1"
    env.setdefault("ANSIBLE_FORCE_COLOR", "0")
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
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


class RotateLab:
    """One lab instance with the collection deployed and the real data plane running (HealthLab's shape)."""

    def __init__(self, work):
        self.env = _env()
        self.state = Path(self.env["ARDUR_SPIRE_LAB_DIR"])
        self.work = work  # vars files (0600), watch file; outlives `lab.py down`
        self.playbook = [str(Path(sys.executable).parent / "ansible-playbook")]
        self.timings = {}

    def python(self, script, *args, **kwargs):
        """Run lab/SCRIPT ARGS with this interpreter."""
        return _run([sys.executable, REPO / "lab" / script] + list(args), self.env, **kwargs)

    def ansible(self, playbook, extra_vars, check=True, args=(), name=None):
        """Run playbooks/PLAYBOOK with EXTRA_VARS (a 0600 JSON file); timed under NAME."""
        self.work.mkdir(parents=True, exist_ok=True)
        vars_file = self.work / f"{Path(playbook).stem}-vars.json"
        vars_file.write_text(json.dumps(extra_vars), encoding="utf-8")
        os.chmod(vars_file, 0o600)
        started = time.monotonic()
        res = _run(self.playbook + ["-i", "localhost,", "-c", "local", REPO / "playbooks" / playbook,
                                    "-e", f"@{vars_file}"] + list(args), self.env, check=check)
        if name:
            self.timings[name] = time.monotonic() - started
            print(f"{name}: {self.timings[name]:.1f} s")
        return res

    def up(self):
        """Lab, PostgreSQL, deploy.yml, samples.yml, data plane (each idempotent)."""
        self.python("lab.py", "up")
        _run(["bash", REPO / "lab" / "postgres.sh", "up"], self.env)
        lab = {
            "ansible_python_interpreter": sys.executable,
            "spire_kubeconfig": str(self.state / "kubeconfig"),
            "registrations_webhook_enabled": False,
            "spire_server_verify_bundle": False,
        }
        for playbook in ("deploy.yml", "samples.yml"):
            self.ansible(playbook, lab, args=["-e", f"@{self.pg_vars_file}"])
        self.python("dataplane.py", "up")

    def down(self):
        """Data plane, PostgreSQL and lab down (errors ignored: best effort)."""
        for argv in ([sys.executable, REPO / "lab" / "dataplane.py", "down"],
                     ["bash", REPO / "lab" / "postgres.sh", "down"],
                     [sys.executable, REPO / "lab" / "lab.py", "down"]):
            _run(argv, self.env, check=False)

    # ------------------------------------------------------------------ lab facts --
    @property
    def pg_vars_file(self):
        return self.state / "postgres" / "postgres_secret_vars.yml"

    def pg_vars(self):
        return yaml.safe_load(self.pg_vars_file.read_text(encoding="utf-8"))

    def admin_vars(self):
        return yaml.safe_load((self.state / "postgres" / "admin_vars.yml").read_text(encoding="utf-8"))

    def server_socket(self, index):
        return str(self.state / "dataplane" / "pods" / f"spire-server-{index}" / "volumes" / "server-socket" / "api.sock")

    def server_pids(self):
        """{ordinal: pid} of the running spire-server processes."""
        run = self.state / "dataplane" / "run"
        return {i: int((run / f"spire-server-{i}.pid").read_text(encoding="utf-8").split()[0]) for i in range(SERVERS)}

    def kubectl_json(self, *args):
        return json.loads(_run([REPO / "lab" / "kubectl", *args, "-o", "json"], self.env).stdout)

    def secret(self):
        """Secret spire-datastore as the API returns it (resourceVersion, data)."""
        obj = self.kubectl_json("get", "secret", "-n", NAMESPACE, "spire-datastore")
        return {"resourceVersion": obj["metadata"]["resourceVersion"], "data": obj["data"],
                "annotations": obj["metadata"].get("annotations", {})}

    def statefulset(self):
        obj = self.kubectl_json("get", "statefulset", "-n", NAMESPACE, "spire-server")
        return {"resourceVersion": obj["metadata"]["resourceVersion"],
                "template_annotations": obj["spec"]["template"]["metadata"].get("annotations", {}),
                "updateStrategy": obj["spec"].get("updateStrategy")}

    def sql(self, query):
        """Rows of QUERY run as the PostgreSQL superuser (lab/postgres.sh sql)."""
        out = _run(["bash", REPO / "lab" / "postgres.sh", "sql", query], self.env).stdout
        return [line.split("|") for line in out.splitlines() if line]

    def server_logins(self):
        """Logins of the client sessions on database spire (the servers are its only clients)."""
        return sorted(r[0] for r in self.sql("SELECT DISTINCT usename FROM pg_stat_activity "
                                               "WHERE datname = 'spire' AND backend_type = 'client backend' "
                                               "AND pid <> pg_backend_pid()"))

    def connects(self, user, password):
        """(True, '') when PostgreSQL accepts USER/PASSWORD over TLS (verify-full), else (False, error)."""
        import psycopg2  # pylint: disable=import-outside-toplevel

        pg = self.pg_vars()
        try:
            conn = psycopg2.connect(host=pg["postgres_secret_host"], port=pg["postgres_secret_port"], dbname="spire",
                                    user=user, password=password, sslmode="verify-full",
                                    sslrootcert=pg["postgres_secret_ca_file"], connect_timeout=10)
        except psycopg2.OperationalError as exc:
            return False, str(exc).strip()
        conn.close()
        return True, ""

    def volume_evidence(self):
        """The servers' datastore volumes and the lab kubelet's last lines (for a failure message)."""
        pods = self.state / "dataplane" / "pods"
        out = [subprocess.run(["ls", "-laR", pods / f"spire-server-{i}" / "volumes" / "datastore"], capture_output=True,
                              text=True, check=False).stdout for i in range(SERVERS)]
        log = self.state / "dataplane" / "logs" / "kubelet.log"
        out.append("\n".join(log.read_text(encoding="utf-8").splitlines()[-15:]) if log.exists() else "")
        return "\n--- evidence\n" + "\n".join(out)

    def rotate_vars(self, **extra):
        """The runbook's inputs for this lab (transport local), plus EXTRA."""
        values = {
            "ansible_python_interpreter": sys.executable,
            "spire_kubeconfig": str(self.state / "kubeconfig"),
            "rotate_datastore_credentials_transport": "local",
            "rotate_datastore_credentials_spire_server_path": lab_binary("spire-server"),
            "rotate_datastore_credentials_server_sockets": [self.server_socket(i) for i in range(SERVERS)],
            "rotate_datastore_credentials_timeout": 120,
        }
        values.update(extra)
        return values

    def admin_inputs(self):
        admin = self.admin_vars()
        return {"rotate_datastore_credentials_admin_user": admin["lab_postgres_admin_user"],
                "rotate_datastore_credentials_admin_password": admin["lab_postgres_admin_password"],
                "rotate_datastore_credentials_admin_database": admin["lab_postgres_admin_database"],
                "rotate_datastore_credentials_admin_ca_file": admin["lab_postgres_admin_ca_file"]}

    def rotate(self, name, check_mode=False, **extra):
        """Run the runbook (-v); (returncode, output)."""
        args = ["-v"] + (["--check"] if check_mode else [])
        res = self.ansible("rotate_datastore_credentials.yml", self.rotate_vars(**extra), check=False, args=args, name=name)
        return res.returncode, res.stdout + res.stderr

    def health(self):
        """health.yml, transport local; (returncode, report, output)."""
        report = self.work / "health.json"
        extra = {
            "ansible_python_interpreter": sys.executable,
            "health_kubeconfig": str(self.state / "kubeconfig"),
            "health_transport": "local",
            "health_spire_server_path": lab_binary("spire-server"),
            "health_server_sockets": [self.server_socket(i) for i in range(SERVERS)],
            "health_report_path": str(report),
        }
        res = self.ansible("health.yml", extra, check=False, name="health.yml")
        data = json.loads(report.read_text(encoding="utf-8")) if report.exists() else None
        return res.returncode, data, res.stdout + res.stderr


class HealthSampler(threading.Thread):
    """`spire-server healthcheck` on every server every 0.5 s; the number of healthy servers per sample."""

    def __init__(self, lab):
        super().__init__(daemon=True)
        self.lab = lab
        self.samples = []
        self.stop = threading.Event()

    def healthy(self, index):
        try:
            res = subprocess.run([lab_binary("spire-server"), "healthcheck", "-socketPath", self.lab.server_socket(index)],
                                 capture_output=True, text=True, timeout=5, check=False)
        except subprocess.TimeoutExpired:
            return False
        return res.returncode == 0

    def run(self):
        while not self.stop.is_set():
            self.samples.append((time.monotonic(), sum(self.healthy(i) for i in range(SERVERS))))
            self.stop.wait(0.5)

    def finish(self):
        self.stop.set()
        self.join(timeout=30)
        counts = [n for _t, n in self.samples]
        summary = {n: counts.count(n) for n in sorted(set(counts))}
        print(f"health samples: {len(counts)}, minimum healthy servers {min(counts) if counts else None}, "
              f"samples by healthy count {summary}")
        return counts


class Watch:
    """`dataplane.py watch --out FILE` from start() to finish() (SIGTERM); its final counts."""

    def __init__(self, lab, name):
        self.lab = lab
        self.out = lab.work / f"watch-{name}.json"
        self.proc = None

    def start(self):
        if self.out.exists():
            self.out.unlink()
        self.proc = subprocess.Popen([sys.executable, REPO / "lab" / "dataplane.py", "watch", "--out", self.out,  # pylint: disable=consider-using-with
                                      "--interval", "0.5"], cwd=REPO, env=self.lab.env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.out.exists() and json.loads(self.out.read_text(encoding="utf-8")).get("rounds", 0) > 0:
                return
            if self.proc.poll() is not None:
                raise AssertionError(f"dataplane.py watch exited: {self.proc.stderr.read()[-3000:]}")
            time.sleep(0.5)
        raise AssertionError("dataplane.py watch did not complete a round within 180 s")

    def finish(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=30)
        stats = json.loads(self.out.read_text(encoding="utf-8"))
        print(f"watch: rounds {stats['rounds']}, fetches {stats['fetches']}, failures {stats['failures']}, "
              f"errors {stats['errors'][-3:]}")
        return stats


def _roll_seconds(output):
    """Per-replica seconds from the summary line 'servers replaced or checked (ordinal: seconds): 2: 7.1, 1: 6.0, 0: 6.3'."""
    found = re.findall(r"servers replaced or checked \(ordinal: seconds\): ([^\"\n]*)", output)
    return found[-1].strip() if found else "?"


@pytest.fixture(name="rlab", scope="module")
def fixture_rlab(tmp_path_factory):
    """This test file's own lab, up for the module and torn down at its end."""
    _need_lab()
    lab = RotateLab(tmp_path_factory.mktemp("rotate-db"))
    if str(lab.state) == str(Path.home() / ".cache" / "ardur-spire" / "lab"):
        pytest.fail("must not use the default lab dir (molecule's): set ARDUR_SPIRE_LAB_DIR elsewhere")
    started = time.monotonic()
    try:
        lab.up()
        lab.timings["lab up + deploy"] = time.monotonic() - started
        yield lab
    finally:
        lab.down()
        print("timings: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in lab.timings.items())
              + f"; whole module {time.monotonic() - started:.1f} s")


def _secret_dsn_sslmode_disable(lab):
    pg = lab.pg_vars()
    return (f"postgresql://{NEW_LOGIN}:{quote(NEW_PASSWORD, safe='')}"
            f"@{pg['postgres_secret_host']}:{pg['postgres_secret_port']}/spire?sslmode=disable&connect_timeout=10")


@pytest.mark.parametrize("case", ["empty_password", "dsn_sslmode_disable", "login_in_use"])
def test_bad_input_is_refused_before_anything_is_written(rlab, case):
    """Each refused naming its input; Secret and StatefulSet unchanged; no password printed."""
    extra, names = {
        "empty_password": ({"rotate_datastore_credentials_password": ""}, ["rotate_datastore_credentials_password"]),
        "dsn_sslmode_disable": ({"rotate_datastore_credentials_dsn": _secret_dsn_sslmode_disable(rlab)},
                                ["rotate_datastore_credentials_dsn", "sslmode"]),
        "login_in_use": ({"rotate_datastore_credentials_user": "spire", "rotate_datastore_credentials_password": NEW_PASSWORD},
                         ["rotate_datastore_credentials_user"]),
    }[case]
    secret, sts = rlab.secret(), rlab.statefulset()
    returncode, output = rlab.rotate(f"bad input ({case})", **extra)
    assert returncode != 0, output[-3000:]
    for name in names:
        assert name in output, f"{name} not named:\n{output[-3000:]}"
    assert "Nothing was changed" in output, output[-3000:]
    assert rlab.secret() == secret
    assert rlab.statefulset() == sts
    assert NEW_TOKEN not in output and rlab.pg_vars()["postgres_secret_password"] not in output


def test_check_mode_writes_nothing(rlab):
    """--check: the plan, every check, nothing written to the cluster or to PostgreSQL."""
    secret, sts = rlab.secret(), rlab.statefulset()
    returncode, output = rlab.rotate("check mode", check_mode=True, rotate_datastore_credentials_password=NEW_PASSWORD,
                                     **rlab.admin_inputs())
    assert returncode == 0, output[-5000:]
    assert "Would rotate (check mode, nothing is changed)" in output
    assert f"login: spire -> {NEW_LOGIN}" in output
    assert "Would have rotated (check mode, nothing was changed)" in output
    assert rlab.secret() == secret  # resourceVersion and every byte of data
    assert rlab.statefulset() == sts
    assert rlab.sql(f"SELECT count(*) FROM pg_roles WHERE rolname = '{NEW_LOGIN}'") == [["0"]]
    assert rlab.server_logins() == ["spire"]
    assert NEW_TOKEN not in output


def test_rotation_keeps_serving_and_revokes_the_old_login(rlab):
    """The promise: one replica at a time, never all down, SVIDs served throughout, old login revoked."""
    old_password = rlab.pg_vars()["postgres_secret_password"]
    admin_password = rlab.admin_vars()["lab_postgres_admin_password"]
    pids_before = rlab.server_pids()
    assert rlab.server_logins() == ["spire"]
    watch, sampler = Watch(rlab, "rotation"), HealthSampler(rlab)
    watch.start()
    sampler.start()
    try:
        returncode, output = rlab.rotate("rotation", rotate_datastore_credentials_password=NEW_PASSWORD, **rlab.admin_inputs())
    finally:
        counts = sampler.finish()
        stats = watch.finish()
    print(f"per-replica roll seconds: {_roll_seconds(output)}")
    assert returncode == 0, output[-6000:]
    assert stats["failures"] == 0, stats["errors"]
    assert stats["fetches"] > 0
    assert counts and min(counts) >= SERVERS - 1, counts
    # No secret in the -v output.
    for secret_value in (NEW_TOKEN, old_password, admin_password):
        assert secret_value not in output
    # Every server process was replaced, and the servers are on the new login only.
    pids_after = rlab.server_pids()
    assert all(pids_after[i] != pids_before[i] for i in range(SERVERS)), (pids_before, pids_after)
    assert rlab.server_logins() == [NEW_LOGIN]
    # PostgreSQL: the new login acts as the owner; the old one cannot log in any more.
    assert rlab.sql(f"SELECT rolcanlogin, pg_has_role('{NEW_LOGIN}', 'spire', 'MEMBER') FROM pg_roles "
                    f"WHERE rolname = '{NEW_LOGIN}'") == [["t", "t"]]
    assert rlab.sql("SELECT rolcanlogin, rolpassword IS NULL FROM pg_authid WHERE rolname = 'spire'") == [["f", "t"]]
    refused, error = rlab.connects("spire", old_password)
    assert not refused, "the old credentials still connect"
    print(f"old credentials: {error.splitlines()[-1] if error else ''}")
    assert rlab.connects(NEW_LOGIN, NEW_PASSWORD) == (True, "")
    # The Secret: the new login, no rotation under way; the pod template names the login.
    secret = rlab.secret()
    assert secret["annotations"].get("spire.ardur.io/datastore-rotation-from") is None
    assert rlab.statefulset()["template_annotations"]["spire.ardur.io/datastore-login"] == NEW_LOGIN
    returncode, report, health_out = rlab.health()
    assert returncode == 0, health_out[-4000:]
    assert report["servers"]["healthy"] == SERVERS and report["datastore"]["reachable"] is True

    # A re-run with the same inputs resumes nothing and restarts nothing.
    returncode, output = rlab.rotate("re-run", rotate_datastore_credentials_password=NEW_PASSWORD, **rlab.admin_inputs())
    assert returncode == 0, output[-5000:]
    assert rlab.server_pids() == pids_after
    assert rlab.secret()["data"] == secret["data"]


def test_rollback_when_the_first_replica_fails(rlab):
    """New credentials PostgreSQL refuses (connection test off, no admin): first replica rolled back, run fails."""
    secret = rlab.secret()
    sampler = HealthSampler(rlab)
    sampler.start()
    try:
        returncode, output = rlab.rotate("failed rotation + rollback", rotate_datastore_credentials_user="spire_b",
                                         rotate_datastore_credentials_password="not-the-password",
                                         rotate_datastore_credentials_connection_test=False,
                                         rotate_datastore_credentials_timeout=40)
    finally:
        counts = sampler.finish()
    assert returncode != 0, output[-5000:]
    assert "ROLLED BACK" in output and "spire-server-2" in output, output[-5000:]
    assert "not-the-password" not in output
    assert rlab.secret()["data"] == secret["data"]
    assert counts and min(counts) >= SERVERS - 1, counts
    assert rlab.server_logins() == [NEW_LOGIN]
    returncode, report, health_out = rlab.health()
    assert returncode == 0, health_out[-4000:] + rlab.volume_evidence()
    assert report["servers"]["healthy"] == SERVERS
