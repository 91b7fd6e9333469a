"""deploy.yml against the live lab API: bad input leaves the cluster untouched, an interrupted
converge finishes on re-run with the same state as an uninterrupted one, a re-run changes nothing."""

import datetime
import hashlib
import json
import subprocess
import time

import pytest
import lab_instance
from lab_instance import recap

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

MANAGER = "ardur-spire"
LABEL = "app.kubernetes.io/managed-by=ardur.spire"
NAMESPACE = "spire-system"


def write_cert(directory, name, *, is_ca=True, days=365, not_before_days=-1):
    """A self-signed EC certificate and key (PEM files): (cert_path, key_path)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "lab test %s" % name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + datetime.timedelta(days=not_before_days))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=not is_ca, content_commitment=False, key_encipherment=False, data_encipherment=False,
            key_agreement=False, key_cert_sign=is_ca, crl_sign=is_ca, encipher_only=False, decipher_only=False),
            critical=True)
        .sign(key, hashes.SHA256()))
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / ("%s.crt" % name), directory / ("%s.key" % name)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    key_path.chmod(0o600)
    return cert_path, key_path


# ------------------------------------------------------------------- cluster state --

def listable_kinds(lab):
    out = lab.kubectl("api-resources", "--verbs=list,get", "-o", "name").stdout.split()
    return [k for k in out if k not in ("events", "events.events.k8s.io", "componentstatuses")]


def owned_objects(lab):
    """Every object (any namespace, any kind) the collection wrote: its field manager or its labels."""
    items = lab.kubectl_json("get", ",".join(listable_kinds(lab)), "-A")["items"]
    found = []
    for obj in items:
        meta = obj["metadata"]
        managers = {m.get("manager") for m in meta.get("managedFields", [])}
        labelled = meta.get("labels", {}).get("app.kubernetes.io/managed-by") == "ardur.spire"
        # Endpoints copy their Service's labels but are the endpoint controller's (pod IPs, uids).
        derived = meta.get("ownerReferences") or obj["kind"] == "Endpoints"
        if MANAGER in managers or (labelled and not derived):
            found.append(obj)
    return found


def assert_nothing_created(lab):
    assert lab.kubectl("get", "namespace", NAMESPACE, check=False).returncode != 0, "namespace created"
    leftover = ["%s/%s" % (o["kind"], o["metadata"]["name"]) for o in owned_objects(lab)]
    assert leftover == [], "objects created despite the bad input: %s" % leftover


def _digest(value):
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()


def normalise(obj):
    """kind/ns/name -> the comparable part: spec/data/rules/... without server-populated fields."""
    meta = obj["metadata"]
    key = (obj["kind"], meta.get("namespace", ""), meta["name"])
    body = {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}
    body["labels"] = meta.get("labels", {})
    body["annotations"] = {k: v for k, v in meta.get("annotations", {}).items()
                           if not k.startswith(("deprecated.daemonset.template.generation",
                                                "deployment.kubernetes.io/"))}
    if obj["kind"] == "Secret":
        generated = meta["name"] == "spire-upstream-ca"  # a new CA on every fresh deploy
        body["data"] = {k: ("<generated>" if generated else _digest(v)) for k, v in body.get("data", {}).items()}
    if obj["kind"] == "Service":
        spec = body.get("spec", {})
        for field in ("clusterIP", "clusterIPs"):
            spec.pop(field, None)
    if obj["kind"] == "PersistentVolumeClaim":
        body.get("spec", {}).pop("volumeName", None)  # whichever free volume the binder picked
    if obj["kind"] == "CustomResourceDefinition":
        body.get("spec", {}).pop("conversion", None)
    return key, json.dumps(body, sort_keys=True)


def snapshot(lab):
    return dict(normalise(o) for o in owned_objects(lab))


def wipe(lab, timeout=240):
    """Delete the namespace and every cluster object the collection wrote; wait until gone."""
    cluster = ["%s/%s" % (o["kind"].lower() + ("." + o["apiVersion"].split("/")[0] if "/" in o["apiVersion"] else ""),
                          o["metadata"]["name"])
               for o in owned_objects(lab) if not o["metadata"].get("namespace") and o["kind"] != "Namespace"]
    lab.kubectl("delete", "namespace", NAMESPACE, "--ignore-not-found", "--wait=false")
    if cluster:
        lab.kubectl("delete", "--ignore-not-found", "--wait=false", *cluster)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if lab.kubectl("get", "namespace", NAMESPACE, check=False).returncode != 0 and not owned_objects(lab):
            # PersistentVolumes of the deleted claims are Released: make them Available again.
            lab.run(["python3", lab_instance.LAB / "lab.py", "release-pvs"])
            return
        time.sleep(2)
    pytest.fail("the lab did not get rid of %s within %ss" % (NAMESPACE, timeout))


@pytest.fixture
def clean_lab(lab):
    wipe(lab)
    return lab


# -------------------------------------------------------------------- bad inputs --

def _families_outside_trust_domain():
    return [{"name": "stray", "app": "stray", "container": "stray", "namespace": "ardur-agents",
             "service_account": "stray", "spiffe_id_template": "spiffe://other.example/agents/stray"}]


BAD_INPUTS = {
    "trust_domain": ({"spire_trust_domain": "Ardur.Internal"}, ["spire_trust_domain"]),
    "cluster_name_per_component": ({"spire_agent_cluster_name": "other"}, ["spire_agent_cluster_name"]),
    "sqlite_three_replicas": ({"spire_server_datastore_type": "sqlite3"},
                              ["spire_server_datastore_type", "spire_server_replicas"]),
    "weak_dsn": ({"postgres_secret_sslmode": "require"}, ["postgres_secret_sslmode"]),
    "registration_outside_trust_domain": ({"registrations_families": _families_outside_trust_domain()},
                                          ["registrations_families[0].spiffe_id_template", "trust domain"]),
    "unknown_role_input": ({"spire_server_replicaz": 5}, ["spire_server_replicaz"]),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_creates_nothing(clean_lab, tmp_path, case):
    extra, names = BAD_INPUTS[case]
    proc = clean_lab.playbook(tmp_path, extra)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output[-3000:]
    for name in names:
        assert name in output, "%s not named in:\n%s" % (name, output[-3000:])
    assert "Phase 2" not in output, "reached the apply phase:\n%s" % output[-3000:]
    assert_nothing_created(clean_lab)


@pytest.mark.parametrize("kind", ["expired", "not_a_ca"])
def test_bad_upstream_ca_creates_nothing(clean_lab, tmp_path, kind):
    if kind == "expired":
        cert, key = write_cert(tmp_path / "ca", kind, days=-1, not_before_days=-30)
        message = "not valid now"
    else:
        cert, key = write_cert(tmp_path / "ca", kind, is_ca=False)
        message = "not a CA"
    proc = clean_lab.playbook(tmp_path, {"upstream_ca_cert_file": str(cert), "upstream_ca_key_file": str(key)})
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output[-3000:]
    assert "upstream_ca_cert_file" in output and message in output, output[-3000:]
    assert "Phase 2" not in output, output[-3000:]
    assert_nothing_created(clean_lab)


# ---------------------------------------------------------- converge and re-runs --

def _deploy_ok(lab, workdir):
    proc = lab.playbook(workdir)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    return recap(proc.stdout)


def test_interrupted_converge_ends_like_an_uninterrupted_one(clean_lab, tmp_path):
    lab = clean_lab
    # Reference: an uninterrupted deploy, and its re-run changes nothing.
    _deploy_ok(lab, tmp_path / "ref")
    rerun = _deploy_ok(lab, tmp_path / "ref")
    assert rerun[1] == 0, "re-run of an uninterrupted deploy reported changed=%d" % rerun[1]
    reference = snapshot(lab)
    assert (("Namespace", "", NAMESPACE) in reference and ("Secret", NAMESPACE, "spire-datastore") in reference)

    wipe(lab)
    work = tmp_path / "interrupted"
    work.mkdir()
    proc = lab.popen_playbook(work)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            if lab.kubectl("get", "secret", "-n", NAMESPACE, "spire-datastore", check=False).returncode == 0:
                break
            time.sleep(0.2)
        assert proc.poll() is None, "deploy.yml ended before it could be interrupted:\n%s" % (
            (work / "interrupted.log").read_text(encoding="utf-8")[-3000:])
    finally:
        if proc.poll() is None:
            lab.kill_group(proc)
    partial = snapshot(lab)
    assert partial != reference, "the kill came too late: everything was already applied"

    _deploy_ok(lab, work)
    resumed = snapshot(lab)
    assert sorted(resumed) == sorted(reference)
    differ = [key for key in reference if reference[key] != resumed[key]]
    assert differ == [], "objects differ after the interrupted converge: %s\n%s" % (
        differ, "\n".join("%s\n  ref: %s\n  got: %s" % (k, reference[k][:800], resumed[k][:800]) for k in differ[:3]))
    again = _deploy_ok(lab, work)
    assert again[1] == 0, "re-run after the interrupted converge reported changed=%d" % again[1]


# ------------------------------------------------------------------ the right cluster --

USER_PLAY = """---
# A platform team's own play: the collection's roles included directly, no module_defaults,
# the target cluster given only by spire_kubeconfig.
- name: Our platform, with SPIRE
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: The SPIRE namespace
      ansible.builtin.include_role:
        name: ardur.spire.spire
        tasks_from: "{{ item }}"
      loop: [render, apply]

    - name: The components
      ansible.builtin.include_role:
        name: "ardur.spire.{{ item }}"
      loop: [postgres_secret, upstream_ca, registrations, spire_server, spire_agent, csi_driver]
