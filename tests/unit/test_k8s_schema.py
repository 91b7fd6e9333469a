"""The offline Kubernetes schema validator (tests/support/k8s_schema.py) can fail, and says where.

These need the Kubernetes OpenAPI spec (cache, $ARDUR_SPIRE_K8S_OPENAPI or the Go module proxy),
not a cluster.
"""

import copy
import textwrap

import pytest
import yaml

import k8s_schema

DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "demo", "labels": {"app.kubernetes.io/name": "web"}},
    "spec": {
        "replicas": 2,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {
                "containers": [{
                    "name": "web",
                    "image": "registry.example/web:1.0",
                    "imagePullPolicy": "IfNotPresent",
                    "ports": [{"name": "http", "containerPort": 8080}],
                    "readinessProbe": {"httpGet": {"path": "/ready", "port": "http"}},
                    "livenessProbe": {"tcpSocket": {"port": 8080}},
                    "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": 1, "memory": 134217728}},
                    "securityContext": {"runAsNonRoot": True, "readOnlyRootFilesystem": True},
                }],
            },
        },
    },
}

CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.org"},
    "spec": {
        "group": "example.org",
        "scope": "Namespaced",
        "names": {"kind": "Widget", "listKind": "WidgetList", "plural": "widgets", "singular": "widget"},
        "versions": [{
            "name": "v1",
            "served": True,
            "storage": True,
            "schema": {"openAPIV3Schema": {
                "type": "object",
                "properties": {
                    "spec": {
                        "type": "object",
                        "required": ["size", "mode"],
                        "properties": {
                            "size": {"type": "integer", "minimum": 1},
                            "mode": {"type": "string", "enum": ["fast", "slow"], "default": "fast"},
                            "port": {"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"}, {"type": "string"}]},
                            "note": {"type": "string", "nullable": True},
                            "tags": {"type": "array", "items": {"type": "string"}},
                            "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                            "empty": {"type": "object"},
                        },
                    },
                    "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                },
            }},
        }],
    },
}

WIDGET = {
    "apiVersion": "example.org/v1",
    "kind": "Widget",
    "metadata": {"name": "w", "namespace": "demo"},
    "spec": {"size": 3, "port": "http", "note": None, "tags": ["a"], "extra": {"any": {"thing": [1]}}, "labels": {"a": "b"}},
}


@pytest.fixture(name="validator")
def validator_fixture(k8s_openapi_spec):
    """A fresh validator knowing the Widget CRD."""
    return k8s_schema.SchemaValidator(k8s_openapi_spec, [CRD])


def paths(problems):
    """The JSON paths of some problems."""
    return [p.path for p in problems]


def edited(obj, path, value=None, delete=False):
    """A deep copy of obj with the field at path (a dotted path, [n] for list items) set or removed."""
    obj = copy.deepcopy(obj)
    parts = [int(p) if p.isdigit() else p for p in path.replace("[", ".").replace("]", "").split(".")]
    parent = obj
    for part in parts[:-1]:
        parent = parent[part]
    if delete:
        del parent[parts[-1]]
    else:
        parent[parts[-1]] = value
    return obj


# ----------------------------------------------------------------------------- built-in kinds

def test_good_deployment_passes(validator):
    """Good deployment passes."""
    assert not validator.validate(DEPLOYMENT)


def test_typo_field_is_an_error_with_its_path(validator):
    """Typo field is an error with its path."""
    bad = edited(DEPLOYMENT, "spec.template.spec.containers[0].imagePullPolicyy", "Always")
    problems = validator.validate(bad)
    assert [str(p) for p in problems] == ["spec.template.spec.containers[0].imagePullPolicyy: unknown field"]


def test_typo_in_metadata_is_an_error(validator):
    """Typo in metadata is an error."""
    bad = edited(DEPLOYMENT, "metadata.lables", {"a": "b"})
    assert paths(validator.validate(bad)) == ["metadata.lables"]


def test_wrong_type_is_an_error(validator):
    """Wrong type is an error."""
    problems = validator.validate(edited(DEPLOYMENT, "spec.replicas", "three"))
    assert len(problems) == 1
    assert problems[0].path == "spec.replicas"
    assert "expected integer" in problems[0].message


