"""playbooks/recover_server.yml against the REAL SPIRE data plane of its own lab (docs/runbooks/recover_server.md).

Brings up a lab of its own with tests/support/runbook_lab.py (slot 8: state dir ~/.cache/ardur-spire/lab-recover,
ports of slot 8, each overridable by its environment variable), PostgreSQL, deploy.yml with a 3-minute server CA TTL
(and 30 s SVID TTLs, the strict ca_ttl/6 rule) so that a stopped replica's X.509 authority really expires within the
test, samples.yml, the real spire-server x3, agents and controller manager with the lab kubelet (lab/dataplane.py).
Then:

1. bad input (ordinal 7 of 3, a name that is not a server Pod) is refused, naming it, before anything changes;
2. PVC lost: spire-server-2's process killed, its volume's data removed and its PVC deleted (Terminating, kept
   by kubernetes.io/pvc-protection): the default diagnosis, ``--check`` and a run without
   recover_server_delete_pvc change nothing; the run with it replaces PVC and Pod: the replica is healthy with a
   new keys.json, its intermediate (from an SVID minted by it) verifies against the upstream CA with openssl, the
   old PV is Released and the new PVC bound to another, the other servers kept their pids, and
   `dataplane.py watch` (runbook_lab.Watch) counted no failed fetch during the recovery; a second run changes
   nothing;
3. with spire-server-1 down, acting on spire-server-2 is refused naming spire-server-1, unless forced (in check mode);
4. CA expired: spire-server-1 stays down longer than its CA TTL (every X.509 authority it had is expired), then
   the runbook replaces its Pod: a new authority signed by the upstream CA, SPIRE's log shows the journal's slots
   unusable as "slot expired", no failed fetch;
5. health.yml (transport local) passes.

Everything is torn down at the end. Needs root (mount namespaces) and the lab binaries: skipped without them,
failed with ARDUR_SPIRE_REQUIRE_LAB=1.
"""

import base64
import hashlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from lab_binaries import lab_binary  # tests/conftest.py puts tests/support on sys.path
from lab_instance import recap
from runbook_lab import SERVERS, RunbookLab, Watch, need_lab

CA_TTL_SECONDS = 180
# A short CA TTL, so that "down longer than its CA" fits in a test; the SVID TTLs follow the strict ca_ttl/6 rule.
SHORT_TTLS = {"spire_server_ca_ttl": "3m", "spire_server_default_x509_svid_ttl": "30s",
              "spire_server_default_jwt_svid_ttl": "30s"}


