# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: recover_server_target
short_description: The SPIRE server replica a recover_server run is about
version_added: 0.1.0
author:
  - Ardur runtime deployment team (@ardur)
description:
  - Reads the C(recover_server_replica) input, an ordinal (C(2)) or a Pod name (C(spire-server-2)), and returns the
    replica with the problems that refuse it, each message naming the input.
  - Without O(statefulset) only the form is checked (before the cluster is read); with it also that the StatefulSet
    has that ordinal and, for O(transport=local), that O(sockets) holds one admin socket per replica.
  - Used by the role C(ardur.spire.recover_server); the logic is in C(plugins/module_utils/_spire/recovery.py).
options:
  _input:
    description: The replica, an ordinal or a Pod name.
    type: raw
    required: true
  server:
    description: Name of the server StatefulSet.
    type: str
    required: true
  statefulset:
    description: The StatefulSet as read by M(kubernetes.core.k8s_info) (its C(resources)); V(null) before it is read.
    type: raw
  namespace:
    description: The namespace, for the message when there is no StatefulSet.
    type: str
    default: ""
  transport:
    description: How the servers are reached, V(kubernetes) or V(local).
    type: str
    default: kubernetes
  sockets:
    description: The admin socket of each replica (O(transport=local)); none when omitted.
    type: list
    elements: str
seealso:
  - plugin: ardur.spire.recover_server_diagnosis
    plugin_type: filter
"""

EXAMPLES = r"""
---
- name: Refuse a replica that is not a server Pod
  ansible.builtin.assert:
    that: _target.problems | length == 0
    fail_msg: "{{ _target.problems | join(' ') }}"
  vars:
    _target: "{{ recover_server_replica | ardur.spire.recover_server_target('spire-server') }}"
"""

RETURN = r"""
_value:
  description:
    - C(ordinal) (V(null) when REPLICA is no ordinal), C(name) (the Pod), C(replicas), C(selector) (the Pod labels),
      C(claim_template) (the data volume's claim template) and C(problems) (messages; empty when the replica is valid).
  type: dict
"""

from ansible_collections.ardur.spire.plugins.module_utils._spire.recovery import target
from ansible_collections.ardur.spire.plugins.plugin_utils._filters import wrap_filters


def _recover_server_target(value, server, statefulset=None, namespace='', transport='kubernetes', sockets=None):
    return target(value, server, statefulset, namespace=namespace, transport=transport, sockets=sockets or [])


class FilterModule(object):
    """The replica of a recover_server run."""

    def filters(self):
        return wrap_filters({'recover_server_target': _recover_server_target})
