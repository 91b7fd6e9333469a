# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: recover_server_bundle_synced
short_description: Whether the trust bundle ConfigMap holds a server's bundle
version_added: 0.1.0
author:
  - Ardur runtime deployment team (@ardur)
description:
  - True when the C(bundle.crt) of the trust bundle ConfigMap holds exactly the certificates of O(certificates)
    (as sets, white space ignored), which the k8sbundle notifier writes some time after a server changes its bundle.
  - Used by the role C(ardur.spire.recover_server); the logic is in C(plugins/module_utils/_spire/recovery.py).
options:
  _input:
    description: The ConfigMap as read by M(kubernetes.core.k8s_info) (its C(resources)).
    type: raw
    required: true
  certificates:
    description: A server's bundle, one PEM block each (M(ardur.spire.spire_server_info)'s C(bundle_certificates)).
    type: list
    elements: str
    required: true
seealso:
  - plugin: ardur.spire.recover_server_checks
    plugin_type: filter
"""

EXAMPLES = r"""
---
- name: Wait until the bundle ConfigMap holds the server's bundle
  kubernetes.core.k8s_info:
    kind: ConfigMap
    namespace: spire-system
    name: spire-bundle
  register: _cm
  until: _cm.resources | ardur.spire.recover_server_bundle_synced(_info.bundle_certificates)
  retries: 12
  delay: 5
"""

RETURN = r"""
_value:
  description: Whether the ConfigMap holds exactly those certificates (false when it holds none).
  type: bool
"""

from ansible_collections.ardur.spire.plugins.module_utils._spire.recovery import bundle_synced
from ansible_collections.ardur.spire.plugins.plugin_utils._filters import wrap_filters


def _recover_server_bundle_synced(configmap, certificates):
    if not isinstance(certificates, list) or not all(isinstance(c, str) for c in certificates):
        raise ValueError('certificates must be a list of PEM strings')
    return bundle_synced(configmap, certificates)


class FilterModule(object):
    """Trust bundle ConfigMap comparison."""

    def filters(self):
        return wrap_filters({'recover_server_bundle_synced': _recover_server_bundle_synced})