class RecoverLab(RunbookLab):
    """The lab (short CA TTL) and what only the recovery tests need: object uids, the upstream CA,
    chain verification, authorities, the KeyManager file, recover_server.yml runs and their timings."""

    def __init__(self, work):
        super().__init__("lab-recover", 8, work, deploy_extra=SHORT_TTLS)
        self.timings = {}
        self.server_1_stopped_at = None
        self.server_1_authorities = None

    def authorities(self, index):
        """`localauthority x509 show` of server INDEX (JSON)."""
        res = self.spire_server(index, "localauthority", "x509", "show", "-output", "json")
        assert res.returncode == 0, res.stdout + res.stderr
        return json.loads(res.stdout)

    def keys_digest(self, index):
        """SHA-256 of server INDEX's disk KeyManager file (never its content), or None when absent."""
        path = self.dp / "pvc" / f"data-spire-server-{index}" / "keys.json"
        return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None

    def uids(self):
        """{object: uid} of the server Pods and PVCs."""
        out = {}
        for kind in ("pod", "pvc"):
            for item in self.kubectl_json("get", kind)["items"]:
                name = item["metadata"]["name"]
                if "spire-server-" in name:
                    out[f"{kind}/{name}"] = item["metadata"]["uid"]
        return out

    def upstream_ca(self):
        """PEM of the upstream CA certificate (Secret spire-upstream-ca, tls.crt; never the key)."""
        secret = self.kubectl_json("get", "secret", "spire-upstream-ca")
        return base64.b64decode(secret["data"]["tls.crt"]).decode()

    def verify_chain(self, index):
        """Mint an X.509-SVID from server INDEX and verify its chain against the upstream CA with openssl.
        (intermediate subject key ID, intermediate authority key ID)."""
        with tempfile.TemporaryDirectory() as tmp:
            res = self.spire_server(index, "x509", "mint", "-spiffeID", "spiffe://ardur.internal/lab/recover-check",
                                    "-ttl", "30s", "-write", tmp)
            assert res.returncode == 0, res.stdout + res.stderr
            chain = (Path(tmp) / "svid.pem").read_text(encoding="utf-8")
            blocks = ["-----BEGIN CERTIFICATE-----" + b for b in chain.split("-----BEGIN CERTIFICATE-----")[1:]]
            (Path(tmp) / "leaf.pem").write_text(blocks[0], encoding="utf-8")
            (Path(tmp) / "untrusted.pem").write_text("".join(blocks[1:]), encoding="utf-8")
            (Path(tmp) / "upstream.pem").write_text(self.upstream_ca(), encoding="utf-8")
            (Path(tmp) / "intermediate.pem").write_text(blocks[1], encoding="utf-8")
            verify = subprocess.run(["openssl", "verify", "-CAfile", Path(tmp) / "upstream.pem", "-untrusted",
                                     Path(tmp) / "untrusted.pem", Path(tmp) / "leaf.pem"],
                                    capture_output=True, text=True, check=False)
            assert verify.returncode == 0, verify.stdout + verify.stderr
            text = subprocess.run(["openssl", "x509", "-in", Path(tmp) / "intermediate.pem", "-noout", "-ext",
                                   "subjectKeyIdentifier,authorityKeyIdentifier"],
                                  capture_output=True, text=True, check=True).stdout
        ids = [line.strip().replace(":", "").lower() for line in text.splitlines()
               if line.startswith("    ") and ":" in line]
        return ids[0], ids[1].removeprefix("keyid")

    # ---------------------------------------------------------------- runbooks --
    def recover(self, name, replica, check_mode=False, **inputs):
        """Run recover_server.yml (transport local) on REPLICA; (rc, report or None, seconds, output)."""
        report = self.work / f"recover-{name}.json"
        report.unlink(missing_ok=True)
        extra = {
            "ansible_python_interpreter": sys.executable,
            "spire_kubeconfig": str(self.state / "kubeconfig"),
            "recover_server_replica": replica,
            "recover_server_transport": "local",
            "recover_server_spire_server_path": lab_binary("spire-server"),
            "recover_server_server_sockets": self.server_sockets(),
            "recover_server_report_path": str(report),
            **inputs,
        }
        t0 = time.monotonic()
        res = self.ansible("recover_server.yml", extra, check=False, args=["--check"] if check_mode else [])
        seconds = time.monotonic() - t0
        self.timings[name] = round(seconds, 1)
        print(f"recover_server.yml {name}: rc={res.returncode}, {seconds:.1f} s")
        data = json.loads(report.read_text(encoding="utf-8")) if report.exists() else None
        return res.returncode, data, seconds, res.stdout + res.stderr


@pytest.fixture(name="rlab", scope="module")
def fixture_rlab(tmp_path_factory):
    """This test file's own lab, up for the module and torn down at its end."""
    need_lab()
    lab = RecoverLab(tmp_path_factory.mktemp("recover"))
    t0 = time.monotonic()
    try:
        lab.up()
        lab.timings["lab up + deploy + data plane"] = round(time.monotonic() - t0, 1)
        yield lab
    finally:
        lab.down()
        print(f"timings (s): {json.dumps(lab.timings)}")


def test_bad_input_is_refused_naming_it(rlab):
    """Ordinal 7 of 3, a name that is no server Pod and an unknown input are refused, naming them; nothing changes."""
    before = rlab.uids()
    rc, _report, _seconds, out = rlab.recover("ordinal-7", 7, recover_server_mode="recover")
    assert rc != 0
    assert "recover_server_replica=\"7\"" in out and "has 3 replica(s)" in out and "no ordinal 7" in out, out[-3000:]
    rc, _report, _seconds, out = rlab.recover("bad-name", "spire-agent-1", recover_server_mode="recover")
    assert rc != 0 and "recover_server_replica=\"spire-agent-1\" must be an ordinal" in out, out[-3000:]
    rc, _report, _seconds, out = rlab.recover("typo", 1, recover_server_mdoe="recover")
    assert rc != 0 and "Unknown input(s): recover_server_mdoe" in out, out[-3000:]
    assert rlab.uids() == before


