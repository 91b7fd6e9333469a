"""playbooks/rotate_datastore_credentials.yml against SPIRE in real pods and the in-cluster PostgreSQL
(the session's kind cluster, tests/kind/conftest.py; PostgreSQL 15 with TLS, login role `spire` owning
database `spire`, admin `spire_admin` with CREATEROLE only: molecule/default/create.yml).

The runbook runs as users run it: the `kubernetes` transport for replica health, and its connection
tests and admin connection from the controller to a database whose DSN host (postgres.ardur-db.svc)
does not resolve there: it reaches it at a NodePort on a node of the lab
(rotate_datastore_credentials_connect_address: libpq hostaddr, TLS still verified against the
DSN's host name). In this order (the tests share the session's cluster):

1. bad input (empty password, a DSN with sslmode=disable, the login in use) is refused naming the
   input; Secret spire-datastore byte-identical, no password in the output;
2. --check: the plan, and nothing written (Secret, StatefulSet, PostgreSQL roles);
3. the rotation spire -> spire_a through the admin connection, with the svid-watch pods counting
   fetches and a thread sampling the three servers' `spire-server healthcheck` (pod exec): zero
   fetch failures, at least 2 of 3 servers healthy at every sample, every server pod replaced,
   every datastore session of the servers as spire_a (pg_stat_activity), the old credentials
   refused by PostgreSQL, the new ones accepted, health.yml passes, no password in the -v output;
4. a rotation whose new credentials PostgreSQL refuses (connection test off, no admin): the first
   replica does not become healthy, the runbook restores the old Secret, rolls that replica back
   and fails saying so; the servers stay on spire_a, at least 2 of 3 healthy.

The last test leaves the servers on spire_a, a working login: the next module starts from a healthy
deployment.
"""

import json
import re
import secrets
import subprocess
import threading
import time
from urllib.parse import quote

import pytest

from kind_lab import REPO, SERVERS, Watch  # tests/conftest.py puts tests/support on sys.path
from lab_instance import changed_tasks

NEW_LOGIN = "spire_a"
# The task of deploy.yml that may report a change with no content changed (see the rotation test).
OWNERSHIP_ONLY = "ardur.spire.spire : Apply the objects of spire_server"
# Reserved characters that the DSN percent-encodes; NEW_TOKEN (in both forms) must never be printed.
NEW_TOKEN = secrets.token_hex(12)
NEW_PASSWORD = f"rot-{NEW_TOKEN}/+:@%"
PG_NAMESPACE = "ardur-db"  # kind_postgres_namespace in the scenario's inventory
PG_HOST = f"postgres.{PG_NAMESPACE}.svc"
CONTROLLER_SERVICE = "postgres-controller"


