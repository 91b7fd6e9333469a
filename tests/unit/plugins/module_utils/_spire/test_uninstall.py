"""The uninstall runbook's decisions (plugins/module_utils/_spire/uninstall.py): what is read, what is
refused, what goes in which order, what is kept, and the report."""

import copy
import json

import pytest

from ansible_collections.ardur.spire.plugins.module_utils._spire import report as report_mod
from ansible_collections.ardur.spire.plugins.module_utils._spire import uninstall

NS = "spire-system"
MANAGER = "ardur-spire"
LABELS = {"app.kubernetes.io/part-of": "spire", "app.kubernetes.io/managed-by": "ardur.spire"}
OBJECTS = {
    "server": "spire-server", "server_headless": "spire-server-headless", "agent": "spire-agent",
    "bundle": "spire-bundle", "datastore": "spire-datastore", "upstream_ca": "spire-upstream-ca",
    "controller_manager": "spire-controller-manager",
    "controller_manager_webhook": "spire-controller-manager-webhook",
    "csi_driver": "spiffe-csi-driver", "csi_driver_plugin": "csi.spiffe.io",
}
SECRET_DATA = "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0t"  # what must never reach a plan or a report


def options(**overrides):
    values = dict((flag, False) for flag in uninstall.FLAGS)
    values.update(wait_timeout=300, report_path="./spire-uninstall.json")
    values.update(overrides)
    return values


def obj(name, namespace=None, manager=MANAGER, **extra):
    meta = {"name": name, "managedFields": [{"manager": manager}] if manager else []}
    if namespace:
        meta["namespace"] = namespace
    meta.update(extra.pop("metadata", {}))
    return dict(metadata=meta, **extra)


def deployment():
    """What deploy.yml and samples.yml leave in a cluster, as the k8s_info loop registers it."""
    return {
        "clusterspiffeids": [obj("ardur-langgraph"), obj("ardur-autogen")],
        "webhooks": [obj("spire-controller-manager-webhook",
                         webhooks=[{"clientConfig": {"service": {"namespace": NS, "name": "w"}}}])],
        "daemonsets": [obj("spiffe-csi-driver", NS), obj("spire-agent", NS)],
        "csidrivers": [obj("csi.spiffe.io")],
        "statefulsets": [obj("spire-server", NS)],
        "services": [obj("spire-server-headless", NS), obj("spire-server", NS)],
        "configmaps": [obj("spire-server", NS), obj("spire-bundle", NS)],
        "clusterrolebindings": [obj("spire-server-" + NS), obj("spire-agent-" + NS)],
        "clusterroles": [obj("spire-server-" + NS), obj("spire-controller-manager")],
        "rolebindings": [obj("spire-server-bundle", NS)],
        "roles": [obj("spire-server-bundle", NS)],
        "pdbs": [obj("spire-server", NS)],
        "serviceaccounts": [obj("spire-server", NS), obj("spire-agent", NS)],
        "crds": [obj("clusterspiffeids.spire.spiffe.io")],
        "pvcs": [obj("data-spire-server-1", NS, manager="kube-controller-manager"),
                 obj("data-spire-server-0", NS, manager="kube-controller-manager")],
        "namespaces": [obj(NS)],
        "sample_deployments": [obj("langgraph", "ardur-agents",
                                   spec={"selector": {"matchLabels": {"framework": "langgraph"}}})],
        "sample_serviceaccounts": [obj("langgraph", "ardur-agents")],
    }


def found(objects=None):
    objects = deployment() if objects is None else objects
    queries = dict((q["key"], q) for q in uninstall.queries(NS, LABELS))
    return [{"item": queries[key], "resources": resources, "changed": False} for key, resources in objects.items()]


def secrets():
    return [obj(name, NS, data={"tls.key": SECRET_DATA},
                metadata={"annotations": {"kubectl.kubernetes.io/last-applied-configuration": SECRET_DATA}})
            for name in ("spire-upstream-ca", "spire-datastore", "spire-upstream-ca-rotation")]


def pod(name, namespace="ardur-agents", labels=None, driver="csi.spiffe.io"):
    volumes = [{"name": "v", "csi": {"driver": driver}}] if driver else [{"name": "t", "emptyDir": {}}]
    return {"metadata": {"name": name, "namespace": namespace, "labels": labels or {}}, "spec": {"volumes": volumes}}


