# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: uninstall_report
short_description: The JSON report of an uninstall run
version_added: 0.1.0
author:
  - Ardur runtime deployment team (@ardur)
description:
  - Builds the report of the C(ardur.spire.uninstall) role (C(report_version) 1) - the envelope every runbook
    report shares, then C(namespace), C(options), C(csi_pods), C(blocking_pods), C(forced), C(planned),
    C(deleted), C(already_gone), C(kept) and C(summary).
  - C(status) is C(refused) (pods mount the SPIFFE CSI volume, nothing was deleted), C(planned) (check mode,
    nothing was deleted), C(failed) (a deletion failed) or C(uninstalled).
  - Of the deletion results only C(item.ref), C(changed) and C(failed) are read; no Secret value reaches the report.
options:
  _input:
    description: The plan, from P(ardur.spire.uninstall_plan#filter).
    type: dict
    required: true
  results:
    description: The registered loop results of the deletion tasks (empty before any ran).
    type: list
    elements: dict
    required: true
  options:
    description: The inputs without their C(uninstall_) prefix, as for P(ardur.spire.uninstall_problems#filter).
    type: dict
    required: true
extends_documentation_fragment:
  - ardur.spire.runbook_report
seealso:
  - plugin: ardur.spire.uninstall_plan
    plugin_type: filter
"""

EXAMPLES = r"""
---
- name: Write the report
  ansible.builtin.copy:
    content: >-
      {{ _plan | ardur.spire.uninstall_report(_deleted.results, _uninstall_options, ansible_check_mode)
         | to_nice_json(indent=2) }}
    dest: ./spire-uninstall.json
    mode: "0644"
"""

RETURN = r"""
_value:
  description: The report, ready for C(to_nice_json).
  type: dict
"""

from ansible_collections.ardur.spire.plugins.module_utils._spire import uninstall
from ansible_collections.ardur.spire.plugins.plugin_utils._filters import wrap_filters


def _uninstall_report(plan, results, options, check_mode=False, started_at=None):
    return uninstall.report(plan, results, options, check_mode=bool(check_mode), started_at=started_at or None)


class FilterModule(object):
    """The report of the uninstall runbook."""

    def filters(self):
        return wrap_filters({'uninstall_report': _uninstall_report})
