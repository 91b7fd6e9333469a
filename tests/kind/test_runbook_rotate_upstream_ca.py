"""playbooks/rotate_upstream_ca.yml against SPIRE in real pods (the session's kind cluster,
tests/kind/conftest.py: deploy.yml with a 2m X.509-SVID TTL, so that the grace period the runbook
requires, at least one SVID lifetime, stays short).

The runbook runs as users run it: the `kubernetes` transport (spire-server in each server pod,
through pods/exec) and the real kubelet re-publishing the mounted Secret (default
rotate_upstream_ca_volume_refresh_seconds). Then:

* bad input (grace shorter than the SVID TTL, a non-CA certificate, a negative wait, an unknown
  input) is refused naming the input, and the spire-upstream-ca Secret is unchanged;
* --check prints the plan and leaves the Secret byte-identical (same resourceVersion);
* a run stopped after the introduce phase (rotate_upstream_ca_stop_after) leaves both roots in
  bundle.crt, in every server's bundle and in the spire-bundle ConfigMap, the servers still
  signing with the old CA; the next run completes (switch, grace, retire);
* all along, the svid-watch pod on every node fetches an X.509-SVID every second and verifies it
  against the bundle it came with: failures == 0, fetches > 0, workloads saw both roots and SVIDs
  signed under the new one;
* no server restarts for the CA itself (staged, introduced and switched replace no pod); before
  retiring the old root the runbook replaces each server pod once, one at a time, so that every
  controller manager mints its webhook certificate under the new CA (it does so only at start and
  near expiry), and no container restarts;
* afterwards every server's active authority is signed by the new CA, `bundle show`, the
  ConfigMap and the Workload API bundle hold the new root and not the old one, the latest SVID
  of every watcher chains to the new root alone, the rotation state Secret is gone, the API server
  still calls the webhook successfully (a server-side dry-run create of a ClusterSPIFFEID), health.yml
  passes, and deploy.yml run again keeps the rotated Secret as it is;
* a second rotation stopped after introduce is rolled back (rotate_upstream_ca_rollback) and
  spire-upstream-ca's data is exactly what it was.
"""

import base64
import datetime
import json
import os
import re
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kind_lab import REPO, SERVERS, Watch  # tests/conftest.py puts tests/support on sys.path

GRACE = 120  # the runbook refuses less than the SVID TTL (2m, kind_lab.DEPLOY_EXTRA)
STATE_SECRET = "spire-upstream-ca-rotation"


def pem_certs(text):
    """The certificates of a PEM text."""
    return x509.load_pem_x509_certificates(text.encode()) if "BEGIN CERTIFICATE" in (text or "") else []


def skid(cert):
    """The subject key identifier of CERT (hex)."""
    return cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest.hex()


def configmap_roots(lab):
    """Subject key ids of the roots in ConfigMap spire-bundle."""
    data = lab.kubectl_json("get", "configmap", "spire-bundle")["data"]["bundle.crt"]
    return sorted(skid(c) for c in pem_certs(data))


def server_roots(lab, index):
    """Subject key ids of the roots in server INDEX's bundle."""
    return sorted(skid(c) for c in pem_certs(lab.spire_server(index, "bundle", "show", "-format", "pem")))


def active_upstream(lab, index):
    """Subject key id of the upstream CA that signed server INDEX's active X.509 authority."""
    state = json.loads(lab.spire_server(index, "localauthority", "x509", "show", "-output", "json"))
    return state["active"]["upstream_authority_subject_key_id"]


def server_incarnations(lab):
    """{pod: (uid, container restarts)}: changes when a server pod is replaced or a container restarts."""
    return {name: (pod["metadata"]["uid"], sum(c["restartCount"] for c in pod["status"]["containerStatuses"]))
            for name, pod in lab.server_pods().items()}


