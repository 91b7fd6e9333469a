# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: rotate_datastore_credentials_problems
short_description: What is wrong with the inputs of the datastore credential rotation
version_added: 0.1.0
author:
  - Ardur runtime deployment team (@ardur)
description:
  - Checks the inputs of the role C(ardur.spire.rotate_datastore_credentials) without reading the cluster - the new
    credentials (a password or a whole DSN, exactly one; a DSN must verify the server, C(sslmode=verify-ca) or
    C(verify-full)), the login name, client certificate, admin connection, transport and timeout.
  - Each problem names its input; no value of a secret input is ever quoted.
  - The logic is in C(plugins/module_utils/_spire/credential_rotation.py).
options:
  _input:
    description: The C(rotate_datastore_credentials_*) inputs without their prefix.
    type: dict
    required: true
  namespace:
    description: The namespace (C(spire_namespace)).
    type: str
    default: spire-system
"""

EXAMPLES = r"""
---
- name: Check the inputs
  ansible.builtin.assert:
    that: _problems | length == 0
    fail_msg: "Bad input: {{ _problems | join('; ') }}. Nothing was changed."
  vars:
    _problems: "{{ _options | ardur.spire.rotate_datastore_credentials_problems(namespace=spire_namespace) }}"
"""

RETURN = r"""
_value:
  description: The problems, each naming its input; empty when there is none.
  type: list
  elements: str
"""

from ansible_collections.ardur.spire.plugins.module_utils._spire import credential_rotation
from ansible_collections.ardur.spire.plugins.plugin_utils._filters import wrap_filters


def _problems(options, namespace="spire-system"):
    return credential_rotation.option_problems(options, namespace=namespace)


class FilterModule(object):
    """The input checks of the datastore credential rotation."""

    def filters(self):
        return wrap_filters({"rotate_datastore_credentials_problems": _problems})
