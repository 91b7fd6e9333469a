# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: rotate_upstream_ca_plan
short_description: The plan of an upstream CA rotation run
version_added: 0.1.0
author:
  - Ardur runtime deployment team (@ardur)
description:
  - The lines a run prints before it writes, and all that check mode does - both CAs, the recorded phase, which CA
    signs each server now, the TTLs and the grace period, and what each phase of this run does (or the undo of a rollback).
  - The logic is in C(plugins/module_utils/_spire/ca_rotation.py).
options:
  _input:
    description: Where the rotation stands, from P(ardur.spire.rotate_upstream_ca_situation#filter).
    type: dict
    required: true
  decision:
    description: From P(ardur.spire.rotate_upstream_ca_decision#filter).
    type: dict
    required: true
  options:
    description: The inputs without their prefix (C(_rotate_upstream_ca_options)).
    type: dict
    required: true
  servers:
    description: The registered results of reading each server (M(ardur.spire.spire_authority) in check mode).
    type: list
    elements: dict
  check_mode:
    description: Whether the run is in check mode.
    type: bool
    default: false
seealso:
  - plugin: ardur.spire.rotate_upstream_ca_situation
    plugin_type: filter
"""

EXAMPLES = r"""
---
- name: Show the plan
  ansible.builtin.debug:
    msg: "{{ _situation | ardur.spire.rotate_upstream_ca_plan(_decision, _options, servers=_before.results) }}"
"""

RETURN = r"""
_value:
  description: The lines of the plan.
  type: list
  elements: str
"""

from ansible_collections.ardur.spire.plugins.module_utils._spire import ca_rotation
from ansible_collections.ardur.spire.plugins.plugin_utils._filters import wrap_filters


class FilterModule(object):
    """The plan of an upstream CA rotation."""

    def filters(self):
        return wrap_filters({"rotate_upstream_ca_plan": ca_rotation.plan_lines})
