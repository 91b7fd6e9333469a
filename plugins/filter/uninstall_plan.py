# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: uninstall_plan
short_description: What the uninstall runbook deletes, in which order, and what it keeps
version_added: 0.1.0
author:
  - Ardur runtime deployment team (@ardur)
description:
  - From what was read, decides what the C(ardur.spire.uninstall) role deletes and in which order - the sample
    workloads (when asked), ClusterSPIFFEIDs, the webhook configuration, the agent DaemonSet, the CSI driver
    DaemonSet, the CSIDriver, the server StatefulSet, Services, ConfigMaps, ClusterRoleBindings, ClusterRoles,
    RoleBindings, Roles, PodDisruptionBudgets, ServiceAccounts, the CRDs (when asked), then the upstream CA and
    datastore Secrets, the server PVCs and the namespace (each when asked) - and what it keeps, with the input that
    would delete it.
  - An object is the deployment's when it carries the collection's labels (the query) and its field manager; PVCs by
    the labels only. ClusterRoles and ClusterRoleBindings of a deployment in another namespace, and a webhook
    configuration calling a service in another namespace, are left alone.
  - Refuses (C(refusal)) while a pod mounts a volume of the SPIFFE CSI driver, not counting the sample pods when
    they are deleted too, unless C(force); then it warns (C(warning)).
  - Of a Secret only the name, namespace and field managers are read; no value reaches the plan.
options:
  _input:
    description: The registered C(results) of the C(kubernetes.core.k8s_info) loop over P(ardur.spire.uninstall_queries#filter).
    type: list
    elements: dict
    required: true
  secrets:
    description: The Secrets of the namespace with the collection's labels (C(resources) of C(k8s_info)).
    type: list
    elements: dict
    required: true
  pods:
    description: Every pod of the cluster (C(resources) of C(k8s_info)).
    type: list
    elements: dict
    required: true
  options:
    description: The boolean inputs without their C(uninstall_) prefix, as for P(ardur.spire.uninstall_problems#filter).
    type: dict
    required: true
  namespace:
    description: The namespace of the deployment (C(spire_namespace)).
    type: str
    required: true
  objects:
    description: The object names of the collection (C(_spire_objects)).
    type: dict
    required: true
  field_manager:
    description: The field manager of the collection (C(_spire_field_manager)).
    type: str
    required: true
  check_mode:
    description: Whether the run is in check mode (the wording of C(lines)).
    type: bool
    default: false
seealso:
  - plugin: ardur.spire.uninstall_queries
    plugin_type: filter
  - plugin: ardur.spire.uninstall_report
    plugin_type: filter
"""

EXAMPLES = r"""
---
- name: Plan the removal
  ansible.builtin.set_fact:
    _plan: >-
      {{ _found.results | ardur.spire.uninstall_plan(
           secrets=_secrets.resources, pods=_pods.resources, options=_uninstall_options,
           namespace=spire_namespace, objects=_spire_objects, field_manager=_spire_field_manager,
           check_mode=ansible_check_mode) }}
"""

RETURN = r"""
_value:
  description:
    - C(samples), C(delete), C(delete_secrets), C(delete_storage) - what is deleted, in this order, each item with
      C(api_version), C(kind), C(namespace), C(name), C(ref) (C(Kind namespace/name)), C(wait) and C(delete_options).
    - C(sample_pods) (the pods to wait for), C(csi_pods), C(blocking_pods) (C(namespace/name)), C(refusal) and
      C(warning) (empty when none), C(keep) (C(ref) and C(reason)), C(lines) (the plan as printed), C(namespace).
  type: dict
"""

from ansible_collections.ardur.spire.plugins.module_utils._spire import uninstall
from ansible_collections.ardur.spire.plugins.plugin_utils._filters import wrap_filters


def _uninstall_plan(found, secrets, pods, options, namespace, objects, field_manager, check_mode=False):
    return uninstall.plan(found, secrets, pods, options, namespace, objects, field_manager,
                          check_mode=bool(check_mode))


class FilterModule(object):
    """The plan of the uninstall runbook."""

    def filters(self):
        return wrap_filters({'uninstall_plan': _uninstall_plan})
