"""playbooks/uninstall.yml against a lab instance of its own (docs/runbooks/uninstall.md).

deploy.yml and samples.yml first, then, in this order (the tests share the module's lab):

1. bad input and a namespace deletion without its implied flags are refused, deleting nothing;
2. with the sample pods mounting csi.spiffe.io, uninstall.yml refuses, names them and deletes nothing;
3. ``--check`` (samples included) deletes nothing;
4. with ``uninstall_samples: true`` it deletes in order and keeps the upstream CA and datastore
   Secrets, the server PVCs, the namespace and the CRDs;
5. a second run deletes nothing (changed=0);
6. deploy.yml converges again and reuses the kept upstream CA (same tls.crt).

Each run's JSON report (uninstall_report_path, default ./spire-uninstall.json in the working
directory) is checked too: refused, planned (check mode), uninstalled, and never a Secret value.

The lab is torn down at the end. Without the lab binaries the module is skipped, with
ARDUR_SPIRE_REQUIRE_LAB=1 it fails (tests/support/lab_binaries.py).
"""

import json
import re
import subprocess
import time
from pathlib import Path

import pytest

from lab_binaries import lab_binary  # tests/conftest.py puts tests/support on sys.path
from lab_instance import LabInstance, default_context_env, private_lab, recap

LAB_DEFAULTS = private_lab("lab-uninstall", 5)
BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "kubectl")
NAMESPACE = "spire-system"
SAMPLES_NAMESPACE = "ardur-agents"
CRDS = ("clusterspiffeids.spire.spiffe.io", "clusterfederatedtrustdomains.spire.spiffe.io",
        "clusterstaticentries.spire.spiffe.io")
# The deletion order of docs/runbooks/uninstall.md (first index of each kind in the output).
ORDER = ("ClusterSPIFFEID", "DaemonSet spire-system/spire-agent", "DaemonSet spire-system/spiffe-csi-driver", "CSIDriver",
         "StatefulSet", "Service ", "ConfigMap", "ClusterRoleBinding", "ClusterRole ", "RoleBinding", "Role ",
         "PodDisruptionBudget", "ServiceAccount spire-system/")
DELETED = re.compile(r"^changed: \[localhost\] => \(item=(.+)\)$", re.M)


class UninstallLab:
    """The module's lab: playbook runs and reads through kubectl."""

    def __init__(self, work):
        self.lab = LabInstance(LAB_DEFAULTS)
        self.work = work
        self.timings = {}
        self.ca_before = ""

    def run(self, name, playbook, extra=None, args=()):
        """ansible-playbook PLAYBOOK with the lab inputs plus EXTRA; (returncode, output) and its timing under NAME."""
        argv = self.lab.playbook_argv(self.work, extra, playbook=playbook, args=args)
        started = time.monotonic()
        proc = subprocess.run(argv, cwd=str(self.work), env={**self.lab.env, **default_context_env(self.work)},
                              capture_output=True, text=True, timeout=900, check=False)
        self.timings[name] = time.monotonic() - started
        print(f"{name}: {self.timings[name]:.1f} s")
        return proc.returncode, proc.stdout + proc.stderr

    def ok(self, name, playbook, extra=None, args=()):
        """As run(), asserting success; the output."""
        returncode, output = self.run(name, playbook, extra, args)
        assert returncode == 0, f"{name} failed:\n{output[-5000:]}"
        return output

    def report(self):
        """The JSON report the last run wrote (the default uninstall_report_path, in the working directory)."""
        path = self.work / "spire-uninstall.json"
        text = path.read_text(encoding="utf-8")
        assert "BEGIN" not in text and "postgresql://" not in text
        doc = json.loads(text)
        assert doc["runbook"] == "uninstall" and doc["report_version"] == 1, doc
        path.unlink()
        return doc

    def exists(self, *args):
        """Whether `kubectl get ARGS` finds it."""
        return self.lab.kubectl("get", *args, check=False).returncode == 0

    def names(self, *args):
        """Sorted names of `kubectl get ARGS`."""
        return sorted(o["metadata"]["name"] for o in self.lab.kubectl_json("get", *args)["items"])

    def upstream_crt(self):
        """tls.crt of the spire-upstream-ca Secret (base64, public)."""
        return self.lab.kubectl("get", "secret", "-n", NAMESPACE, "spire-upstream-ca",
                                "-o", "jsonpath={.data.tls\\.crt}").stdout

    def inventory(self):
        """What the deployment consists of, by name (for 'nothing was deleted')."""
        return {
            "workloads": self.names("statefulset,daemonset", "-n", NAMESPACE),
            "samples": self.names("deployment", "-n", SAMPLES_NAMESPACE),
            "config": self.names("configmap,service,serviceaccount,secret,pvc,pdb,role,rolebinding", "-n", NAMESPACE),
            "cluster": self.names("clusterspiffeid,csidriver,crd,clusterrole,clusterrolebinding"),
        }


