# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: quantity_problem
short_description: What is wrong with a Kubernetes resource quantity
version_added: 0.1.0
author:
  - Ardur runtime deployment team (@ardur)
description:
  - Checks the input against the Kubernetes quantity grammar (C(k8s.io/apimachinery) C(resource.Quantity)) and
    returns what is wrong with it, as text that states the rule, or an empty string when it is valid.
  - Valid are a number (optionally signed, with a decimal point) followed by nothing, a decimal SI suffix
    (C(n), C(u), C(m), C(k), C(M), C(G), C(T), C(P), C(E)), a binary SI suffix (C(Ki) ... C(Ei)) or an integer
    exponent (C(e3)). C(32MB) or C(1K) are not quantities.
  - Negative quantities are refused, and zero with O(positive=true). A quantity of a resource counted in bytes
    (O(resource) C(memory), C(ephemeral-storage), C(storage) or C(hugepages-*)) must be a whole number of bytes,
    so C(512m) (0.512 bytes, a typo for C(512Mi)) is refused.
options:
  _input:
    description: The quantity (a string, or a number).
    type: raw
    required: true
  resource:
    description: The resource the quantity measures (C(cpu), C(memory), C(storage) ...), for the whole-bytes rule.
    type: str
  positive:
    description: Refuse zero as well.
    type: bool
    default: false
seealso:
  - plugin: ardur.spire.resources_problems
    plugin_type: filter
"""

EXAMPLES = r"""
---
- name: Check the size of the server volumes
  ansible.builtin.assert:
    that: _problem | length == 0
    fail_msg: "spire_server_storage_size: {{ _problem }}"
  vars:
    _problem: "{{ spire_server_storage_size | ardur.spire.quantity_problem(resource='storage', positive=true) }}"
"""

RETURN = r"""
_value:
  description: Empty when the quantity is valid; otherwise what is wrong (the value and the rule).
  type: string
"""

from ansible_collections.ardur.spire.plugins.module_utils._spire.inputs import quantity_problem
from ansible_collections.ardur.spire.plugins.plugin_utils._filters import wrap_filters


def _quantity_problem(value, resource=None, positive=False):
    if resource is not None and not isinstance(resource, str):
        raise ValueError('resource must be a string')
    if not isinstance(positive, bool):
        raise ValueError('positive must be a boolean')
    return quantity_problem(value, resource=resource, positive=positive)


class FilterModule(object):
    """Kubernetes quantity checks."""

    def filters(self):
        return wrap_filters({'quantity_problem': _quantity_problem})
