"""The lab data plane's copies of SPIRE configurations: only the listeners move (and, for
agents, the k8s workload attestor goes), through the collection's own HCL library."""

import copy
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
CORPUS = ROOT / "tests" / "unit" / "fixtures" / "spire_config" / "corpus" / "accepted"
SPEC = importlib.util.spec_from_file_location("dataplane", ROOT / "lab" / "dataplane.py")
dataplane = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(dataplane)


def _expected(original, section, listeners):
    """ORIGINAL with SECTION's listeners and the health and metrics listeners moved as the lab does."""
    data = copy.deepcopy(original)
    data[section].update(listeners)
    if "health_checks" in data:
        data["health_checks"].update(bind_address="127.0.0.1")
    return data


def test_server_conf_moves_only_the_listeners():
    text = (CORPUS / "tutorials-k8s-quickstart-server.conf").read_text(encoding="utf-8")
    mapped, changes = dataplane.map_server_conf(text, 1)
    ports = dataplane.ports()
    got = dataplane.conf(mapped)
    want = _expected(dataplane.conf(text), "server", {"bind_address": "127.0.0.1", "bind_port": ports["server"][1]})
    want["health_checks"]["bind_port"] = str(ports["server-health"][1])
    assert got == want
    assert "server.bind_port: '8081' -> %d" % ports["server"][1] in changes
    assert got["server"]["trust_domain"] == "example.org"


def test_agent_conf_drops_the_k8s_attestor_and_moves_the_listeners():
    text = (CORPUS / "tutorials-k8s-quickstart-agent.conf").read_text(encoding="utf-8")
    original = dataplane.conf(text)
    assert "k8s" in original["plugins"]["WorkloadAttestor"]
    mapped, changes = dataplane.map_agent_conf(text, 2)
    got = dataplane.conf(mapped)
    want = _expected(original, "agent", {"server_address": "127.0.0.1", "server_port": dataplane.ports()["proxy"]})
    want["health_checks"]["bind_port"] = str(dataplane.ports()["agent-health"][2])
    del want["plugins"]["WorkloadAttestor"]["k8s"]
    if not want["plugins"]["WorkloadAttestor"]:
        del want["plugins"]["WorkloadAttestor"]
    assert {k: v for k, v in got.items() if k != "plugins"} == {k: v for k, v in want.items() if k != "plugins"}
    assert "k8s" not in got["plugins"].get("WorkloadAttestor", {})
    assert got["plugins"]["NodeAttestor"] == original["plugins"]["NodeAttestor"]
    assert 'plugins.WorkloadAttestor "k8s": removed' in changes
    assert dataplane.conf_get(got, "plugins", "NodeAttestor", "k8s_psat", "plugin_data", "cluster") == \
        original["plugins"]["NodeAttestor"]["k8s_psat"]["plugin_data"]["cluster"]


def test_a_configuration_without_its_block_is_refused():
    with pytest.raises(dataplane.DataPlaneError, match="server.conf has no server block"):
        dataplane.map_server_conf('agent {\n  trust_domain = "x"\n}\n', 0)
    with pytest.raises(dataplane.DataPlaneError, match="SPIRE configuration"):
        dataplane.conf("server {")
