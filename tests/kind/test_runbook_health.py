"""playbooks/health.yml against SPIRE in real pods (the session's kind cluster, tests/kind/conftest.py).

health.yml runs as users run it: the `kubernetes` transport (spire-server inside each server pod,
through pods/exec), with the cluster's admin kubeconfig or only the ServiceAccount of
docs/runbooks/rbac/health.yaml:

* a fresh deployment: exit 0 and a healthy JSON report (3 servers, 3 agents = 3 nodes, bundle
  ConfigMap equal to the servers' bundle, positive expiry days); --check writes no report;
* spire-server-1 gone (its node cordoned, the pod deleted: the StatefulSet's replacement stays
  Pending) -> a non-zero exit and the report fails exactly `server spire-server-1 healthy`;
  uncordoned, the replacement runs and the report is healthy again;
* least privilege: every grant health.yml needs allowed and the rest denied (SubjectAccessReview),
  and healthy through pods/exec with only that ServiceAccount's token;
* no API server behind the kubeconfig: still a JSON report (status error), a non-zero exit.
"""

import json
import os
import sys
import time
from pathlib import Path

import yaml

from kind_lab import REPO, SERVERS, run  # tests/conftest.py puts tests/support on sys.path
from lab_instance import default_context_env


def test_health_healthy(kind):
    """A fresh deployment: every check passes and the JSON report says so."""
    t0 = time.monotonic()
    rc, report, out = kind.health("healthy")
    print(f"health.yml took {time.monotonic() - t0:.1f} s")
    assert rc == 0, out[-4000:]
    assert report["healthy"] is True and report["failed"] == [], report["failed"]
    assert report["servers"]["expected"] == SERVERS and report["servers"]["healthy"] == SERVERS
    assert report["datastore"]["reachable"] is True
    assert report["agents"]["nodes"] == 3 and report["agents"]["attested"] == 3 and report["agents"]["missing_nodes"] == []
    assert report["bundle"]["match"] is True and report["bundle"]["configmap_certificates"] >= 1
    assert report["upstream_ca"]["days_left"] > 0
    for server in report["servers"]["items"]:
        assert server["x509_authorities"]["active"]["seconds_left"] > 0, server
    # The samples' three ClusterSPIFFEIDs and the watchers' one, each pod with its entry.
    assert report["entries"]["controller_manager_entries"] >= 3 + 3
    assert len(report["cluster_spiffe_ids"]) == 4
    assert report["controller_manager"]["leader_lease"]["age_seconds"] < 60
    text = json.dumps(report)
    assert "PRIVATE KEY" not in text and "BEGIN CERTIFICATE" not in text


def test_health_check_mode_writes_nothing(kind):
    """--check reads and checks everything but writes no report."""
    rc, report, out = kind.health("check-mode", check_mode=True)
    assert rc == 0, out[-4000:]
    assert report is None
    assert "not written in check mode" in out


def test_health_names_a_missing_server(kind):
    """spire-server-1 cannot run (its node cordoned): non-zero exit naming exactly that server; healthy once it runs."""
    node = kind.server_pods()["spire-server-1"]["spec"]["nodeName"]
    kind.kubectl("cordon", node)
    try:
        kind.kubectl("delete", "pod", "spire-server-1", "--wait=true")
        # One server per node, the other nodes hold one each: the replacement stays Pending.
        deadline = time.monotonic() + 120
        while kind.server_pods().get("spire-server-1", {}).get("status", {}).get("phase") != "Pending":
            assert time.monotonic() < deadline, "the replacement of spire-server-1 is not Pending"
            time.sleep(2)
        t0 = time.monotonic()
        rc, report, out = kind.health("server-1-down")
        print(f"health.yml (server 1 down) took {time.monotonic() - t0:.1f} s")
        print("\n".join(c["line"] for c in report["checks"] if c["status"] != "ok"))
        assert rc != 0
        assert report["healthy"] is False
        assert report["failed"] == ["server spire-server-1 healthy"], report["failed"]
        assert "server spire-server-1 healthy" in out
    finally:
        kind.kubectl("uncordon", node)
        kind.wait_servers_ready()
    rc, report, out = kind.health("restored")
    assert rc == 0, out[-4000:]
    assert report["servers"]["healthy"] == SERVERS


# ------------------------------------------------------------------ least privilege --

