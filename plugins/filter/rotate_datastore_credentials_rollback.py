# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: rotate_datastore_credentials_rollback
short_description: Whether a failed datastore credential rotation is rolled back, and the message
version_added: 0.1.0
author:
  - Ardur runtime deployment team (@ardur)
description:
  - After the write-and-roll step failed - rolled back only while no replica has run healthy on the new credentials
    (the partition, read after the failure, still at replicas or replicas-1) and the run holds the old values (not a
    resumed run). Otherwise the run stops where it is and a re-run resumes.
  - The logic is in C(plugins/module_utils/_spire/credential_rotation.py).
options:
  _input:
    description: The plan (P(ardur.spire.rotate_datastore_credentials_plan#filter)).
    type: dict
    required: true
  statefulset:
    description: StatefulSet C(spire-server) as read after the failure.
    type: dict
    required: true
  failed_task:
    description: The name of the task that failed.
    type: str
    default: ""
  failed_message:
    description: Its message.
    type: str
    default: ""
"""

EXAMPLES = r"""
---
- name: Decide on the rollback
  ansible.builtin.set_fact:
    _rollback: "{{ _plan | ardur.spire.rotate_datastore_credentials_rollback(_sts, failed_message=ansible_failed_result.msg) }}"
"""

RETURN = r"""
_value:
  description: C(rollback) (bool), C(partition), C(message) (C(ROLLED BACK ...) or C(STOPPED at task ...)).
  type: dict
"""

from ansible_collections.ardur.spire.plugins.module_utils._spire import credential_rotation
from ansible_collections.ardur.spire.plugins.plugin_utils._filters import wrap_filters


def _rollback(the_plan, statefulset, failed_task="", failed_message=""):
    if not isinstance(the_plan, dict) or "new_login" not in the_plan:
        raise ValueError("the plan must be the result of rotate_datastore_credentials_plan")
    return credential_rotation.rollback(the_plan, statefulset or {}, failed_task=failed_task or "",
                                        failed_message=failed_message or "")


class FilterModule(object):
    """The rollback rule of the datastore credential rotation."""

    def filters(self):
        return wrap_filters({"rotate_datastore_credentials_rollback": _rollback})
