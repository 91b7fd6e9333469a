"""Every validation rule of plugins/module_utils/_registration_spec.py, one bad class at a time."""

import copy

import pytest

from ansible_collections.ardur.spire.plugins.module_utils import _registration_spec as spec

TD = "ardur.internal"
GOOD = {
    "name": "langchain",
    "app": "langchain-agent",
    "container": "langchain",
    "namespace": "ardur-agents",
    "service_account": "langchain-agent",
    "ttl": "1h",
    "jwt_ttl": "5m",
}


def family(**changes):
    result = copy.deepcopy(GOOD)
    for key, value in changes.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    return result


def errors_of(families, **kwargs):
    with pytest.raises(spec.SpecError) as info:
        spec.build(families, kwargs.pop("trust_domain", TD), **kwargs)
    return info.value.errors


def paths(errors):
    return [error[0] for error in errors]


# --- the good path ------------------------------------------------------------------------

def test_good_family_renders_the_naming_contract():
    families, objects = spec.build([family()], TD, labels={"app.kubernetes.io/part-of": "spire"})
    assert families[0]["workload_selector_templates"] == ["k8s:container-name:langchain", "k8s:sa:langchain-agent"]
    obj = objects[0]
    assert obj["apiVersion"] == "spire.spiffe.io/v1alpha1" and obj["kind"] == "ClusterSPIFFEID"
    assert obj["metadata"]["name"] == "ardur-langchain"
    assert obj["metadata"]["labels"] == {"app.kubernetes.io/part-of": "spire", "framework": "langchain"}
    assert obj["spec"]["spiffeIDTemplate"] == (
        "spiffe://{{ .TrustDomain }}/ns/{{ .PodMeta.Namespace }}/sa/{{ .PodSpec.ServiceAccountName }}/framework/langchain")
    assert obj["spec"]["podSelector"] == {"matchLabels": {"framework": "langchain", "app.kubernetes.io/name": "langchain-agent"}}
    assert obj["spec"]["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": "ardur-agents"}}
    assert obj["spec"]["ttl"] == "1h" and obj["spec"]["jwtTtl"] == "5m"
    assert "className" not in obj["spec"] and "hint" not in obj["spec"]


def test_optional_fields_render():
    optional = family(ttl=None, jwt_ttl=None, service_account=None, hint="langchain",
                      dns_name_templates=["{{ .PodMeta.Name }}.ardur-agents.svc"],
                      workload_selector_templates=["k8s:pod-label:tier:agent", "k8s:container-name:langchain"])
    objects = spec.build([optional], TD, class_name="ardur", name_prefix="x-")[1]
    obj = objects[0]
    assert obj["metadata"]["name"] == "x-langchain"
    assert obj["spec"]["className"] == "ardur"
    assert obj["spec"]["hint"] == "langchain"
    assert obj["spec"]["dnsNameTemplates"] == ["{{ .PodMeta.Name }}.ardur-agents.svc"]
    # container pin first, duplicates dropped, no sa selector without service_account
    assert obj["spec"]["workloadSelectorTemplates"] == ["k8s:container-name:langchain", "k8s:pod-label:tier:agent"]
    assert "ttl" not in obj["spec"] and "jwtTtl" not in obj["spec"]


@pytest.mark.parametrize("template", [
    "spiffe://{{ .TrustDomain }}/agents/langchain",
    "spiffe://{{.TrustDomain}}/agents/{{ .PodMeta.Name }}",
    "spiffe://{{- .TrustDomain -}}/c/{{ .ClusterName }}/{{ index .PodMeta.Labels \"app.kubernetes.io/name\" }}",
    "spiffe://ardur.internal/ns/{{ .PodMeta.Namespace }}/x-{{ .PodSpec.NodeName }}.y_z",
    "spiffe://ardur.internal/static/id",
])
def test_accepted_spiffe_id_templates(template):
    spec.build([family(spiffe_id_template=template)], TD)


# --- one test per rule, each naming the input path ---------------------------------------

