# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: images_problems
short_description: What is wrong with a map of container image overrides
version_added: 0.1.0
author:
  - Ardur runtime deployment team (@ardur)
description:
  - Checks a map of image names to full image references, such as the C(spire_images) input, and returns the
    problems, each starting with O(name) and the key.
  - A key must be one of O(keys). A value must be a full image reference (grammar of
    C(github.com/distribution/reference)) - C(host[:port]/path:tag), C(host[:port]/path@sha256:<64 hex digits>) or
    C(host[:port]/path:tag@sha256:<64 hex digits>) (C(sha512) with 128 hex digits is accepted too).
  - Refused are a missing registry host (container runtimes would read the first component as a Docker Hub
    namespace), a missing repository, path components that are not lowercase, an empty or malformed tag, a digest
    of another algorithm or length or with uppercase hex digits, a URL scheme, white space, and a reference with
    neither tag nor digest (the runtime would pull C(:latest)). An empty value is refused; leave the key out instead.
options:
  _input:
    description: The map of image overrides; V(null) or V({}) overrides nothing.
    type: raw
    required: true
  keys:
    description: The images that can be overridden.
    type: list
    elements: str
    required: true
  name:
    description: The input's name, put in front of every problem.
    type: str
    default: images
seealso:
  - plugin: ardur.spire.image_registry_problem
    plugin_type: filter
"""

EXAMPLES = r"""
---
- name: Check the per-image overrides
  ansible.builtin.assert:
    that: _problems | length == 0
    fail_msg: "{{ _problems | join('; ') }}"
  vars:
    _problems: >-
      {{ spire_images | ardur.spire.images_problems(['spire_server', 'spire_agent'], 'spire_images') }}
"""

RETURN = r"""
_value:
  description:
    - "The problems, empty when every override is valid, e.g.
      C(spire_images.spire_server: repository path component 'SPIFFE' must be lowercase ...)."
  type: list
  elements: string
"""

from ansible_collections.ardur.spire.plugins.module_utils._spire.inputs import images_problems
from ansible_collections.ardur.spire.plugins.plugin_utils._filters import wrap_filters


def _images_problems(value, keys, name='images'):
    if not isinstance(keys, (list, tuple)) or not all(isinstance(key, str) for key in keys):
        raise ValueError('keys must be a list of strings')
    if not isinstance(name, str):
        raise ValueError('name must be a string')
    # A problem of the whole value reads "NAME must ..."; the others start with their key.
    return [('%s %s' if problem.startswith('must ') else '%s.%s') % (name, problem)
            for problem in images_problems(value, list(keys))]


class FilterModule(object):
    """Container image override checks."""

    def filters(self):
        return wrap_filters({'images_problems': _images_problems})