def test_recover_lost_pvc(rlab):
    """spire-server-2's PVC lost: diagnosis, check mode and a run without confirmation change nothing; with
    recover_server_delete_pvc the PVC and Pod are replaced and the replica serves again with new keys."""
    before = rlab.uids()
    pids = dict(enumerate(rlab.server_pids()))
    keys_before = rlab.keys_digest(2)
    old_pv = rlab.kubectl_json("get", "pvc", "data-spire-server-2")["spec"]["volumeName"]
    assert keys_before and all(pids.values())

    # The loss: the process dies with its node's disk; the claim is deleted (kept Terminating by pvc-protection
    # while the Pod exists). In the lab the data plane keeps a claim's data in dataplane/pvc/<claim>.
    rlab.kill("spire-server-2")
    subprocess.run(["rm", "-rf", str(rlab.dp / "pvc" / "data-spire-server-2")], check=True)
    rlab.kubectl("delete", "pvc", "data-spire-server-2", "--wait=false")
    lost = rlab.uids()
    assert lost == before  # still there, Terminating

    watch = Watch(rlab, "pvc", interval=1).start()
    try:
        rc, report, _seconds, out = rlab.recover("pvc-diagnose", 2)
        assert rc == 0, out[-4000:]
        assert report["action"] == "none" and report["before"]["needs"] == "replace_pvc"
        assert report["before"]["pvc_lost"] and "is being deleted" in report["before"]["pvc_lost_reason"]
        assert report["before"]["server"]["healthy"] is False
        assert "Diagnose only, nothing is changed; recover_server_mode=recover would do: replace_pvc" in out
        assert rlab.uids() == lost and rlab.pid("spire-server-2") is None

        rc, report, _seconds, out = rlab.recover("pvc-check", 2, check_mode=True, recover_server_mode="recover",
                                                 recover_server_delete_pvc=True)
        assert rc == 0, out[-4000:]
        assert report is None  # check mode writes no report either
        assert "check mode: nothing is written" in out
        assert rlab.uids() == lost and rlab.pid("spire-server-2") is None

        rc, report, _seconds, out = rlab.recover("pvc-unconfirmed", 2, recover_server_mode="recover")
        assert rc != 0 and "Set recover_server_delete_pvc=true to confirm" in out, out[-4000:]
        assert rlab.uids() == lost and rlab.pid("spire-server-2") is None

        rc, report, seconds, out = rlab.recover("pvc-recover", 2, recover_server_mode="recover",
                                                recover_server_delete_pvc=True)
        print("\n".join(c["line"] for c in (report or {}).get("checks", [])))
        assert rc == 0, out[-6000:]
    finally:
        counts = watch.finish()
    print(f"PVC lost: recovery {report['seconds']} s (playbook {seconds:.1f} s); watch: {counts['rounds']} rounds, "
          f"{counts['fetches']} fetches, {counts['failures']} failures")
    rlab.timings["pvc recovery (act to verified)"] = float(report["seconds"])
    rlab.timings["pvc watch fetches/failures"] = f"{counts['fetches']}/{counts['failures']}"
    assert counts["failures"] == 0 and counts["fetches"] > 0, counts["errors"]

    assert report["action"] == "replace_pvc" and all(c["ok"] for c in report["checks"])
    after = rlab.uids()
    assert after["pod/spire-server-2"] != before["pod/spire-server-2"]
    assert after["pvc/data-spire-server-2"] != before["pvc/data-spire-server-2"]
    for other in (0, 1):
        assert after[f"pod/spire-server-{other}"] == before[f"pod/spire-server-{other}"]
        assert after[f"pvc/data-spire-server-{other}"] == before[f"pvc/data-spire-server-{other}"]
        assert rlab.server_pids()[other] == pids[other], f"spire-server-{other} was restarted"
    assert rlab.pid("spire-server-2") and rlab.pid("spire-server-2") != pids[2]
    keys_after = rlab.keys_digest(2)
    assert keys_after and keys_after != keys_before
    new_pvc = rlab.kubectl_json("get", "pvc", "data-spire-server-2")
    assert new_pvc["status"]["phase"] == "Bound" and new_pvc["spec"]["volumeName"] != old_pv
    assert rlab.kubectl_json("get", "pv", old_pv)["status"]["phase"] == "Released"  # reclaimPolicy Retain
    active = rlab.authorities(2)["active"]
    ski, aki = rlab.verify_chain(2)
    assert ski == active["authority_id"] and aki == report["after"]["upstream_ca_subject_key_id"]
    assert "PRIVATE KEY" not in out

    # Re-running converges: nothing to do, nothing changed, the replica verified.
    rc, report, _seconds, out = rlab.recover("pvc-again", 2, recover_server_mode="recover",
                                             recover_server_report_path="")
    assert rc == 0 and recap(out)[1] == 0, out[-4000:]
    assert rlab.uids() == after


