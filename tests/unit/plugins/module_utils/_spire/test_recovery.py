"""Diagnosis and recovery decisions of the recover_server runbook (plugins/module_utils/_spire/recovery.py)."""

import copy
import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ansible_collections.ardur.spire.plugins.module_utils._spire import recovery

SERVER = "spire-server"


def _ca_pem():
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "upstream")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest.hex()
    return pem, ski


UPSTREAM_PEM, UPSTREAM_SKI = _ca_pem()
OTHER_PEM, OTHER_SKI = _ca_pem()


def _sts(replicas=3, claim="data"):
    return [{"metadata": {"name": SERVER}, "spec": {
        "replicas": replicas, "selector": {"matchLabels": {"app.kubernetes.io/name": SERVER}},
        "volumeClaimTemplates": [{"metadata": {"name": claim}}]}}]


def _pod(i, ready=True, terminating=False, phase="Running", waiting=None, restarts=0):
    pod = {"metadata": {"name": "%s-%d" % (SERVER, i), "uid": "pod-%d" % i, "creationTimestamp": "2026-12-07T10:00:00Z"},
           "spec": {"nodeName": "node-%d" % i},
           "status": {"phase": phase, "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
                      "containerStatuses": [{"name": SERVER, "restartCount": restarts,
                                             "state": {"waiting": {"reason": waiting}} if waiting else {"running": {}}},
                                            {"name": "spire-controller-manager", "restartCount": 9}]}}
    if terminating:
        pod["metadata"]["deletionTimestamp"] = "2026-12-07T10:05:00Z"
    return pod


def _pvc(i, phase="Bound", terminating=False, volume=None):
    pvc = {"metadata": {"name": "data-%s-%d" % (SERVER, i), "uid": "pvc-%d" % i},
           "spec": {"volumeName": "pv-%d" % i if volume is None else volume}, "status": {"phase": phase}}
    if terminating:
        pvc["metadata"]["deletionTimestamp"] = "2026-12-07T10:05:00Z"
    return pvc


