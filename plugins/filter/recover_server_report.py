# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: recover_server_report
short_description: The JSON report of a recover_server run
version_added: 0.1.0
author:
  - Ardur runtime deployment team (@ardur)
description:
  - Returns the report - the envelope every runbook report shares (C(runbook), C(report_version), C(status),
    C(check_mode), C(started_at), C(generated_at)), then C(replica), C(mode), C(action), C(before), C(after),
    C(checks) and C(seconds).
  - C(status) is V(diagnosed) (diagnose mode), V(planned) (recover mode in check mode), V(recovered) or V(healthy)
    (every check passed, after an action or with nothing to do) or V(failed).
  - Used by the role C(ardur.spire.recover_server); the logic is in C(plugins/module_utils/_spire/recovery.py).
options:
  _input:
    description: The diagnosis before acting, from P(ardur.spire.recover_server_diagnosis#filter).
    type: dict
    required: true
  mode:
    description: V(diagnose) or V(recover).
    type: str
    required: true
  action:
    description: What the run did, V(none), V(replace_pod) or V(replace_pvc).
    type: str
    required: true
  after:
    description: The diagnosis after acting; V(null) when the run did not verify.
    type: dict
  checks:
    description: The checks, from P(ardur.spire.recover_server_checks#filter); V(null) when the run did not verify.
    type: list
    elements: dict
  seconds:
    description: Seconds from the end of the diagnosis until the replica was healthy again; V(null) without an action.
    type: float
extends_documentation_fragment:
  - ardur.spire.runbook_report
seealso:
  - plugin: ardur.spire.recover_server_checks
    plugin_type: filter
"""

EXAMPLES = r"""
---
- name: Write the report
  ansible.builtin.copy:
    content: >-
      {{ _before | ardur.spire.recover_server_report('recover', 'replace_pod', after=_after, checks=_checks)
         | to_nice_json(indent=2) }}
    dest: /var/tmp/recover.json
    mode: "0644"
"""

RETURN = r"""
_value:
  description: The report (a dict, in the order it is written).
  type: dict
"""

from ansible_collections.ardur.spire.plugins.module_utils._spire.recovery import report
from ansible_collections.ardur.spire.plugins.plugin_utils._filters import wrap_filters


def _recover_server_report(before, mode, action, after=None, checks=None, seconds=None, check_mode=False,
                           started_at=None):
    return report(before, mode, action, after=after, verification=checks, seconds=seconds,
                  check_mode=check_mode, started_at=started_at or None)


class FilterModule(object):
    """The report of a recover_server run."""

    def filters(self):
        # TypeError too: float() of seconds that are neither a number nor a string.
        return wrap_filters({'recover_server_report': _recover_server_report}, errors=(ValueError, TypeError))
