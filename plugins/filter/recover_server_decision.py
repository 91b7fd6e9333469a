# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: recover_server_decision
short_description: What a recover_server run does with a diagnosis, and what it refuses
version_added: 0.1.0
author:
  - Ardur runtime deployment team (@ardur)
description:
  - Returns the action of the run (V(none) in diagnose mode), what recover mode would do, the diagnosis and plan as
    lines for people, the refusal that stops the run before it changes anything, and the warning of a forced run.
  - Refused are C(replace_pod) while the PVC is lost, C(replace_pvc) without O(delete_pvc), and any action while
    fewer than O(min_healthy_others) other replicas are healthy, unless O(force).
  - Used by the role C(ardur.spire.recover_server); the logic is in C(plugins/module_utils/_spire/recovery.py).
options:
  _input:
    description: The diagnosis, from P(ardur.spire.recover_server_diagnosis#filter).
    type: dict
    required: true
  mode:
    description: V(diagnose) (report only) or V(recover).
    type: str
    default: diagnose
  action:
    description: V(auto) (from the diagnosis), V(replace_pod) or V(replace_pvc).
    type: str
    default: auto
  delete_pvc:
    description: Whether deleting the replica's PVC is confirmed.
    type: bool
    default: false
  force:
    description: Act although fewer than O(min_healthy_others) other replicas are healthy.
    type: bool
    default: false
  check_mode:
    description: Whether the run is in check mode (said in the first line).
    type: bool
    default: false
  namespace:
    description: The namespace, for the first line.
    type: str
    default: ""
  transport:
    description: How the servers are reached, for the first line.
    type: str
    default: kubernetes
  min_healthy_others:
    description: Other replicas that must be healthy before one is acted on.
    type: int
    default: 2
  bundle:
    description: Name of the trust bundle ConfigMap, for the plan.
    type: str
    default: spire-bundle
  upstream_ca:
    description: Name of the upstream CA Secret, for the diagnosis.
    type: str
    default: spire-upstream-ca
seealso:
  - plugin: ardur.spire.recover_server_diagnosis
    plugin_type: filter
"""

EXAMPLES = r"""
---
- name: Decide
  ansible.builtin.set_fact:
    _decision: "{{ _state | ardur.spire.recover_server_decision(mode='recover', delete_pvc=true) }}"

- name: Stop before changing anything
  ansible.builtin.assert:
    that: _decision.refusal | length == 0
    fail_msg: "{{ _decision.refusal }}"
"""

RETURN = r"""
_value:
  description:
    - C(action) (what this run does - V(none), V(replace_pod) or V(replace_pvc)), C(plan) (what recover mode does),
      C(lines) (the diagnosis and the plan), C(refusal) (empty when the run may go on) and C(warning).
  type: dict
"""

from ansible_collections.ardur.spire.plugins.module_utils._spire.recovery import MIN_HEALTHY_OTHERS, decide
from ansible_collections.ardur.spire.plugins.plugin_utils._filters import wrap_filters


def _recover_server_decision(state, mode='diagnose', action='auto', delete_pvc=False, force=False, check_mode=False,
                             namespace='', transport='kubernetes', min_healthy_others=MIN_HEALTHY_OTHERS,
                             bundle='spire-bundle', upstream_ca='spire-upstream-ca'):
    return decide(state, mode=mode, action=action, delete_pvc=delete_pvc, force=force, check_mode=check_mode,
                  namespace=namespace, transport=transport, min_healthy_others=int(min_healthy_others),
                  bundle=bundle, upstream_ca_name=upstream_ca)


class FilterModule(object):
    """The decision of a recover_server run."""

    def filters(self):
        # TypeError too: int() of a min_healthy_others that is neither a number nor a string.
        return wrap_filters({'recover_server_decision': _recover_server_decision}, errors=(ValueError, TypeError))