def rotate(lab, name, extra=None, check_mode=False):
    """Run rotate_upstream_ca.yml (transport kubernetes); (rc, seconds, output)."""
    values = {
        "spire_kubeconfig": str(lab.kubeconfig),
        "rotate_upstream_ca_grace_seconds": GRACE,
        "rotate_upstream_ca_propagation_seconds": 10,
        "rotate_upstream_ca_timeout": 180,
        "rotate_upstream_ca_report_path": str(lab.work / f"spire-rotate-ca-{name}.json"),
    }
    values.update(extra or {})
    t0 = time.monotonic()
    res = lab.ansible(REPO / "playbooks" / "rotate_upstream_ca.yml", values, check=False, args=["--check"] if check_mode else [])
    seconds = time.monotonic() - t0
    out = res.stdout + res.stderr
    (lab.work / f"rotate-{name}.log").write_text(out, encoding="utf-8")
    return res.returncode, seconds, out


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


def _fingerprint(secret):
    return secret["metadata"]["resourceVersion"], secret["data"]


def test_bad_input_is_refused_before_any_write(kind):
    """Each bad input is named, and neither Secret is written."""
    before = _fingerprint(kind.secret("spire-upstream-ca"))
    leaf_crt, leaf_key = write_leaf(kind.work / "leaf")
    cases = [
        ({"rotate_upstream_ca_grace_seconds": 30}, ["rotate_upstream_ca_grace_seconds=30", "default_x509_svid_ttl"]),
        ({"rotate_upstream_ca_cert_file": str(leaf_crt), "rotate_upstream_ca_key_file": str(leaf_key)},
         ["rotate_upstream_ca_cert_file", "not a CA"]),
        ({"rotate_upstream_ca_propagation_seconds": -1}, ["rotate_upstream_ca_propagation_seconds"]),
        ({"rotate_upstream_ca_grace": 600}, ["Unknown input", "rotate_upstream_ca_grace"]),
    ]
    for extra, words in cases:
        rc, seconds, out = rotate(kind, "bad-" + next(iter(extra)), extra)
        print(f"bad input {extra}: rc={rc} in {seconds:.1f} s")
        assert rc != 0, out[-3000:]
        for word in words:
            assert word in out, (word, out[-3000:])
        assert "PRIVATE KEY" not in out
        assert _fingerprint(kind.secret("spire-upstream-ca")) == before
        assert kind.secret(STATE_SECRET) is None


def test_check_mode_shows_the_plan_and_writes_nothing(kind):
    before = _fingerprint(kind.secret("spire-upstream-ca"))
    rc, seconds, out = rotate(kind, "check", check_mode=True)
    print(f"--check took {seconds:.1f} s")
    assert rc == 0, out[-4000:]
    assert "Plan (check mode: nothing is written)" in out
    for phase in ("staged", "introduced", "switched", "retired"):
        assert f"  {phase}: " in out, phase
    assert _fingerprint(kind.secret("spire-upstream-ca")) == before
    assert kind.secret(STATE_SECRET) is None
    assert "PRIVATE KEY" not in out