def test_missing_required_field_is_an_error(validator):
    """Missing required field is an error."""
    bad = edited(DEPLOYMENT, "spec.template.spec.containers[0].name", delete=True)
    assert [str(p) for p in validator.validate(bad)] == ["spec.template.spec.containers[0].name: required field missing"]


def test_null_required_field_counts_as_missing(validator):
    """Null required field counts as missing."""
    bad = edited(DEPLOYMENT, "spec.template.spec.containers[0].name", None)
    assert paths(validator.validate(bad)) == ["spec.template.spec.containers[0].name"]


def test_null_optional_field_counts_as_absent(validator):
    """Null optional field counts as absent."""
    assert not validator.validate(edited(DEPLOYMENT, "spec.template.spec.nodeSelector", None))


@pytest.mark.parametrize("path, value", [
    ("spec.template.spec.containers[0].securityContext.runAsNonRoot", "true"),
    ("spec.template.spec.hostNetwork", "yes"),
    ("spec.template.spec.containers[0].ports[0].containerPort", "8080"),
    ("spec.template.spec.containers[0].ports[0].containerPort", 2 ** 31),
    ("spec.template.spec.containers[0].args", "--verbose"),
    ("spec.template.spec.containers[0].readinessProbe.httpGet.port", 80.5),
    ("spec.template.spec.containers[0].resources.limits.cpu", [1]),
    ("metadata.labels.version", 1.14),
])
def test_typed_field_with_wrong_value_is_an_error(validator, path, value):
    """Typed field with wrong value is an error."""
    assert paths(validator.validate(edited(DEPLOYMENT, path, value))) == [path]


@pytest.mark.parametrize("path, value", [
    ("spec.template.spec.containers[0].readinessProbe.httpGet.port", 8080),
    ("spec.strategy", {"rollingUpdate": {"maxUnavailable": "25%", "maxSurge": 1}}),
    ("spec.template.spec.containers[0].resources.requests.memory", 1.5e9),
])
def test_int_or_string_and_quantity_accept_both(validator, path, value):
    """Int or string and quantity accept both."""
    assert not validator.validate(edited(DEPLOYMENT, path, value))


def test_duplicate_key_in_list_type_map_is_an_error(validator):
    """Duplicate key in list type map is an error."""
    containers = DEPLOYMENT["spec"]["template"]["spec"]["containers"]
    bad = edited(DEPLOYMENT, "spec.template.spec.containers", containers + [dict(containers[0], ports=[])])
    problems = validator.validate(bad)
    assert paths(problems) == ["spec.template.spec.containers"]
    assert "duplicate" in problems[0].message


def test_secret_data_must_be_base64(validator):
    """Secret data must be base64."""
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "demo"}, "data": {"ok": "YQ==", "bad": "not base64!"}}
    assert paths(validator.validate(secret)) == ["data.bad"]


def test_object_without_name_is_an_error(validator):
    """Object without name is an error."""
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"namespace": "demo"}, "data": {"a": "b"}}
    assert paths(validator.validate(cm)) == ["metadata.name"]


def test_unknown_kind_is_an_error(validator):
    """Unknown kind is an error."""
    problems = validator.validate({"apiVersion": "apps/v1", "kind": "Deploymnet", "metadata": {"name": "x"}})
    assert len(problems) == 1 and "no schema" in problems[0].message


def test_non_string_map_key_is_an_error(validator):
    """Non string map key is an error."""
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "demo"}, "data": {80: "x"}}
    assert "data[\"80\"]" in paths(validator.validate(cm))


def test_namespaced_object_without_namespace_is_an_error(k8s_openapi_spec, validator):
    """Namespaced object without namespace is an error (unless require_namespace is off)."""
    bad = edited(DEPLOYMENT, "metadata.namespace", delete=True)
    assert paths(validator.validate(bad)) == ["metadata.namespace"]
    assert not k8s_schema.SchemaValidator(k8s_openapi_spec, require_namespace=False).validate(bad)
    assert paths(validator.validate(edited(WIDGET, "metadata.namespace", delete=True))) == ["metadata.namespace"]


