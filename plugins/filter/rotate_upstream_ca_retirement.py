# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: rotate_upstream_ca_retirement
short_description: Which server can retire the old upstream root
version_added: 0.1.0
author:
  - Ardur runtime deployment team (@ardur)
description:
  - SPIRE accepts C(upstreamauthority taint|revoke) only from a server whose OLD X.509 authority the root signed; from
    each server's authorities and bundle says which server retires the old root, whether it is still in SPIRE's bundle
    and tainted, and why none can (a late retirement).
  - The logic is in C(plugins/module_utils/_spire/ca_rotation.py).
options:
  _input:
    description: The registered results of M(ardur.spire.spire_authority) in check mode, one per server in order.
    type: list
    elements: dict
    required: true
  old_skid:
    description: The subject key ID of the old CA.
    type: str
    required: true
  revocable:
    description: The C(revocable) roots of P(ardur.spire.rotate_upstream_ca_decision#filter).
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
---
- name: Choose the server that retires the old root
  ansible.builtin.set_fact:
    _retire: "{{ _view.results | ardur.spire.rotate_upstream_ca_retirement(_decision.old_skid, _decision.revocable) }}"
"""

RETURN = r"""
_value:
  description: C(retirer) (index, -1 for none), C(old_in_bundle), C(old_tainted), C(problem) (empty when fine).
  type: dict
"""

from ansible_collections.ardur.spire.plugins.module_utils._spire import ca_rotation
from ansible_collections.ardur.spire.plugins.plugin_utils._filters import wrap_filters


class FilterModule(object):
    """The retirement of the old upstream root."""

    def filters(self):
        return wrap_filters({"rotate_upstream_ca_retirement": ca_rotation.retirement})