RBAC = REPO / "docs" / "runbooks" / "rbac" / "health.yaml"
SA = "system:serviceaccount:spire-system:spire-health"
# (verb, group, resource, name or None, namespace or None): what health.yml needs ...
GRANTED = [
    ("get", "", "configmaps", "spire-bundle", "spire-system"),
    ("get", "", "configmaps", "spire-controller-manager", "spire-system"),
    ("get", "apps", "statefulsets", "spire-server", "spire-system"),
    ("get", "coordination.k8s.io", "leases", "spire-controller-manager-leader", "spire-system"),
    ("list", "", "nodes", None, None),
    ("list", "spire.spiffe.io", "clusterspiffeids", None, None),
    ("create", "", "pods/exec", "spire-server-0", "spire-system"),
    ("get", "", "pods/exec", "spire-server-2", "spire-system"),
]
# ... and what it must not have: the CA key's Secret above all.
DENIED = [
    ("get", "", "secrets", "spire-upstream-ca", "spire-system"),
    ("get", "", "secrets", "spire-datastore", "spire-system"),
    ("list", "", "secrets", None, "spire-system"),
    ("get", "", "configmaps", "spire-server", "spire-system"),
    ("create", "", "pods/exec", "spire-agent-abcde", "spire-system"),
    ("delete", "", "pods", "spire-server-0", "spire-system"),
    ("patch", "apps", "statefulsets", "spire-server", "spire-system"),
    ("update", "", "configmaps", "spire-bundle", "spire-system"),
]


def subject_access_review(lab, verb, group, resource, name, namespace):
    """Whether the API server allows SA to VERB the resource (a SubjectAccessReview, not a guess)."""
    sub = None
    if "/" in resource:
        resource, sub = resource.split("/", 1)
    attrs = {"verb": verb, "group": group, "resource": resource}
    attrs.update({k: v for k, v in (("subresource", sub), ("name", name), ("namespace", namespace)) if v})
    review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
              "spec": {"user": SA, "groups": ["system:serviceaccounts", "system:serviceaccounts:spire-system",
                                              "system:authenticated"], "resourceAttributes": attrs}}
    path = lab.work / "sar.json"
    path.write_text(json.dumps(review), encoding="utf-8")
    return json.loads(lab.kubectl("create", "-f", path, "-o", "json").stdout)["status"].get("allowed", False)


def test_health_runs_with_least_privilege(kind):
    """health.yml with the documented RBAC only: every grant it needs allowed, the rest denied, and healthy."""
    kind.kubectl("apply", "-f", RBAC)
    wrong = [("allowed" if allowed else "denied", case) for allowed, cases in ((False, GRANTED), (True, DENIED))
             for case in cases if subject_access_review(kind, *case) == allowed]
    assert wrong == [], wrong

    token = kind.kubectl("create", "token", "spire-health").stdout.strip()
    admin = yaml.safe_load(kind.kubeconfig.read_text(encoding="utf-8"))
    limited = dict(admin, users=[{"name": "spire-health", "user": {"token": token}}],
                   contexts=[{"name": "spire-health", "context": {"cluster": admin["clusters"][0]["name"],
                                                                  "user": "spire-health"}}],
                   **{"current-context": "spire-health"})
    kubeconfig = kind.work / "spire-health.kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(limited), encoding="utf-8")
    kubeconfig.chmod(0o600)

    rc, report, out = kind.health("least-privilege", kubeconfig=kubeconfig)
    assert rc == 0, out[-4000:]
    assert report["healthy"] is True, report["failed"]
    assert report["upstream_ca"]["days_left"] > 0
    assert "Forbidden" not in out and "forbidden" not in out


def test_health_reports_an_unreachable_api(tmp_path):
    """No API server behind the kubeconfig: still a JSON report, status error, and a non-zero exit."""
    report_path = tmp_path / "health.json"
    kubeconfig = Path(default_context_env(tmp_path)["KUBECONFIG"])
    started = time.monotonic()
    res = run([Path(sys.executable).parent / "ansible-playbook", "-i", "localhost,", "-c", "local",
               REPO / "playbooks" / "health.yml", "-e", "ansible_python_interpreter=%s" % sys.executable,
               "-e", "spire_kubeconfig=%s" % kubeconfig, "-e", "health_report_path=%s" % report_path,
               "-e", "health_timeout=60"], dict(os.environ), check=False, timeout=300)
    print("health.yml against no API server: %.1f s" % (time.monotonic() - started))
    assert res.returncode != 0
    report = json.loads(report_path.read_text(encoding="utf-8"))
    assert report["status"] == "error" and report["healthy"] is False, report
    assert report["failed"] == ["deployment readable"], report
    assert "controller manager" in report["error"]["task"], report
    assert "deployment readable" in res.stdout
