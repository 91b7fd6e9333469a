# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: rotate_datastore_credentials_plan
short_description: The plan of the datastore credential rotation (no secret in it)
version_added: 0.1.0
author:
  - Ardur runtime deployment team (@ardur)
description:
  - From the values (P(ardur.spire.rotate_datastore_credentials_values#filter)), the StatefulSet and the ConfigMap
    as read, decides the new and the old login, whether an interrupted rotation is resumed (the Secret already holds
    the new values), the keys that change, and what refuses the run - a current DSN that is not a URI, a new
    connection to another host, port or database, an C(sslmode) that does not verify the server, the login in use,
    the owner role as login, a missing object.
  - Returns only names and public facts - no password or DSN.
  - The logic is in C(plugins/module_utils/_spire/credential_rotation.py).
options:
  _input:
    description: The result of P(ardur.spire.rotate_datastore_credentials_values#filter).
    type: dict
    required: true
  statefulset:
    description: StatefulSet C(spire-server) as read; V(null) when absent.
    type: dict
  options:
    description:
      - The C(rotate_datastore_credentials_*) inputs without their prefix (the role's C(_rotate_datastore_credentials_options)).
    type: dict
    required: true
  configmap:
    description: ConfigMap C(spire-server) as read; V(null) when absent.
    type: dict
  namespace:
    description: The namespace (C(spire_namespace)).
    type: str
    default: spire-system
  datastore_dir:
    description: Where the server containers mount Secret C(spire-datastore).
    type: str
    default: /run/spire/datastore
  login_annotation:
    description: The pod template annotation naming the login.
    type: str
    default: spire.ardur.io/datastore-login
extends_documentation_fragment:
  - ardur.spire.runbook_report
"""

EXAMPLES = r"""
---
- name: Work out the plan
  ansible.builtin.set_fact:
    _plan: >-
      {{ _secrets | ardur.spire.rotate_datastore_credentials_plan(_sts, _options, configmap=_cm,
           namespace=spire_namespace, check_mode=ansible_check_mode) }}
  no_log: true
"""

RETURN = r"""
_value:
  description:
    - C(problems) (each a sentence; empty when the run may go on), C(refusal) (the message refusing the run, or
      empty), C(lines) (the plan), C(current) and C(new) (the connections without password - C(login), C(host),
      C(port), C(database), C(sslmode), C(params)), C(new_login), C(old_login) (empty when none is left),
      C(resume), C(replicas), C(template_login), C(changed_keys), C(admin), C(namespace), C(check_mode).
  type: dict
"""

from ansible_collections.ardur.spire.plugins.module_utils._spire import credential_rotation
from ansible_collections.ardur.spire.plugins.plugin_utils._filters import wrap_filters


def _plan(secrets, statefulset, options, configmap=None, namespace="spire-system", check_mode=False,
          datastore_dir="/run/spire/datastore", login_annotation="spire.ardur.io/datastore-login"):
    result = credential_rotation.plan(secrets, statefulset or None, options, configmap=configmap or None,
                                      namespace=namespace, check_mode=bool(check_mode), datastore_dir=datastore_dir,
                                      login_annotation=login_annotation)
    result["lines"] = credential_rotation.plan_lines(result, options)
    result["refusal"] = credential_rotation.refusal(result)
    return result


class FilterModule(object):
    """The plan of the datastore credential rotation."""

    def filters(self):
        return wrap_filters({"rotate_datastore_credentials_plan": _plan})
