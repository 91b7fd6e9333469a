"""The registrations role in render mode (no cluster): what it writes and what it refuses.

Runs tests/render/registrations-render.yml with ansible-playbook and reads SPIRE_RENDER_DIR/crds.yaml
and SPIRE_RENDER_DIR/registrations.yaml.
"""

import copy
import json
import os
import pathlib
import subprocess
import sys

import jsonschema
import pytest
import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
PLAYBOOK = REPO / "tests" / "render" / "registrations-render.yml"
# The shared defaults, plus the trust domain and cluster name every run passes (they have none).
IDENTITY = {"spire_trust_domain": "ardur.internal", "spire_cluster_name": "ardur"}
COMMON = {**yaml.safe_load((REPO / "roles" / "spire" / "defaults" / "main.yml").read_text()), **IDENTITY}


def ansible_playbook(render_dir, extra_vars, vars_file=None):
    extra = dict(IDENTITY, **extra_vars)
    extra["spire_render_dir"] = str(render_dir)
    binary = pathlib.Path(sys.executable).with_name("ansible-playbook")
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", ANSIBLE_STDOUT_CALLBACK="default")
    more = ["-e", "@%s" % vars_file] if vars_file else []
    return subprocess.run(
        [str(binary), "-i", "localhost,", str(PLAYBOOK), "-e", json.dumps(extra)] + more,
        capture_output=True, text=True, cwd=str(REPO), env=env, timeout=600, check=False)


def render(tmp_path_factory, name, extra_vars=None, vars_file_text=None):
    out = tmp_path_factory.mktemp(name)
    vars_file = None
    if vars_file_text:
        vars_file = out.with_name(name + "-vars.yml")
        vars_file.write_text(vars_file_text)
    proc = ansible_playbook(out, extra_vars or {}, vars_file)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    docs = {}
    for filename in ("crds.yaml", "registrations.yaml"):
        docs[filename] = [d for d in yaml.safe_load_all((out / filename).read_text()) if d]
    docs["raw"] = (out / "registrations.yaml").read_text()
    return docs


@pytest.fixture(scope="module")
def default(tmp_path_factory):
    return render(tmp_path_factory, "default")


CUSTOM = {
    "spire_trust_domain": "prod.example.org",
    "spire_cluster_name": "east-1",
    "spire_cluster_domain": "k8s.example",
    "spire_namespace": "identity",
    "registrations_webhook_enabled": False,
    "registrations_entry_id_prefix": "east1",
    "registrations_class_name": "ardur",
}
# Go templates reach the role untouched when marked !unsafe (as docs/registrations.md says).
CUSTOM_FAMILIES = """
registrations_families:
  - name: langgraph
    app: graph
    container: graph
    namespace: agents
    hint: graph
    spiffe_id_template: !unsafe "spiffe://prod.example.org/agents/{{ .PodMeta.Name }}"
    dns_name_templates:
      - !unsafe "{{ .PodMeta.Name }}.agents.svc"
"""


@pytest.fixture(scope="module")
def custom(tmp_path_factory):
    return render(tmp_path_factory, "custom", CUSTOM, CUSTOM_FAMILIES)


def of_kind(docs, kind):
    return [d for d in docs["registrations.yaml"] if d["kind"] == kind]


def config_of(docs):
    (cm,) = of_kind(docs, "ConfigMap")
    return cm, yaml.safe_load(cm["data"]["controller-manager-config.yaml"])


def strict(schema):
    """The CRD schema as JSON Schema that also rejects fields the API server would prune."""
    schema = copy.deepcopy(schema)

    def walk(node):
        for key in [k for k in node if k.startswith("x-kubernetes-")]:
            del node[key]
        if "properties" in node:
            node.setdefault("additionalProperties", False)
            for sub in node["properties"].values():
                walk(sub)
        if isinstance(node.get("items"), dict):
            walk(node["items"])
        if isinstance(node.get("additionalProperties"), dict):
            walk(node["additionalProperties"])
    walk(schema)
    # metadata is the API server's business
    schema["properties"]["metadata"] = {"type": "object"}
    return schema


