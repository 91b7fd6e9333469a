"""playbooks/rotate_datastore_credentials.yml against the REAL data plane of its own lab (slot 6).

Brings up a lab of its own with tests/support/runbook_lab.py (state dir
~/.cache/ardur-spire/lab-rotate-db, ports of slot 6, each overridable by its environment
variable): deploy.yml and samples.yml, the real spire-server x3, agents and controller manager
(lab/dataplane.py, whose kubelet restarts a server when its Pod is replaced), PostgreSQL with
TLS (lab/postgres.sh: login role `spire` owning database `spire`, admin `spire_admin`), then,
in this order (the tests share the module's lab):

1. bad input (empty password, a DSN with sslmode=disable, the login in use) is refused naming
   the input; Secret spire-datastore byte-identical, no password in the output;
2. --check: the plan, and nothing written (Secret, StatefulSet, PostgreSQL roles);
3. the rotation spire -> spire_a through the admin connection, with `dataplane.py watch`
   (runbook_lab.Watch: workloads fetching and verifying SVIDs) and a thread sampling the three
   servers' `spire-server healthcheck` every 0.5 s: zero fetch failures, at least 2 of 3 servers
   healthy at every sample, every server process restarted, every datastore session of the
   servers as spire_a (pg_stat_activity), the old credentials refused by PostgreSQL, the new
   ones accepted, health.yml passes, no password in the -v output;
4. a rotation whose new credentials PostgreSQL refuses (connection test off, no admin): the
   first replica does not become healthy, the runbook restores the old Secret, rolls that
   replica back and fails saying so; the servers stay on spire_a, at least 2 of 3 healthy.

The lab is torn down at the end. Needs root and the lab binaries: skipped without them,
failed with ARDUR_SPIRE_REQUIRE_LAB=1.
"""

import re
import secrets
import subprocess
import sys
import threading
import time
from urllib.parse import quote

import pytest
import yaml

from lab_binaries import lab_binary  # tests/conftest.py puts tests/support on sys.path
from runbook_lab import REPO, SERVERS, RunbookLab, Watch, need_lab, run

NEW_LOGIN = "spire_a"
# Reserved characters that the DSN percent-encodes; NEW_TOKEN (in both forms) must never be printed.
NEW_TOKEN = secrets.token_hex(12)
NEW_PASSWORD = f"rot-{NEW_TOKEN}/+:@%"