def sample_pod(name="langgraph-abc"):
    return pod(name, labels={"framework": "langgraph", "app.kubernetes.io/name": "langgraph"})


def plan(objects=None, pods=(), check_mode=False, secret_list=None, **flags):
    return uninstall.plan(found(objects), secrets() if secret_list is None else secret_list, list(pods),
                          options(**flags), NS, OBJECTS, MANAGER, check_mode=check_mode)


def refs(items):
    return [item["ref"] for item in items]


# ---------------------------------------------------------------------------------- queries
def test_queries_cover_every_kind_in_order_with_the_labels():
    queries = uninstall.queries(NS, LABELS)
    assert [q["key"] for q in queries] == [k[0] for k in uninstall.KINDS] + [k[0] for k in uninstall.SAMPLE_KINDS]
    by_kind = dict((q["key"], q) for q in queries)
    assert by_kind["daemonsets"]["namespace"] == NS and by_kind["clusterroles"]["namespace"] == ""
    assert by_kind["daemonsets"]["label_selectors"] == [
        "app.kubernetes.io/managed-by=ardur.spire", "app.kubernetes.io/part-of=spire"]
    assert by_kind["sample_deployments"]["namespace"] == ""
    assert by_kind["sample_deployments"]["label_selectors"] == list(uninstall.SAMPLE_SELECTOR)


@pytest.mark.parametrize("namespace, labels", [("", LABELS), (None, LABELS), (NS, {}), (NS, ["a=b"])])
def test_queries_refuse_bad_input(namespace, labels):
    with pytest.raises(uninstall.PlanError):
        uninstall.queries(namespace, labels)


# ---------------------------------------------------------------------------- input checks
def test_default_inputs_are_accepted():
    assert uninstall.option_problems(options(), NS) == []


def test_namespace_deletion_with_its_flags_is_accepted():
    flags = dict((flag, True) for flag in uninstall.NAMESPACE_IMPLIES)
    assert uninstall.option_problems(options(delete_namespace=True, **flags), NS) == []


def test_namespace_deletion_alone_names_every_missing_flag():
    problems = uninstall.option_problems(options(delete_namespace=True, delete_pvcs=True), NS)
    assert len(problems) == 1
    assert "uninstall_delete_upstream_ca, uninstall_delete_datastore_secret to true" in problems[0]
    assert "namespace spire-system" in problems[0] and "uninstall_delete_pvcs," not in problems[0]


@pytest.mark.parametrize("namespace", uninstall.SYSTEM_NAMESPACES)
def test_a_system_namespace_is_never_deleted(namespace):
    flags = dict((flag, True) for flag in uninstall.NAMESPACE_IMPLIES)
    problems = uninstall.option_problems(options(delete_namespace=True, **flags), namespace)
    assert len(problems) == 1 and "system namespace" in problems[0] and namespace in problems[0]


def test_a_system_namespace_is_fine_without_a_namespace_deletion():
    assert uninstall.option_problems(options(), "default") == []


@pytest.mark.parametrize("timeout", [0, -5, "300", True, None, 1.5])
def test_wait_timeout_must_be_a_positive_int(timeout):
    problems = uninstall.option_problems(options(wait_timeout=timeout), NS)
    assert len(problems) == 1 and problems[0].startswith("uninstall_wait_timeout")


@pytest.mark.parametrize("path", ["", "  ", None, 5])
def test_report_path_must_be_given(path):
    problems = uninstall.option_problems(options(report_path=path), NS)
    assert len(problems) == 1 and problems[0].startswith("uninstall_report_path")


def test_every_problem_is_reported_at_once():
    problems = uninstall.option_problems(options(delete_namespace=True, wait_timeout=0, report_path=""), "kube-system")
    assert len(problems) == 4


@pytest.mark.parametrize("bad", [None, [], "yes"])
def test_options_must_be_a_dict(bad):
    with pytest.raises(uninstall.PlanError, match="options must be a dict"):
        uninstall.option_problems(bad, NS)


@pytest.mark.parametrize("flag", uninstall.FLAGS)
def test_every_flag_must_be_a_bool(flag):
    with pytest.raises(uninstall.PlanError, match="options.%s must be a boolean" % flag):
        uninstall.option_problems(options(**{flag: "true"}), NS)