def test_cluster_scoped_object_with_namespace_is_an_error(validator):
    """Cluster scoped object with namespace is an error."""
    csi = {"apiVersion": "storage.k8s.io/v1", "kind": "CSIDriver", "metadata": {"name": "csi.spiffe.io"},
           "spec": {"attachRequired": False, "podInfoOnMount": True, "volumeLifecycleModes": ["Ephemeral"]}}
    assert not validator.validate(csi)
    assert paths(validator.validate(edited(csi, "metadata.namespace", "spire"))) == ["metadata.namespace"]
    assert paths(validator.validate(edited(CRD, "metadata.namespace", "spire"))) == ["metadata.namespace"]


@pytest.mark.parametrize("where, key, value", [
    ("metadata.labels", "bad key", "x"),
    ("metadata.labels", "Example.COM/x", "x"),
    ("metadata.labels", "app", "-starts-with-dash"),
    ("metadata.labels", "app", "x" * 64),
    ("spec.template.metadata.labels", "app", "a b"),
    ("metadata.annotations", "/nameless", "any value is fine for annotations"),
])
def test_invalid_label_is_an_error(validator, where, key, value):
    """Invalid label is an error."""
    obj = copy.deepcopy(DEPLOYMENT)
    parent = obj
    for part in where.split("."):
        parent = parent.setdefault(part, {})
    parent[key] = value
    assert paths(validator.validate(obj)) == [k8s_schema.format_path(where.split(".") + [key])]


def test_the_spec_has_the_kinds_spire_needs(validator):
    """The spec has the kinds spire needs."""
    for gvk in [("apps", "v1", "StatefulSet"), ("apps", "v1", "DaemonSet"), ("storage.k8s.io", "v1", "CSIDriver"),
                ("", "v1", "Service"), ("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding"),
                ("admissionregistration.k8s.io", "v1", "ValidatingWebhookConfiguration"),
                ("apiextensions.k8s.io", "v1", "CustomResourceDefinition")]:
        assert gvk in validator.kinds()


# ----------------------------------------------------------------------------- custom resources

def test_good_custom_resource_passes(validator):
    """Good custom resource passes."""
    assert not validator.validate(WIDGET)


@pytest.mark.parametrize("path, value, delete", [
    ("spec.sizee", 3, False),
    ("spec.size", "3", False),
    ("spec.size", 0, False),
    ("spec.size", None, True),
    ("spec.mode", "medium", False),
    ("spec.port", 1.5, False),
    ("spec.tags[0]", 1, False),
    ("spec.labels.a", 1, False),
    ("spec.empty", {"x": 1}, False),
    ("metadata.lables", {}, False),
    ("specc", {}, False),
])
def test_bad_custom_resource_is_an_error(validator, path, value, delete):
    """Bad custom resource is an error."""
    expected = path if path != "spec.empty" else "spec.empty.x"
    assert paths(validator.validate(edited(WIDGET, path, value, delete))) == [expected]


def test_custom_resource_unknown_without_its_crd(k8s_openapi_spec):
    """Custom resource unknown without its crd."""
    problems = k8s_schema.SchemaValidator(k8s_openapi_spec).validate(WIDGET)
    assert len(problems) == 1 and "no schema" in problems[0].message


def test_the_crd_itself_is_valid(validator):
    """The crd itself is valid."""
    assert not validator.validate(CRD)


@pytest.mark.parametrize("path, value, delete, where", [
    ("spec.scope", None, True, "spec.scope"),
    ("spec.versions[0].served", "yes", False, "spec.versions[0].served"),
    ("spec.versions[0].schema.openAPIV3Schema.properties.spec.propertiess", {}, False, "spec.versions[0].schema.openAPIV3Schema.properties.spec.propertiess"),
    ("spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.size.type", None, True,
     "spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.size.type"),
    ("spec.versions[0].schema", None, True, "spec.versions[0].schema.openAPIV3Schema"),
    ("spec.versions[0].storage", False, False, "spec.versions"),
    ("metadata.name", "widget.example.org", False, "metadata.name"),
    ("spec.names.kind", None, True, "spec.names.kind"),
])
def test_malformed_crd_is_an_error(validator, path, value, delete, where):
    """Malformed crd is an error."""
    assert paths(validator.validate(edited(CRD, path, value, delete))) == [where]


