"""The filter plugins: thin wrappers over module_utils/_spire/inputs.py, each documented (ansible-doc)."""

import importlib
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError

FILTERS = ["duration_problem", "quantity_problem", "resources_problems", "image_registry_problem",
           "images_problems", "pem_file_problem", "raw_template_problems", "labels_problems", "tolerations_problems",
           "version_problems"]


def _filter(name):
    module = importlib.import_module("ansible_collections.ardur.spire.plugins.filter.%s" % name)
    return module, module.FilterModule().filters()[name]


# Every filter plugin of the collection, the runbooks' included.
ALL_FILTERS = sorted(p.stem for p in (Path(__file__).parents[4] / "plugins" / "filter").glob("*.py"))


@pytest.mark.parametrize("name", ALL_FILTERS)
def test_each_filter_is_documented_under_its_name(name):
    module, func = _filter(name)
    assert callable(func)
    doc = yaml.safe_load(module.DOCUMENTATION)
    assert doc["name"] == name and doc["short_description"] and doc["version_added"]
    assert "_input" in doc["options"]
    assert yaml.safe_load(module.EXAMPLES)
    assert "_value" in yaml.safe_load(module.RETURN)
    assert "ardur.spire.%s" % name in module.EXAMPLES
    if name.endswith("_report"):  # a runbook report: the envelope's options come from one fragment
        assert "ardur.spire.runbook_report" in doc.get("extends_documentation_fragment", [])


def test_every_filter_is_checked():
    assert len(ALL_FILTERS) >= 40 and set(FILTERS) <= set(ALL_FILTERS)


def test_duration_problem():
    _unused, func = _filter("duration_problem")
    assert func("24h") == ""
    assert "unknown unit 'd'" in func("1d")
    assert func("0", allow_zero=True) == ""
    assert "min(ca_ttl/6, 7d)" in func("12h", ca_ttl="24h")
    with pytest.raises(AnsibleFilterError):
        func("1h", allow_zero="yes")
    with pytest.raises(AnsibleFilterError):
        func("1h", ca_ttl=24)


def test_quantity_problem():
    _unused, func = _filter("quantity_problem")
    assert func("1Gi", resource="storage", positive=True) == ""
    assert "must be more than 0" in func("0", resource="storage", positive=True)
    assert "unknown suffix 'GB'" in func("1GB")
    with pytest.raises(AnsibleFilterError):
        func("1", resource=1)
    with pytest.raises(AnsibleFilterError):
        func("1", positive="true")


def test_resources_problems_name_the_input():
    _unused, func = _filter("resources_problems")
    assert func({"requests": {"cpu": "100m"}}, "spire_agent_resources") == []
    assert func({"limits": {"memory": "32MB"}}, "spire_agent_resources")[0].startswith(
        "spire_agent_resources.limits.memory: '32MB' is not a Kubernetes quantity")
    assert func("1Gi", "csi_driver_resources") == [
        "csi_driver_resources must be a dict with requests and/or limits, got a string"]
    assert func({"claims": []})[0].startswith("resources.claims: unknown key")
    with pytest.raises(AnsibleFilterError):
        func({}, 1)


def test_image_registry_problem():
    _unused, func = _filter("image_registry_problem")
    assert func("ghcr.io") == ""
    assert "URL scheme" in func("https://ghcr.io")


def test_images_problems_name_the_input():
    _unused, func = _filter("images_problems")
    keys = ["spire_server", "spire_agent"]
    assert func({"spire_server": "ghcr.io/spiffe/spire-server:1.14.5"}, keys, "spire_images") == []
    assert func({"spire_sever": "ghcr.io/spiffe/spire-server:1.14.5"}, keys, "spire_images") == [
        "spire_images.spire_sever: not an image of this collection (known: spire_server, spire_agent)"]
    assert func({"spire_agent": "ghcr.io/spiffe/spire-agent@sha256:abc"}, keys, "spire_images") == [
        "spire_images.spire_agent: digest sha256 has 3 hex digits, sha256 needs exactly 64"]
    assert func([], keys, "spire_images") == ["spire_images must be a dict of image names to image references, got a list"]
    with pytest.raises(AnsibleFilterError):
        func({}, "spire_server")
    with pytest.raises(AnsibleFilterError):
        func({}, keys, 1)


