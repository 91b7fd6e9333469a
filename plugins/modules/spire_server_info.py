#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), a licence compatible with
# the GNU General Public License v3.0 under which ansible-core runs this module.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: spire_server_info
short_description: Read the health and state of one SPIRE server
version_added: 0.1.0
description:
  - Runs the read-only C(spire-server) commands against one server and returns what they report - C(healthcheck), the
    trust bundle (C(bundle show -format pem)), the attested agents (C(agent list)), the registration entries
    (C(entry count), C(entry show)) and the X.509 authorities (C(localauthority x509 show)).
  - Talks to the server through its admin socket on this host (O(transport=local)), or runs the same commands inside a
    spire-server pod through the Kubernetes exec API (O(transport=kubernetes)).
  - A command that fails does not fail the task; its message is returned in RV(errors) and the matching result is
    V(null), so a playbook can report an unhealthy server. Only bad options fail the task.
author:
  - Ardur runtime deployment team (@ardur)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ardur.spire.server_transport
  - kubernetes.core.k8s_auth_options
attributes:
  check_mode:
    support: full
    details: Only reads; it runs the same commands in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  entry_id_prefixes:
    description:
      - Entry ID prefixes to count entries by, such as spire-controller-manager's C(entryIDPrefix). Each entry counts
        once, under the longest prefix its ID starts with, or under V('') when none.
    type: list
    elements: str
    default: []
  entry_details:
    description:
      - Also return each entry's ID, SPIFFE ID and parent ID in RV(entries.items).
    type: bool
    default: false
notes:
  - The servers of one deployment share a datastore, so agents and entries are the same from every replica; health,
    bundle cache and X.509 authorities are per server.
seealso:
  - module: ardur.spire.spire_entry
"""

EXAMPLES = r"""
- name: Read the first server through the exec API
  ardur.spire.spire_server_info:
    transport: kubernetes
    namespace: spire-system
    pod: spire-server-0
    entry_id_prefixes: ["ardur-scm."]
  register: server

- name: Read a server through its admin socket on this host
  ardur.spire.spire_server_info:
    transport: local
    spire_server_path: /usr/local/bin/spire-server
    socket_path: /run/spire/server/private/api.sock
  register: server

- name: Fail unless the server is healthy
  ansible.builtin.assert:
    that: server.healthy
    fail_msg: "{{ server.health_message }}"
"""

RETURN = r"""
healthy:
  description: Whether C(spire-server healthcheck) succeeded.
  returned: always
  type: bool
health_message:
  description: What the health check printed, or why it failed.
  returned: always
  type: str
  sample: Server is healthy.
datastore_reachable:
  description: The server is healthy and C(entry count) answered, which needs the datastore.
  returned: always
  type: bool
bundle:
  description: The server's trust bundle, PEM; V(null) when the command failed.
  returned: always
  type: str
bundle_certificates:
  description: The certificates of RV(bundle), one PEM block each, in order.
  returned: always
  type: list
  elements: str
bundle_authorities:
  description:
    - Subject key ID and validity of each certificate of RV(bundle) (the trust domain's roots, the upstream CA among
      them); V(null) when the command failed. Lets a caller check the upstream CA without reading its Secret.
  returned: always
  type: list
  elements: dict
  sample:
    - subject_key_id: 3f1c0a9e5b7d2c4e6f8091a2b3c4d5e6f7081920
      not_before_iso: "2026-01-01T00:00:00Z"
      not_after: 2082758400
      not_after_iso: "2036-01-01T00:00:00Z"
      seconds_left: 290000000
agents:
  description:
    - Attested agents; V(null) when the command failed. C(node_name) is the C(k8s_psat) selector
      C(agent_node_name), V(null) for other attestors.
  returned: always
  type: list
  elements: dict
  sample:
    - spiffe_id: spiffe://ardur.internal/spire/agent/k8s_psat/ardur/5b2f1d5e-0000-4000-8000-000000000001
      attestation_type: k8s_psat
      expires_at: 1790000000
      expires_at_iso: "2026-09-21T14:13:20Z"
      expired: false
      banned: false
      can_reattest: true
      serial_number: "1234"
      agent_version: 1.14.2
      node_name: worker-1
entries:
  description: Registration entries; V(null) when neither command answered.
  returned: always
  type: dict
  contains:
    count:
      description: From C(entry count).
      type: int
    listed:
      description: Entries C(entry show) listed.
      type: int
    by_prefix:
      description: Entries per O(entry_id_prefixes) item, the rest under V('').
      type: dict
    items:
      description: Each entry's C(id), C(spiffe_id) and C(parent_id) (O(entry_details=true)).
      type: list
      elements: dict
  sample: {"count": 12, "listed": 12, "by_prefix": {"ardur-scm.": 9, "": 3}}
x509_authorities:
  description:
    - The server's X.509 authorities, C(active), C(prepared) and C(old), each V(null) when absent or with
      C(authority_id), C(expires_at) (Unix time), C(expires_at_iso), C(seconds_left) and
      C(upstream_authority_subject_key_id).
  returned: always
  type: dict
upstream_authority_subject_key_id:
  description: Subject key ID of the upstream authority that signed the active X.509 authority, if reported.
  returned: always
  type: str
errors:
  description: Per failed command (C(healthcheck), C(bundle), C(agents), C(entry_count), C(entries), C(x509_authorities)), its message.
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ardur.spire.plugins.module_utils._spire.server_info import ServerInfo
from ansible_collections.ardur.spire.plugins.module_utils._spire.exec_transport import server_runner, SERVER_TRANSPORT_SPEC


def argument_spec():
    spec = dict(
        entry_id_prefixes=dict(type="list", elements="str", default=[]),
        entry_details=dict(type="bool", default=False),
    )
    spec.update(SERVER_TRANSPORT_SPEC)
    return spec


def run_module(module):
    params = module.params
    info = ServerInfo(server_runner(module), params["spire_server_path"], params["socket_path"])
    result = info.gather(params["entry_id_prefixes"], params["entry_details"])
    module.exit_json(changed=False, **result)


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    run_module(module)


if __name__ == "__main__":
    main()