# ----------------------------------------------------------------------------- files, locating, CLI

def test_version_comes_from_versions_env(tmp_path):
    """Version comes from versions env."""
    env = tmp_path / "versions.env"
    env.write_text('# x\nLAB_ETCD_VERSION="${LAB_ETCD_VERSION:-3.5.1}"\nLAB_KUBERNETES_VERSION="${LAB_KUBERNETES_VERSION:-1.33.7}"\n')
    assert k8s_schema.kubernetes_version(env, environ={}) == "1.33.7"
    assert k8s_schema.kubernetes_version(env, environ={"LAB_KUBERNETES_VERSION": "1.33.9"}) == "1.33.9"
    assert k8s_schema.kubernetes_version(tmp_path / "absent", environ={}) == k8s_schema.FALLBACK_KUBERNETES_VERSION


def test_locate_honours_override_then_cache(tmp_path):
    """Locate honours override then cache."""
    override = tmp_path / "my.json"
    override.write_text("{}")
    assert k8s_schema.locate_openapi_spec(environ={"ARDUR_SPIRE_K8S_OPENAPI": str(override)}) == override
    with pytest.raises(k8s_schema.SpecNotFound):
        k8s_schema.locate_openapi_spec(environ={"ARDUR_SPIRE_K8S_OPENAPI": str(tmp_path / "nope.json")})
    cached = tmp_path / "openapi" / "kubernetes-1.33.7" / "swagger.json"
    cached.parent.mkdir(parents=True)
    cached.write_text("{}")
    assert k8s_schema.locate_openapi_spec("1.33.7", environ={"ARDUR_SPIRE_CACHE": str(tmp_path)}) == cached
    with pytest.raises(k8s_schema.SpecNotFound):
        k8s_schema.locate_openapi_spec("1.33.8", download=False, environ={"ARDUR_SPIRE_CACHE": str(tmp_path)})


def test_yaml_timestamps_stay_strings():
    """Yaml timestamps stay strings."""
    assert k8s_schema.load_documents("a: 2024-01-01\n---\n---\nb: 1\n") == [{"a": "2024-01-01"}, {"b": 1}]


def test_cli_reports_each_object_and_fails_on_errors(tmp_path, k8s_openapi_spec_path, capsys):
    """Cli reports each object and fails on errors."""
    bad = edited(DEPLOYMENT, "spec.template.spec.containers[0].imagePullPolicyy", "Always")
    (tmp_path / "crds.yaml").write_text(yaml.safe_dump(CRD))
    (tmp_path / "objs.yaml").write_text(yaml.safe_dump_all([DEPLOYMENT, WIDGET, bad]))
    assert k8s_schema.main(["--spec", str(k8s_openapi_spec_path), str(tmp_path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("CustomResourceDefinition/widgets.example.org: ok")
    assert lines[1].endswith("Deployment/demo/web: ok")
    assert lines[2].endswith("Widget/demo/w: ok")
    assert lines[3].endswith("Deployment/demo/web: spec.template.spec.containers[0].imagePullPolicyy: unknown field")
    assert lines[4] == "4 objects, 3 ok, 1 with errors"


def test_cli_passes_good_files(tmp_path, k8s_openapi_spec_path, capsys):
    """Cli passes good files."""
    (tmp_path / "good.yml").write_text(textwrap.dedent("""\
        ---
        apiVersion: v1
        kind: ServiceAccount
        metadata: {name: spire-agent, namespace: spire}
        ---
        apiVersion: v1
        kind: List
        items:
          - {apiVersion: v1, kind: ConfigMap, metadata: {name: c, namespace: spire}, data: {k: v}}
        """))
    assert k8s_schema.main(["--spec", str(k8s_openapi_spec_path), str(tmp_path / "good.yml")]) == 0
    assert "2 objects, 2 ok, 0 with errors" in capsys.readouterr().out
