# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: health_report
short_description: The health report of a SPIRE deployment from what was read of it
version_added: 0.1.0
author:
  - Ardur runtime deployment team (@ardur)
description:
  - Turns the reads of the role C(ardur.spire.health) into its checks and its JSON report (C(report_version) 3;
    docs/runbooks/health.md) - every server healthy, its active X.509 authority not expiring, the datastore
    reachable, an attested agent per Node, the bundle ConfigMap equal to the servers' bundles, the upstream CA
    not expiring, every ClusterSPIFFEID reconciled and the controller manager's leader Lease renewed.
  - Each check is C(name), C(status) (C(ok), C(warning) or C(failed)), C(detail) and its console C(line). The
    report's C(status) is C(unhealthy) when a check failed, C(degraded) with warnings only, C(healthy) otherwise.
  - With O(error), the reads failed; the report then has C(status) C(error) and the one failed check
    C(deployment readable).
  - No certificate or key is copied into the report.
options:
  _input:
    description:
      - What was read, a dict - C(deployment) (from P(ardur.spire.health_deployment#filter)), C(servers) (the
        registered C(results) of M(ardur.spire.spire_server_info), each with C(item) = the server's name),
        C(nodes), C(cluster_spiffe_ids) (lists of objects), C(bundle_configmap) and C(lease) (objects, V({}) when
        absent).
      - Ignored with O(error).
    type: dict
    required: true
  namespace:
    description: The deployment's namespace (written in the report).
    type: str
    required: true
  transport:
    description: How the servers were read, C(kubernetes) or C(local) (written in the report).
    type: str
    required: true
  bundle_name:
    description: The name of the bundle ConfigMap (in the check's name).
    type: str
    default: spire-bundle
  upstream_ca_warning_days:
    description: The upstream CA closer to expiry than this many days is a warning.
    type: int
    default: 30
  authority_warning_hours:
    description: A server's active X.509 authority closer to expiry than this many hours is a warning.
    type: int
    default: 2
  lease_max_age_seconds:
    description: The leader Lease not renewed for longer than this fails.
    type: int
    default: 60
  error:
    description: The failed read, a dict with C(task) (its name) and C(message).
    type: dict
extends_documentation_fragment:
  - ardur.spire.runbook_report
seealso:
  - plugin: ardur.spire.health_deployment
    plugin_type: filter
"""

EXAMPLES = r"""
---
- name: Build the report
  ansible.builtin.set_fact:
    _report: >-
      {{ {'deployment': _deployment, 'servers': _servers.results, 'nodes': _nodes.resources,
          'bundle_configmap': _bundle.resources | first | default({}), 'cluster_spiffe_ids': _csids.resources,
          'lease': _lease.resources | first | default({})}
         | ardur.spire.health_report('spire-system', 'kubernetes', check_mode=ansible_check_mode) }}

- name: Report that the deployment could not be read
  ansible.builtin.set_fact:
    _report: >-
      {{ {} | ardur.spire.health_report('spire-system', 'kubernetes',
                                        error={'task': ansible_failed_task.name, 'message': ansible_failed_result.msg}) }}
"""

RETURN = r"""
_value:
  description:
    - The report - C(runbook), C(report_version), C(status), C(check_mode), C(started_at), C(generated_at), then
      C(healthy), C(namespace), C(transport), C(failed) and C(warnings) (check names), the sections (C(servers),
      C(datastore), C(agents), C(bundle), C(upstream_ca), C(entries), C(cluster_spiffe_ids), C(controller_manager))
      or C(error), and C(checks).
  type: dict
"""

from ansible_collections.ardur.spire.plugins.module_utils._spire import health
from ansible_collections.ardur.spire.plugins.plugin_utils._filters import wrap_filters


def _health_report(reads, namespace, transport, bundle_name='spire-bundle', upstream_ca_warning_days=30,
                   authority_warning_hours=2, lease_max_age_seconds=60, check_mode=False, started_at=None, error=None):
    if error is not None:
        if not isinstance(error, dict):
            raise ValueError('error must be a dict with task and message')
        return health.error_report(error.get('task'), error.get('message'), namespace, transport,
                                   check_mode=check_mode, started_at=started_at)
    return health.report(reads, namespace, transport, bundle_name=bundle_name,
                         upstream_ca_warning_days=upstream_ca_warning_days,
                         authority_warning_hours=authority_warning_hours,
                         lease_max_age_seconds=lease_max_age_seconds, check_mode=check_mode, started_at=started_at)


class FilterModule(object):
    """The health runbook's report."""

    def filters(self):
        return wrap_filters({'health_report': _health_report})
