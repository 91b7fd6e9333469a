# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: rotate_upstream_ca_cas
short_description: The CAs an upstream CA rotation writes (key material - no_log)
version_added: 0.1.0
author:
  - Ardur runtime deployment team (@ardur)
description:
  - The previous and the new CA as Secret data (base64 C(tls.crt), C(tls.key), C(bundle.crt)) - from the state Secret
    when a rotation is in progress, else the new one from the generated or imported files and the previous one from
    Secret C(spire-upstream-ca) - swapped for the rollback of a switched rotation; their public parts; the data of the
    state Secret. Holds private keys - use it only in C(no_log) tasks.
  - The logic is in C(plugins/module_utils/_spire/ca_rotation.py).
options:
  _input:
    description: Where the rotation stands, from P(ardur.spire.rotate_upstream_ca_situation#filter).
    type: dict
    required: true
  live_data:
    description: The data of Secret C(spire-upstream-ca).
    type: dict
    required: true
  state_data:
    description: The data of the state Secret (V({}) when absent).
    type: dict
  files:
    description: The new CA's files as base64 C(tls.crt), C(tls.key), C(bundle.crt) (no rotation in progress).
    type: dict
"""

EXAMPLES = r"""
---
- name: Take the CAs of the run
  ansible.builtin.set_fact:
    _cas: "{{ _situation | ardur.spire.rotate_upstream_ca_cas(_live_data, _state_data, _files) }}"
  no_log: true
"""

RETURN = r"""
_value:
  description: C(previous), C(new) (Secret data), C(public) (C(tls.crt) and C(bundle.crt) of each) and C(state_data).
  type: dict
"""

from ansible_collections.ardur.spire.plugins.module_utils._spire import ca_rotation
from ansible_collections.ardur.spire.plugins.plugin_utils._filters import wrap_filters


class FilterModule(object):
    """The CAs of an upstream CA rotation."""

    def filters(self):
        return wrap_filters({"rotate_upstream_ca_cas": ca_rotation.cas})
