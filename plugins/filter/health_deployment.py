# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: health_deployment
short_description: The settings of a SPIRE deployment that its health report needs
version_added: 0.1.0
author:
  - Ardur runtime deployment team (@ardur)
description:
  - Reads the controller manager's ConfigMap (its C(controller-manager-config.yaml)) and the server StatefulSet, as
    C(kubernetes.core.k8s_info) returns them, and returns the trust domain, the cluster name, the entry ID prefix,
    the leader Lease name, the number of replicas and the names of the servers to read.
  - Server N is named O(server_name)C(-N); with O(transport=local) there is one server per admin socket of
    O(server_sockets), otherwise one per replica of the StatefulSet.
  - A missing ConfigMap or StatefulSet (V({})) gives empty settings and no servers; the health report then fails
    the checks that need them.
options:
  _input:
    description: The controller manager's ConfigMap, or V({}) when it does not exist.
    type: dict
    required: true
  statefulset:
    description: The server StatefulSet, or V({}) when it does not exist.
    type: dict
    required: true
  transport:
    description: How the servers are read, C(kubernetes) (exec into the pods) or C(local) (admin sockets on this host).
    type: str
    required: true
  server_sockets:
    description: With O(transport=local), the admin socket of server 0, 1, ... in order (none when left out).
    type: list
    elements: str
  server_name:
    description: The name of the server StatefulSet (its pods are O(server_name)C(-N)).
    type: str
    default: spire-server
  lease_name:
    description: The leader Lease when the configuration names none (C(leaderElection.resourceName)).
    type: str
    default: spire-controller-manager-leader
seealso:
  - plugin: ardur.spire.health_report
    plugin_type: filter
"""

EXAMPLES = r"""
---
- name: Work out the deployment's settings and its servers
  ansible.builtin.set_fact:
    _deployment: >-
      {{ configmap.resources | first | default({})
         | ardur.spire.health_deployment(statefulset.resources | first | default({}), 'kubernetes') }}
"""

RETURN = r"""
_value:
  description: The settings.
  type: dict
  contains:
    trust_domain:
      description: C(trustDomain), V('') when unknown.
      type: str
    cluster_name:
      description: C(clusterName), V('') when unknown.
      type: str
    entry_id_prefix:
      description: C(entryIDPrefix), V('') when none.
      type: str
    lease_name:
      description: The leader Lease's name.
      type: str
    replicas:
      description: C(spec.replicas) of the StatefulSet, V(0) when it is missing.
      type: int
    servers:
      description: The names of the servers to read, e.g. V([spire-server-0, spire-server-1]).
      type: list
      elements: str
"""

import yaml

from ansible_collections.ardur.spire.plugins.module_utils._spire.health import SCM_CONFIG_KEY, deployment
from ansible_collections.ardur.spire.plugins.plugin_utils._filters import wrap_filters


def _health_deployment(configmap, statefulset, transport, server_sockets=None, server_name='spire-server',
                       lease_name='spire-controller-manager-leader'):
    configmap = {} if configmap is None else configmap
    data = configmap.get('data') or {} if isinstance(configmap, dict) else None
    if not isinstance(data, dict):
        raise ValueError('the input must be a ConfigMap object or {}')
    try:
        config = yaml.safe_load(data.get(SCM_CONFIG_KEY) or '{}')
    except yaml.YAMLError as exc:
        raise ValueError('%s is not YAML: %s' % (SCM_CONFIG_KEY, exc)) from exc
    return deployment(config, statefulset, transport, server_sockets, server_name, lease_name)


class FilterModule(object):
    """The health runbook's deployment settings."""

    def filters(self):
        return wrap_filters({'health_deployment': _health_deployment})
