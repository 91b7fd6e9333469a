# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: duration_problem
short_description: What is wrong with a Go duration input
version_added: 0.1.0
author:
  - Ardur runtime deployment team (@ardur)
description:
  - Parses the input as Go's C(time.ParseDuration) does (the parser M(ardur.spire.spire_config) uses) and returns
    what is wrong with it, as text that states the rule, or an empty string when it is a valid duration.
  - Negative durations are refused, and zero unless O(allow_zero=true).
  - With O(ca_ttl) the input is an SVID lifetime and must not exceed C(min(ca_ttl/6, 7d)), SPIRE's rule.
  - The roles' preflight tasks put the input's name in front of the answer.
options:
  _input:
    description: The value to check (a string such as C(1h30m)).
    type: raw
    required: true
  allow_zero:
    description: Accept C(0) (for settings where zero means "no limit").
    type: bool
    default: false
  ca_ttl:
    description: The CA lifetime (Go duration) the SVID lifetime in O(_input) must fit in.
    type: str
"""

EXAMPLES = r"""
---
- name: Refuse a server CA TTL that is not a Go duration
  ansible.builtin.assert:
    that: _problem | length == 0
    fail_msg: "spire_server_ca_ttl {{ _problem }}"
  vars:
    _problem: "{{ spire_server_ca_ttl | ardur.spire.duration_problem }}"

- name: Refuse an X.509-SVID TTL longer than SPIRE allows for the CA TTL
  ansible.builtin.assert:
    that: _problem | length == 0
    fail_msg: "spire_server_default_x509_svid_ttl {{ _problem }}"
  vars:
    _problem: "{{ spire_server_default_x509_svid_ttl | ardur.spire.duration_problem(ca_ttl=spire_server_ca_ttl) }}"
"""

RETURN = r"""
_value:
  description:
    - "Empty when the input is a valid duration (within the limit); otherwise what is wrong, e.g.
      C(is not a Go duration: unknown unit 'd' in duration '1d' ...)."
  type: string
"""

from ansible_collections.ardur.spire.plugins.module_utils._spire.inputs import duration_problem
from ansible_collections.ardur.spire.plugins.plugin_utils._filters import wrap_filters


def _duration_problem(value, allow_zero=False, ca_ttl=None):
    if not isinstance(allow_zero, bool):
        raise ValueError('allow_zero must be a boolean')
    if ca_ttl is not None and not isinstance(ca_ttl, str):
        raise ValueError('ca_ttl must be a string')
    return duration_problem(value, allow_zero=allow_zero, ca_ttl=ca_ttl)


class FilterModule(object):
    """Go duration checks."""

    def filters(self):
        return wrap_filters({'duration_problem': _duration_problem})
