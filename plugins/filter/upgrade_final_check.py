# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: upgrade_final_check
short_description: The final check of an upgrade run
version_added: 0.1.0
author:
  - Ardur runtime deployment team (@ardur)
description:
  - Passes when the plan read again after the upgrade has nothing to do (every template and pod at its target, no
    partition, no C(OnDelete), no recorded webhook policy), every server is healthy, and every Node with an agent pod
    has an attested agent that is neither banned nor expired (as the first healthy server lists them).
  - The logic is in C(plugins/module_utils/_spire/upgrade.py).
options:
  _input:
    description: The registered result of M(ardur.spire.spire_upgrade_plan) of the final read.
    type: dict
    required: true
  servers:
    description: The registered loop results of M(ardur.spire.spire_server_info), one per ordinal (C(item) the ordinal).
    type: list
    elements: dict
    required: true
  agent_pods:
    description: The agent pods.
    type: list
    elements: dict
    required: true
  server:
    description: The server StatefulSet's name (its pods are C(NAME-N)).
    type: str
    default: spire-server
seealso:
  - plugin: ardur.spire.upgrade_report
    plugin_type: filter
"""

EXAMPLES = r"""
---
- name: Judge the end state
  ansible.builtin.set_fact:
    _final: "{{ _plan_result | ardur.spire.upgrade_final_check(_servers.results, _agent_pods.resources) }}"
"""

RETURN = r"""
_value:
  description: C(ok), C(still_to_do), C(unhealthy_servers), C(nodes_without_agent) and C(message).
  type: dict
"""

from ansible_collections.ardur.spire.plugins.module_utils._spire import upgrade
from ansible_collections.ardur.spire.plugins.plugin_utils._filters import wrap_filters


class FilterModule(object):
    """The final check of the upgrade runbook."""

    def filters(self):
        return wrap_filters({"upgrade_final_check": upgrade.final_check})
