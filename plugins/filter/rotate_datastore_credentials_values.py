# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: rotate_datastore_credentials_values
short_description: The values Secret spire-datastore holds and will hold (secret - no_log only)
version_added: 0.1.0
author:
  - Ardur runtime deployment team (@ardur)
description:
  - From Secret C(spire-datastore) as read and the inputs, builds the new values - the current DSN with only its user
    and password replaced (percent-encoded as C(roles/postgres_secret) does, every other byte kept), or the DSN given,
    and the new client certificate and key when given.
  - With no login given, the new login is the login of a rotation under way, the current one when the Secret already
    holds the new password, else the other one of the pair C(<base>_a)/C(<base>_b).
  - The result holds passwords - use it only in C(no_log) tasks.
  - The logic is in C(plugins/module_utils/_spire/credential_rotation.py).
options:
  _input:
    description: Secret C(spire-datastore) as C(kubernetes.core.k8s_info) returns it; V(null) when absent.
    type: dict
    required: true
  options:
    description:
      - The C(rotate_datastore_credentials_*) inputs without their prefix (the role's C(_rotate_datastore_credentials_options)).
    type: dict
    required: true
  client_cert:
    description: The new client certificate (PEM text); empty when none.
    type: str
    default: ""
  client_key:
    description: The new client key (PEM text); empty when none.
    type: str
    default: ""
  from_annotation:
    description: The Secret annotation naming the login being rotated from while a rotation is under way.
    type: str
    default: spire.ardur.io/datastore-rotation-from
"""

EXAMPLES = r"""
---
- name: Keep the current and the new values (never shown)
  ansible.builtin.set_fact:
    _secrets: "{{ _secret | ardur.spire.rotate_datastore_credentials_values(_options) }}"
  no_log: true
"""

RETURN = r"""
_value:
  description:
    - C(present), C(old) and C(new) (key to text; C(new) V(null) when the current DSN cannot be rewritten),
      C(rotating_from), C(new_password), C(old_credentials) and C(new_credentials) (C(user), C(password)). Secret.
  type: dict
"""

from ansible_collections.ardur.spire.plugins.module_utils._spire import credential_rotation
from ansible_collections.ardur.spire.plugins.plugin_utils._filters import wrap_filters


def _values(secret, options, client_cert="", client_key="", from_annotation="spire.ardur.io/datastore-rotation-from"):
    return credential_rotation.values(secret, options, client_cert=client_cert or "", client_key=client_key or "",
                                      from_annotation=from_annotation)


class FilterModule(object):
    """The secret values of the datastore credential rotation."""

    def filters(self):
        return wrap_filters({"rotate_datastore_credentials_values": _values})
