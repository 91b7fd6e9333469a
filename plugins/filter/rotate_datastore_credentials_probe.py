# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: rotate_datastore_credentials_probe
short_description: A connection test of the datastore credential rotation, passwords masked
version_added: 0.1.0
author:
  - Ardur runtime deployment team (@ardur)
description:
  - Reads a registered C(community.postgresql.postgresql_query) result (run with C(failed_when) false) of the
    runbook's connection test or admin step - whether it connected, as whom, acting as whom, whether SPIRE's tables
    are writable, and the error with every given secret (and its percent-encoded form) masked.
  - The logic is in C(plugins/module_utils/_spire/credential_rotation.py).
options:
  _input:
    description: The registered result.
    type: dict
    required: true
  secrets:
    description: Values to mask in the error message (passwords).
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
---
- name: Record the result (never shown)
  ansible.builtin.set_fact:
    _probe: "{{ _raw | ardur.spire.rotate_datastore_credentials_probe(secrets=[_password]) }}"
  no_log: true
"""

RETURN = r"""
_value:
  description: C(ok), C(error), C(login), C(acting), C(owner), C(acts_as_owner), C(can_write).
  type: dict
"""

from ansible_collections.ardur.spire.plugins.module_utils._spire import credential_rotation
from ansible_collections.ardur.spire.plugins.plugin_utils._filters import wrap_filters


def _probe(raw, secrets=None):
    return credential_rotation.probe(raw, secrets=secrets or [])


class FilterModule(object):
    """The connection tests of the datastore credential rotation."""

    def filters(self):
        return wrap_filters({"rotate_datastore_credentials_probe": _probe})
