# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: version_problems
short_description: Which component versions are outside the series the roles render for
version_added: 0.1.0
author:
  - Ardur runtime deployment team (@ardur)
description:
  - Compares each version of the input with the series the collection supports for it (a minor series V(1.14), or a
    major one V(2) for components whose flags are stable across it) and returns one message per version outside
    them, naming the input and the series to use.
  - A version that is not C(X.Y.Z) is refused earlier, by the shared preflight of the role C(ardur.spire.spire).
options:
  _input:
    description: The versions to check, input name to version (for example C(spire_version) to V(1.14.2)).
    type: dict
    required: true
  supported:
    description: The supported series per input name (C(_spire_supported_versions) of the role C(ardur.spire.spire)).
    type: dict
    required: true
"""

EXAMPLES = r"""
---
- name: Refuse versions the roles do not render for
  ansible.builtin.assert:
    that: _problems | length == 0
    fail_msg: "{{ _problems | join(' ') }}"
  vars:
    _problems: "{{ {'spire_version': spire_version} | ardur.spire.version_problems(_spire_supported_versions) }}"
"""

RETURN = r"""
_value:
  description: One message per unsupported version; empty when all are supported.
  type: list
  elements: string
"""

from ansible_collections.ardur.spire.plugins.module_utils._spire.inputs import version_problems
from ansible_collections.ardur.spire.plugins.plugin_utils._filters import wrap_filters


class FilterModule(object):
    """Component version checks."""

    def filters(self):
        return wrap_filters({'version_problems': version_problems})
