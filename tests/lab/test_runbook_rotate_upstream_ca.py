"""playbooks/rotate_upstream_ca.yml against the REAL SPIRE data plane of its own lab instance.

Brings up a lab of its own with tests/support/runbook_lab.py (slot 3: state dir
~/.cache/ardur-spire/lab-rotate-ca, its own ports, each overridable by its environment
variable), PostgreSQL, deploy.yml (with a 2m X.509-SVID TTL, so that the grace period the
runbook requires - at least one SVID lifetime - stays short) and samples.yml, and starts the
real spire-server x3, agents and controller manager (lab/dataplane.py, whose kubelet refreshes
mounted Secrets as a kubelet does). Then:

* bad input (grace shorter than the SVID TTL, a non-CA certificate, a negative wait, an unknown
  input) is refused naming the input, and the spire-upstream-ca Secret is unchanged;
* --check prints the plan and leaves the Secret byte-identical (same resourceVersion);
* a run stopped after the introduce phase (rotate_upstream_ca_stop_after) leaves both roots in
  bundle.crt, in every server's bundle and in the spire-bundle ConfigMap, the servers still
  signing with the old CA; the next run completes (switch, grace, retire);
* all along, `dataplane.py watch` (runbook_lab.Watch) fetches X.509-SVIDs on every node and
  verifies each against the bundle it came with: failures == 0 (else the agents' and the lab
  kubelet's last log lines are shown), fetches > 0; the server processes keep their pids (no
  restart);
* afterwards every server's active authority is signed by the new CA, `bundle show`, the
  ConfigMap and the Workload API bundle hold the new root and not the old one, SVIDs fetched
  then verify against the new root alone, the rotation state Secret is gone, health.yml passes,
  and deploy.yml run again keeps the rotated Secret as it is;
* a second rotation stopped after introduce is rolled back (rotate_upstream_ca_rollback) and
  spire-upstream-ca's data is exactly what it was.

Torn down at the end. Needs root and the lab binaries: skipped without them, failed with
ARDUR_SPIRE_REQUIRE_LAB=1.
"""

import base64
import datetime
import json
import os
import re
import sys
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from lab_binaries import lab_binary  # tests/conftest.py puts tests/support on sys.path
from runbook_lab import SERVERS, RunbookLab, Watch, need_lab

SVID_TTL = "2m"
GRACE = 120  # the runbook refuses less than the SVID TTL
STATE_SECRET = "spire-upstream-ca-rotation"


def pem_certs(text):
    """The certificates of a PEM text."""
    return x509.load_pem_x509_certificates(text.encode()) if "BEGIN CERTIFICATE" in (text or "") else []


def skid(cert):
    """The subject key identifier of CERT (hex)."""
    return cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest.hex()


class RotateLab(RunbookLab):
    """The lab (short SVID TTL) and what only the CA rotation tests need: the Secrets, the roots each
    server and the ConfigMap hold, the servers' active authority, rotate_upstream_ca.yml runs."""

    def __init__(self, work):
        super().__init__("lab-rotate-ca", 3, work, deploy_extra={"spire_server_default_x509_svid_ttl": SVID_TTL})

    def secret(self, name="spire-upstream-ca"):
        """Secret NAME as the API returns it, or None when it does not exist."""
        res = self.kubectl("get", "secret", name, "-o", "json", check=False)
        return json.loads(res.stdout) if res.returncode == 0 else None

    def configmap_roots(self):
        """Subject key ids of the roots in ConfigMap spire-bundle."""
        data = self.kubectl_json("get", "configmap", "spire-bundle")["data"]["bundle.crt"]
        return sorted(skid(c) for c in pem_certs(data))

    def server(self, index, *words):
        """spire-server WORDS against server INDEX (it must succeed); its stdout."""
        res = self.spire_server(index, *words)
        assert res.returncode == 0, f"spire-server {' '.join(words)} (server {index}): {res.stdout}{res.stderr}"
        return res.stdout

    def server_roots(self, index):
        """Subject key ids of the roots in server INDEX's bundle."""
        return sorted(skid(c) for c in pem_certs(self.server(index, "bundle", "show", "-format", "pem")))

    def active_upstream(self, index):
        """Subject key id of the upstream CA that signed server INDEX's active X.509 authority."""
        state = json.loads(self.server(index, "localauthority", "x509", "show", "-output", "json"))
        return state["active"]["upstream_authority_subject_key_id"]

    def log_tails(self, lines=15):
        """The last lines of the agents' and the lab kubelet's logs (for a failure message)."""
        out = []
        for log in sorted((self.dp / "logs").glob("spire-agent-*.log")) + [self.dp / "logs" / "kubelet.log"]:
            if log.exists():
                out.append(f"--- {log.name}\n" + "\n".join(log.read_text(encoding="utf-8").splitlines()[-lines:]))
        return "\n".join(out)

    def rotate(self, name, extra=None, check_mode=False, check=False):
        """Run rotate_upstream_ca.yml (transport local); (rc, seconds, output)."""
        values = {
            "ansible_python_interpreter": sys.executable,
            "spire_kubeconfig": str(self.state / "kubeconfig"),
            "rotate_upstream_ca_transport": "local",
            "rotate_upstream_ca_spire_server_path": lab_binary("spire-server"),
            "rotate_upstream_ca_server_sockets": self.server_sockets(),
            "rotate_upstream_ca_grace_seconds": GRACE,
            "rotate_upstream_ca_propagation_seconds": 10,
            "rotate_upstream_ca_volume_refresh_seconds": 5,
            "rotate_upstream_ca_timeout": 120,
            "rotate_upstream_ca_report_path": str(self.work / f"spire-rotate-ca-{name}.json"),
        }
        values.update(extra or {})
        self.work.mkdir(parents=True, exist_ok=True)
        t0 = time.monotonic()
        res = self.ansible("rotate_upstream_ca.yml", values, check=check, args=["--check"] if check_mode else [])
        seconds = time.monotonic() - t0
        out = res.stdout + res.stderr
        (self.work / f"rotate-{name}.log").write_text(out, encoding="utf-8")
        return res.returncode, seconds, out