def test_pem_file_problem(tmp_path):
    _unused, func = _filter("pem_file_problem")
    path = tmp_path / "x.pem"
    path.write_bytes(b"\x30\x03\x02\x01\x01")
    assert "DER" in func(str(path), "certificate")
    with pytest.raises(AnsibleFilterError):
        func(str(path), "der")


def _as_ansible_holds_it(text):
    """A string from a playbook, inventory or extra vars: trusted as a template (ansible-core 2.19+)."""
    try:
        from ansible.template import trust_as_template
    except ImportError:  # ansible-core < 2.19 templates every string but !unsafe ones
        return text
    return trust_as_template(text)


def test_raw_template_problems():
    _unused, func = _filter("raw_template_problems")
    trusted = _as_ansible_holds_it
    assert func({"a_pw": trusted("x{{y}}z"), "a_other": trusted("{{ ok }}")}, ["a_pw", "a_other"],
                secrets=["a_pw"]) == [
        "a_pw: is a secret with template markers ('{{', '{%' or '{#') inside its text, which Ansible would "
        "template into another value"]
    assert func({"a": trusted("{%")}, ["a"])[0].startswith("a: holds template markers")


def test_raw_template_problems_leave_unsafe_values_alone():
    from ansible.utils.unsafe_proxy import wrap_var

    _unused, func = _filter("raw_template_problems")
    assert func({"a_pw": wrap_var("x{{y}}z")}, ["a_pw"], secrets=["a_pw"]) == []
    with pytest.raises(AnsibleFilterError):
        func(["not", "a", "dict"], ["a"])
    with pytest.raises(AnsibleFilterError):
        func({}, "a")


def test_labels_problems_name_the_input():
    _unused, func = _filter("labels_problems")
    assert func({"disktype": "ssd"}, "spire_agent_node_selector") == []
    assert func({"zone": 1}, "spire_agent_node_selector") == [
        "spire_agent_node_selector.zone: the value must be a string, got a number 1 (quote it)"]
    assert func("x", "spire_agent_node_selector") == [
        "spire_agent_node_selector must be a dict of label keys to values, got a string"]
    with pytest.raises(AnsibleFilterError):
        func({}, 1)


def test_tolerations_problems_name_the_input():
    _unused, func = _filter("tolerations_problems")
    assert func([{"operator": "Exists"}], "csi_driver_tolerations") == []
    assert func([{"operator": "exists"}], "csi_driver_tolerations") == [
        "csi_driver_tolerations[0].operator: must be Exists or Equal, got 'exists'"]
    assert func({}, "csi_driver_tolerations") == ["csi_driver_tolerations must be a list of tolerations, got a dict"]
    with pytest.raises(AnsibleFilterError):
        func([], 1)


def test_version_problems_name_the_input_and_the_series():
    _unused, func = _filter("version_problems")
    supported = {"spire_version": ["1.13", "1.14"], "spire_node_driver_registrar_version": ["2"]}
    assert func({"spire_version": "1.14.5", "spire_node_driver_registrar_version": "2.13.0"}, supported) == []
    assert func({"spire_version": "1.13.3"}, supported) == []
    problems = func({"spire_version": "1.4.2", "spire_node_driver_registrar_version": "3.0.0"}, supported)
    assert [p.split(" is not")[0] for p in problems] == ["spire_version=1.4.2", "spire_node_driver_registrar_version=3.0.0"]
    assert "use 1.13.x or 1.14.x (" in problems[0] and "use 2.x (" in problems[1]
    assert func({"spire_version": "1.141.0"}, supported)  # 1.141 is not 1.14
    assert func({}, supported) == []
    with pytest.raises(AnsibleFilterError, match="ardur.spire.version_problems: spire_csi_driver_version has no"):
        func({"spire_csi_driver_version": "0.2.6"}, supported)
    with pytest.raises(AnsibleFilterError, match="must be dicts"):
        func(["spire_version"], supported)
