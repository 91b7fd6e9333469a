"""The uninstall runbook's filter plugins: thin, documented wrappers over module_utils/_spire/uninstall.py."""

import pytest
import test_filter_plugins  # same directory: its _filter()
from ansible.errors import AnsibleFilterError

from ansible_collections.ardur.spire.plugins.module_utils._spire import uninstall

NS = "spire-system"
LABELS = {"app.kubernetes.io/part-of": "spire", "app.kubernetes.io/managed-by": "ardur.spire"}
OBJECTS = {"server": "spire-server", "agent": "spire-agent", "upstream_ca": "spire-upstream-ca",
           "datastore": "spire-datastore", "csi_driver_plugin": "csi.spiffe.io"}
OPTIONS = dict(dict((flag, False) for flag in uninstall.FLAGS), wait_timeout=300, report_path="r.json")


def _found():
    return [{"item": query, "resources": []} for query in uninstall.queries(NS, LABELS)]


def test_uninstall_problems():
    _unused, func = test_filter_plugins._filter("uninstall_problems")
    assert func(OPTIONS, NS) == []
    assert func(dict(OPTIONS, wait_timeout=0), NS)[0].startswith("uninstall_wait_timeout")
    with pytest.raises(AnsibleFilterError, match="ardur.spire.uninstall_problems: options.force"):
        func(dict(OPTIONS, force="maybe"), NS)


def test_uninstall_queries():
    _unused, func = test_filter_plugins._filter("uninstall_queries")
    assert [q["kind"] for q in func(NS, LABELS)][:2] == ["ClusterSPIFFEID", "ValidatingWebhookConfiguration"]
    with pytest.raises(AnsibleFilterError, match="ardur.spire.uninstall_queries: labels"):
        func(NS, None)


def test_uninstall_plan_and_report():
    _unused, plan = test_filter_plugins._filter("uninstall_plan")
    _unused, report = test_filter_plugins._filter("uninstall_report")
    the_plan = plan(_found(), [], [], OPTIONS, NS, OBJECTS, "ardur-spire", check_mode=1)
    assert the_plan["lines"][0] == "Would delete (check mode), in this order:"
    doc = report(the_plan, [], OPTIONS, check_mode=True, started_at="2026-12-07T10:00:00Z")
    assert doc["status"] == "planned" and doc["started_at"] == "2026-12-07T10:00:00Z"
    doc = report(the_plan, [], OPTIONS, started_at="")  # unknown start: the time of the report
    assert doc["started_at"] == doc["generated_at"]
    with pytest.raises(AnsibleFilterError, match="ardur.spire.uninstall_plan: found must hold"):
        plan([], [], [], OPTIONS, NS, OBJECTS, "ardur-spire")
    with pytest.raises(AnsibleFilterError, match="ardur.spire.uninstall_report: the plan must be"):
        report({}, [], OPTIONS)
