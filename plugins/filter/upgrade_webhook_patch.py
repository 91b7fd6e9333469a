# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: upgrade_webhook_patch
short_description: The patch that holds or restores the controller manager webhook during an upgrade
version_added: 0.1.0
author:
  - Ardur runtime deployment team (@ardur)
description:
  - V(hold) - every webhook of the configuration at C(failurePolicy) C(Ignore) and, in the same patch, the original
    policies recorded in the annotation C(spire.ardur.io/upgrade-failure-policy) (what an interrupted run recorded,
    else what is there), so that a run killed after the patch finds them on its next run.
  - V(restore) - the recorded policies back (webhooks the record does not know keep theirs) and the annotation
    removed.
  - Returns V({}) when the plan does not ask for the step or the configuration does not exist.
  - The logic is in C(plugins/module_utils/_spire/upgrade.py).
options:
  _input:
    description: The plan (C(plan) of M(ardur.spire.spire_upgrade_plan), or of P(ardur.spire.upgrade_decision#filter)).
    type: dict
    required: true
  webhook:
    description: The ValidatingWebhookConfiguration as just read, V({}) when absent.
    type: dict
    required: true
  step:
    description: V(hold) or V(restore).
    type: str
    required: true
seealso:
  - plugin: ardur.spire.upgrade_decision
    plugin_type: filter
"""

EXAMPLES = r"""
---
- name: Hold the webhook at failurePolicy Ignore
  kubernetes.core.k8s:
    state: patched
    merge_type: strategic-merge
    definition: "{{ _decision.plan | ardur.spire.upgrade_webhook_patch(_webhook.resources | first | default({}), 'hold') }}"
"""

RETURN = r"""
_value:
  description: The strategic-merge patch (C(apiVersion), C(kind), C(metadata), C(webhooks)), or V({}).
  type: dict
"""

from ansible_collections.ardur.spire.plugins.module_utils._spire import upgrade
from ansible_collections.ardur.spire.plugins.plugin_utils._filters import wrap_filters


class FilterModule(object):
    """The webhook hold and restore of the upgrade runbook."""

    def filters(self):
        return wrap_filters({"upgrade_webhook_patch": upgrade.webhook_patch})
