# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: rotate_upstream_ca_report
short_description: The JSON report of an upstream CA rotation run
version_added: 0.1.0
author:
  - Ardur runtime deployment team (@ardur)
description:
  - Builds the report of the role C(ardur.spire.rotate_upstream_ca) (C(report_version) 1) - the envelope every runbook
    report shares, then C(namespace), C(message), C(problems), C(recorded_phase), C(phases_planned), C(phases_done),
    C(phase_seconds), C(grace_waited_seconds), C(rollback), C(turned), C(stop_after), C(servers), C(settings),
    C(grace_seconds), C(previous_ca), C(new_ca), C(added_roots), C(dropped_roots), C(unrevocable_roots), C(failure) and
    C(summary). No key material.
  - C(status) is V(refused), V(planned) (check mode), V(failed), V(rolled_back), V(stopped) (after
    C(rotate_upstream_ca_stop_after); run again) or V(rotated).
  - The logic is in C(plugins/module_utils/_spire/ca_rotation.py).
extends_documentation_fragment:
  - ardur.spire.runbook_report
options:
  _input:
    description: From P(ardur.spire.rotate_upstream_ca_situation#filter) (V(null) when the run stopped before).
    type: dict
    required: true
  decision:
    description: From P(ardur.spire.rotate_upstream_ca_decision#filter) (V(null) when the run stopped before).
    type: dict
  options:
    description: The inputs without their prefix (C(_rotate_upstream_ca_options)).
    type: dict
    required: true
  phase_seconds:
    description: Seconds per phase done.
    type: dict
  grace_waited:
    description: Seconds waited for the grace period in phase retired.
    type: float
  failure:
    description: C(task), C(message) and C(refused) of the task that failed; V(null) when none did.
    type: dict
  plan:
    description: The plan lines (P(ardur.spire.rotate_upstream_ca_plan#filter)), the summary in check mode.
    type: list
    elements: str
seealso:
  - plugin: ardur.spire.rotate_upstream_ca_situation
    plugin_type: filter
"""

EXAMPLES = r"""
---
- name: Build the report
  ansible.builtin.set_fact:
    _report: "{{ _situation | ardur.spire.rotate_upstream_ca_report(_decision, _options, check_mode=ansible_check_mode) }}"
"""

RETURN = r"""
_value:
  description: The report, ready for C(to_nice_json).
  type: dict
"""

from ansible_collections.ardur.spire.plugins.module_utils._spire import ca_rotation
from ansible_collections.ardur.spire.plugins.plugin_utils._filters import wrap_filters


class FilterModule(object):
    """The report of the upstream CA rotation runbook."""

    def filters(self):
        return wrap_filters({"rotate_upstream_ca_report": ca_rotation.report})