# ------------------------------------------------------------------------------- ordering
EXPECTED_ORDER = [
    "ClusterSPIFFEID ardur-autogen", "ClusterSPIFFEID ardur-langgraph",
    "ValidatingWebhookConfiguration spire-controller-manager-webhook",
    "DaemonSet spire-system/spire-agent", "DaemonSet spire-system/spiffe-csi-driver",
    "CSIDriver csi.spiffe.io",
    "StatefulSet spire-system/spire-server",
    "Service spire-system/spire-server", "Service spire-system/spire-server-headless",
    "ConfigMap spire-system/spire-bundle", "ConfigMap spire-system/spire-server",
    "ClusterRoleBinding spire-agent-spire-system", "ClusterRoleBinding spire-server-spire-system",
    "ClusterRole spire-controller-manager", "ClusterRole spire-server-spire-system",
    "RoleBinding spire-system/spire-server-bundle", "Role spire-system/spire-server-bundle",
    "PodDisruptionBudget spire-system/spire-server",
    "ServiceAccount spire-system/spire-agent", "ServiceAccount spire-system/spire-server",
]


def test_default_plan_deletes_in_the_documented_order_and_keeps_the_key_material():
    result = plan()
    assert refs(result["delete"]) == EXPECTED_ORDER
    assert result["samples"] == [] and result["sample_pods"] == []
    assert result["delete_secrets"] == [] and result["delete_storage"] == []
    assert result["refusal"] == "" and result["warning"] == ""
    assert [entry["ref"] for entry in result["keep"]] == [
        "Secret spire-system/spire-datastore", "Secret spire-system/spire-upstream-ca",
        "Secret spire-system/spire-upstream-ca-rotation",
        "PersistentVolumeClaim spire-system/data-spire-server-0", "PersistentVolumeClaim spire-system/data-spire-server-1",
        "CustomResourceDefinition clusterspiffeids.spire.spiffe.io", "Namespace spire-system",
        "Deployment ardur-agents/langgraph", "ServiceAccount ardur-agents/langgraph"]
    reasons = dict((entry["ref"], entry["reason"]) for entry in result["keep"])
    assert reasons["Secret spire-system/spire-upstream-ca-rotation"] == "set uninstall_delete_upstream_ca: true to delete it"
    assert reasons["Secret spire-system/spire-datastore"] == "set uninstall_delete_datastore_secret: true to delete it"
    assert "uninstall_delete_pvcs" in reasons["PersistentVolumeClaim spire-system/data-spire-server-0"]
    assert reasons["Deployment ardur-agents/langgraph"] == "sample; uninstall_samples: true to delete it"


def test_workloads_are_deleted_in_the_foreground_and_waited_for():
    items = dict((item["ref"], item) for item in plan()["delete"])
    for ref in ("DaemonSet spire-system/spire-agent", "StatefulSet spire-system/spire-server"):
        assert items[ref]["wait"] is True and items[ref]["delete_options"] == {"propagationPolicy": "Foreground"}
    service = items["Service spire-system/spire-server"]
    assert service["wait"] is False and service["delete_options"] == {"propagationPolicy": "Background"}
    assert service == {"api_version": "v1", "kind": "Service", "namespace": NS, "name": "spire-server",
                       "ref": "Service spire-system/spire-server", "wait": False,
                       "delete_options": {"propagationPolicy": "Background"}}
    assert items["CSIDriver csi.spiffe.io"]["namespace"] == ""


def test_the_agent_goes_before_any_other_daemonset_whatever_the_names():
    objects = deployment()
    objects["daemonsets"] = [obj("aaa-other", NS), obj("spire-agent", NS), obj("spiffe-csi-driver", NS)]
    daemonsets = [r for r in refs(plan(objects)["delete"]) if r.startswith("DaemonSet")]
    assert daemonsets == ["DaemonSet spire-system/spire-agent", "DaemonSet spire-system/aaa-other",
                          "DaemonSet spire-system/spiffe-csi-driver"]


