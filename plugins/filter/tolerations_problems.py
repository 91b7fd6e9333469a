# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: tolerations_problems
short_description: What is wrong with a list of Kubernetes tolerations
version_added: 0.1.0
author:
  - Ardur runtime deployment team (@ardur)
description:
  - Checks a pod's C(tolerations) as the Kubernetes API server would and returns the problems, each starting with
    O(name) and the index.
  - Only the keys C(key), C(operator), C(value), C(effect), C(tolerationSeconds); C(operator) C(Exists) or C(Equal)
    (case matters), C(Exists) without a value and required for an empty key; C(effect) C(NoSchedule),
    C(PreferNoSchedule), C(NoExecute) or empty; C(tolerationSeconds) a whole number, with C(NoExecute) only.
options:
  _input:
    description: The tolerations.
    type: raw
    required: true
  name:
    description: The input's name, put in front of every problem.
    type: str
    default: tolerations
seealso:
  - plugin: ardur.spire.labels_problems
    plugin_type: filter
"""

EXAMPLES = r"""
---
- name: Check the tolerations of the agents
  ansible.builtin.assert:
    that: _problems | length == 0
    fail_msg: "{{ _problems | join('; ') }}"
  vars:
    _problems: "{{ spire_agent_tolerations | ardur.spire.tolerations_problems('spire_agent_tolerations') }}"
"""

RETURN = r"""
_value:
  description: The problems, empty when the tolerations are valid.
  type: list
  elements: string
"""

from ansible_collections.ardur.spire.plugins.module_utils._spire.inputs import tolerations_problems
from ansible_collections.ardur.spire.plugins.plugin_utils._filters import wrap_filters


def _tolerations_problems(value, name='tolerations'):
    if not isinstance(name, str):
        raise ValueError('name must be a string')
    # A problem of the whole value reads "NAME must ..."; the others start with their index.
    return ['%s%s%s' % (name, ' ' if problem.startswith('must ') else '', problem)
            for problem in tolerations_problems(value)]


class FilterModule(object):
    """Kubernetes tolerations checks."""

    def filters(self):
        return wrap_filters({'tolerations_problems': _tolerations_problems})