@pytest.mark.parametrize("template, fragment", [
    ("spiffe://evil.example/ns/x", "must stay inside the trust domain"),
    ("spiffe://{{ .ClusterName }}/ns/x", "must stay inside the trust domain"),
    ("spiffe://ardur.internal.evil/x", "must stay inside the trust domain"),
    ("https://{{ .TrustDomain }}/x", "must start with 'spiffe://"),
    ("spiffe://{{ .TrustDomain }}", "needs a path"),
    ("spiffe://{{ .TrustDomain }}/", "needs a path"),
    ("spiffe://{{ .TrustDomain }}/a//b", "path segment 2 is empty"),
    ("spiffe://{{ .TrustDomain }}/a/", "path segment 2 is empty"),
    ("spiffe://{{ .TrustDomain }}/a/./b", "path segment 2 is '.'"),
    ("spiffe://{{ .TrustDomain }}/a/../b", "path segment 2 is '..'"),
    ("spiffe://{{ .TrustDomain }}/a b", "characters not allowed"),
    ("spiffe://{{ .TrustDomain }}/a?b=c", "characters not allowed"),
    ("spiffe://{{ .TrustDomain }}/caf\u00e9", "characters not allowed"),
    ("spiffe://{{ .TrustDomain }}/spire/agent/x", "reserved for SPIRE"),
    ("spiffe://{{ .TrustDomain }}/{{ .Secret }}", "unsupported template expression"),
    ("spiffe://{{ .TrustDomain }}/{{ printf \"%s\" .PodMeta.Name }}", "unsupported template expression"),
    ("spiffe://{{ .TrustDomain }}/{{ .PodMeta.Name }", "unbalanced template braces"),
    ("spiffe://{{ .TrustDomain }}/" + "a" * 2100, "longer than 2048 bytes"),
])
def test_bad_spiffe_id_template(template, fragment):
    errors = errors_of([family(), family(name="langgraph", spiffe_id_template=template)])
    assert paths(errors) and set(paths(errors)) == {"registrations_families[1].spiffe_id_template"}
    assert any(fragment in error[1] for error in errors), errors


@pytest.mark.parametrize("selector, fragment", [
    ("container-name", "must be 'type:value'"),
    ("k8s:", "must be 'type:value'"),
    ("docker:label:x", "not one of the agent's workload attestors"),
    ("k8s:bogus:x", "not a known k8s selector"),
    ("unix:uid", "needs a value"),
    ("k8s:pod-label:{{ .Nope }}", "unsupported template expression"),
    ("", "non-empty"),
])
def test_bad_workload_selector(selector, fragment):
    errors = errors_of([family(workload_selector_templates=["k8s:ns:ardur-agents", selector])])
    assert paths(errors) == ["registrations_families[0].workload_selector_templates[1]"] * len(errors)
    assert any(fragment in error[1] for error in errors), errors


@pytest.mark.parametrize("selector", [
    "k8s:ns:ardur-agents", "k8s:pod-label:app:x", "k8s:container-image:ghcr.io/x/y@sha256:abc",
    "unix:uid:1000", "k8s:node-name:{{ .NodeMeta.Name }}",
])
def test_good_workload_selector(selector):
    spec.build([family(workload_selector_templates=[selector])], TD)


@pytest.mark.parametrize("key, value, fragment", [
    ("ttl", "1d", "unknown unit"),
    ("ttl", "soon", "must be a Go duration"),
    ("ttl", "30s", "below the minimum of 1m"),
    ("ttl", "-1h", "below the minimum"),
    ("ttl", "5h", "exceeds the maximum of 4h"),
    ("jwt_ttl", "0", "below the minimum"),
    ("jwt_ttl", "4h1s", "exceeds the maximum"),
])
def test_bad_ttl(key, value, fragment):
    errors = errors_of([family(**{key: value})])
    assert paths(errors) == ["registrations_families[0].%s" % key]
    assert fragment in errors[0][1]


def test_ttl_bounds_follow_the_options():
    spec.build([family(ttl="6h")], TD, max_x509_svid_ttl="6h")
    errors = errors_of([family(jwt_ttl="10m")], max_jwt_svid_ttl="5m")
    assert paths(errors) == ["registrations_families[0].jwt_ttl"]
    errors = errors_of([family()], max_x509_svid_ttl="forever")
    assert paths(errors) == ["max_x509_svid_ttl"]


