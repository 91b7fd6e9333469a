# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: pem_file_problem
short_description: What is wrong with a PEM certificate or private key file
version_added: 0.1.0
author:
  - Ardur runtime deployment team (@ardur)
description:
  - Reads the file at the input path on the Ansible controller and returns what is wrong with it as a PEM file
    of the given O(kind), as text that states the rule, or an empty string when it is fine. The answer never
    contains the file's content.
  - V(certificate) - one or more C(CERTIFICATE) blocks and nothing else (a private key in a certificate or CA
    file is refused).
  - "V(private_key) - exactly one private key block (C(PRIVATE KEY), C(EC PRIVATE KEY), C(RSA PRIVATE KEY)), not
    encrypted (C(ENCRYPTED PRIVATE KEY) or C(Proc-Type: 4,ENCRYPTED) are refused: SPIRE and the database client
    read keys without a passphrase)."
  - A DER (binary) file is recognised and named as such, with the C(openssl) command that converts it.
  - Only the form is checked; the certificate and key checks of the roles (validity, CA constraints, key match)
    come after.
options:
  _input:
    description: Path of the file on the controller.
    type: path
    required: true
  kind:
    description: What the file must hold.
    type: str
    choices: [certificate, private_key]
    required: true
"""

EXAMPLES = r"""
---
- name: Check the database CA file
  ansible.builtin.assert:
    that: _problem | length == 0
    fail_msg: "postgres_secret_ca_file ({{ postgres_secret_ca_file }}) {{ _problem }}"
  vars:
    _problem: "{{ postgres_secret_ca_file | ardur.spire.pem_file_problem('certificate') }}"
"""

RETURN = r"""
_value:
  description:
    - Empty when the file is a PEM file of that kind; otherwise what is wrong, for example that the file is DER
      encoded, with the C(openssl) command that converts it to PEM.
  type: string
"""

from ansible_collections.ardur.spire.plugins.module_utils._spire.inputs import pem_file_problem
from ansible_collections.ardur.spire.plugins.plugin_utils._filters import wrap_filters


def _pem_file_problem(path, kind):
    if kind not in ('certificate', 'private_key'):
        raise ValueError('kind must be certificate or private_key')
    return pem_file_problem(path, kind)


class FilterModule(object):
    """PEM file checks."""

    def filters(self):
        return wrap_filters({'pem_file_problem': _pem_file_problem})
