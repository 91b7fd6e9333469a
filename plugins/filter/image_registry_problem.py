# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: image_registry_problem
short_description: What is wrong with a container image registry
version_added: 0.1.0
author:
  - Ardur runtime deployment team (@ardur)
description:
  - Checks the input as the registry part of an image reference, C(host[:port][/path]), to which the roles
    append C(/spiffe/NAME:VERSION) (grammar of C(github.com/distribution/reference)), and returns what is wrong
    with it, as text that states the rule, or an empty string when it is valid.
  - Refused are a URL scheme (C(https://ghcr.io)), a trailing C(/), a tag or a digest, white space, a host that is
    not a DNS name or a bracketed IPv6 address, a port outside 1-65535, path components that are not lowercase,
    and a first component without C(.) or port that is not C(localhost) (container runtimes read it as a Docker
    Hub namespace, not as a registry host).
options:
  _input:
    description: The registry, e.g. C(ghcr.io), C(registry.example.org:5000/mirror).
    type: raw
    required: true
"""

EXAMPLES = r"""
---
- name: Check the image registry
  ansible.builtin.assert:
    that: _problem | length == 0
    fail_msg: "spire_image_registry {{ _problem }}"
  vars:
    _problem: "{{ spire_image_registry | ardur.spire.image_registry_problem }}"
"""

RETURN = r"""
_value:
  description:
    - Empty when the registry is valid; otherwise what is wrong and how to write it, for example that
      C(https://ghcr.io) must not have a URL scheme and should be written C(ghcr.io).
  type: string
"""

from ansible_collections.ardur.spire.plugins.module_utils._spire.inputs import image_registry_problem
from ansible_collections.ardur.spire.plugins.plugin_utils._filters import wrap_filters


class FilterModule(object):
    """Container image registry checks."""

    def filters(self):
        return wrap_filters({'image_registry_problem': image_registry_problem})