def test_refuses_while_another_replica_is_down(rlab):
    """With spire-server-1 down, acting on spire-server-2 is refused naming spire-server-1; forced, it would act."""
    if rlab.pid("spire-server-1"):
        rlab.server_1_authorities = rlab.authorities(1)
        rlab.kill("spire-server-1")
        rlab.server_1_stopped_at = time.time()
    before = rlab.uids()
    rc, _report, _seconds, out = rlab.recover("refused", 2, recover_server_mode="recover",
                                              recover_server_action="replace_pod")
    assert rc != 0
    assert "Refusing to act on spire-server-2: only 1 other replica(s) healthy (spire-server-0); not healthy: spire-server-1" in out
    rc, report, _seconds, out = rlab.recover("forced-check", 2, check_mode=True, recover_server_mode="recover",
                                             recover_server_action="replace_pod", recover_server_force=True)
    assert rc == 0, out[-4000:]
    assert "WARNING: recover_server_force=true" in out
    assert rlab.uids() == before and rlab.pid("spire-server-2")


def test_recover_expired_ca(rlab):
    """spire-server-1 down longer than its CA TTL: the runbook replaces its Pod and SPIRE prepares a new
    X.509 authority from the upstream CA (its journal's slots all expired)."""
    if rlab.server_1_stopped_at is None:
        rlab.server_1_authorities = rlab.authorities(1)
        rlab.kill("spire-server-1")
        rlab.server_1_stopped_at = time.time()
    old = rlab.server_1_authorities
    # Any authority prepared before the stop expires at most one CA TTL after it.
    wait = rlab.server_1_stopped_at + CA_TTL_SECONDS + 10 - time.time()
    print(f"waiting {max(wait, 0):.0f} s for spire-server-1's X.509 authorities to expire")
    if wait > 0:
        time.sleep(wait)
    assert int(old["active"]["expires_at"]) < time.time()
    pids = dict(enumerate(rlab.server_pids()))
    before = rlab.uids()
    log = rlab.dp / "logs" / "spire-server-1.log"
    log_offset = log.stat().st_size

    watch = Watch(rlab, "ca", interval=1).start()
    try:
        rc, report, seconds, out = rlab.recover("ca-recover", "spire-server-1", recover_server_mode="recover")
        print("\n".join(c["line"] for c in (report or {}).get("checks", [])))
        assert rc == 0, out[-6000:]
    finally:
        counts = watch.finish()
    print(f"CA expired: recovery {report['seconds']} s (playbook {seconds:.1f} s); watch: {counts['rounds']} rounds, "
          f"{counts['fetches']} fetches, {counts['failures']} failures; stopped "
          f"{time.time() - rlab.server_1_stopped_at:.0f} s")
    rlab.timings["ca recovery (act to verified)"] = float(report["seconds"])
    rlab.timings["ca watch fetches/failures"] = f"{counts['fetches']}/{counts['failures']}"
    assert counts["failures"] == 0 and counts["fetches"] > 0, counts["errors"]

    assert report["before"]["needs"] == "replace_pod" and report["action"] == "replace_pod"
    assert all(c["ok"] for c in report["checks"])
    after = rlab.uids()
    assert after["pod/spire-server-1"] != before["pod/spire-server-1"]
    assert after["pvc/data-spire-server-1"] == before["pvc/data-spire-server-1"]  # the keys' volume is kept
    for other in (0, 2):
        assert after[f"pod/spire-server-{other}"] == before[f"pod/spire-server-{other}"]
        assert rlab.server_pids()[other] == pids[other], f"spire-server-{other} was restarted"
    new = rlab.authorities(1)["active"]
    assert new["authority_id"] != old["active"]["authority_id"] and int(new["expires_at"]) > time.time()
    ski, aki = rlab.verify_chain(1)
    assert ski == new["authority_id"] and aki == report["after"]["upstream_ca_subject_key_id"]
    # SPIRE itself found the journal (in the datastore) and every X.509 slot of it expired.
    records = [json.loads(line) for line in log.read_text(encoding="utf-8")[log_offset:].splitlines()
               if line.startswith("{")]
    unusable = {r.get("local_authority_id") for r in records if r.get("msg") == "X509CA slot unusable"
                and r.get("error") == "slot expired"}
    assert old["active"]["authority_id"] in unusable, unusable
    assert not any(r.get("msg") == "X509 CA activated" and r.get("local_authority_id") != new["authority_id"]
                   for r in records)


def test_health_passes_after_recovery(rlab):
    """health.yml (transport local) finds the deployment healthy after both recoveries."""
    rc, report, out = rlab.health("after-recovery")
    assert rc == 0, out[-4000:]
    assert report["servers"]["healthy"] == SERVERS and report["failed"] == []