def test_rotation_without_outage_interrupted_and_resumed(kind):
    """Stop after introduce, re-run to the end; SVIDs fetched and verified throughout, no restart."""
    old_secret = kind.secret("spire-upstream-ca")
    old = skid(pem_certs(base64.b64decode(old_secret["data"]["tls.crt"]).decode())[0])
    servers = server_incarnations(kind)
    assert len(servers) == SERVERS, servers
    assert configmap_roots(kind) == [old] and all(active_upstream(kind, i) == old for i in range(SERVERS))

    watch = Watch(kind).start()
    try:
        rc, first_seconds, out = rotate(kind, "introduce", {"rotate_upstream_ca_stop_after": "introduced"})
        assert rc == 0, out[-5000:]
        assert "PRIVATE KEY" not in out
        first = phases(out)
        print(f"run 1 (stop after introduced): {first_seconds:.1f} s, phases {first}")
        assert set(first) == {"staged", "introduced"}

        assert server_incarnations(kind) == servers, "introducing the new root replaced or restarted a server"
        state = kind.secret(STATE_SECRET)
        assert state["metadata"]["annotations"]["spire.ardur.io/rotation-phase"] == "introduced"
        new = state["metadata"]["annotations"]["spire.ardur.io/rotation-new-subject-key-id"]
        assert new != old
        live = kind.secret("spire-upstream-ca")
        assert live["data"]["tls.crt"] == old_secret["data"]["tls.crt"]  # still signing with the old CA
        assert sorted(skid(c) for c in pem_certs(base64.b64decode(live["data"]["bundle.crt"]).decode())) == sorted([old, new])
        for i in range(SERVERS):
            assert set(server_roots(kind, i)) >= {old, new}, i
            assert active_upstream(kind, i) == old, i
        assert set(configmap_roots(kind)) >= {old, new}

        rc, second_seconds, out = rotate(kind, "resume")
        assert rc == 0, out[-5000:]
        assert "PRIVATE KEY" not in out
        second = phases(out)
        print(f"run 2 (resumed): {second_seconds:.1f} s, phases {second} "
              f"(grace wait {re.search(r'includes ([0-9.]+) s of waiting', out).group(1)} s)")
        assert set(second) == {"switched", "retired"}
        watch.wait_fetches(3)  # a few more rounds after the retirement
    finally:
        counts = watch.finish()
    assert counts["fetches"] > 0
    assert counts["failures"] == 0, counts["errors"]
    assert tuple(sorted([old, new])) in counts["bundle_root_skis"]  # workloads saw both roots
    assert new in counts["svid_issuer_akis"]  # and SVIDs signed under the new one

    # Each server pod replaced once for the webhook certificates (after the switch), no container restarted.
    replaced = server_incarnations(kind)
    assert sorted(replaced) == sorted(servers), replaced
    assert all(replaced[name][0] != servers[name][0] and replaced[name][1] == 0 for name in servers), (servers, replaced)
    template = kind.kubectl_json("get", "statefulset", "spire-server")["spec"]["template"]["metadata"]["annotations"]
    assert template["spire.ardur.io/rotation-signing-ca"] == new
    rc, webhook_out = kind.webhook_admits("ardur-dry-run")
    assert rc == 0, webhook_out
    for i in range(SERVERS):
        assert active_upstream(kind, i) == new, i
        assert server_roots(kind, i) == [new], i
    assert configmap_roots(kind) == [new]
    live = kind.secret("spire-upstream-ca")
    assert skid(pem_certs(base64.b64decode(live["data"]["tls.crt"]).decode())[0]) == new
    assert [skid(c) for c in pem_certs(base64.b64decode(live["data"]["bundle.crt"]).decode())] == [new]
    assert kind.secret(STATE_SECRET) is None

    # SVIDs fetched from now on: the bundle is the new root only, and the chain goes up to it.
    after = Watch(kind).start()
    try:
        after.wait_fetches(6)
    finally:
        counts = after.finish()
    assert counts["failures"] == 0, counts["errors"]
    assert all(roots == [new] and issuer == new for roots, issuer in counts["last"].values()), counts["last"]

    rc, report, out = kind.health("after-rotation")
    assert rc == 0, out[-4000:]
    assert report["upstream_ca"]["subject_key_id"].replace(":", "").lower() == new

    # deploy.yml afterwards keeps the rotated CA (roles/upstream_ca checks the Secret, never replaces it).
    rotated = kind.secret("spire-upstream-ca")
    kind.deploy()
    assert _fingerprint(kind.secret("spire-upstream-ca")) == _fingerprint(rotated)


def test_rollback_before_the_switch_restores_the_secret(kind):
    before = kind.secret("spire-upstream-ca")["data"]
    rc, _seconds, out = rotate(kind, "second-introduce", {"rotate_upstream_ca_stop_after": "introduced"})
    assert rc == 0, out[-4000:]
    assert kind.secret("spire-upstream-ca")["data"]["bundle.crt"] != before["bundle.crt"]
    rc, seconds, out = rotate(kind, "rollback", {"rotate_upstream_ca_rollback": True})
    print(f"rollback took {seconds:.1f} s")
    assert rc == 0, out[-4000:]
    assert "Rolled back" in out
    assert kind.secret("spire-upstream-ca")["data"] == before
    assert kind.secret(STATE_SECRET) is None
    current = skid(pem_certs(base64.b64decode(before["tls.crt"]).decode())[0])
    assert all(active_upstream(kind, i) == current for i in range(SERVERS))