def test_every_flag_deletes_what_it_guards_in_the_documented_place():
    flags = dict((flag, True) for flag in ("delete_crds", "delete_upstream_ca", "delete_datastore_secret",
                                           "delete_pvcs", "delete_namespace"))
    result = plan(**flags)
    assert refs(result["delete"]) == EXPECTED_ORDER + ["CustomResourceDefinition clusterspiffeids.spire.spiffe.io"]
    assert refs(result["delete_secrets"]) == ["Secret spire-system/spire-datastore", "Secret spire-system/spire-upstream-ca",
                                              "Secret spire-system/spire-upstream-ca-rotation"]
    assert refs(result["delete_storage"]) == ["PersistentVolumeClaim spire-system/data-spire-server-0",
                                              "PersistentVolumeClaim spire-system/data-spire-server-1",
                                              "Namespace spire-system"]
    namespace = result["delete_storage"][-1]
    assert namespace["wait"] is True and namespace["delete_options"] == {}
    assert result["delete_storage"][0]["wait"] is False
    assert [entry["ref"] for entry in result["keep"]] == ["Deployment ardur-agents/langgraph",
                                                          "ServiceAccount ardur-agents/langgraph"]


@pytest.mark.parametrize("flag, deleted", [
    ("delete_upstream_ca", ["spire-upstream-ca", "spire-upstream-ca-rotation"]),
    ("delete_datastore_secret", ["spire-datastore"]),
])
def test_each_secret_flag_deletes_only_its_secrets(flag, deleted):
    result = plan(**{flag: True})
    assert [item["name"] for item in result["delete_secrets"]] == deleted
    kept = [entry["ref"] for entry in result["keep"] if entry["ref"].startswith("Secret")]
    assert not [name for name in deleted if "Secret spire-system/" + name in kept]
    assert len(kept) == 3 - len(deleted)


def test_pvcs_flag_alone_keeps_the_namespace():
    result = plan(delete_pvcs=True)
    assert [item["kind"] for item in result["delete_storage"]] == ["PersistentVolumeClaim"] * 2
    assert "Namespace spire-system" in [entry["ref"] for entry in result["keep"]]


def test_crds_flag_alone():
    result = plan(delete_crds=True)
    assert refs(result["delete"])[-1] == "CustomResourceDefinition clusterspiffeids.spire.spiffe.io"
    assert not [e for e in result["keep"] if e["ref"].startswith("CustomResourceDefinition")]


def test_a_named_rotation_secret_in_objects_is_used():
    objects = dict(OBJECTS, upstream_ca_rotation="ca-rotation-state")
    secret_list = [obj("ca-rotation-state", NS), obj("spire-upstream-ca-rotation", NS)]
    result = uninstall.plan(found(), secret_list, [], options(delete_upstream_ca=True), NS, objects, MANAGER)
    assert refs(result["delete_secrets"]) == ["Secret spire-system/ca-rotation-state"]


# ------------------------------------------------------------------------------ ownership
def test_objects_without_the_field_manager_are_not_ours():
    objects = deployment()
    objects["configmaps"].append(obj("someone-elses", NS, manager="kubectl"))
    objects["clusterspiffeids"].append(obj("no-managed-fields", manager=None))
    objects["sample_deployments"].append(obj("hand-made", "ardur-agents", manager="kubectl"))
    result = plan(objects, samples=True)
    assert "ConfigMap spire-system/someone-elses" not in refs(result["delete"])
    assert "ClusterSPIFFEID no-managed-fields" not in refs(result["delete"])
    assert "Deployment ardur-agents/hand-made" not in refs(result["samples"])


def test_pvcs_are_ours_by_the_labels_alone():
    assert len(plan(delete_pvcs=True)["delete_storage"]) == 2


def test_cluster_rbac_of_another_namespace_is_left_alone():
    objects = deployment()
    objects["clusterroles"] += [obj("spire-server-other"), obj("spire-agent-other")]
    objects["clusterrolebindings"] += [obj("spire-agent-other")]
    deleted = refs(plan(objects)["delete"])
    assert not [r for r in deleted if r.endswith("-other")]
    assert "ClusterRole spire-controller-manager" in deleted


def test_a_webhook_calling_another_namespace_is_left_alone():
    objects = deployment()
    objects["webhooks"] = [
        obj("theirs", webhooks=[{"clientConfig": {"service": {"namespace": "other"}}}]),
        obj("mixed", webhooks=[{"clientConfig": {"service": {"namespace": NS}}},
                               {"clientConfig": {"service": {"namespace": "other"}}}]),
        obj("by-url", webhooks=[{"clientConfig": {"url": "https://example.org"}}]),
        obj("no-webhooks"),
    ]
    webhooks = [r for r in refs(plan(objects)["delete"]) if r.startswith("Validating")]
    assert webhooks == ["ValidatingWebhookConfiguration by-url", "ValidatingWebhookConfiguration no-webhooks"]


