"""The recover_server filter plugins: thin wrappers over module_utils/_spire/recovery.py, each documented."""

import pytest
import test_filter_plugins  # same directory: its _filter()
from ansible.errors import AnsibleFilterError

SERVER = "spire-server"
STS = [{"metadata": {"name": SERVER}, "spec": {"replicas": 1, "selector": {"matchLabels": {"app": SERVER}},
                                               "volumeClaimTemplates": [{"metadata": {"name": "data"}}]}}]
INFO = {"healthy": True, "health_message": "ok", "x509_authorities": {"active": {
    "authority_id": "a", "seconds_left": 60, "upstream_authority_subject_key_id": "ab"}}, "bundle": "",
    "bundle_certificates": []}
READS = {"pods": [{"metadata": {"name": "spire-server-0", "uid": "p"},
                   "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}],
         "pvcs": [{"metadata": {"name": "data-spire-server-0", "uid": "c"}, "spec": {"volumeName": ""},
                   "status": {"phase": "Bound"}}],
         "pv": [], "nodes": [], "servers": [INFO], "upstream_ca": ""}


_filter = test_filter_plugins._filter  # pylint: disable=protected-access


def _state():
    _unused, target = _filter("recover_server_target")
    _unused, diagnosis = _filter("recover_server_diagnosis")
    return diagnosis(READS, target(0, SERVER, STS))


def test_target():
    _unused, func = _filter("recover_server_target")
    assert func("spire-server-0", SERVER, STS)["ordinal"] == 0
    assert "no ordinal 3" in func(3, SERVER, STS)["problems"][0]
    assert func(0, SERVER, STS, transport="local", sockets=None)["problems"][0].startswith(
        "Bad input: recover_server_server_sockets has 0 socket(s)")
    with pytest.raises(AnsibleFilterError, match="recover_server_target: statefulset"):
        func(0, SERVER, 7)


def test_diagnosis_and_decision():
    state = _state()
    assert state["needs"] == "none" and state["replica"] == "spire-server-0"
    _unused, decision = _filter("recover_server_decision")
    out = decision(state, mode="recover", action="replace_pod", min_healthy_others="0")
    assert out["action"] == "replace_pod" and out["refusal"] == ""
    assert "Refusing to act on spire-server-0" in decision(state, mode="recover", action="replace_pod")["refusal"]
    with pytest.raises(AnsibleFilterError, match="recover_server_decision: recover_server_mode"):
        decision(state, mode="repair")
    with pytest.raises(AnsibleFilterError, match="recover_server_decision"):
        decision(state, min_healthy_others="two")


def test_diagnosis_refuses_bad_input():
    _unused, target = _filter("recover_server_target")
    _unused, func = _filter("recover_server_diagnosis")
    with pytest.raises(AnsibleFilterError, match="the input must be a dict with the keys"):
        func(dict(READS, secrets=[]), target(0, SERVER, STS))
    with pytest.raises(AnsibleFilterError, match="the input must be a dict"):
        func([], target(0, SERVER, STS))
    with pytest.raises(AnsibleFilterError, match="target of a valid replica"):
        func(READS, target("x", SERVER, STS))


def test_checks_bundle_and_report():
    state = _state()
    _unused, checks = _filter("recover_server_checks")
    _unused, synced = _filter("recover_server_bundle_synced")
    _unused, report = _filter("recover_server_report")
    verdict = checks(state, state, "none", [], [INFO])
    assert [c["ok"] for c in verdict] == [True, True, False, True, False, True]
    with pytest.raises(AnsibleFilterError, match="servers must be a list"):
        checks(state, state, "none", [], None)
    with pytest.raises(AnsibleFilterError, match="recover_server_checks: action"):
        checks(state, state, "auto", [], [INFO])
    assert synced([], []) is False
    with pytest.raises(AnsibleFilterError, match="certificates must be a list"):
        synced([], "pem")
    with pytest.raises(AnsibleFilterError, match="recover_server_bundle_synced: configmap"):
        synced("spire-bundle", [])
    doc = report(state, "recover", "none", after=state, checks=verdict, started_at="")
    assert doc["runbook"] == "recover_server" and doc["status"] == "failed" and doc["started_at"] == doc["generated_at"]
    with pytest.raises(AnsibleFilterError, match="recover_server_report: mode"):
        report(state, "repair", "none")
