"""The upgrade runbook's filter plugins: thin, documented wrappers over module_utils/_spire/upgrade.py."""

import pytest
import test_filter_plugins  # same directory: its _filter()
from ansible.errors import AnsibleFilterError

from ansible_collections.ardur.spire.plugins.module_utils._spire import upgrade

OPTIONS = {"allow_downgrade": False, "allow_config_changes": False, "transport": "kubernetes", "server_sockets": [],
           "spire_server_path": "/opt/spire/bin/spire-server", "agent_sockets": {},
           "spire_agent_path": "/opt/spire/bin/spire-agent", "timeout": 300, "report_path": "./spire-upgrade.json"}
HOOK = {"metadata": {"name": upgrade.WEBHOOK_NAME},
        "webhooks": [{"name": "vclusterspiffeid.kb.io", "failurePolicy": "Fail"}]}


def _result(nothing_to_do=False, hold=True):
    plan = {"nothing_to_do": nothing_to_do, "lines": ["Upgrade plan for namespace spire-system:"],
            "order": [] if nothing_to_do else ["servers"], "steps": [] if nothing_to_do else ["servers"],
            "components": [], "webhook": {"hold": hold, "restore": hold, "original": {"vclusterspiffeid.kb.io": "Fail"},
                                          "name": upgrade.WEBHOOK_NAME, "annotation": upgrade.WEBHOOK_ANNOTATION}}
    return {"changed": False, "plan": plan}


def test_upgrade_problems():
    _unused, func = test_filter_plugins._filter("upgrade_problems")
    assert func(OPTIONS) == [] and func(OPTIONS, render_dir=None) == []
    assert func(dict(OPTIONS, timeout=0))[0].startswith("upgrade_timeout")
    assert func(OPTIONS, render_dir="/r")[0].startswith("spire_render_dir")
    with pytest.raises(AnsibleFilterError, match="ardur.spire.upgrade_problems: options must be a dict"):
        func("x")


def test_upgrade_decision():
    _unused, func = test_filter_plugins._filter("upgrade_decision")
    decision = func(_result(), live=None, rendered=None, allow_config_changes=0, check_mode=0)
    assert decision["status"] == "upgraded" and decision["phases"] == ["servers"] and decision["hold"]
    assert func(_result(), check_mode=1)["status"] == "planned"
    with pytest.raises(AnsibleFilterError, match="ardur.spire.upgrade_decision: the plan result"):
        func("refused")


def test_upgrade_webhook_patch():
    _unused, func = test_filter_plugins._filter("upgrade_webhook_patch")
    plan = _result()["plan"]
    assert func(plan, HOOK, "hold")["webhooks"] == [{"name": "vclusterspiffeid.kb.io", "failurePolicy": "Ignore"}]
    assert func(plan, {}, "restore") == {}
    with pytest.raises(AnsibleFilterError, match="ardur.spire.upgrade_webhook_patch: step"):
        func(plan, HOOK, "drop")


def test_upgrade_final_check():
    _unused, func = test_filter_plugins._filter("upgrade_final_check")
    final = func(_result(nothing_to_do=True), [{"item": 0, "healthy": True, "agents": [{"node_name": "n"}]}],
                 [{"spec": {"nodeName": "n"}}], server="spire-server")
    assert final["ok"]
    with pytest.raises(AnsibleFilterError, match="ardur.spire.upgrade_final_check: servers"):
        func(_result(), None, [])


def test_upgrade_report():
    _unused, decide = test_filter_plugins._filter("upgrade_decision")
    _unused, func = test_filter_plugins._filter("upgrade_report")
    decision = decide(_result(), check_mode=True)
    doc = func(decision, final=None, after=None, failure=None, check_mode=1, started_at="2026-12-07T10:00:00Z")
    assert doc["runbook"] == "upgrade" and doc["status"] == "planned" and doc["started_at"] == "2026-12-07T10:00:00Z"
    doc = func(decision, started_at="")  # unknown start: the time of the report
    assert doc["started_at"] == doc["generated_at"]
    doc = func(None, failure={"task": "t", "message": "m"})
    assert doc["status"] == "failed"
    with pytest.raises(AnsibleFilterError, match="ardur.spire.upgrade_report: decision must be"):
        func({})
