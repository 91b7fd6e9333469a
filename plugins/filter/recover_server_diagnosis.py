# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: recover_server_diagnosis
short_description: What is wrong with one SPIRE server replica and what it needs
version_added: 0.1.0
author:
  - Ardur runtime deployment team (@ardur)
description:
  - From what was read about the server replicas, returns the state of the target replica (Pod, PVC, PersistentVolume,
    health, X.509 authority and whether the upstream CA signed it), of the other replicas, and what the target needs.
  - The PVC is lost when it is missing, being deleted, C(Lost), its PersistentVolume is missing, bound to another claim,
    C(Released) or C(Failed), or pinned to a node that no longer exists; then the replica needs C(replace_pvc).
    A missing Pod, a server that is not healthy or has no valid active X.509 authority needs C(replace_pod);
    otherwise C(none).
  - Used by the role C(ardur.spire.recover_server); the logic is in C(plugins/module_utils/_spire/recovery.py).
options:
  _input:
    description:
      - "What was read, a dict: C(pods) (the server Pods), C(pvcs) (the namespace's PVCs), C(pv) (the replica's
        PersistentVolume, or none), C(nodes) (the Nodes), C(servers) (M(ardur.spire.spire_server_info) of every ordinal,
        in order) and C(upstream_ca) (the upstream CA certificate, PEM; never its key)."
      - Kubernetes objects as M(kubernetes.core.k8s_info) returns them (its C(resources)).
    type: dict
    required: true
  target:
    description: The replica, as returned by P(ardur.spire.recover_server_target#filter) with the StatefulSet.
    type: dict
    required: true
  container:
    description: The server's container in the Pod.
    type: str
    default: spire-server
seealso:
  - plugin: ardur.spire.recover_server_decision
    plugin_type: filter
"""

EXAMPLES = r"""
---
- name: Diagnose the replica
  ansible.builtin.set_fact:
    _state: >-
      {{ {'pods': _pods.resources, 'pvcs': _pvcs.resources, 'pv': _pv.resources | default([]),
          'nodes': _nodes.resources, 'servers': _info.results, 'upstream_ca': _upstream_crt}
         | ardur.spire.recover_server_diagnosis(_target) }}
"""

RETURN = r"""
_value:
  description:
    - C(replica), C(ordinal), C(replicas), C(pod), C(pvc), C(pv), C(pvc_lost), C(pvc_lost_reason), C(server) (healthy,
      message, authority_state V(valid)/V(expired)/V(missing)/V(unknown), active_authority, upstream_match),
      C(upstream_ca_subject_key_id), C(replicas_state), C(others), C(healthy_others), C(unhealthy_others),
      C(needs) (V(none), V(replace_pod) or V(replace_pvc)) and C(reason).
  type: dict
"""

from ansible_collections.ardur.spire.plugins.module_utils._spire.recovery import diagnose
from ansible_collections.ardur.spire.plugins.plugin_utils._filters import wrap_filters

_KEYS = ('pods', 'pvcs', 'pv', 'nodes', 'servers', 'upstream_ca')


def _recover_server_diagnosis(reads, target, container='spire-server'):
    if not isinstance(reads, dict) or set(reads) - set(_KEYS):
        raise ValueError('the input must be a dict with the keys %s' % ', '.join(_KEYS))
    return diagnose(target, reads.get('pods'), reads.get('pvcs'), reads.get('pv'), reads.get('nodes'),
                    reads.get('servers'), upstream_ca=reads.get('upstream_ca') or '', container=container)


class FilterModule(object):
    """The diagnosis of a SPIRE server replica."""

    def filters(self):
        return wrap_filters({'recover_server_diagnosis': _recover_server_diagnosis})
