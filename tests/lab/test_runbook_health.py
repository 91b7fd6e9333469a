"""playbooks/health.yml against the REAL SPIRE data plane of its own lab instance.

Brings up a lab of its own with tests/support/runbook_lab.py (slot 2: state dir
~/.cache/ardur-spire/lab-health, ports of slot 2, each overridable by its environment variable),
PostgreSQL, runs deploy.yml and samples.yml with the lab's inputs, starts the real spire-server x3,
agents, controller manager and the lab kubelet (lab/dataplane.py), then:

* health.yml exits 0 and its JSON report says healthy: 3 servers, 3 agents = 3 nodes, bundle
  ConfigMap equal to the servers' bundle, positive expiry days;
* spire-server-1 killed (SIGKILL) -> health.yml exits non-zero and the report fails exactly
  the check `server spire-server-1 healthy`; `dataplane.py up` restores it and the report is
  healthy again.

Everything is torn down at the end (dataplane down, postgres down, lab down). Needs root (mount
namespaces) and the lab binaries: skipped without them, failed with ARDUR_SPIRE_REQUIRE_LAB=1.
"""

import json
import time

import pytest

from runbook_lab import SERVERS, RunbookLab, need_lab  # tests/conftest.py puts tests/support on sys.path


@pytest.fixture(name="health_lab", scope="module")
def fixture_health_lab(tmp_path_factory):
    """This test file's own lab, up for the module and torn down at its end."""
    need_lab()
    lab = RunbookLab("lab-health", 2, tmp_path_factory.mktemp("health"))
    try:
        lab.up()
        yield lab
    finally:
        lab.down()


def test_health_healthy(health_lab):
    """A fresh deployment: every check passes and the JSON report says so."""
    t0 = time.monotonic()
    rc, report, out = health_lab.health("healthy")
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
    assert report["entries"]["controller_manager_entries"] >= 3
    assert len(report["cluster_spiffe_ids"]) == 3
    assert report["controller_manager"]["leader_lease"]["age_seconds"] < 60
    text = json.dumps(report)
    assert "PRIVATE KEY" not in text and "BEGIN CERTIFICATE" not in text


def test_health_check_mode_writes_nothing(health_lab):
    """--check reads and checks everything but writes no report."""
    rc, report, out = health_lab.health("check-mode", check_mode=True)
    assert rc == 0, out[-4000:]
    assert report is None
    assert "not written in check mode" in out


def test_health_names_a_dead_server(health_lab):
    """One server killed: non-zero exit naming exactly that server; healthy again once restarted."""
    health_lab.kill("spire-server-1")
    try:
        t0 = time.monotonic()
        rc, report, out = health_lab.health("server-1-down")
        print(f"health.yml (server 1 down) took {time.monotonic() - t0:.1f} s")
        print("\n".join(c["line"] for c in report["checks"] if c["status"] != "ok"))
        assert rc != 0
        assert report["healthy"] is False
        assert report["failed"] == ["server spire-server-1 healthy"], report["failed"]
        assert "server spire-server-1 healthy" in out
    finally:
        health_lab.python("dataplane.py", "up")
    rc, report, out = health_lab.health("restored")
    assert rc == 0, out[-4000:]
    assert report["servers"]["healthy"] == SERVERS
