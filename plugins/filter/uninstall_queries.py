# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: uninstall_queries
short_description: What the uninstall runbook reads to find a SPIRE deployment
version_added: 0.1.0
author:
  - Ardur runtime deployment team (@ardur)
description:
  - Returns one C(kubernetes.core.k8s_info) query per kind the collection creates (in the namespace of the
    deployment for the namespaced kinds, with the collection's labels) and per kind of the sample workloads of
    C(playbooks/samples.yml) (every namespace). The Secrets and the Pods are read apart (the Secrets with C(no_log)).
  - The registered loop results are the input of P(ardur.spire.uninstall_plan#filter).
options:
  _input:
    description: The namespace of the deployment (C(spire_namespace)).
    type: str
    required: true
  labels:
    description: The labels of every object of the collection (C(_spire_common_labels)).
    type: dict
    required: true
seealso:
  - plugin: ardur.spire.uninstall_plan
    plugin_type: filter
"""

EXAMPLES = r"""
---
- name: Find the objects of the deployment
  kubernetes.core.k8s_info:
    api_version: "{{ item.api_version }}"
    kind: "{{ item.kind }}"
    namespace: "{{ item.namespace | default(omit, true) }}"
    label_selectors: "{{ item.label_selectors }}"
  loop: "{{ spire_namespace | ardur.spire.uninstall_queries(_spire_common_labels) }}"
  register: _found
"""

RETURN = r"""
_value:
  description:
    - The queries, each with C(key) (how the plan finds its result), C(api_version), C(kind), C(namespace) (empty
      for a cluster-scoped kind or every namespace) and C(label_selectors).
  type: list
  elements: dict
"""

from ansible_collections.ardur.spire.plugins.module_utils._spire import uninstall
from ansible_collections.ardur.spire.plugins.plugin_utils._filters import wrap_filters


class FilterModule(object):
    """The reads of the uninstall runbook."""

    def filters(self):
        return wrap_filters({'uninstall_queries': uninstall.queries})