@pytest.mark.parametrize("key, value", [
    ("name", "LangChain"), ("name", "lang_chain"), ("name", "-x"), ("name", "x" * 64),
    ("app", "-agent"), ("app", "a" * 64), ("app", "has space"), ("app", "x/y"),
    ("container", "Lang"), ("container", "c" * 64),
    ("namespace", "Ardur"), ("namespace", "a.b"),
    ("service_account", "SA"), ("service_account", "a" * 254),
])
def test_bad_kubernetes_names_and_label_values(key, value):
    errors = errors_of([family(**{key: value})])
    assert paths(errors) == ["registrations_families[0].%s" % key]


@pytest.mark.parametrize("key", ["name", "app", "container", "namespace"])
def test_required_keys(key):
    errors = errors_of([family(**{key: None})])
    assert ("registrations_families[0].%s" % key, "is required") in errors


def test_unknown_key_is_reported():
    errors = errors_of([family(contianer="typo")])
    assert paths(errors) == ["registrations_families[0].contianer"]
    assert "unknown key" in errors[0][1]


def test_family_names_are_unique():
    errors = errors_of([family(), family(app="other")])
    assert errors == [("registrations_families[1].name",
                       "'langchain' is already the name of registrations_families[0]; family names must be unique")]


def test_family_in_an_ignored_namespace_is_an_error():
    errors = errors_of([family(namespace="kube-system")], ignore_namespaces=["^kube-system$"])
    assert paths(errors) == ["registrations_families[0].namespace"]
    assert "never get this SPIFFE ID" in errors[0][1]
    # unanchored, as the controller manager matches them
    errors = errors_of([family(namespace="my-spire-system-x")], ignore_namespaces=["spire-system"])
    assert paths(errors) == ["registrations_families[0].namespace"]


def test_bad_ignore_pattern():
    errors = errors_of([family()], ignore_namespaces=["(unclosed"])
    assert paths(errors) == ["ignore_namespaces[0]"]


@pytest.mark.parametrize("value, fragment", [
    (["bad name.svc"], "must render a DNS name"),
    (["{{ .Foo }}.svc"], "unsupported template expression"),
    ("not-a-list", "must be a list of strings"),
])
def test_bad_dns_name_templates(value, fragment):
    errors = errors_of([family(dns_name_templates=value)])
    assert all(p.startswith("registrations_families[0].dns_name_templates") for p in paths(errors))
    assert any(fragment in error[1] for error in errors), errors


@pytest.mark.parametrize("hint", ["x" * 1025, "tab\there", 7])
def test_bad_hint(hint):
    errors = errors_of([family(hint=hint)])
    assert paths(errors) == ["registrations_families[0].hint"]


@pytest.mark.parametrize("families, path", [
    ("langchain", "registrations_families"),
    ([["langchain"]], "registrations_families[0]"),
])
def test_bad_shapes(families, path):
    assert path in paths(errors_of(families))


@pytest.mark.parametrize("td", ["Ardur.Internal", "", "spiffe://ardur.internal", "a" * 256])
def test_bad_trust_domain(td):
    assert "trust_domain" in paths(errors_of([family()], trust_domain=td))


def test_bad_name_prefix_and_class_name():
    assert set(paths(errors_of([family()], name_prefix="Bad_", class_name="-x"))) == {"name_prefix", "class_name"}


def test_custom_input_name_prefixes_every_path():
    errors = errors_of([family(ttl="1d")], input_name="my_families")
    assert paths(errors) == ["my_families[0].ttl"]


def test_every_error_is_reported_at_once():
    errors = errors_of([
        family(name="Bad", ttl="1d"),
        family(name="ok", spiffe_id_template="spiffe://other/x", workload_selector_templates=["x"]),
    ])
    assert set(paths(errors)) == {
        "registrations_families[0].name", "registrations_families[0].ttl",
        "registrations_families[1].spiffe_id_template", "registrations_families[1].workload_selector_templates[0]",
    }


@pytest.mark.parametrize("text, seconds", [
    ("1h", 3600), ("1h30m", 5400), ("1.5h", 5400), ("90s", 90), ("300ms", 0.3), ("1m0s", 60),
    ("2h45m30.5s", 9930.5), ("0", 0), ("-1m", -60), ("+1m", 60), ("10us", 1e-5), ("1\u00b5s", 1e-6),
])
def test_go_duration(text, seconds):
    assert spec.parse_go_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "1", "h", "1d", "1 h", "1h 2m", ".h", "1hh", "-", "1.2.3s", "0x"])
def test_bad_go_duration(text):
    with pytest.raises(ValueError):
        spec.parse_go_duration(text)