def wait_fetches(watch, count, timeout=240):
    """Wait until WATCH (started) has made COUNT fetches; its counts so far."""
    deadline = time.monotonic() + timeout
    data = None
    while time.monotonic() < deadline:
        try:
            data = json.loads(watch.out.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = None
        if data and data["fetches"] >= count:
            return data
        assert watch.proc.poll() is None, f"dataplane.py watch exited: {watch.proc.stderr.read()[-3000:]}"
        time.sleep(1)
    raise AssertionError(f"watch made fewer than {count} fetches in {timeout}s: {data}")


def phases(out):
    """{phase: seconds} from the runbook's summary."""
    return {m.group(1): float(m.group(2)) for m in re.finditer(r"phase (\w+): ([0-9.]+) s", out)}


def write_leaf(directory):
    """A certificate that is not a CA (basicConstraints CA:FALSE), and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "not a CA")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "leaf.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "leaf.key").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                           serialization.NoEncryption()))
    os.chmod(directory / "leaf.key", 0o600)
    return directory / "leaf.crt", directory / "leaf.key"


@pytest.fixture(name="rotate_lab", scope="module")
def fixture_rotate_lab(tmp_path_factory):
    """This test file's own lab, up for the module and torn down at its end."""
    need_lab()
    lab = RotateLab(tmp_path_factory.mktemp("rotate-ca"))
    try:
        t0 = time.monotonic()
        lab.up()
        print(f"lab up, deploy, samples, data plane: {time.monotonic() - t0:.0f} s")
        yield lab
    finally:
        lab.down()


def _fingerprint(secret):
    return secret["metadata"]["resourceVersion"], secret["data"]


def test_bad_input_is_refused_before_any_write(rotate_lab):
    """Each bad input is named, and neither Secret is written."""
    before = _fingerprint(rotate_lab.secret())
    leaf_crt, leaf_key = write_leaf(rotate_lab.work / "leaf")
    cases = [
        ({"rotate_upstream_ca_grace_seconds": 30}, ["rotate_upstream_ca_grace_seconds=30", "default_x509_svid_ttl"]),
        ({"rotate_upstream_ca_cert_file": str(leaf_crt), "rotate_upstream_ca_key_file": str(leaf_key)},
         ["rotate_upstream_ca_cert_file", "not a CA"]),
        ({"rotate_upstream_ca_propagation_seconds": -1}, ["rotate_upstream_ca_propagation_seconds"]),
        ({"rotate_upstream_ca_grace": 600}, ["Unknown input", "rotate_upstream_ca_grace"]),
    ]
    for extra, words in cases:
        rc, seconds, out = rotate_lab.rotate("bad-" + next(iter(extra)), extra)
        print(f"bad input {extra}: rc={rc} in {seconds:.1f} s")
        assert rc != 0, out[-3000:]
        for word in words:
            assert word in out, (word, out[-3000:])
        assert "PRIVATE KEY" not in out
        assert _fingerprint(rotate_lab.secret()) == before
        assert rotate_lab.secret(STATE_SECRET) is None


def test_check_mode_shows_the_plan_and_writes_nothing(rotate_lab):
    before = _fingerprint(rotate_lab.secret())
    rc, seconds, out = rotate_lab.rotate("check", check_mode=True)
    print(f"--check took {seconds:.1f} s")
    assert rc == 0, out[-4000:]
    assert "Plan (check mode: nothing is written)" in out
    for phase in ("staged", "introduced", "switched", "retired"):
        assert f"  {phase}: " in out, phase
    assert _fingerprint(rotate_lab.secret()) == before
    assert rotate_lab.secret(STATE_SECRET) is None
    assert "PRIVATE KEY" not in out


def test_rotation_without_outage_interrupted_and_resumed(rotate_lab):
    """Stop after introduce, re-run to the end; SVIDs fetched and verified throughout, no restart."""
    lab = rotate_lab
    old_secret = lab.secret()
    old_crt = pem_certs(base64.b64decode(old_secret["data"]["tls.crt"]).decode())[0]
    old = skid(old_crt)
    pids = lab.server_pids()
    assert all(pids), pids
    assert lab.configmap_roots() == [old] and all(lab.active_upstream(i) == old for i in range(SERVERS))

    watch = Watch(lab, "rotation", interval=1).start()
    try:
        wait_fetches(watch, 3)
        rc, first_seconds, out = lab.rotate("introduce", {"rotate_upstream_ca_stop_after": "introduced"})
        assert rc == 0, out[-5000:]
        assert "PRIVATE KEY" not in out
        first = phases(out)
        print(f"run 1 (stop after introduced): {first_seconds:.1f} s, phases {first}")
        assert set(first) == {"staged", "introduced"}

        state = lab.secret(STATE_SECRET)
        assert state["metadata"]["annotations"]["spire.ardur.io/rotation-phase"] == "introduced"
        new = state["metadata"]["annotations"]["spire.ardur.io/rotation-new-subject-key-id"]
        assert new != old
        live = lab.secret()
        assert live["data"]["tls.crt"] == old_secret["data"]["tls.crt"]  # still signing with the old CA
        assert sorted(skid(c) for c in pem_certs(base64.b64decode(live["data"]["bundle.crt"]).decode())) == sorted([old, new])
        for i in range(SERVERS):
            assert set(lab.server_roots(i)) >= {old, new}, i
            assert lab.active_upstream(i) == old, i
        assert set(lab.configmap_roots()) >= {old, new}

        rc, second_seconds, out = lab.rotate("resume")
        assert rc == 0, out[-5000:]
        assert "PRIVATE KEY" not in out
        second = phases(out)
        print(f"run 2 (resumed): {second_seconds:.1f} s, phases {second} "
              f"(grace wait {re.search(r'includes ([0-9.]+) s of waiting', out).group(1)} s)")
        assert set(second) == {"switched", "retired"}
        time.sleep(3)  # a few more rounds after the retirement
    finally:
        counts = watch.finish()
    print(f"watch during the rotation: rounds={counts['rounds']} fetches={counts['fetches']} failures={counts['failures']} "
          f"bundles={counts['bundle_root_skis']} issuers={counts['svid_issuer_akis']} errors={counts['errors']}")
    assert counts["fetches"] > 0
    assert counts["failures"] == 0, f"{counts['errors']}\n{lab.log_tails()}"
    assert sorted([old, new]) in counts["bundle_root_skis"]  # workloads saw both roots
    assert old in counts["svid_issuer_akis"] and new in counts["svid_issuer_akis"]

    assert lab.server_pids() == pids, "a spire-server process was restarted"
    for i in range(SERVERS):
        assert lab.active_upstream(i) == new, i
        assert lab.server_roots(i) == [new], i
    assert lab.configmap_roots() == [new]
    live = lab.secret()
    assert skid(pem_certs(base64.b64decode(live["data"]["tls.crt"]).decode())[0]) == new
    assert [skid(c) for c in pem_certs(base64.b64decode(live["data"]["bundle.crt"]).decode())] == [new]
    assert lab.secret(STATE_SECRET) is None

    after = Watch(lab, "after", interval=1).start()  # SVIDs fetched now: bundle = the new root only, chains verify against it
    try:
        wait_fetches(after, 6)
    finally:
        counts = after.finish()
    print(f"watch after the rotation: fetches={counts['fetches']} failures={counts['failures']} "
          f"bundles={counts['bundle_root_skis']} issuers={counts['svid_issuer_akis']}")
    assert counts["failures"] == 0, f"{counts['errors']}\n{lab.log_tails()}"
    assert counts["bundle_root_skis"] == [[new]]
    assert counts["svid_issuer_akis"] == [new]

    rc, report, out = lab.health("after-rotation")
    assert rc == 0, out[-4000:]
    assert report["upstream_ca"]["subject_key_id"].replace(":", "").lower() == new

    # deploy.yml afterwards keeps the rotated CA (roles/upstream_ca checks the Secret, never replaces it).
    rotated = lab.secret()
    lab.deploy()
    assert _fingerprint(lab.secret()) == _fingerprint(rotated)


def test_rollback_before_the_switch_restores_the_secret(rotate_lab):
    lab = rotate_lab
    before = lab.secret()["data"]
    rc, _seconds, out = lab.rotate("second-introduce", {"rotate_upstream_ca_stop_after": "introduced"})
    assert rc == 0, out[-4000:]
    assert lab.secret()["data"]["bundle.crt"] != before["bundle.crt"]
    rc, seconds, out = lab.rotate("rollback", {"rotate_upstream_ca_rollback": True})
    print(f"rollback took {seconds:.1f} s")
    assert rc == 0, out[-4000:]
    assert "Rolled back" in out
    assert lab.secret()["data"] == before
    assert lab.secret(STATE_SECRET) is None
    current = skid(pem_certs(base64.b64decode(before["tls.crt"]).decode())[0])
    assert all(lab.active_upstream(i) == current for i in range(SERVERS))
