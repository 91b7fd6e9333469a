# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: labels_problems
short_description: What is wrong with a Kubernetes label map (node selector, pod selector)
version_added: 0.1.0
author:
  - Ardur runtime deployment team (@ardur)
description:
  - Checks a map of label keys to values, such as a C(nodeSelector) or C(matchLabels), as the Kubernetes API server
    would, and returns the problems, each starting with O(name) and the key.
  - Keys are qualified names (an optional DNS subdomain prefix and C(/), then at most 63 letters, digits, C(-), C(_),
    C(.)); values are strings (a YAML number or boolean is refused, quote it) of at most 63 such characters.
options:
  _input:
    description: The label map.
    type: raw
    required: true
  name:
    description: The input's name, put in front of every problem.
    type: str
    default: labels
seealso:
  - plugin: ardur.spire.tolerations_problems
    plugin_type: filter
"""

EXAMPLES = r"""
---
- name: Check the node selector of the agents
  ansible.builtin.assert:
    that: _problems | length == 0
    fail_msg: "{{ _problems | join('; ') }}"
  vars:
    _problems: "{{ spire_agent_node_selector | ardur.spire.labels_problems('spire_agent_node_selector') }}"
"""

RETURN = r"""
_value:
  description: The problems, empty when the map is valid.
  type: list
  elements: string
"""

from ansible_collections.ardur.spire.plugins.module_utils._spire.inputs import labels_problems
from ansible_collections.ardur.spire.plugins.plugin_utils._filters import wrap_filters


def _labels_problems(value, name='labels'):
    if not isinstance(name, str):
        raise ValueError('name must be a string')
    # A problem of the whole value reads "NAME must ..."; the others start with their key.
    return [('%s %s' if problem.startswith('must ') else '%s.%s') % (name, problem) for problem in labels_problems(value)]


class FilterModule(object):
    """Kubernetes label map checks."""

    def filters(self):
        return wrap_filters({'labels_problems': _labels_problems})