def _pv(i, phase="Bound", claim_uid=None, node=None):
    pv = {"metadata": {"name": "pv-%d" % i}, "spec": {"claimRef": {"uid": claim_uid or "pvc-%d" % i}},
          "status": {"phase": phase}}
    if node:
        pv["spec"]["nodeAffinity"] = {"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}]}}
    return pv


def _info(healthy=True, seconds_left=3600, authorities=True, upstream=None, bundle=None):
    auth = None
    if authorities:
        auth = {"active": None if seconds_left is None else {
            "authority_id": "abc", "expires_at": 2000000000, "expires_at_iso": "2033-05-18T03:33:20Z",
            "seconds_left": seconds_left, "upstream_authority_subject_key_id": upstream or UPSTREAM_SKI},
            "prepared": None, "old": None}
    return {"healthy": healthy, "health_message": "Server is healthy." if healthy else "connection refused",
            "errors": {} if healthy else {"healthcheck": "connection refused"}, "x509_authorities": auth,
            "bundle": bundle if bundle is not None else UPSTREAM_PEM,
            "bundle_certificates": [UPSTREAM_PEM] if bundle is None else [bundle]}


def _reads(**changes):
    """A healthy 3-replica deployment; CHANGES replace pods/pvcs/pv/nodes/servers."""
    reads = {"pods": [_pod(i) for i in range(3)], "pvcs": [_pvc(i) for i in range(3)], "pv": [_pv(2)],
             "nodes": [{"metadata": {"name": "node-%d" % i}} for i in range(3)],
             "servers": [_info(), _info(), _info()], "upstream_ca": UPSTREAM_PEM}
    reads.update(changes)
    return reads


def _target(replica=2, replicas=3):
    return recovery.target(replica, SERVER, _sts(replicas))


def _diagnose(replica=2, **changes):
    reads = _reads(**changes)
    return recovery.diagnose(_target(replica), reads["pods"], reads["pvcs"], reads["pv"], reads["nodes"],
                             reads["servers"], upstream_ca=reads["upstream_ca"], container=SERVER)


def _servers(**by_index):
    return [by_index.get("s%d" % i, _info()) for i in range(3)]


# ------------------------------------------------------------------------------ target --
@pytest.mark.parametrize("replica, ordinal", [(2, 2), ("2", 2), ("spire-server-0", 0), ("spire-server-12", 12)])
def test_target_form(replica, ordinal):
    out = recovery.target(replica, SERVER)
    assert out["ordinal"] == ordinal and out["name"] == "spire-server-%d" % ordinal and out["problems"] == []


@pytest.mark.parametrize("replica", ["spire-agent-1", "", None, True, "-1", "2.0", "spire-server-", "server-2", [2]])
def test_target_refuses_what_is_no_replica(replica):
    out = recovery.target(replica, SERVER, _sts())
    assert out["ordinal"] is None and len(out["problems"]) == 1
    assert "must be an ordinal (2) or a Pod name (spire-server-2). Nothing was changed." in out["problems"][0]


def test_target_names_the_input_quoted():
    assert recovery.target("spire-agent-1", SERVER)["problems"][0].startswith(
        'Bad input: recover_server_replica="spire-agent-1" must be an ordinal')


def test_target_refuses_an_ordinal_the_statefulset_lacks():
    out = recovery.target(7, SERVER, _sts())
    assert out["problems"] == ['Bad input: recover_server_replica="7": StatefulSet spire-server has 3 replica(s) '
                               '(spire-server-0 .. spire-server-2), no ordinal 7. Nothing was changed.']


def test_target_without_statefulset():
    out = recovery.target(1, SERVER, [], namespace="spire-system")
    assert "no StatefulSet spire-server in namespace spire-system" in out["problems"][0]


def test_target_reads_the_statefulset():
    out = recovery.target("spire-server-1", SERVER, {"resources": _sts(claim="keys")})
    assert out["replicas"] == 3 and out["claim_template"] == "keys"
    assert out["selector"] == {"app.kubernetes.io/name": SERVER} and out["problems"] == []


def test_target_needs_one_socket_per_replica_for_local():
    out = recovery.target(1, SERVER, _sts(), transport="local", sockets=["/a", "/b"])
    assert out["problems"] == ["Bad input: recover_server_server_sockets has 2 socket(s); the StatefulSet has 3 "
                               "replicas: give one admin socket per ordinal, in order. Nothing was changed."]
    assert recovery.target(1, SERVER, _sts(), transport="local", sockets=["/a", "/b", "/c"])["problems"] == []


def test_target_refuses_a_bad_statefulset_read():
    with pytest.raises(ValueError, match="statefulset must be a list"):
        recovery.target(1, SERVER, "spire-server")


# --------------------------------------------------------------------------- diagnosis --
def test_healthy_replica_needs_nothing():
    state = _diagnose()
    assert state["needs"] == "none" and state["reason"] == "healthy, X.509 authority valid"
    assert state["replica"] == "spire-server-2" and state["ordinal"] == 2 and state["replicas"] == 3
    assert state["pod"] == {"name": "spire-server-2", "exists": True, "uid": "pod-2", "phase": "Running", "ready": True,
                            "terminating": False, "node": "node-2", "created": "2026-12-07T10:00:00Z", "restarts": 0,
                            "waiting_reason": None}
    assert state["pvc"] == {"name": "data-spire-server-2", "exists": True, "uid": "pvc-2", "phase": "Bound",
                            "terminating": False, "volume": "pv-2"}
    assert state["pv"] == {"name": "pv-2", "exists": True, "phase": "Bound", "bound_to_claim": True,
                           "nodes": [], "nodes_missing": []}
    assert not state["pvc_lost"] and state["pvc_lost_reason"] == ""
    assert state["server"]["authority_state"] == "valid" and state["server"]["upstream_match"] is True
    assert state["server"]["bundle_certificates"] == 1
    assert state["upstream_ca_subject_key_id"] == UPSTREAM_SKI
    assert state["healthy_others"] == ["spire-server-0", "spire-server-1"] and state["unhealthy_others"] == []
    assert [r["name"] for r in state["others"]] == ["spire-server-0", "spire-server-1"]
    assert len(state["replicas_state"]) == 3


@pytest.mark.parametrize("changes, reason", [
    ({"pvcs": [_pvc(0), _pvc(1)]}, "PVC data-spire-server-2 does not exist"),
    ({"pvcs": [_pvc(0), _pvc(1), _pvc(2, terminating=True)]},
     "PVC data-spire-server-2 is being deleted (kept by kubernetes.io/pvc-protection while a pod uses it)"),
    ({"pvcs": [_pvc(0), _pvc(1), _pvc(2, phase="Lost")]}, "PVC data-spire-server-2 is Lost (its PersistentVolume pv-2 is gone)"),
    ({"pvcs": [_pvc(0), _pvc(1), _pvc(2, phase="Lost", volume="")]},
     "PVC data-spire-server-2 is Lost (its PersistentVolume ? is gone)"),
    ({"pv": []}, "PersistentVolume pv-2 of PVC data-spire-server-2 does not exist"),
    ({"pv": [_pv(2, phase="Bound", claim_uid="other")]},
     "PersistentVolume pv-2 is not bound to PVC data-spire-server-2 (phase Bound)"),
    ({"pv": [_pv(2, phase="Released")]}, "PersistentVolume pv-2 is Released"),
    ({"pv": [_pv(2, phase="Failed")]}, "PersistentVolume pv-2 is Failed"),
    ({"pv": [_pv(2, node="node-9")]}, "PersistentVolume pv-2 is pinned to node node-9, which no longer exists"),
])
def test_lost_claim_needs_replace_pvc(changes, reason):
    state = _diagnose(**changes)
    assert state["pvc_lost"] and state["pvc_lost_reason"] == reason
    assert state["needs"] == "replace_pvc" and state["reason"] == reason


def test_pv_pinned_to_an_existing_node_is_fine():
    state = _diagnose(pv=[_pv(2, node="node-2")], nodes=["node-0", "node-1", "node-2"])
    assert state["pv"]["nodes"] == ["node-2"] and state["needs"] == "none"


def test_unbound_pending_claim_is_not_lost():
    state = _diagnose(pvcs=[_pvc(0), _pvc(1), _pvc(2, phase="Pending", volume="")], pv=[])
    assert state["pv"] is None and not state["pvc_lost"] and state["pvc"]["volume"] == ""


@pytest.mark.parametrize("changes, reason", [
    ({"pods": [_pod(0), _pod(1)]}, "Pod spire-server-2 does not exist"),
    ({"servers": _servers(s2=_info(healthy=False, authorities=False))}, "server not healthy: connection refused"),
    ({"servers": _servers(s2=_info(seconds_left=-5))}, "X.509 authority expired"),
    ({"servers": _servers(s2=_info(seconds_left=0))}, "X.509 authority expired"),
    ({"servers": _servers(s2=_info(seconds_left=None))}, "X.509 authority missing"),
])
def test_replica_that_needs_a_new_pod(changes, reason):
    state = _diagnose(**changes)
    assert state["needs"] == "replace_pod" and state["reason"] == reason and not state["pvc_lost"]


def test_lost_claim_wins_over_a_missing_pod():
    state = _diagnose(pods=[_pod(0), _pod(1)], pvcs=[_pvc(0), _pvc(1)])
    assert state["needs"] == "replace_pvc" and not state["pod"]["exists"]
    assert state["pod"] == {"name": "spire-server-2", "exists": False, "uid": None, "phase": None, "ready": False,
                            "terminating": False, "node": None, "created": None, "restarts": None,
                            "waiting_reason": None}
    assert state["pvc"]["exists"] is False and state["pvc"]["volume"] is None and state["pv"] is None


def test_authority_states():
    assert _diagnose(servers=_servers(s2=_info(healthy=False, authorities=False)))["server"]["authority_state"] == "unknown"
    state = _diagnose(servers=_servers(s2=_info(upstream=OTHER_SKI)))
    assert state["server"]["upstream_match"] is False and state["needs"] == "none"
    assert _diagnose(upstream_ca="")["server"]["upstream_match"] is None
    assert _diagnose(upstream_ca="")["upstream_ca_subject_key_id"] == ""
    colons = ":".join(UPSTREAM_SKI[i:i + 2] for i in range(0, len(UPSTREAM_SKI), 2)).upper()
    assert _diagnose(servers=_servers(s2=_info(upstream=colons)))["server"]["upstream_match"] is True


def test_pod_details_come_from_the_server_container():
    crashing = _pod(2, ready=False, waiting="CrashLoopBackOff", restarts=4)
    state = _diagnose(pods=[_pod(0), _pod(1), crashing],
                      servers=_servers(s2=_info(healthy=False, authorities=False)))
    assert state["pod"]["restarts"] == 4 and state["pod"]["waiting_reason"] == "CrashLoopBackOff"
    assert not state["pod"]["ready"]


def test_other_replicas_count_only_when_ready_healthy_and_not_terminating():
    state = _diagnose(pods=[_pod(0, terminating=True), _pod(1, ready=False), _pod(2)])
    assert state["healthy_others"] == [] and state["unhealthy_others"] == ["spire-server-0", "spire-server-1"]
    state = _diagnose(servers=_servers(s1=_info(healthy=False, authorities=False)))
    assert state["healthy_others"] == ["spire-server-0"] and state["unhealthy_others"] == ["spire-server-1"]


def test_health_message_falls_back_to_the_module_error():
    servers = _servers(s2={"failed": True, "msg": "exec refused"})
    state = _diagnose(servers=servers)
    assert state["server"]["message"] == "exec refused" and state["server"]["authority_state"] == "unknown"
    assert state["needs"] == "replace_pod"


def test_resume_after_interruption():
    """What an interrupted replace_pvc leaves behind is diagnosed so that a re-run finishes it."""
    # PVC deleted (Terminating), the run stopped before deleting the Pod.
    assert _diagnose(pvcs=[_pvc(0), _pvc(1), _pvc(2, terminating=True)])["needs"] == "replace_pvc"
    # PVC and Pod deleted, the StatefulSet has not re-created them yet.
    state = _diagnose(pods=[_pod(0), _pod(1)], pvcs=[_pvc(0), _pvc(1)], pv=[])
    assert state["needs"] == "replace_pvc" and not state["pvc"]["exists"] and not state["pod"]["exists"]
    # The Pod came back before its claim: it waits for a claim being deleted.
    state = _diagnose(pods=[_pod(0), _pod(1), _pod(2, ready=False, phase="Pending")],
                      pvcs=[_pvc(0), _pvc(1), _pvc(2, terminating=True)],
                      servers=_servers(s2=_info(healthy=False, authorities=False)))
    assert state["needs"] == "replace_pvc"
    # A new PVC not bound yet, the Pod waiting: a new Pod, nothing lost.
    state = _diagnose(pods=[_pod(0), _pod(1), _pod(2, ready=False, phase="Pending")],
                      pvcs=[_pvc(0), _pvc(1), _pvc(2, phase="Pending", volume="")], pv=[],
                      servers=_servers(s2=_info(healthy=False, authorities=False)))
    assert state["needs"] == "replace_pod"
    # Recovered already: nothing to do, and the decision only verifies.
    state = _diagnose()
    assert recovery.decide(state, mode="recover")["action"] == "none"


@pytest.mark.parametrize("where", [
    {"ordinal": None, "problems": ["x"]}, {"ordinal": 2, "name": "spire-server-2", "problems": ["bad"]}, None, "2"])
def test_diagnose_refuses_a_bad_target(where):
    with pytest.raises(ValueError, match="target of a valid replica"):
        recovery.diagnose(where, [], [], [], [], [_info()] * 3)


@pytest.mark.parametrize("kwargs, message", [
    ({"servers": None}, "servers must be the list"),
    ({"servers": [_info()]}, "servers has 1 result"),
    ({"pods": "spire-server-2"}, "pods must be a list"),
    ({"pvcs": [1]}, "pvcs must be a list"),
    ({"nodes": 3}, "nodes must be a list"),
])
def test_diagnose_refuses_bad_reads(kwargs, message):
    args = dict(pods=[], pvcs=[], pv=[], nodes=[], servers=[_info()] * 3)
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        recovery.diagnose(_target(), **args)


def test_upstream_subject_key_id():
    assert recovery.upstream_subject_key_id(UPSTREAM_PEM) == UPSTREAM_SKI
    assert recovery.upstream_subject_key_id(UPSTREAM_PEM + OTHER_PEM) == UPSTREAM_SKI
    assert recovery.upstream_subject_key_id("") == ""
    assert recovery.upstream_subject_key_id(None) == ""
    assert recovery.upstream_subject_key_id("-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n") == ""


# ---------------------------------------------------------------------------- decision --
@pytest.mark.parametrize("needs_changes, mode, action, expected_action, plan", [
    ({}, "diagnose", "auto", "none", "none"),
    ({}, "recover", "auto", "none", "none"),
    ({"servers": _servers(s2=_info(seconds_left=-1))}, "diagnose", "auto", "none", "replace_pod"),
    ({"servers": _servers(s2=_info(seconds_left=-1))}, "recover", "auto", "replace_pod", "replace_pod"),
    ({"pvcs": [_pvc(0), _pvc(1)]}, "recover", "auto", "replace_pvc", "replace_pvc"),
    ({}, "recover", "replace_pod", "replace_pod", "replace_pod"),
    ({}, "recover", "replace_pvc", "replace_pvc", "replace_pvc"),
    ({}, "diagnose", "replace_pvc", "none", "replace_pvc"),
])
def test_action_choice(needs_changes, mode, action, expected_action, plan):
    decision = recovery.decide(_diagnose(**needs_changes), mode=mode, action=action, delete_pvc=True)
    assert decision["action"] == expected_action and decision["plan"] == plan
    assert decision["refusal"] == "" and decision["warning"] == ""


def test_diagnose_lines():
    state = _diagnose(pvcs=[_pvc(0), _pvc(1), _pvc(2, terminating=True)],
                      servers=_servers(s2=_info(healthy=False, authorities=False)))
    lines = recovery.decide(state, namespace="spire-system", transport="local")["lines"]
    assert lines[0] == "Replica spire-server-2 (ordinal 2 of 3, namespace spire-system, transport local)"
    assert lines[1] == "  Pod: Running, Ready, node node-2, restarts 0"
    assert lines[2] == ("  PVC data-spire-server-2: Bound, TERMINATING, PV pv-2 Bound -> LOST: PVC data-spire-server-2 is "
                        "being deleted (kept by kubernetes.io/pvc-protection while a pod uses it)")
    assert lines[3] == "  Server: NOT healthy: connection refused"
    assert lines[4] == "  X.509 authority: unknown (the server does not answer)"
    assert lines[5] == "  Other replicas: spire-server-0 healthy, spire-server-1 healthy"
    assert lines[6].startswith("  Needs: replace_pvc (PVC data-spire-server-2 is being deleted")
    assert lines[7] == "Diagnose only, nothing is changed; recover_server_mode=recover would do: replace_pvc"
    assert lines[8].startswith("  - delete PVC data-spire-server-2 (the disk KeyManager keys")
    assert lines[9].startswith("  - delete Pod spire-server-2: once the old PVC is gone")
    assert lines[-1] == "  ! needs recover_server_delete_pvc=true to delete the PVC"


def test_lines_of_a_healthy_replica_and_check_mode():
    lines = recovery.decide(_diagnose(), mode="recover", check_mode=True, namespace="ns")["lines"]
    assert lines[0].endswith(" [check mode: nothing is written]")
    assert lines[4] == ("  X.509 authority: valid: abc expires 2033-05-18T03:33:20Z (3600 s left), signed by the "
                        "upstream CA")
    assert lines[7:] == ["Plan: none", "  - nothing to change; verify the replica"]


def test_lines_name_what_is_missing_and_forced_actions():
    state = _diagnose(pods=[_pod(0), _pod(1, terminating=True)], pvcs=[_pvc(0), _pvc(1)], pv=[],
                      servers=_servers(s2=_info(upstream=OTHER_SKI, seconds_left=-3)))
    lines = recovery.decide(state, mode="recover", action="replace_pod", force=True, upstream_ca_name="ca")["lines"]
    assert lines[1] == "  Pod: MISSING"
    assert lines[2] == "  PVC data-spire-server-2: MISSING -> LOST: PVC data-spire-server-2 does not exist"
    assert lines[4].endswith("(-3 s left), NOT signed by the upstream CA in Secret ca")
    assert lines[7] == "Plan: replace_pod (recover_server_action=replace_pod)"
    assert lines[8].startswith("  - delete Pod spire-server-2 (already gone): the StatefulSet re-creates it")
    assert lines[-1] == "  ! refused unless recover_server_force=true: fewer than 2 other replicas healthy"


def test_lines_without_other_replicas():
    reads = _reads(pods=[_pod(0)], pvcs=[_pvc(0)], pv=[_pv(0)], servers=[_info()])
    state = recovery.diagnose(recovery.target(0, SERVER, _sts(1)), reads["pods"], reads["pvcs"], reads["pv"],
                              reads["nodes"], reads["servers"], reads["upstream_ca"])
    assert recovery.decide(state)["lines"][5] == "  Other replicas: none"


def test_refuses_replace_pod_while_the_claim_is_lost():
    state = _diagnose(pvcs=[_pvc(0), _pvc(1), _pvc(2, terminating=True)])
    decision = recovery.decide(state, mode="recover", action="replace_pod", delete_pvc=True, force=True)
    assert decision["refusal"].startswith("recover_server_action=replace_pod, but PVC data-spire-server-2 is being "
                                          "deleted")
    assert "a new Pod would wait for that claim forever" in decision["refusal"]
    # In diagnose mode nothing is refused (nothing is done).
    assert recovery.decide(state, action="replace_pod")["refusal"] == ""


def test_refuses_deleting_the_claim_without_confirmation():
    state = _diagnose(pvcs=[_pvc(0), _pvc(1)])
    decision = recovery.decide(state, mode="recover")
    assert decision["action"] == "replace_pvc"
    assert decision["refusal"] == (
        "spire-server-2 needs its PVC replaced (PVC data-spire-server-2 does not exist). That deletes PVC "
        "data-spire-server-2 (this replica's disk KeyManager keys; the server generates new keys and a new X.509 "
        "authority signed by the upstream CA, the trust bundle does not change). Set recover_server_delete_pvc=true "
        "to confirm. Nothing was changed.")
    assert recovery.decide(state, mode="diagnose")["refusal"] == ""
    assert recovery.decide(state, mode="recover", delete_pvc=True)["refusal"] == ""


def test_refuses_to_act_while_another_replica_is_down():
    state = _diagnose(servers=_servers(s1=_info(healthy=False, authorities=False)))
    decision = recovery.decide(state, mode="recover", action="replace_pod")
    assert decision["refusal"] == (
        "Refusing to act on spire-server-2: only 1 other replica(s) healthy (spire-server-0); not healthy: "
        "spire-server-1. Recover those first, or set recover_server_force=true to act anyway. Nothing was changed.")
    forced = recovery.decide(state, mode="recover", action="replace_pod", force=True, check_mode=True)
    assert forced["refusal"] == "" and forced["action"] == "replace_pod"
    assert forced["warning"] == ("WARNING: recover_server_force=true: acting on spire-server-2 although only 1 other "
                                 "replica(s) are healthy (not healthy: spire-server-1).")
    # Nothing to do: nothing refused, nothing to warn about.
    assert recovery.decide(state, mode="recover") == dict(recovery.decide(state, mode="recover"), refusal="", warning="")
    assert recovery.decide(state, mode="recover", min_healthy_others=1, action="replace_pod")["refusal"] == ""


def test_refusal_without_any_healthy_other():
    state = _diagnose(pods=[_pod(0, ready=False), _pod(1, ready=False), _pod(2)])
    assert "only 0 other replica(s) healthy (none); not healthy: spire-server-0, spire-server-1" in recovery.decide(
        state, mode="recover", action="replace_pod")["refusal"]


def test_refusals_come_in_order():
    state = _diagnose(pvcs=[_pvc(0), _pvc(1)], servers=_servers(s1=_info(healthy=False, authorities=False)))
    assert "Set recover_server_delete_pvc=true" in recovery.decide(state, mode="recover")["refusal"]
    assert "Refusing to act" in recovery.decide(state, mode="recover", delete_pvc=True)["refusal"]


@pytest.mark.parametrize("kwargs, message", [
    ({"mode": "fix"}, "recover_server_mode must be one of diagnose, recover"),
    ({"action": "delete"}, "recover_server_action must be one of auto, replace_pod, replace_pvc"),
    ({"delete_pvc": "yes"}, "recover_server_delete_pvc must be a boolean"),
    ({"force": 1}, "recover_server_force must be a boolean"),
    ({"check_mode": None}, "check_mode must be a boolean"),
])
def test_decide_refuses_bad_inputs(kwargs, message):
    with pytest.raises(ValueError, match=message):
        recovery.decide(_diagnose(), **kwargs)


def test_decide_needs_a_diagnosis():
    with pytest.raises(ValueError, match="result of diagnose"):
        recovery.decide({"needs": "reboot"})


# ------------------------------------------------------------------------ verification --
def _cm(pem=UPSTREAM_PEM):
    return [{"metadata": {"name": "spire-bundle"}, "data": {"bundle.crt": pem}}]


def _names(checks):
    return [c["name"] for c in checks]


def test_checks_after_replace_pvc_all_pass():
    before = _diagnose(pvcs=[_pvc(0), _pvc(1), _pvc(2, terminating=True)])
    new_pvc = dict(_pvc(2, volume="pv-7"), metadata={"name": "data-spire-server-2", "uid": "pvc-new"})
    new_pod = _pod(2)
    new_pod["metadata"]["uid"] = "pod-new"
    after = _diagnose(pods=[_pod(0), _pod(1), new_pod], pvcs=[_pvc(0), _pvc(1), new_pvc],
                      pv=[_pv(7, claim_uid="pvc-new")])
    checks = recovery.checks(before, after, "replace_pvc", _cm(), _servers())
    assert all(c["ok"] for c in checks), checks
    assert _names(checks) == [
        "spire-server-2 healthy", "X.509 authority of spire-server-2 valid",
        "X.509 authority of spire-server-2 signed by the upstream CA", "PVC data-spire-server-2 Bound",
        "spire-bundle ConfigMap equals the servers' bundle", "other replicas untouched",
        "Pod spire-server-2 replaced", "PVC data-spire-server-2 replaced"]
    assert checks[-1]["detail"] == "uid pvc-2 -> pvc-new, PV pv-2 -> pv-7"
    assert checks[4]["detail"] == "1 certificate(s), equal on 3 healthy server(s)"
    assert checks[5]["line"] == "[OK] other replicas untouched: spire-server-0, spire-server-1: same Pods and PVCs as before"


def test_checks_without_action():
    state = _diagnose()
    checks = recovery.checks(state, state, "none", {"resources": _cm()}, _servers())
    assert len(checks) == 6 and all(c["ok"] for c in checks)
    assert checks[1]["detail"] == "active authority abc expires 2033-05-18T03:33:20Z (3600 s left)"


def test_checks_fail_naming_what_is_wrong():
    before = _diagnose()
    moved = _pod(0)
    moved["metadata"]["uid"] = "pod-0-new"
    after = _diagnose(pods=[moved, _pod(1), _pod(2)], pvcs=[_pvc(0), _pvc(1), _pvc(2, phase="Pending", volume="")],
                      pv=[], servers=_servers(s2=_info(upstream=OTHER_SKI, seconds_left=-1), s1=_info(bundle=OTHER_PEM)),
                      upstream_ca="")
    servers = _servers(s1=_info(bundle=OTHER_PEM))
    checks = {c["name"]: c for c in recovery.checks(before, after, "replace_pod", _cm(), servers)}
    assert not checks["X.509 authority of spire-server-2 valid"]["ok"]
    signed = checks["X.509 authority of spire-server-2 signed by the upstream CA"]
    assert not signed["ok"] and signed["detail"] == (
        "authority key ID %s, upstream CA subject key ID ? (Secret spire-upstream-ca missing)" % OTHER_SKI)
    assert not checks["PVC data-spire-server-2 Bound"]["ok"]
    bundle = checks["spire-bundle ConfigMap equals the servers' bundle"]
    assert not bundle["ok"] and bundle["detail"] == "differs from the bundle of spire-server-1"
    untouched = checks["other replicas untouched"]
    assert not untouched["ok"] and untouched["detail"] == "replaced meanwhile: spire-server-0"
    replaced = checks["Pod spire-server-2 replaced"]
    assert not replaced["ok"] and replaced["line"] == "[FAILED] Pod spire-server-2 replaced: uid pod-2 -> pod-2"


def test_checks_with_an_unhealthy_replica_and_no_configmap():
    before = _diagnose()
    after = _diagnose(servers=_servers(s2=_info(healthy=False, authorities=False)))
    checks = {c["name"]: c for c in recovery.checks(before, after, "none", [], _servers())}
    assert not checks["spire-server-2 healthy"]["ok"]
    assert checks["X.509 authority of spire-server-2 valid"]["detail"] == "unknown"
    assert not checks["spire-bundle ConfigMap equals the servers' bundle"]["ok"]
    none_healthy = [dict(_info(), healthy=False)] * 3
    assert not recovery.checks(before, before, "none", _cm(), none_healthy)[4]["ok"]


@pytest.mark.parametrize("args, message", [
    (("reboot", _cm(), []), "action must be one of"),
    (("none", "spire-bundle", []), "configmap must be a list"),
])
def test_checks_refuse_bad_inputs(args, message):
    state = _diagnose()
    with pytest.raises(ValueError, match=message):
        recovery.checks(state, state, *args)
    with pytest.raises(ValueError, match="before must be the result of diagnose"):
        recovery.checks({}, state, "none", _cm(), [])


def test_bundle_synced():
    assert recovery.bundle_synced(_cm(), [UPSTREAM_PEM])
    assert recovery.bundle_synced(_cm(UPSTREAM_PEM + "\n" + OTHER_PEM), [OTHER_PEM, UPSTREAM_PEM.replace("\n", "\r\n")])
    assert not recovery.bundle_synced(_cm(), [UPSTREAM_PEM, OTHER_PEM])
    assert not recovery.bundle_synced([], [])
    assert not recovery.bundle_synced(_cm(""), [])
    assert recovery.certificate_set([UPSTREAM_PEM, UPSTREAM_PEM]) == recovery.certificate_set(UPSTREAM_PEM)


# ------------------------------------------------------------------------------ report --
def test_report_of_a_diagnosis():
    state = _diagnose()
    doc = recovery.report(state, "diagnose", "none", started_at="2026-12-07T10:00:00Z",
                          generated_at="2026-12-07T10:00:20Z")
    assert list(doc) == ["runbook", "report_version", "status", "check_mode", "started_at", "generated_at",
                         "replica", "mode", "action", "before", "after", "checks", "seconds"]
    assert doc["runbook"] == "recover_server" and doc["report_version"] == recovery.REPORT_VERSION
    assert doc["status"] == "diagnosed" and doc["check_mode"] is False
    assert doc["replica"] == "spire-server-2" and doc["before"] == state and doc["after"] is None
    assert doc["checks"] == [] and doc["seconds"] is None


def test_report_of_a_recovery():
    before = _diagnose(servers=_servers(s2=_info(seconds_left=-1)))
    after = _diagnose()
    checks = [{"name": "x", "ok": True, "detail": "", "line": "[OK] x: "}]
    doc = recovery.report(before, "recover", "replace_pod", after=after, verification=checks, seconds="9.6")
    assert doc["status"] == "recovered" and doc["seconds"] == 9.6 and doc["after"] == after
    assert recovery.report(after, "recover", "none", after=after, verification=checks)["status"] == "healthy"
    failed = [dict(checks[0], ok=False)]
    assert recovery.report(before, "recover", "replace_pod", after=after, verification=failed)["status"] == "failed"
    planned = recovery.report(before, "recover", "replace_pod", check_mode=True)
    assert planned["status"] == "planned" and planned["check_mode"] is True


def test_report_holds_no_secret():
    state = _diagnose()
    text = repr(recovery.report(state, "diagnose", "none"))
    assert "PRIVATE KEY" not in text and "BEGIN CERTIFICATE" not in text


@pytest.mark.parametrize("args, message", [
    (("fix", "none"), "mode must be one of"),
    (("recover", "auto"), "action must be one of"),
])
def test_report_refuses_bad_inputs(args, message):
    with pytest.raises(ValueError, match=message):
        recovery.report(_diagnose(), *args)
    with pytest.raises(ValueError, match="before must be"):
        recovery.report(None, "diagnose", "none")


def test_inputs_are_not_changed():
    reads = _reads(pvcs=[_pvc(0), _pvc(1), _pvc(2, terminating=True)])
    snapshot = copy.deepcopy(reads)
    state = recovery.diagnose(_target(), reads["pods"], reads["pvcs"], reads["pv"], reads["nodes"], reads["servers"],
                              reads["upstream_ca"])
    frozen = copy.deepcopy(state)
    recovery.decide(state, mode="recover", delete_pvc=True)
    recovery.checks(state, state, "replace_pvc", _cm(), reads["servers"])
    assert reads == snapshot and state == frozen
