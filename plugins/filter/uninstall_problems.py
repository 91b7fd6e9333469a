# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: uninstall_problems
short_description: Why the inputs of the uninstall runbook are refused
version_added: 0.1.0
author:
  - Ardur runtime deployment team (@ardur)
description:
  - Checks the values of the inputs of the C(ardur.spire.uninstall) role (their types are checked by its argument
    spec) and returns the reasons to refuse them, each naming its input.
  - Refused are a wait timeout that is not a positive number of seconds, an empty report path, a namespace deletion
    without C(uninstall_delete_upstream_ca), C(uninstall_delete_datastore_secret) and C(uninstall_delete_pvcs) (a
    namespace deletion deletes what they guard anyway), and a namespace deletion of a system namespace.
options:
  _input:
    description:
      - The inputs without their C(uninstall_) prefix - the booleans C(force), C(samples), C(delete_crds),
        C(delete_upstream_ca), C(delete_datastore_secret), C(delete_pvcs), C(delete_namespace), the integer
        C(wait_timeout) and the string C(report_path).
    type: dict
    required: true
  namespace:
    description: The namespace of the deployment (C(spire_namespace)).
    type: str
    required: true
seealso:
  - plugin: ardur.spire.uninstall_plan
    plugin_type: filter
"""

EXAMPLES = r"""
---
- name: Check the values of the inputs
  ansible.builtin.assert:
    that: _problems | length == 0
    fail_msg: "{{ _problems | join('; ') }}"
  vars:
    _problems: "{{ _uninstall_options | ardur.spire.uninstall_problems(spire_namespace) }}"
"""

RETURN = r"""
_value:
  description: The reasons, empty when the inputs are accepted.
  type: list
  elements: string
"""

from ansible_collections.ardur.spire.plugins.module_utils._spire import uninstall
from ansible_collections.ardur.spire.plugins.plugin_utils._filters import wrap_filters


class FilterModule(object):
    """Input checks of the uninstall runbook."""

    def filters(self):
        return wrap_filters({'uninstall_problems': uninstall.option_problems})
