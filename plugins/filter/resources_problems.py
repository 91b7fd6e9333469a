# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: resources_problems
short_description: What is wrong with a container's Kubernetes resources
version_added: 0.1.0
author:
  - Ardur runtime deployment team (@ardur)
description:
  - Checks a container's C(resources) (C(requests) and C(limits)) as the Kubernetes API server would, before
    anything is applied, and returns the problems, each starting with O(name) and the key path.
  - Only the keys C(requests) and C(limits); only the resource names C(cpu), C(memory), C(ephemeral-storage)
    and C(hugepages-<size>); every value a quantity (see P(ardur.spire.quantity_problem#filter), memory in whole
    bytes); every request at most its limit; hugepages with a limit equal to the request and a cpu or memory
    request or limit.
options:
  _input:
    description: The resources dict.
    type: raw
    required: true
  name:
    description: The input's name, put in front of every problem.
    type: str
    default: resources
seealso:
  - plugin: ardur.spire.quantity_problem
    plugin_type: filter
"""

EXAMPLES = r"""
---
- name: Check the agent's resources
  ansible.builtin.assert:
    that: _problems | length == 0
    fail_msg: "{{ _problems | join(' ') }}"
  vars:
    _problems: "{{ spire_agent_resources | ardur.spire.resources_problems('spire_agent_resources') }}"
"""

RETURN = r"""
_value:
  description:
    - "The problems, empty when the resources are valid, e.g.
      C(spire_agent_resources.limits.memory: '32MB' is not a Kubernetes quantity ...)."
  type: list
  elements: string
"""

from ansible_collections.ardur.spire.plugins.module_utils._spire.inputs import resources_problems
from ansible_collections.ardur.spire.plugins.plugin_utils._filters import wrap_filters


def _resources_problems(value, name='resources'):
    if not isinstance(name, str):
        raise ValueError('name must be a string')
    # A problem of the whole value reads "NAME must ..."; the others start with their key path.
    return [('%s %s' if problem.startswith('must ') else '%s.%s') % (name, problem) for problem in resources_problems(value)]


class FilterModule(object):
    """Kubernetes container resources checks."""

    def filters(self):
        return wrap_filters({'resources_problems': _resources_problems})
