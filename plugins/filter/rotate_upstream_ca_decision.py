# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: rotate_upstream_ca_decision
short_description: The roots and bundles of both CAs of an upstream CA rotation
version_added: 0.1.0
author:
  - Ardur runtime deployment team (@ardur)
description:
  - Reads both CAs' certificates and bundles (PEM, the collection's DER helpers) and works out their subject key IDs, the
    roots to add to SPIRE's bundle and to drop from it, the one SPIRE can revoke (the old signing CA), C(bundle.crt)
    while both CAs are trusted (the old bundle as it is, then the new roots not in it), and the refusals (unreadable
    certificates or bundles, a CA without subject key ID, the new CA being the one in use, another CA than the rotation
    in progress), added to the situation's.
  - The logic is in C(plugins/module_utils/_spire/ca_rotation.py).
options:
  _input:
    description: Where the rotation stands, from P(ardur.spire.rotate_upstream_ca_situation#filter).
    type: dict
    required: true
  previous:
    description: C(tls.crt) and C(bundle.crt) (base64) of the previous CA (C(public.previous) of P(ardur.spire.rotate_upstream_ca_cas#filter)).
    type: dict
    required: true
  new:
    description: C(tls.crt) and C(bundle.crt) (base64) of the new CA.
    type: dict
    required: true
  live:
    description: C(tls.crt) (base64) of the CA in use, for the plan.
    type: dict
  given_cert:
    description: The text of C(rotate_upstream_ca_cert_file) (empty when none).
    type: str
    default: ""
seealso:
  - plugin: ardur.spire.rotate_upstream_ca_situation
    plugin_type: filter
"""

EXAMPLES = r"""
---
- name: Work out both CAs' roots
  ansible.builtin.set_fact:
    _decision: "{{ _situation | ardur.spire.rotate_upstream_ca_decision(_cas.public.previous, _cas.public.new) }}"
"""

RETURN = r"""
_value:
  description: >-
    C(old_skid), C(new_skid), C(old), C(new), C(in_use) (C(subject_key_id), C(common_name), C(not_after)),
    C(added_roots), C(dropped_roots), C(revocable), C(unrevocable), C(new_roots), C(both_bundle) and C(problems).
  type: dict
"""

from ansible_collections.ardur.spire.plugins.module_utils._spire import ca_rotation
from ansible_collections.ardur.spire.plugins.plugin_utils._filters import wrap_filters


class FilterModule(object):
    """The roots and bundles of an upstream CA rotation."""

    def filters(self):
        return wrap_filters({"rotate_upstream_ca_decision": ca_rotation.decide})