def test_only_the_deployment_namespace_is_deleted():
    objects = deployment()
    objects["namespaces"].append(obj("ardur-agents"))
    flags = dict((flag, True) for flag in uninstall.NAMESPACE_IMPLIES)
    result = plan(objects, delete_namespace=True, **flags)
    assert [item["ref"] for item in result["delete_storage"] if item["kind"] == "Namespace"] == ["Namespace spire-system"]


def test_secrets_are_ours_by_name_and_field_manager():
    secret_list = secrets() + [obj("spire-upstream-ca-backup", NS), obj("spire-datastore", "x", manager="kubectl")]
    result = plan(secret_list=secret_list, delete_upstream_ca=True, delete_datastore_secret=True)
    assert [item["name"] for item in result["delete_secrets"]] == [
        "spire-datastore", "spire-upstream-ca", "spire-upstream-ca-rotation"]


def test_no_secret_value_reaches_the_plan():
    result = plan(delete_upstream_ca=True, delete_datastore_secret=True)
    assert SECRET_DATA not in json.dumps(result)
    keys = {"api_version", "kind", "namespace", "name", "ref", "wait", "delete_options"}
    assert set(result["delete_secrets"][0]) == keys


def test_an_empty_cluster_plans_nothing():
    empty = dict((key, []) for key in deployment())
    result = plan(empty, secret_list=[], samples=True, delete_crds=True, delete_pvcs=True)
    assert uninstall.deletions(result) == [] and result["keep"] == []
    assert result["lines"] == ["Deleting, in this order:", "  nothing", "Keeping:", "  nothing"]


# ------------------------------------------------------------------------- samples and CSI pods
def test_samples_go_first_deployments_before_serviceaccounts():
    result = plan(samples=True, pods=[sample_pod()])
    assert refs(result["samples"]) == ["Deployment ardur-agents/langgraph", "ServiceAccount ardur-agents/langgraph"]
    assert refs(uninstall.deletions(result))[:2] == refs(result["samples"])
    assert result["samples"][0]["delete_options"] == {"propagationPolicy": "Foreground"}
    assert "selector" not in result["samples"][0]
    assert result["sample_pods"] == [{"namespace": "ardur-agents", "name": "langgraph-abc"}]
    keep = [entry for entry in result["keep"] if entry["ref"] == "Namespace ardur-agents"]
    assert keep and "delete it yourself" in keep[0]["reason"]


def test_a_pod_mounting_the_csi_volume_refuses_and_names_every_pod():
    pods = [pod("a"), pod("b", "team"), pod("plain", driver=None), pod("other-driver", driver="other.csi.io")]
    result = plan(pods=pods)
    assert result["csi_pods"] == ["ardur-agents/a", "team/b"] == result["blocking_pods"]
    assert result["refusal"].startswith("Refusing to uninstall: 2 pod(s) mount a csi.spiffe.io volume: "
                                        "ardur-agents/a, team/b.")
    assert "uninstall_force: true" in result["refusal"] and "Nothing was deleted" in result["refusal"]
    assert result["warning"] == ""


def test_sample_pods_block_unless_the_samples_are_deleted():
    assert plan(pods=[sample_pod()])["blocking_pods"] == ["ardur-agents/langgraph-abc"]
    result = plan(pods=[sample_pod(), pod("real", "team")], samples=True)
    assert result["csi_pods"] == ["ardur-agents/langgraph-abc", "team/real"]
    assert result["blocking_pods"] == ["team/real"]
    assert plan(pods=[sample_pod()], samples=True)["refusal"] == ""


def test_a_pod_matches_a_sample_only_in_its_namespace_and_with_every_label():
    pods = [pod("elsewhere", "team", labels={"framework": "langgraph"}),
            pod("partial", labels={"app.kubernetes.io/name": "langgraph"})]
    result = plan(pods=pods, samples=True)
    assert result["sample_pods"] == [] and result["blocking_pods"] == ["team/elsewhere", "ardur-agents/partial"]


