# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: rotate_upstream_ca_roots
short_description: The subject key IDs of the certificates of a PEM bundle
version_added: 0.1.0
author:
  - Ardur runtime deployment team (@ardur)
description:
  - Subject key IDs (lowercase hex) of the certificates of a PEM text, in order - e.g. of C(bundle.crt) of ConfigMap
    C(spire-bundle), to wait for the roots an upstream CA rotation adds and removes.
  - The logic is in C(plugins/module_utils/_spire/ca_rotation.py).
options:
  _input:
    description: PEM text (empty - none).
    type: str
    required: true
"""

EXAMPLES = r"""
---
- name: The roots of ConfigMap spire-bundle
  ansible.builtin.debug:
    msg: "{{ _bundle_cm.resources[0].data['bundle.crt'] | ardur.spire.rotate_upstream_ca_roots }}"
"""

RETURN = r"""
_value:
  description: Subject key IDs.
  type: list
  elements: str
"""

from ansible_collections.ardur.spire.plugins.module_utils._spire import ca_rotation
from ansible_collections.ardur.spire.plugins.plugin_utils._filters import wrap_filters


class FilterModule(object):
    """The roots of a PEM bundle."""

    def filters(self):
        return wrap_filters({"rotate_upstream_ca_roots": ca_rotation.roots})
