# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: rotate_upstream_ca_problems
short_description: The bad input values of the upstream CA rotation runbook
version_added: 0.1.0
author:
  - Ardur runtime deployment team (@ardur)
description:
  - Checks the values of the inputs of the role C(ardur.spire.rotate_upstream_ca) (types are checked by its argument
    spec) - the transport and its sockets, waits, the timeout, the files of an imported CA (read for existence only),
    a rollback without a new CA. Each message names its input.
  - The logic is in C(plugins/module_utils/_spire/ca_rotation.py).
options:
  _input:
    description: The inputs of the role C(ardur.spire.rotate_upstream_ca) without their prefix (C(_rotate_upstream_ca_options)).
    type: dict
    required: true
"""

EXAMPLES = r"""
---
- name: Check the values of the inputs
  ansible.builtin.assert:
    that: _rotate_upstream_ca_options | ardur.spire.rotate_upstream_ca_problems | length == 0
"""

RETURN = r"""
_value:
  description: Messages, each naming the input; empty when the values are fine.
  type: list
  elements: str
"""

from ansible_collections.ardur.spire.plugins.module_utils._spire import ca_rotation
from ansible_collections.ardur.spire.plugins.plugin_utils._filters import wrap_filters


class FilterModule(object):
    """The input checks of the upstream CA rotation runbook."""

    def filters(self):
        return wrap_filters({"rotate_upstream_ca_problems": ca_rotation.option_problems})
