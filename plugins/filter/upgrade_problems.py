# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: upgrade_problems
short_description: The reasons the inputs of the upgrade runbook are refused before anything is read
version_added: 0.1.0
author:
  - Ardur runtime deployment team (@ardur)
description:
  - Returns one message per refused input, naming it - C(upgrade_timeout) not a positive number of seconds,
    C(upgrade_transport=local) without C(upgrade_server_sockets) and C(upgrade_agent_sockets), a socket path that is
    not absolute, an empty binary path, and a non-empty C(spire_render_dir) (an upgrade needs a cluster).
  - Used by the role C(ardur.spire.upgrade) (entry point C(preflight)); the logic is in
    C(plugins/module_utils/_spire/upgrade.py).
options:
  _input:
    description:
      - The inputs without their C(upgrade_) prefix - C(allow_downgrade), C(allow_config_changes), C(transport),
        C(server_sockets), C(spire_server_path), C(agent_sockets), C(spire_agent_path), C(timeout), C(report_path).
    type: dict
    required: true
  render_dir:
    description: The shared input C(spire_render_dir).
    type: str
    default: ""
seealso:
  - plugin: ardur.spire.upgrade_decision
    plugin_type: filter
"""

EXAMPLES = r"""
---
- name: Check the values of the upgrade inputs
  ansible.builtin.assert:
    that: _problems | length == 0
    fail_msg: "Bad input: {{ _problems | join('; ') }}. Nothing was read or changed."
  vars:
    _problems: "{{ _upgrade_options | ardur.spire.upgrade_problems(render_dir=spire_render_dir) }}"
"""

RETURN = r"""
_value:
  description: One message per refused input (empty when every input is fine).
  type: list
  elements: str
"""

from ansible_collections.ardur.spire.plugins.module_utils._spire import upgrade
from ansible_collections.ardur.spire.plugins.plugin_utils._filters import wrap_filters


def _upgrade_problems(options, render_dir=""):
    return upgrade.option_problems(options, render_dir=render_dir or "")


class FilterModule(object):
    """Input checks of the upgrade runbook."""

    def filters(self):
        return wrap_filters({"upgrade_problems": _upgrade_problems})