def test_a_sample_without_a_selector_matches_no_pod():
    objects = deployment()
    objects["sample_deployments"] = [obj("langgraph", "ardur-agents")]
    assert plan(objects, pods=[sample_pod()], samples=True)["sample_pods"] == []


def test_force_warns_instead_of_refusing():
    result = plan(pods=[pod("a")], force=True)
    assert result["refusal"] == ""
    assert result["warning"].startswith("WARNING: uninstall_force: true, continuing although 1 pod(s) mount a "
                                        "csi.spiffe.io volume: ardur-agents/a.")
    assert refs(result["delete"]) == EXPECTED_ORDER


def test_force_without_blocking_pods_says_nothing():
    assert plan(force=True)["warning"] == ""


# ------------------------------------------------------------------------------------ lines
def test_lines_show_the_order_and_what_is_kept():
    lines = plan(samples=True)["lines"]
    assert lines[0] == "Deleting, in this order:"
    assert lines[1] == "  Deployment ardur-agents/langgraph"
    assert "  Secret spire-system/spire-upstream-ca (set uninstall_delete_upstream_ca: true to delete it)" in lines
    assert lines.index("Keeping:") == 1 + 2 + len(EXPECTED_ORDER)


def test_lines_in_check_mode():
    assert plan(check_mode=True)["lines"][0] == "Would delete (check mode), in this order:"


# ------------------------------------------------------------------------------- bad input
def test_found_must_hold_every_query_once():
    results = found()
    with pytest.raises(uninstall.PlanError, match="missing crds, unknown none"):
        uninstall.plan([r for r in results if r["item"]["key"] != "crds"], [], [], options(), NS, OBJECTS, MANAGER)
    with pytest.raises(uninstall.PlanError, match="holds pvcs twice"):
        uninstall.plan(results + [r for r in results if r["item"]["key"] == "pvcs"], [], [], options(), NS, OBJECTS,
                       MANAGER)
    extra = copy.deepcopy(results[0])
    extra["item"]["key"] = "secrets"
    with pytest.raises(uninstall.PlanError, match="unknown secrets"):
        uninstall.plan(results + [extra], [], [], options(), NS, OBJECTS, MANAGER)


@pytest.mark.parametrize("bad", [
    "text", {"results": []}, [None], [{"item": {"key": "pvcs"}}], [{"resources": []}],
    [{"item": "pvcs", "resources": []}], [{"item": {"key": "pvcs"}, "resources": None}],
])
def test_found_must_be_k8s_info_loop_results(bad):
    with pytest.raises(uninstall.PlanError):
        uninstall.plan(bad, [], [], options(), NS, OBJECTS, MANAGER)


@pytest.mark.parametrize("argument, value, message", [
    ("secrets", None, "secrets must be a list"),
    ("pods", {"items": []}, "pods must be a list"),
    ("namespace", "", "namespace must be"),
    ("field_manager", None, "field_manager must be"),
    ("objects", ["spire-server"], "objects must be"),
    ("objects", dict(OBJECTS, csi_driver_plugin=""), "objects lacks csi_driver_plugin"),
    ("options", options(samples="yes"), "options.samples must be a boolean"),
])
def test_plan_refuses_bad_arguments(argument, value, message):
    arguments = dict(found=found(), secrets=[], pods=[], options=options(), namespace=NS, objects=OBJECTS,
                     field_manager=MANAGER)
    arguments[argument] = value
    with pytest.raises(uninstall.PlanError, match=message):
        uninstall.plan(**arguments)


# ----------------------------------------------------------------------------------- report
def deletion_results(the_plan, gone=()):
    """Registered loop results as kubernetes.core.k8s state=absent leaves them (a Secret's holds the Secret)."""
    return [{"item": item, "changed": item["ref"] not in gone, "result": {"data": {"tls.key": SECRET_DATA}}}
            for item in uninstall.deletions(the_plan)]


FIXED = dict(started_at="2026-12-07T10:00:00Z", generated_at="2026-12-07T10:05:00Z")