class Postgres:
    """The scenario's PostgreSQL: its files (CA, passwords), SQL as the superuser (pod exec), and the
    controller's way in (a NodePort Service on a node of the lab)."""

    def __init__(self, lab):
        self.lab = lab
        self.dir = lab.work / "postgres"
        self.address = None

    def password(self, name):
        """The generated password NAME (spire, spire-admin) of create.yml."""
        return (self.dir / f"{name}-password").read_text(encoding="utf-8").strip()

    def open_way_in(self):
        """A NodePort Service to PostgreSQL and a node's address: the controller's way in (IP:PORT).

        (kubectl port-forward is not used: it exits at the first connection PostgreSQL resets.)"""
        path = self.lab.work / f"{CONTROLLER_SERVICE}.json"
        path.write_text(json.dumps({
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": CONTROLLER_SERVICE, "namespace": PG_NAMESPACE},
            "spec": {"type": "NodePort", "selector": {"app.kubernetes.io/name": "postgres"},
                     "ports": [{"name": "postgres", "port": 5432, "targetPort": "postgres"}]}}), encoding="utf-8")
        self.lab.kubectl("apply", "-f", path, namespace=PG_NAMESPACE)
        port = self.lab.kubectl_json("get", "service", CONTROLLER_SERVICE, namespace=PG_NAMESPACE)["spec"]["ports"][0]["nodePort"]
        node = self.lab.kubectl_json("get", "nodes")["items"][0]
        ip = next(a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP")
        self.address = f"{ip}:{port}"
        return self.address

    def close_way_in(self):
        self.lab.kubectl("delete", "service", CONTROLLER_SERVICE, "--ignore-not-found", namespace=PG_NAMESPACE, check=False)

    def sql(self, query):
        """Rows of QUERY run as the PostgreSQL superuser (psql over the pod's local socket)."""
        out = self.lab.kubectl("exec", "deploy/postgres", "--", "psql", "-h", "/tmp", "-U", "postgres", "-d", "postgres",
                               "-v", "ON_ERROR_STOP=1", "-At", "-F", "|", "-c", query, namespace=PG_NAMESPACE).stdout
        return [line.split("|") for line in out.splitlines() if line]

    def server_logins(self):
        """Logins of the client sessions on database spire (the servers are its only clients)."""
        return sorted(r[0] for r in self.sql("SELECT DISTINCT usename FROM pg_stat_activity "
                                             "WHERE datname = 'spire' AND backend_type = 'client backend' "
                                             "AND pid <> pg_backend_pid()"))

    def connects(self, user, password):
        """(True, '') when PostgreSQL accepts USER/PASSWORD over TLS (verify-full against PG_HOST), else (False, error)."""
        import psycopg2  # pylint: disable=import-outside-toplevel

        ip, port = self.address.split(":")
        try:
            conn = psycopg2.connect(host=PG_HOST, hostaddr=ip, port=port, dbname="spire", user=user, password=password,
                                    sslmode="verify-full", sslrootcert=str(self.dir / "ca.crt"), connect_timeout=10)
        except psycopg2.OperationalError as exc:
            return False, str(exc).strip()
        conn.close()
        return True, ""


class RotateRun:
    """The cluster and PostgreSQL as this module uses them: Secret, StatefulSet, runbook runs, timings."""

    def __init__(self, lab, pg):
        self.lab, self.pg = lab, pg
        self.timings = {}

    def timed(self, name, started):
        """Record and print the seconds since STARTED under NAME."""
        self.timings[name] = time.monotonic() - started
        print(f"{name}: {self.timings[name]:.1f} s")

    def secret(self):
        """Secret spire-datastore as the API returns it (resourceVersion, data)."""
        obj = self.lab.kubectl_json("get", "secret", "spire-datastore")
        return {"resourceVersion": obj["metadata"]["resourceVersion"], "data": obj["data"],
                "annotations": obj["metadata"].get("annotations", {})}

    def statefulset(self):
        """StatefulSet spire-server: resourceVersion, generation, pod template annotations, update strategy."""
        obj = self.lab.kubectl_json("get", "statefulset", "spire-server")
        return {"resourceVersion": obj["metadata"]["resourceVersion"], "generation": obj["metadata"]["generation"],
                "template_annotations": obj["spec"]["template"]["metadata"].get("annotations", {}),
                "updateStrategy": obj["spec"].get("updateStrategy")}

    def server_uids(self):
        """The server pods' UIDs by ordinal (a replaced pod has a new one)."""
        pods = self.lab.server_pods()
        return [pods.get(f"spire-server-{i}", {}).get("metadata", {}).get("uid") for i in range(SERVERS)]

    def admin_inputs(self):
        """The runbook's admin connection inputs (create.yml's spire_admin)."""
        return {"rotate_datastore_credentials_admin_user": "spire_admin",
                "rotate_datastore_credentials_admin_password": self.pg.password("spire-admin"),
                "rotate_datastore_credentials_admin_database": "postgres",
                "rotate_datastore_credentials_admin_ca_file": str(self.pg.dir / "ca.crt")}

    def rotate(self, name, check_mode=False, **extra):
        """Run the runbook (-v), timed under NAME; (returncode, output)."""
        values = {"spire_kubeconfig": str(self.lab.kubeconfig),
                  "rotate_datastore_credentials_connect_address": self.pg.address,
                  "rotate_datastore_credentials_timeout": 180,
                  "rotate_datastore_credentials_report_path": str(self.lab.work / "spire-rotate-datastore-credentials.json"),
                  **extra}
        started = time.monotonic()
        res = self.lab.ansible(REPO / "playbooks" / "rotate_datastore_credentials.yml", values, check=False,
                               args=["-v"] + (["--check"] if check_mode else []))
        self.timed(name, started)
        return res.returncode, res.stdout + res.stderr

    def timed_health(self, name):
        """health.yml, timed; (returncode, report, output)."""
        started = time.monotonic()
        result = self.lab.health(name)
        self.timed(f"health.yml ({name})", started)
        return result


class HealthSampler(threading.Thread):
    """`spire-server healthcheck` in every server pod, over and over; the number of healthy servers per sample."""

    def __init__(self, lab):
        super().__init__(daemon=True)
        self.lab = lab
        self.samples = []
        self.stop = threading.Event()

    def healthy(self, index):
        try:
            res = self.lab.kubectl("exec", f"spire-server-{index}", "-c", "spire-server", "--",
                                   "/opt/spire/bin/spire-server", "healthcheck", check=False, timeout=10)
        except subprocess.TimeoutExpired:
            return False
        return res.returncode == 0

    def run(self):
        while not self.stop.is_set():
            self.samples.append((time.monotonic(), sum(self.healthy(i) for i in range(SERVERS))))
            self.stop.wait(0.5)

    def finish(self):
        self.stop.set()
        self.join(timeout=60)
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
def fixture_rlab(kind):
    """The session's cluster with a way in to PostgreSQL for this module."""
    pg = Postgres(kind)
    pg.open_way_in()
    rot = RotateRun(kind, pg)
    try:
        yield rot
    finally:
        pg.close_way_in()
        print("timings: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in rot.timings.items()))


def _secret_dsn_sslmode_disable():
    return (f"postgresql://{NEW_LOGIN}:{quote(NEW_PASSWORD, safe='')}"
            f"@{PG_HOST}:5432/spire?sslmode=disable&connect_timeout=10")


@pytest.mark.parametrize("case", ["empty_password", "dsn_sslmode_disable", "login_in_use"])
def test_bad_input_is_refused_before_anything_is_written(rlab, case):
    """Each refused naming its input; Secret and StatefulSet unchanged; no password printed."""
    extra, names = {
        "empty_password": ({"rotate_datastore_credentials_password": ""}, ["rotate_datastore_credentials_password"]),
        "dsn_sslmode_disable": ({"rotate_datastore_credentials_dsn": _secret_dsn_sslmode_disable()},
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
    assert NEW_TOKEN not in output and rlab.pg.password("spire") not in output


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
    assert rlab.pg.sql(f"SELECT count(*) FROM pg_roles WHERE rolname = '{NEW_LOGIN}'") == [["0"]]
    assert rlab.pg.server_logins() == ["spire"]
    assert NEW_TOKEN not in output


def test_rotation_keeps_serving_and_revokes_the_old_login(rlab):
    """The promise: one replica at a time, never all down, SVIDs served throughout, old login revoked."""
    pg = rlab.pg
    old_password, admin_password = pg.password("spire"), pg.password("spire-admin")
    uids_before = rlab.server_uids()
    assert pg.server_logins() == ["spire"]
    assert all(uids_before), uids_before
    watch, sampler = Watch(rlab.lab).start(), HealthSampler(rlab.lab)
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
    # Every server pod was replaced, and the servers are on the new login only.
    uids_after = rlab.server_uids()
    assert all(uids_after), uids_after
    assert all(uids_after[i] != uids_before[i] for i in range(SERVERS)), (uids_before, uids_after)
    assert pg.server_logins() == [NEW_LOGIN]
    # PostgreSQL: the new login acts as the owner; the old one cannot log in any more.
    assert pg.sql(f"SELECT rolcanlogin, pg_has_role('{NEW_LOGIN}', 'spire', 'MEMBER') FROM pg_roles "
                  f"WHERE rolname = '{NEW_LOGIN}'") == [["t", "t"]]
    assert pg.sql("SELECT rolcanlogin, rolpassword IS NULL FROM pg_authid WHERE rolname = 'spire'") == [["f", "t"]]
    refused, error = pg.connects("spire", old_password)
    assert not refused, "the old credentials still connect"
    print(f"old credentials: {error.splitlines()[-1] if error else ''}")
    assert pg.connects(NEW_LOGIN, NEW_PASSWORD) == (True, "")
    # The Secret: the new login, no rotation under way; the pod template names the login.
    secret = rlab.secret()
    assert secret["annotations"].get("spire.ardur.io/datastore-rotation-from") is None
    assert secret["annotations"].get("spire.ardur.io/datastore-previous-login") == "spire"
    assert rlab.statefulset()["template_annotations"]["spire.ardur.io/datastore-login"] == NEW_LOGIN
    returncode, report, health_out = rlab.timed_health("after rotation")
    assert returncode == 0, health_out[-4000:]
    assert report["servers"]["healthy"] == SERVERS and report["datastore"]["reachable"] is True

    # A re-run with the same inputs resumes nothing and replaces nothing.
    returncode, output = rlab.rotate("re-run", rotate_datastore_credentials_password=NEW_PASSWORD, **rlab.admin_inputs())
    assert returncode == 0, output[-5000:]
    assert rlab.server_uids() == uids_after
    assert rlab.secret()["data"] == secret["data"]

    # deploy.yml with the deploy inputs of before (the revoked login): refused before anything is written,
    # naming the input. Written back, that login would fail the next server start.
    before = rlab.secret()
    failed = rlab.lab.ansible(REPO / "playbooks" / "deploy.yml", rlab.lab.deploy_inputs, check=False)
    assert failed.returncode != 0, failed.stdout[-3000:]
    assert "postgres_secret_user=spire is the login the runbook rotate_datastore_credentials moved" in failed.stdout, \
        failed.stdout[-3000:]
    assert rlab.secret() == before
    # The deploy inputs updated as the runbook tells users: deploy.yml renders exactly the Secret the runbook
    # wrote and changes no object's content (decision 7). The one change it may report is the StatefulSet's
    # field-ownership record, rewritten once after another field manager wrote (docs/runbooks/README.md).
    rlab.lab.deploy_inputs.update(postgres_secret_user=NEW_LOGIN, postgres_secret_password=NEW_PASSWORD)
    sts = rlab.statefulset()
    out = rlab.lab.deploy()
    assert set(changed_tasks(out)) <= {OWNERSHIP_ONLY}, changed_tasks(out)
    assert rlab.secret()["data"] == secret["data"]
    assert {k: v for k, v in rlab.statefulset().items() if k != "resourceVersion"} == \
        {k: v for k, v in sts.items() if k != "resourceVersion"}
    assert rlab.server_uids() == uids_after


def test_rollback_when_the_first_replica_fails(rlab):
    """New credentials PostgreSQL refuses (connection test off, no admin): first replica rolled back, run fails."""
    secret = rlab.secret()
    sampler = HealthSampler(rlab.lab)
    sampler.start()
    try:
        returncode, output = rlab.rotate("failed rotation + rollback", rotate_datastore_credentials_user="spire_b",
                                         rotate_datastore_credentials_password="not-the-password",
                                         rotate_datastore_credentials_connection_test=False,
                                         rotate_datastore_credentials_timeout=60)
    finally:
        counts = sampler.finish()
    assert returncode != 0, output[-5000:]
    assert "ROLLED BACK" in output and "spire-server-2" in output, output[-5000:]
    assert "not-the-password" not in output
    assert rlab.secret()["data"] == secret["data"]
    assert counts and min(counts) >= SERVERS - 1, counts
    rlab.lab.wait_servers_ready()
    assert rlab.pg.server_logins() == [NEW_LOGIN]
    returncode, report, health_out = rlab.timed_health("after rollback")
    assert returncode == 0, health_out[-4000:]
    assert report["servers"]["healthy"] == SERVERS
