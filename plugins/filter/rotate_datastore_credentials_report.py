# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: rotate_datastore_credentials_report
short_description: The JSON report of a datastore credential rotation
version_added: 0.1.0
author:
  - Ardur runtime deployment team (@ardur)
description:
  - Builds the report of the role C(ardur.spire.rotate_datastore_credentials) (C(report_version) 1) - the envelope
    every runbook report shares, then C(namespace), C(message), C(rotation), C(servers), C(sessions), C(old_login),
    C(rollback), C(failure) and C(summary). No password or DSN is ever in it.
  - C(status) is V(refused) (nothing was written), V(planned) (check mode), V(rotated), V(already_rotated) (nothing
    to do), V(rolled_back) (the first replica failed and was rolled back), V(stopped) (failed after a replica ran on
    the new credentials; a re-run resumes) or V(failed).
  - The logic is in C(plugins/module_utils/_spire/credential_rotation.py).
options:
  _input:
    description: The plan (P(ardur.spire.rotate_datastore_credentials_plan#filter)); V(null) when the run stopped before it.
    type: dict
    required: true
  options:
    description: The C(rotate_datastore_credentials_*) inputs without their prefix.
    type: dict
  servers:
    description: The result of the server rollout (C(spire_server_rollout_result)).
    type: dict
  sessions:
    description: Rows C(login), C(sessions) read through the admin connection; V(null) when not read.
    type: list
    elements: dict
  revoked:
    description: Whether the old login was (check mode - would be) revoked.
    type: bool
    default: false
  rolled_back:
    description: The rollback decision (P(ardur.spire.rotate_datastore_credentials_rollback#filter)); V(null) when none.
    type: dict
  failure:
    description: C(task) and C(message) of the task that failed; V(null) when none did.
    type: dict
  written:
    description: Whether the run wrote anything to the cluster.
    type: bool
    default: false
  secrets:
    description: Values masked in the messages (passwords).
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - ardur.spire.runbook_report
"""

EXAMPLES = r"""
---
- name: Build the report
  ansible.builtin.set_fact:
    _report: >-
      {{ _plan | ardur.spire.rotate_datastore_credentials_report(options=_options, servers=spire_server_rollout_result,
           check_mode=ansible_check_mode, started_at=_started_at) }}
  no_log: true
"""

RETURN = r"""
_value:
  description: The report, ready for C(to_nice_json).
  type: dict
"""

from ansible_collections.ardur.spire.plugins.module_utils._spire import credential_rotation
from ansible_collections.ardur.spire.plugins.plugin_utils._filters import wrap_filters


def _report(the_plan, options=None, servers=None, sessions=None, revoked=False, rolled_back=None, failure=None,
            written=False, secrets=None, check_mode=False, started_at=None):
    return credential_rotation.report(the_plan or None, options=options, servers=servers or {}, sessions=sessions,
                                      revoked=bool(revoked), rolled_back=rolled_back or None, failure=failure or None,
                                      written=bool(written), secrets=secrets or [], check_mode=bool(check_mode),
                                      started_at=started_at or None)


class FilterModule(object):
    """The report of the datastore credential rotation."""

    def filters(self):
        return wrap_filters({"rotate_datastore_credentials_report": _report})
