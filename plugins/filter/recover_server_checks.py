# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: recover_server_checks
short_description: The verification of a recovered SPIRE server replica
version_added: 0.1.0
author:
  - Ardur runtime deployment team (@ardur)
description:
  - Compares the diagnosis after acting with the one before and returns the checks - the replica healthy, its X.509
    authority valid and signed by the upstream CA, its PVC Bound, the trust bundle ConfigMap equal to every healthy
    server's bundle, the other replicas' Pods and PVCs the same objects; after an action also the Pod replaced, and
    after C(replace_pvc) the PVC replaced.
  - Used by the role C(ardur.spire.recover_server); the logic is in C(plugins/module_utils/_spire/recovery.py).
options:
  _input:
    description: The diagnosis after acting, from P(ardur.spire.recover_server_diagnosis#filter).
    type: dict
    required: true
  before:
    description: The diagnosis before acting.
    type: dict
    required: true
  action:
    description: What the run did, V(none), V(replace_pod) or V(replace_pvc).
    type: str
    required: true
  configmap:
    description: The trust bundle ConfigMap as read by M(kubernetes.core.k8s_info) (its C(resources)).
    type: raw
    required: true
  servers:
    description: M(ardur.spire.spire_server_info) of every ordinal after acting, in order.
    type: list
    elements: dict
    required: true
  bundle:
    description: Name of the trust bundle ConfigMap, for the check's name.
    type: str
    default: spire-bundle
  upstream_ca:
    description: Name of the upstream CA Secret, for a detail.
    type: str
    default: spire-upstream-ca
seealso:
  - plugin: ardur.spire.recover_server_bundle_synced
    plugin_type: filter
"""

EXAMPLES = r"""
---
- name: Verify
  ansible.builtin.set_fact:
    _checks: >-
      {{ _after | ardur.spire.recover_server_checks(_before, 'replace_pod', _bundle_cm.resources, _info.results) }}
"""

RETURN = r"""
_value:
  description: The checks, each a dict with C(name), C(ok), C(detail) and C(line) (C([OK] name - detail)).
  type: list
  elements: dict
"""

from ansible_collections.ardur.spire.plugins.module_utils._spire.recovery import checks
from ansible_collections.ardur.spire.plugins.plugin_utils._filters import wrap_filters


def _recover_server_checks(after, before, action, configmap, servers, bundle='spire-bundle',
                           upstream_ca='spire-upstream-ca'):
    if not isinstance(servers, list) or not all(isinstance(s, dict) for s in servers):
        raise ValueError('servers must be a list of spire_server_info results')
    return checks(before, after, action, configmap, servers, bundle=bundle, upstream_ca_name=upstream_ca)


class FilterModule(object):
    """The verification of a recover_server run."""

    def filters(self):
        return wrap_filters({'recover_server_checks': _recover_server_checks})
