# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: rotate_upstream_ca_situation
short_description: Where an upstream CA rotation stands and what a run refuses
version_added: 0.1.0
author:
  - Ardur runtime deployment team (@ardur)
description:
  - From what the run read (the server StatefulSet, C(server.conf) of ConfigMap C(spire-server), the data keys of
    Secret C(spire-upstream-ca) and the annotations of the state Secret C(spire-upstream-ca-rotation)) works out the
    servers, the servers' C(default_x509_svid_ttl) and C(ca_ttl) (C(server.conf) parsed as HCL; SPIRE's defaults C(1h),
    C(24h) when unset), the recorded phase, the phases this run does (resuming after the recorded one, stopping after
    C(stop_after)), whether it is a rollback before the switch or the turned rotation of a switched one, and the
    refusals (a grace period shorter than C(default_x509_svid_ttl) or not shorter than half of C(ca_ttl), an incomplete
    Secret, no servers, an unknown phase, a rollback without a rotation in progress, a switched rotation whose
    switch time is not recorded). No key material.
  - The logic is in C(plugins/module_utils/_spire/ca_rotation.py).
options:
  _input:
    description: The inputs of the role C(ardur.spire.rotate_upstream_ca) without their prefix (C(_rotate_upstream_ca_options)).
    type: dict
    required: true
  statefulset:
    description: The server StatefulSet as the API returns it (V({}) when absent).
    type: dict
  server_conf:
    description: The text of C(server.conf) of ConfigMap C(spire-server) (empty - SPIRE's defaults).
    type: str
    default: ""
  live_keys:
    description: The data keys of Secret C(spire-upstream-ca).
    type: list
    elements: str
  annotations:
    description: The annotations of the state Secret (V({}) when absent).
    type: dict
  server:
    description: The name of the server StatefulSet (pods C(<server>-N)); default - C(server) of O(objects).
    type: str
  objects:
    description:
      - The object names (C(_spire_objects) of the role C(ardur.spire.spire)) - C(server), C(upstream_ca),
        C(upstream_ca_rotation) and C(bundle) are used; the collection's names for those missing.
    type: dict
  namespace:
    description: The namespace (C(spire_namespace)), for the messages.
    type: str
    default: ""
  webhook:
    description:
      - Whether the controller manager's ValidatingWebhookConfiguration exists. Then the retirement first replaces the
        server pods one at a time, because the controller manager mints its webhook certificate only at start and
        near its expiry, and one still chaining to the old root would be refused once the bundle drops that root.
    type: bool
    default: false
"""

EXAMPLES = r"""
---
- name: Work out where the rotation stands
  ansible.builtin.set_fact:
    _situation: >-
      {{ _rotate_upstream_ca_options | ardur.spire.rotate_upstream_ca_situation(
           statefulset=_sts, server_conf=_conf, live_keys=_keys, annotations=_notes, namespace=spire_namespace) }}
"""

RETURN = r"""
_value:
  description: >-
    C(servers), C(webhook), C(settings) (C(trust_domain), C(svid_ttl), C(svid_ttl_seconds), C(ca_ttl), C(ca_ttl_seconds)), C(phase),
    C(start), C(in_progress), C(turned), C(rollback), C(phases), C(stop_index), C(switched_at), C(namespace),
    C(notes), C(objects) and C(problems).
  type: dict
"""

from ansible_collections.ardur.spire.plugins.module_utils._spire import ca_rotation
from ansible_collections.ardur.spire.plugins.plugin_utils._filters import wrap_filters


class FilterModule(object):
    """Where an upstream CA rotation stands."""

    def filters(self):
        return wrap_filters({"rotate_upstream_ca_situation": ca_rotation.situation})
