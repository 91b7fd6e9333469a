"""The health runbook's filters: thin wrappers over module_utils/_spire/health.py, each documented (ansible-doc)."""

import importlib
import inspect
import os

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from ansible.parsing.plugin_docs import read_docstring

from ansible_collections.ardur.spire.plugins.module_utils._spire import health

FILTERS = ["health_deployment", "health_report"]
SCM = "trustDomain: example.org\nclusterName: lab\nentryIDPrefix: ardur-scm.\nleaderElection: {resourceName: scm-leader}\n"


def _filter(name):
    module = importlib.import_module("ansible_collections.ardur.spire.plugins.filter.%s" % name)
    return module, module.FilterModule().filters()[name]


@pytest.mark.parametrize("name", FILTERS)
def test_documentation_matches_the_signature(name):
    """ansible-doc reads the same options, defaults and required ones as the filter takes."""
    module, func = _filter(name)
    docs = read_docstring(os.path.abspath(module.__file__))
    assert docs["doc"]["name"] == name and "ardur.spire.%s" % name in docs["plainexamples"]
    assert "_value" in docs["returndocs"]
    own = list(docs["doc"]["options"])
    options = dict(docs["doc"]["options"])
    for fragment in docs["doc"].get("extends_documentation_fragment", []):  # as ansible-doc merges them
        collection, _sep, fragment = fragment.rpartition(".")
        fragment = importlib.import_module("ansible_collections.%s.plugins.doc_fragments.%s" % (collection, fragment))
        for key, option in yaml.safe_load(fragment.ModuleDocFragment.DOCUMENTATION)["options"].items():
            options.setdefault(key, option)
    params = list(inspect.signature(func).parameters.values())
    assert sorted(options) == sorted(["_input"] + [p.name for p in params[1:]])
    assert own == ["_input"] + [p.name for p in params[1:] if p.name in own]
    for param in params[1:]:
        option = options[param.name]
        if param.default is inspect.Parameter.empty:
            assert option.get("required") is True, param.name
        elif param.default is None:
            assert "default" not in option and not option.get("required"), param.name
        else:
            assert option.get("default") == param.default, param.name


def test_health_deployment_reads_the_configmap():
    _unused, func = _filter("health_deployment")
    got = func({"data": {health.SCM_CONFIG_KEY: SCM}}, {"spec": {"replicas": 2}}, "kubernetes", server_name="srv")
    assert got["trust_domain"] == "example.org" and got["lease_name"] == "scm-leader"
    assert got["servers"] == ["srv-0", "srv-1"]
    assert func({}, {}, "local", ["/a.sock"])["servers"] == ["spire-server-0"]
    assert func(None, {}, "kubernetes")["trust_domain"] == ""


@pytest.mark.parametrize("configmap, statefulset, transport, message", [
    ("x", {}, "kubernetes", "must be a ConfigMap object"),
    ({"data": "x"}, {}, "kubernetes", "must be a ConfigMap object"),
    ({"data": {health.SCM_CONFIG_KEY: "a: [b"}}, {}, "kubernetes", "is not YAML"),
    ({"data": {health.SCM_CONFIG_KEY: "- a"}}, {}, "kubernetes", "must be a mapping"),
    ({}, {}, "ssh", "transport must be one of"),
])
def test_health_deployment_refuses(configmap, statefulset, transport, message):
    _unused, func = _filter("health_deployment")
    with pytest.raises(AnsibleFilterError, match="ardur.spire.health_deployment: .*" + message):
        func(configmap, statefulset, transport)


def _reads():
    return {"deployment": health.deployment({}, {}, "local"), "servers": [], "nodes": [], "bundle_configmap": {},
            "cluster_spiffe_ids": [], "lease": {}}


def test_health_report():
    _unused, func = _filter("health_report")
    doc = func(_reads(), "spire-system", "local", check_mode=True, started_at="2026-12-07T10:00:00Z")
    assert doc["runbook"] == "health" and doc["report_version"] == 3 and doc["status"] == "unhealthy"
    assert doc["check_mode"] is True and doc["started_at"] == "2026-12-07T10:00:00Z"
    assert "datastore reachable" in doc["failed"]


def test_health_report_of_a_failed_read():
    _unused, func = _filter("health_report")
    doc = func({}, "spire-system", "kubernetes", error={"task": "Read the Nodes", "message": "Forbidden"})
    assert doc["status"] == "error" and doc["failed"] == ["deployment readable"]
    assert doc["error"] == {"task": "Read the Nodes", "message": "Forbidden"}


@pytest.mark.parametrize("reads, kwargs, message", [
    ({}, {}, "reads lacks"),
    (_reads(), {"lease_max_age_seconds": 0}, "lease_max_age_seconds must be at least 1"),
    ({}, {"error": "boom"}, "error must be a dict"),
])
def test_health_report_refuses(reads, kwargs, message):
    _unused, func = _filter("health_report")
    with pytest.raises(AnsibleFilterError, match="ardur.spire.health_report: " + message):
        func(reads, "spire-system", "local", **kwargs)