# --- files ---------------------------------------------------------------------------------

def test_crds_file_holds_the_three_crds_only(default):
    assert sorted(d["metadata"]["name"] for d in default["crds.yaml"]) == [
        "clusterfederatedtrustdomains.spire.spiffe.io",
        "clusterspiffeids.spire.spiffe.io",
        "clusterstaticentries.spire.spiffe.io",
    ]
    assert {d["kind"] for d in default["crds.yaml"]} == {"CustomResourceDefinition"}
    assert all(d["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "ardur.spire" for d in default["crds.yaml"])


def test_registrations_file_kinds(default):
    kinds = sorted(d["kind"] for d in default["registrations.yaml"])
    assert kinds == sorted(["ConfigMap", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Service",
                            "ValidatingWebhookConfiguration"] + ["ClusterSPIFFEID"] * 3)


# --- ClusterSPIFFEIDs ------------------------------------------------------------------------

def test_default_families_and_naming_contract(default):
    objs = {o["metadata"]["name"]: o for o in of_kind(default, "ClusterSPIFFEID")}
    assert sorted(objs) == ["ardur-autogen", "ardur-langchain", "ardur-langgraph"]
    for family in ("langchain", "langgraph", "autogen"):
        spec = objs["ardur-" + family]["spec"]
        assert spec["spiffeIDTemplate"] == (
            "spiffe://{{ .TrustDomain }}/ns/{{ .PodMeta.Namespace }}/sa/{{ .PodSpec.ServiceAccountName }}"
            "/framework/" + family)
        assert spec["podSelector"]["matchLabels"] == {"framework": family, "app.kubernetes.io/name": family + "-agent"}
        assert spec["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "ardur-agents"}
        assert spec["workloadSelectorTemplates"][0] == "k8s:container-name:" + family


def test_go_templates_survive_jinja_literally(default, custom):
    assert "spiffe://{{ .TrustDomain }}/ns/{{ .PodMeta.Namespace }}/sa/{{ .PodSpec.ServiceAccountName }}/framework/autogen" \
        in default["raw"]
    (obj,) = of_kind(custom, "ClusterSPIFFEID")
    assert obj["spec"]["spiffeIDTemplate"] == "spiffe://prod.example.org/agents/{{ .PodMeta.Name }}"
    assert obj["spec"]["dnsNameTemplates"] == ["{{ .PodMeta.Name }}.agents.svc"]


@pytest.mark.parametrize("which", ["default", "custom"])
def test_cluster_spiffeids_validate_against_our_crd(which, request):
    docs = request.getfixturevalue(which)
    (crd,) = [d for d in docs["crds.yaml"] if d["metadata"]["name"] == "clusterspiffeids.spire.spiffe.io"]
    schema = strict(crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"])
    objs = of_kind(docs, "ClusterSPIFFEID")
    assert objs
    for obj in objs:
        jsonschema.validate(obj, schema)
    broken = copy.deepcopy(objs[0])
    broken["spec"]["jwtTTL"] = "5m"  # a misspelt field would be pruned silently by the API server
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


# --- controller manager configuration --------------------------------------------------------

def test_config_follows_the_shared_settings(default):
    cm, config = config_of(default)
    assert cm["metadata"] == {**cm["metadata"], "name": "spire-controller-manager", "namespace": COMMON["spire_namespace"]}
    assert config["apiVersion"] == "spire.spiffe.io/v1alpha1" and config["kind"] == "ControllerManagerConfig"
    assert config["trustDomain"] == COMMON["spire_trust_domain"]
    assert config["clusterName"] == COMMON["spire_cluster_name"]
    assert config["clusterDomain"] == COMMON["spire_cluster_domain"]
    assert config["spireServerSocketPath"] == "/tmp/spire-server/private/api.sock"
    assert config["validatingWebhookConfigurationName"] == "spire-controller-manager-webhook"
    assert config["leaderElection"] == {"leaderElect": True, "resourceLock": "leases",
                                        "resourceName": "spire-controller-manager-leader",
                                        "resourceNamespace": COMMON["spire_namespace"]}
    assert "^%s$" % COMMON["spire_namespace"] in config["ignoreNamespaces"]
    assert "^kube-system$" in config["ignoreNamespaces"]
    assert config["entryIDPrefix"] == "ardur-k8s"
    assert config["health"] == {"healthProbeBindAddress": "0.0.0.0:8083"}
    assert "className" not in config


def test_config_follows_changed_shared_settings(custom):
    cm, config = config_of(custom)
    assert cm["metadata"]["namespace"] == "identity"
    assert (config["trustDomain"], config["clusterName"], config["clusterDomain"]) == (
        "prod.example.org", "east-1", "k8s.example")
    assert config["leaderElection"]["resourceNamespace"] == "identity"
    assert "^identity$" in config["ignoreNamespaces"]
    assert config["entryIDPrefix"] == "east1" and config["className"] == "ardur"
    (obj,) = of_kind(custom, "ClusterSPIFFEID")
    assert obj["spec"]["className"] == "ardur"


def test_config_only_uses_fields_the_v063_loader_knows(default):
    known = {"apiVersion", "kind", "clusterName", "clusterDomain", "trustDomain", "ignoreNamespaces",
             "validatingWebhookConfigurationName", "gcInterval", "spireServerSocketPath", "logLevel", "logEncoding",
             "grpc", "syncPeriod", "leaderElection", "cacheNamespace", "cacheNamespaces", "gracefulShutDown",
             "controller", "metrics", "health", "webhook", "className", "watchClassless", "parentIDTemplate",
             "reconcile", "entryIDPrefix", "entryIDPrefixCleanup", "staticManifestPath", "expandEnvStaticManifests"}
    config = config_of(default)[1]
    assert set(config) <= known


# --- RBAC -------------------------------------------------------------------------------------

def all_rules(docs):
    return [rule for d in docs["registrations.yaml"] if d["kind"] in ("ClusterRole", "Role") for rule in d["rules"]]


@pytest.mark.parametrize("which", ["default", "custom"])
def test_rbac_is_minimal(which, request):
    docs = request.getfixturevalue(which)
    for rule in all_rules(docs):
        assert "*" not in rule["verbs"] and "*" not in rule["resources"] and "*" not in rule["apiGroups"]
        assert "secrets" not in rule["resources"]
        assert not {"delete", "deletecollection", "escalate", "bind", "impersonate"} & set(rule["verbs"])
        if rule["apiGroups"] == [""] and set(rule["resources"]) & {"pods", "nodes", "namespaces", "endpoints"}:
            assert set(rule["verbs"]) <= {"get", "list", "watch"}
        if rule["apiGroups"] == ["spire.spiffe.io"]:
            writes = set(rule["verbs"]) - {"get", "list", "watch"}
            assert not writes or all(r.endswith("/status") for r in rule["resources"])
    (role,) = of_kind(docs, "Role")
    assert role["metadata"]["namespace"] == (CUSTOM["spire_namespace"] if which == "custom" else COMMON["spire_namespace"])
    lease_updates = [r for r in role["rules"] if "leases" in r["resources"] and "update" in r["verbs"]]
    assert lease_updates and all(r.get("resourceNames") == ["spire-controller-manager-leader"] for r in lease_updates)
    for binding in of_kind(docs, "ClusterRoleBinding") + of_kind(docs, "RoleBinding"):
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "spire-server",
                                        "namespace": role["metadata"]["namespace"]}]


def test_webhook_rbac_is_limited_to_our_configuration(default, custom):
    webhook_rules = [r for r in all_rules(default) if r["apiGroups"] == ["admissionregistration.k8s.io"]]
    named = [r for r in webhook_rules if "patch" in r["verbs"]]
    assert named == [{"apiGroups": ["admissionregistration.k8s.io"], "resources": ["validatingwebhookconfigurations"],
                      "resourceNames": ["spire-controller-manager-webhook"], "verbs": ["get", "patch"]}]
    assert not [r for r in all_rules(custom) if r["apiGroups"] == ["admissionregistration.k8s.io"]]


# --- webhook ----------------------------------------------------------------------------------

def test_webhook_objects(default):
    (svc,) = of_kind(default, "Service")
    assert svc["metadata"]["name"] == "spire-controller-manager-webhook"
    assert svc["spec"]["ports"] == [{"name": "https-webhook", "protocol": "TCP", "port": 443, "targetPort": 9443}]
    (vwc,) = of_kind(default, "ValidatingWebhookConfiguration")
    assert vwc["metadata"]["name"] == "spire-controller-manager-webhook"
    resources = sorted(r for w in vwc["webhooks"] for rule in w["rules"] for r in rule["resources"])
    assert resources == ["clusterfederatedtrustdomains", "clusterspiffeids"]
    for hook in vwc["webhooks"]:
        assert "caBundle" not in hook["clientConfig"]  # the controller manager owns it
        assert hook["clientConfig"]["service"]["name"] == "spire-controller-manager-webhook"
        assert hook["clientConfig"]["service"]["namespace"] == COMMON["spire_namespace"]
        assert hook["failurePolicy"] == "Fail" and hook["sideEffects"] == "None"


def test_webhook_disabled_renders_no_webhook_objects(custom):
    assert not of_kind(custom, "Service") and not of_kind(custom, "ValidatingWebhookConfiguration")


# --- preflight refuses bad input before anything is written -----------------------------------

@pytest.mark.parametrize("extra, expected", [
    ({"registrations_families": [{"name": "langchain", "app": "a", "container": "c", "namespace": "n",
                                  "spiffe_id_template": "spiffe://elsewhere.org/x"}]},
     "registrations_families[0].spiffe_id_template: must stay inside the trust domain"),
    ({"registrations_families": [{"name": "langchain", "app": "a", "container": "c", "namespace": "spire-system"}]},
     "registrations_families[0].namespace: 'spire-system' is ignored"),
    ({"registrations_entry_id_prefix": "has.dot"}, "registrations_entry_id_prefix"),
    ({"registrations_webhook_failure_policy": "Sometimes"}, "registrations_webhook_failure_policy"),
])
def test_preflight_rejects_bad_input(tmp_path, extra, expected):
    proc = ansible_playbook(tmp_path / "out", extra)
    assert proc.returncode != 0
    assert expected in proc.stdout + proc.stderr
    assert not (tmp_path / "out").exists()


# --- every rendered object against the Kubernetes OpenAPI spec and our CRDs -------------------

@pytest.mark.parametrize("which", ["default", "custom"])
def test_rendered_objects_pass_strict_kubernetes_schema(which, request, k8s_openapi_spec):
    import k8s_schema  # tests/support, put on sys.path by tests/conftest.py

    docs = request.getfixturevalue(which)
    validator = k8s_schema.SchemaValidator(k8s_openapi_spec, docs["crds.yaml"])
    problems = {}
    for obj in docs["crds.yaml"] + docs["registrations.yaml"]:
        found = validator.validate(obj)
        if found:
            problems["%s/%s" % (obj["kind"], obj["metadata"]["name"])] = [str(p) for p in found]
    assert not problems, problems


def test_webhook_switch_given_as_a_string_on_the_command_line(tmp_path):
    """`-e registrations_webhook_enabled=false` arrives as the string "false": still off."""
    proc = ansible_playbook(tmp_path / "out", {"registrations_webhook_enabled": "false"})
    assert proc.returncode == 0, proc.stdout[-3000:]
    kinds = {d["kind"] for d in yaml.safe_load_all((tmp_path / "out" / "registrations.yaml").read_text()) if d}
    assert "ValidatingWebhookConfiguration" not in kinds and "Service" not in kinds