"""


@pytest.fixture
def second_lab():
    """Another API server (no PostgreSQL: the deploy only writes the Secret that points at one)."""
    other = lab_instance.LabInstance(lab_instance.private_lab("lab-second", 9))
    other.run(["nice", "python3", lab_instance.LAB / "lab.py", "up"], timeout=600)
    try:
        yield other
    finally:
        other.run(["python3", lab_instance.LAB / "lab.py", "down"], check=False, timeout=300)


def test_roles_in_a_user_play_reach_only_the_named_cluster(clean_lab, second_lab, tmp_path):
    """The default context is a live API server (the lab); spire_kubeconfig names the second one."""
    play = tmp_path / "platform.yml"
    play.write_text(USER_PLAY, encoding="utf-8")
    argv = clean_lab.playbook_argv(tmp_path, {"spire_kubeconfig": str(second_lab.kubeconfig)})
    argv[argv.index(str(lab_instance.REPO / "playbooks" / "deploy.yml"))] = str(play)
    env = dict(clean_lab.env, **lab_instance.default_context_env(tmp_path, clean_lab.kubeconfig))
    proc = subprocess.run(argv, cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=900, check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]

    landed = {(o["kind"], o["metadata"]["name"]) for o in owned_objects(second_lab)}
    for want in [("Namespace", NAMESPACE), ("Secret", "spire-datastore"), ("Secret", "spire-upstream-ca"),
                 ("StatefulSet", "spire-server"), ("DaemonSet", "spire-agent"), ("DaemonSet", "spiffe-csi-driver"),
                 ("CSIDriver", "csi.spiffe.io"), ("ConfigMap", "spire-bundle"),
                 ("CustomResourceDefinition", "clusterspiffeids.spire.spiffe.io")]:
        assert want in landed, "%s/%s not in the named cluster; there: %s" % (want + (sorted(landed),))
    assert "ClusterSPIFFEID" in {kind for kind, name in landed}, sorted(landed)
    assert_nothing_created(clean_lab)

    # The read-only runbooks follow spire_kubeconfig too: they see the second cluster's objects.
    for playbook, extra, args in (("uninstall.yml", {}, ["--check"]),
                                  # No SPIRE in kwok pods: the CLI is /bin/false, the API reads are real.
                                  ("health.yml", {"health_report_path": str(tmp_path / "health.json"),
                                                  "health_transport": "local", "health_spire_server_path": "/bin/false",
                                                  "health_server_sockets": ["/nonexistent/%d.sock" % i for i in range(3)]},
                                   [])):
        argv = clean_lab.playbook_argv(tmp_path, {"spire_kubeconfig": str(second_lab.kubeconfig), **extra},
                                       playbook=playbook, args=args)
        proc = subprocess.run(argv, cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=900,
                              check=False)
        output = proc.stdout + proc.stderr
        if playbook == "uninstall.yml":
            assert proc.returncode == 0, output[-4000:]
            assert "Would delete (check mode)" in output and "StatefulSet %s/spire-server" % NAMESPACE in output, \
                output[-4000:]
        else:
            # Unhealthy (no SPIRE answers), but what it read is the second cluster's: 3 replicas.
            report = json.loads((tmp_path / "health.json").read_text(encoding="utf-8"))
            assert proc.returncode != 0 and report["status"] == "unhealthy", report
            assert report["servers"]["expected"] == 3 and report["trust_domain"] == "ardur.internal", report
    assert_nothing_created(clean_lab)


# ----------------------------------------------------------------------- check mode --

def test_check_mode_on_an_empty_cluster_shows_everything_and_writes_nothing(clean_lab, tmp_path):
    started = time.monotonic()
    proc = clean_lab.playbook(tmp_path, args=["--check", "--diff"])
    seconds = time.monotonic() - started
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    print("deploy.yml --check --diff on an empty cluster: %.1f s, recap %s" % (seconds, recap(proc.stdout)))
    assert recap(proc.stdout)[1] > 0, "an empty cluster and no change announced"
    # Dry-run where the API server can (cluster-scoped objects), announced where it cannot yet.
    for shown in ("StatefulSet spire-server", "DaemonSet spire-agent", "Secret spire-datastore",
                  "Secret spire-upstream-ca", "ConfigMap spire-bundle", "ClusterSPIFFEID", '"kind": "StatefulSet"'):
        assert shown in output, "%r not shown:\n%s" % (shown, output[-4000:])
    for secret in ("PRIVATE KEY", clean_lab.lab_vars()["postgres_secret_password"]):
        assert secret not in output, "secret material shown in check mode"
    assert_nothing_created(clean_lab)


def test_check_mode_on_a_converged_cluster_changes_nothing(clean_lab, tmp_path):
    started = time.monotonic()
    _deploy_ok(clean_lab, tmp_path)
    real = time.monotonic() - started
    before = snapshot(clean_lab)
    started = time.monotonic()
    proc = clean_lab.playbook(tmp_path, args=["--check", "--diff"])
    check = time.monotonic() - started
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    print("deploy.yml: %.1f s; --check --diff on the converged cluster: %.1f s" % (real, check))
    assert recap(proc.stdout)[1] == 0, "check mode on a converged cluster announced changes:\n%s" % output[-4000:]
    assert "Would create" not in output
    assert snapshot(clean_lab) == before
