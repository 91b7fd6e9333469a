# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: upgrade_decision
short_description: What an upgrade run does with its plan, and what it refuses
version_added: 0.1.0
author:
  - Ardur runtime deployment team (@ardur)
description:
  - From the registered result of M(ardur.spire.spire_upgrade_plan) (which may have refused the versions) and the
    configuration the roles rendered, decides what the role C(ardur.spire.upgrade) does - refuse (the plan's version
    rules, or configuration changes the inputs bring along unless O(allow_config_changes)), stop after printing the
    plan (check mode, nothing to do), or upgrade - the platform apply, the phases in plan order, the webhook held at
    C(failurePolicy) C(Ignore) and restored.
  - A run interrupted at any point is resumed because the plan is read from the cluster (a StatefulSet partition, an
    agent DaemonSet on C(OnDelete), pods behind, a recorded webhook policy).
  - The logic is in C(plugins/module_utils/_spire/upgrade.py).
options:
  _input:
    description: The registered result of M(ardur.spire.spire_upgrade_plan) (run with C(failed_when) false).
    type: dict
    required: true
  live:
    description: The registered loop results of reading the ConfigMaps C(spire-server), C(spire-agent) and
      C(spire-controller-manager) (each C(item) with C(name) and C(role)).
    type: list
    elements: dict
    default: []
  rendered:
    description: The manifests the roles C(spire_server), C(spire_agent) and C(registrations) rendered.
    type: list
    elements: dict
    default: []
  allow_config_changes:
    description: Whether configuration changes are allowed (C(upgrade_allow_config_changes)).
    type: bool
    default: false
  check_mode:
    description: Whether the run is in check mode (writes nothing).
    type: bool
    default: false
seealso:
  - module: ardur.spire.spire_upgrade_plan
  - plugin: ardur.spire.upgrade_webhook_patch
    plugin_type: filter
"""

EXAMPLES = r"""
---
- name: Decide
  ansible.builtin.set_fact:
    _decision: >-
      {{ _plan_result | ardur.spire.upgrade_decision(live=_live.results, rendered=_manifests,
                                                     check_mode=ansible_check_mode) }}
"""

RETURN = r"""
_value:
  description:
    - C(plan) (V(null) when refused), C(lines) (to print), C(refusal) (empty when none), C(errors),
      C(config_changes), C(upgrade) (whether anything is written), C(phases) (in order), C(hold) and C(restore)
      (the webhook), C(final_check) and C(status) (V(refused), V(planned), V(up_to_date) or V(upgraded)).
  type: dict
"""

from ansible_collections.ardur.spire.plugins.module_utils._spire import upgrade
from ansible_collections.ardur.spire.plugins.plugin_utils._filters import wrap_filters


def _upgrade_decision(result, live=None, rendered=None, allow_config_changes=False, check_mode=False):
    return upgrade.decide(result, live=live or [], rendered=rendered or [],
                          allow_config_changes=bool(allow_config_changes), check_mode=bool(check_mode))


class FilterModule(object):
    """The decision of an upgrade run."""

    def filters(self):
        return wrap_filters({"upgrade_decision": _upgrade_decision})