class RotateLab(RunbookLab):
    """The lab and what only the datastore credential rotation tests need: PostgreSQL (vars, SQL,
    sessions, logins), the Secret and the StatefulSet, rotate_datastore_credentials.yml runs, timings."""

    def __init__(self, work):
        super().__init__("lab-rotate-db", 6, work)
        self.timings = {}

    def timed(self, name, started):
        """Record and print the seconds since STARTED under NAME."""
        self.timings[name] = time.monotonic() - started
        print(f"{name}: {self.timings[name]:.1f} s")

    # ------------------------------------------------------------------ lab facts --
    def pg_vars(self):
        """lab/postgres.sh's postgres_secret_* inputs."""
        return yaml.safe_load(self.pg_vars_file.read_text(encoding="utf-8"))

    def admin_vars(self):
        """lab/postgres.sh's admin connection (lab_postgres_admin_*)."""
        return yaml.safe_load((self.state / "postgres" / "admin_vars.yml").read_text(encoding="utf-8"))

    def secret(self):
        """Secret spire-datastore as the API returns it (resourceVersion, data)."""
        obj = self.kubectl_json("get", "secret", "spire-datastore")
        return {"resourceVersion": obj["metadata"]["resourceVersion"], "data": obj["data"],
                "annotations": obj["metadata"].get("annotations", {})}

    def statefulset(self):
        """StatefulSet spire-server: resourceVersion, pod template annotations, update strategy."""
        obj = self.kubectl_json("get", "statefulset", "spire-server")
        return {"resourceVersion": obj["metadata"]["resourceVersion"],
                "template_annotations": obj["spec"]["template"]["metadata"].get("annotations", {}),
                "updateStrategy": obj["spec"].get("updateStrategy")}

    def sql(self, query):
        """Rows of QUERY run as the PostgreSQL superuser (lab/postgres.sh sql)."""
        out = run(["bash", REPO / "lab" / "postgres.sh", "sql", query], self.env).stdout
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
        pods = self.dp / "pods"
        out = [subprocess.run(["ls", "-laR", pods / f"spire-server-{i}" / "volumes" / "datastore"], capture_output=True,
                              text=True, check=False).stdout for i in range(SERVERS)]
        log = self.dp / "logs" / "kubelet.log"
        out.append("\n".join(log.read_text(encoding="utf-8").splitlines()[-15:]) if log.exists() else "")
        return "\n--- evidence\n" + "\n".join(out)

    # ------------------------------------------------------------------- runbooks --
    def rotate_vars(self, **extra):
        """The runbook's inputs for this lab (transport local), plus EXTRA."""
        values = {
            "ansible_python_interpreter": sys.executable,
            "spire_kubeconfig": str(self.state / "kubeconfig"),
            "rotate_datastore_credentials_transport": "local",
            "rotate_datastore_credentials_spire_server_path": lab_binary("spire-server"),
            "rotate_datastore_credentials_server_sockets": self.server_sockets(),
            "rotate_datastore_credentials_timeout": 120,
            "rotate_datastore_credentials_report_path": str(self.work / "spire-rotate-datastore-credentials.json"),
        }
        values.update(extra)
        return values

    def admin_inputs(self):
        """The runbook's admin connection inputs (lab/postgres.sh's admin)."""
        admin = self.admin_vars()
        return {"rotate_datastore_credentials_admin_user": admin["lab_postgres_admin_user"],
                "rotate_datastore_credentials_admin_password": admin["lab_postgres_admin_password"],
                "rotate_datastore_credentials_admin_database": admin["lab_postgres_admin_database"],
                "rotate_datastore_credentials_admin_ca_file": admin["lab_postgres_admin_ca_file"]}

    def rotate(self, name, check_mode=False, **extra):
        """Run the runbook (-v), timed under NAME; (returncode, output)."""
        args = ["-v"] + (["--check"] if check_mode else [])
        started = time.monotonic()
        res = self.ansible("rotate_datastore_credentials.yml", self.rotate_vars(**extra), check=False, args=args)
        self.timed(name, started)
        return res.returncode, res.stdout + res.stderr

    def timed_health(self, name):
        """health.yml (runbook_lab's), timed; (returncode, report, output)."""
        started = time.monotonic()
        result = self.health(name)
        self.timed(f"health.yml ({name})", started)
        return result


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


def _roll_seconds(output):
    """Per-replica seconds from the summary line 'servers replaced or checked (ordinal: seconds): 2: 7.1, 1: 6.0, 0: 6.3'."""
    found = re.findall(r"servers replaced or checked \(ordinal: seconds\): ([^\"\n]*)", output)
    return found[-1].strip() if found else "?"


@pytest.fixture(name="rlab", scope="module")
def fixture_rlab(tmp_path_factory):
    """This test file's own lab, up for the module and torn down at its end."""
    need_lab()
    lab = RotateLab(tmp_path_factory.mktemp("rotate-db"))
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
    assert all(pids_before), pids_before
    watch, sampler = Watch(rlab, "rotation").start(), HealthSampler(rlab)
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
    assert all(pids_after), pids_after
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
    returncode, report, health_out = rlab.timed_health("after rotation")
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
    returncode, report, health_out = rlab.timed_health("after rollback")
    assert returncode == 0, health_out[-4000:] + rlab.volume_evidence()
    assert report["servers"]["healthy"] == SERVERS
