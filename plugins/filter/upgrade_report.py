# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: upgrade_report
short_description: The JSON report and the outcome of an upgrade run
version_added: 0.1.0
author:
  - Ardur runtime deployment team (@ardur)
description:
  - Builds the report of the role C(ardur.spire.upgrade) (C(report_version) 1) - the envelope every runbook report
    shares, then C(namespace), C(message), C(errors), C(config_changes), C(moved), C(plan), C(versions),
    C(phase_seconds), C(servers), C(agents), C(webhook_failure_policy), C(final_check), C(failure) and C(summary).
  - C(status) is V(refused), V(planned) (check mode), V(failed) (a task failed), V(incomplete) (the final check
    failed), V(up_to_date) (nothing to do) or V(upgraded); only V(planned), V(up_to_date) and V(upgraded) end the
    run successfully.
  - The logic is in C(plugins/module_utils/_spire/upgrade.py).
options:
  _input:
    description: The decision, from P(ardur.spire.upgrade_decision#filter).
    type: dict
    required: true
  final:
    description: The final check, from P(ardur.spire.upgrade_final_check#filter); V(null) when it did not run.
    type: dict
  after:
    description: The registered M(ardur.spire.spire_upgrade_plan) result of the final read; V(null) when there was none.
    type: dict
  failure:
    description: C(task) and C(message) of the task that failed; V(null) when none did.
    type: dict
  phase_seconds:
    description: Seconds per phase.
    type: dict
  servers:
    description: The result of the server rollout (C(spire_server_rollout_result)).
    type: dict
  agents:
    description: The result of the agent rollout (C(spire_agent_rollout_result)).
    type: dict
  webhook:
    description: The webhook configuration as last read (V({}) when absent).
    type: dict
  namespace:
    description: The namespace (C(spire_namespace)).
    type: str
    default: ""
extends_documentation_fragment:
  - ardur.spire.runbook_report
seealso:
  - plugin: ardur.spire.upgrade_decision
    plugin_type: filter
"""

EXAMPLES = r"""
---
- name: Build the report
  ansible.builtin.set_fact:
    _report: "{{ _decision | ardur.spire.upgrade_report(final=_final, namespace=spire_namespace) }}"
"""

RETURN = r"""
_value:
  description: The report, ready for C(to_nice_json).
  type: dict
"""

from ansible_collections.ardur.spire.plugins.module_utils._spire import upgrade
from ansible_collections.ardur.spire.plugins.plugin_utils._filters import wrap_filters


def _upgrade_report(decision, final=None, after=None, failure=None, phase_seconds=None, servers=None, agents=None,
                    webhook=None, namespace="", check_mode=False, started_at=None):
    return upgrade.report(decision, final=final or None, after=after or None, failure=failure or None,
                          phase_seconds=phase_seconds, servers=servers, agents=agents, webhook=webhook,
                          namespace=namespace, check_mode=bool(check_mode), started_at=started_at or None)


class FilterModule(object):
    """The report of the upgrade runbook."""

    def filters(self):
        return wrap_filters({"upgrade_report": _upgrade_report})
