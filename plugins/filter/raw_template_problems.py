# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: raw_template_problems
short_description: Inputs whose text Ansible cannot template
version_added: 0.1.0
author:
  - Ardur runtime deployment team (@ardur)
description:
  - Ansible templates every variable when it is used. A value holding C({{), C({%) or C({#) that do not form a
    valid template fails wherever it is first used, with an error that does not name the variable and may quote
    its text (a password). This filter looks at the variables as Ansible holds them before templating (give it
    C(hostvars.raw_get(inventory_hostname))) and returns, for the variables of O(names), what cannot be templated,
    naming the variable and the rule, never the value.
  - Values Ansible does not template (marked C(!unsafe), vault-encrypted on ansible-core 2.19 and later) are left
    alone.
  - A variable of O(secrets) must moreover be free of template markers or one whole C({{ ... }}) expression
    (a reference such as C({{ vault_pg_password }})); text around a template there is a literal secret Ansible
    would template into another value.
options:
  _input:
    description: The variables before templating, e.g. C(hostvars.raw_get(inventory_hostname)).
    type: dict
    required: true
  names:
    description: The variables to check.
    type: list
    elements: str
    required: true
  secrets:
    description: The variables of O(names) that hold secrets.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
---
- name: Refuse inputs Ansible cannot template (values never shown)
  ansible.builtin.assert:
    that: _problems | length == 0
    fail_msg: "{{ _problems | join('; ') }}. Mark a literal value !unsafe."
  vars:
    _problems: >-
      {{ hostvars.raw_get(inventory_hostname)
         | ardur.spire.raw_template_problems(query('ansible.builtin.varnames', '^postgres_secret_'),
                                             secrets=['postgres_secret_password']) }}
"""

RETURN = r"""
_value:
  description: One text per problem, starting with the variable's name (and key path); empty when there is none.
  type: list
  elements: string
"""

from ansible_collections.ardur.spire.plugins.module_utils._spire.inputs import raw_template_problems
from ansible_collections.ardur.spire.plugins.plugin_utils._filters import wrap_filters

try:  # ansible-core 2.19+: only strings trusted as templates are templated
    from ansible.template import is_trusted_as_template as _trusted
except ImportError:  # pragma: no cover - ansible-core 2.17, 2.18: everything but !unsafe is templated
    from ansible.utils.unsafe_proxy import AnsibleUnsafe

    def _trusted(value):
        return not isinstance(value, AnsibleUnsafe)


def _raw_template_problems(variables, names, secrets=None):
    if not isinstance(variables, dict):
        raise ValueError('the input must be a dict of variables')
    if isinstance(names, str) or not all(isinstance(name, str) for name in names):
        raise ValueError('names must be a list of variable names')
    return raw_template_problems(variables, list(names), secrets=list(secrets or []), trusted=_trusted)


class FilterModule(object):
    """Checks of variables before templating."""

    def filters(self):
        return wrap_filters({'raw_template_problems': _raw_template_problems})