@pytest.fixture(name="ulab", scope="module")
def fixture_ulab(tmp_path_factory):
    """The lab with SPIRE and the samples deployed; torn down at the end of the module."""
    missing = [name for name in BINARIES if lab_binary(name) is None]  # raises under ARDUR_SPIRE_REQUIRE_LAB=1
    if missing:
        pytest.skip(f"lab binaries not built ({', '.join(missing)}): run lab/build.sh")
    ulab = UninstallLab(tmp_path_factory.mktemp("uninstall"))
    if str(ulab.lab.dir) == str(Path.home() / ".cache" / "ardur-spire" / "lab"):
        pytest.fail("must not use the default lab dir (molecule's): set ARDUR_SPIRE_LAB_DIR elsewhere")
    try:
        ulab.lab.up()
        ulab.ok("deploy", "deploy.yml")
        ulab.ok("samples", "samples.yml")
        ulab.ca_before = ulab.upstream_crt()
        yield ulab
    finally:
        ulab.lab.down()
        print("timings: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in ulab.timings.items()))


@pytest.mark.parametrize("extra, names", [
    ({"uninstall_force": "maybe", "uninstall_samples": True}, ["uninstall_force"]),
    ({"uninstall_delete_nmespace": True, "uninstall_samples": True}, ["uninstall_delete_nmespace"]),
    ({"uninstall_delete_namespace": True, "uninstall_samples": True},
     ["uninstall_delete_upstream_ca", "uninstall_delete_datastore_secret", "uninstall_delete_pvcs"]),
], ids=["not_a_bool", "unknown_input", "namespace_without_its_contents"])
def test_bad_input_is_refused_before_anything_is_deleted(ulab, extra, names):
    """A wrong type, an unknown uninstall_ input, a namespace deletion alone: refused, named, nothing deleted."""
    before = ulab.inventory()
    returncode, output = ulab.run("bad input", "uninstall.yml", extra)
    assert returncode != 0, output[-3000:]
    for name in names:
        assert name in output, f"{name} not named:\n{output[-3000:]}"
    assert not DELETED.findall(output)
    assert ulab.inventory() == before
    assert not (ulab.work / "spire-uninstall.json").exists()  # refused before anything was read


def test_refuses_while_pods_mount_the_csi_volume(ulab):
    """The sample pods mount csi.spiffe.io: refused, each pod named, the StatefulSet and everything else still there."""
    before = ulab.inventory()
    pods = ulab.names("pods", "-n", SAMPLES_NAMESPACE)
    assert len(pods) == 3, pods
    returncode, output = ulab.run("refused (CSI pods)", "uninstall.yml")
    assert returncode != 0, output[-3000:]
    assert "Refusing to uninstall: 3 pod(s) mount a csi.spiffe.io volume" in output, output[-3000:]
    for pod in pods:
        assert f"{SAMPLES_NAMESPACE}/{pod}" in output, output[-3000:]
    assert not DELETED.findall(output)
    assert ulab.exists("statefulset", "-n", NAMESPACE, "spire-server")
    assert ulab.inventory() == before
    report = ulab.report()
    assert report["status"] == "refused" and report["deleted"] == [], report
    assert sorted(report["blocking_pods"]) == sorted(f"{SAMPLES_NAMESPACE}/{pod}" for pod in pods), report


def test_check_mode_deletes_nothing(ulab):
    """--check with uninstall_samples shows the plan and deletes nothing."""
    before = ulab.inventory()
    output = ulab.ok("check mode", "uninstall.yml", {"uninstall_samples": True}, args=["--check"])
    assert "Would delete (check mode), in this order:" in output
    assert "CSIDriver csi.spiffe.io" in output and "StatefulSet spire-system/spire-server" in output
    assert ulab.inventory() == before
    report = ulab.report()
    assert report["status"] == "planned" and report["check_mode"] is True and report["deleted"] == [], report
    assert "StatefulSet spire-system/spire-server" in report["planned"], report


def test_uninstall_deletes_in_order_and_keeps_the_key_material(ulab):
    """Samples first, then the documented order; Secrets, PVCs, namespace and CRDs kept (checked through the API)."""
    output = ulab.ok("uninstall", "uninstall.yml", {"uninstall_samples": True})
    deleted = DELETED.findall(output)
    samples = [d for d in deleted if d.startswith((f"Deployment {SAMPLES_NAMESPACE}/", f"ServiceAccount {SAMPLES_NAMESPACE}/"))]
    assert len(samples) == 6 and deleted[:6] == samples, deleted
    positions = [next(i for i, d in enumerate(deleted) if d.startswith(prefix)) for prefix in ORDER]
    assert positions == sorted(positions), list(zip(ORDER, positions))
    assert not [d for d in deleted if d.startswith(("Secret", "PersistentVolumeClaim", "Namespace", "CustomResourceDefinition"))]
    # Gone.
    assert ulab.names("statefulset,daemonset,service,pdb", "-n", NAMESPACE) == []
    assert ulab.names("configmap", "-n", NAMESPACE) == ["kube-root-ca.crt"]
    assert ulab.names("serviceaccount", "-n", NAMESPACE) == ["default"]
    assert ulab.names("role,rolebinding", "-n", NAMESPACE) == []
    assert ulab.names("clusterspiffeid,csidriver") == []
    assert not [n for n in ulab.names("clusterrole,clusterrolebinding") if n.startswith(("spire-", "spiffe-"))]
    assert ulab.names("deployment,pods", "-n", SAMPLES_NAMESPACE) == []
    # Kept.
    assert ulab.exists("namespace", NAMESPACE)
    assert ulab.names("secret", "-n", NAMESPACE) == ["spire-datastore", "spire-upstream-ca"]
    assert ulab.names("pvc", "-n", NAMESPACE) == ["data-spire-server-0", "data-spire-server-1", "data-spire-server-2"]
    assert sorted(CRDS) == [n for n in ulab.names("crd") if n.endswith(".spire.spiffe.io")]
    assert ulab.upstream_crt() == ulab.ca_before
    assert "Kept:" in output and "Secret spire-system/spire-upstream-ca" in output
    assert "BEGIN" not in output and "postgresql://" not in output
    report = ulab.report()
    assert report["status"] == "uninstalled" and report["check_mode"] is False, report
    assert report["deleted"] == deleted, report
    assert "Secret spire-system/spire-upstream-ca" in [entry["ref"] for entry in report["kept"]], report


def test_second_run_is_a_no_op(ulab):
    """Nothing left to delete: changed=0."""
    output = ulab.ok("second uninstall", "uninstall.yml", {"uninstall_samples": True})
    assert recap(output)[1] == 0, output[-3000:]
    assert "nothing (already uninstalled)" in output
    report = ulab.report()
    assert report["status"] == "uninstalled" and report["deleted"] == [], report


def test_deploy_again_reuses_the_kept_upstream_ca(ulab):
    """deploy.yml converges on what was kept and serves the same upstream CA certificate."""
    ulab.ok("redeploy", "deploy.yml")
    assert ulab.exists("statefulset", "-n", NAMESPACE, "spire-server")
    assert ulab.names("clusterspiffeid") == ["ardur-autogen", "ardur-langchain", "ardur-langgraph"]
    assert ulab.upstream_crt() == ulab.ca_before
    assert ulab.names("pvc", "-n", NAMESPACE) == ["data-spire-server-0", "data-spire-server-1", "data-spire-server-2"]