def test_report_of_a_run():
    the_plan = plan(samples=True, delete_upstream_ca=True)
    gone = {"ClusterSPIFFEID ardur-autogen"}
    result = uninstall.report(the_plan, deletion_results(the_plan, gone), options(samples=True, delete_upstream_ca=True),
                              **FIXED)
    assert list(result)[:6] == list(report_mod.ENVELOPE_KEYS)
    assert result["runbook"] == "uninstall" and result["report_version"] == uninstall.REPORT_VERSION == 1
    assert result["status"] == "uninstalled" and result["check_mode"] is False
    assert result["started_at"] == FIXED["started_at"] and result["generated_at"] == FIXED["generated_at"]
    planned = refs(uninstall.deletions(the_plan))
    assert result["planned"] == planned and planned[-2:] == ["Secret spire-system/spire-upstream-ca",
                                                             "Secret spire-system/spire-upstream-ca-rotation"]
    assert result["deleted"] == [r for r in planned if r not in gone] and result["already_gone"] == sorted(gone)
    assert result["options"] == dict((flag, flag in ("samples", "delete_upstream_ca")) for flag in uninstall.FLAGS)
    assert result["kept"] == the_plan["keep"] and result["namespace"] == NS
    assert result["summary"][0] == "Deleted %d object(s):" % (len(planned) - 1)
    assert "Kept:" in result["summary"] and result["forced"] is False
    assert SECRET_DATA not in json.dumps(result)


def test_report_of_a_second_run_says_already_uninstalled():
    empty = dict((key, []) for key in deployment())
    the_plan = plan(empty, secret_list=[])
    result = uninstall.report(the_plan, [], options(), **FIXED)
    assert result["status"] == "uninstalled" and result["deleted"] == [] and result["planned"] == []
    assert result["summary"] == ["Deleted 0 object(s):", "  nothing (already uninstalled)", "Kept:", "  nothing"]


def test_report_in_check_mode_deletes_nothing():
    the_plan = plan(check_mode=True)
    result = uninstall.report(the_plan, deletion_results(the_plan), options(), check_mode=True, **FIXED)
    assert result["status"] == "planned" and result["check_mode"] is True
    assert result["deleted"] == [] and result["already_gone"] == []
    assert result["planned"] == EXPECTED_ORDER
    assert result["summary"][0] == "Would have deleted (check mode, nothing was deleted) %d object(s):" % len(
        EXPECTED_ORDER)


def test_report_of_a_refusal():
    the_plan = plan(pods=[pod("a")])
    result = uninstall.report(the_plan, [], options(), **FIXED)
    assert result["status"] == "refused" and result["deleted"] == []
    assert result["blocking_pods"] == ["ardur-agents/a"] and result["planned"] == EXPECTED_ORDER
    assert result["summary"][:2] == ["Refused: deleted 0 object(s):", "  nothing"]


def test_report_of_a_forced_run():
    the_plan = plan(pods=[pod("a")], force=True)
    result = uninstall.report(the_plan, deletion_results(the_plan), options(force=True), **FIXED)
    assert result["forced"] is True and result["status"] == "uninstalled"


def test_report_of_a_failed_run():
    the_plan = plan()
    results = deletion_results(the_plan)[:3]
    results[-1] = dict(results[-1], changed=False, failed=True)
    result = uninstall.report(the_plan, results, options(), **FIXED)
    assert result["status"] == "failed" and result["deleted"] == EXPECTED_ORDER[:2]
    assert result["already_gone"] == [] and result["summary"][0] == "Deleted 2 object(s) before the failure:"


def test_report_reads_only_ref_and_changed_of_a_result():
    the_plan = plan()
    results = [{"changed": True, "item": "not a dict"}, {"changed": "yes", "item": the_plan["delete"][0]},
               {"changed": True}]
    assert uninstall.outcome(the_plan, results) == ([], EXPECTED_ORDER)


@pytest.mark.parametrize("the_plan, results, message", [
    ({"namespace": NS}, [], "the plan must be"),
    (None, [], "the plan must be"),
    ("plan", [], "the plan must be"),
])
def test_report_refuses_what_is_not_a_plan(the_plan, results, message):
    with pytest.raises(uninstall.PlanError, match=message):
        uninstall.report(the_plan, results, options())


@pytest.mark.parametrize("results", [None, {"results": []}, [None], ["x"]])
def test_report_refuses_what_are_not_results(results):
    with pytest.raises(uninstall.PlanError):
        uninstall.report(plan(), results, options())


def test_outcome_refuses_what_are_not_results():
    with pytest.raises(uninstall.PlanError):
        uninstall.outcome(plan(), "x")
