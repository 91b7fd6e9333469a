#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), a licence compatible with
# the GNU General Public License v3.0 under which ansible-core runs this module.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: spire_entry
short_description: Manage SPIRE registration entries in batches, idempotently
version_added: 0.1.0
description:
  - Creates, updates and deletes SPIRE registration entries through C(spire-server entry) commands. With
    O(transport=local) each kind of change is one batch call; through the exec API, which cannot close a command's
    input, each entry is one call.
  - An entry is identified the way SPIRE identifies it, by its SPIFFE ID, parent ID and set of selectors. Entries this module
    creates get a deterministic ID C(<entry_id_prefix>.<digest>), so O(exclusive=true) removes only entries this module owns and
    never those of spire-controller-manager or of people.
  - Talks to a server through its admin socket on this host (O(transport=local)), or runs the same command inside a
    spire-server pod through the Kubernetes exec API (O(transport=kubernetes)).
  - This is the imperative registration path. Prefer C(ClusterSPIFFEID) objects (role C(ardur.spire.registrations)) for
    Kubernetes workloads; use this module for node-level, non-Kubernetes or bootstrap entries. When both are used, set the
    controller manager's C(entryIDPrefix) so neither removes the other's entries.
author:
  - Ardur runtime deployment team (@ardur)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ardur.spire.server_transport
  - kubernetes.core.k8s_auth_options
attributes:
  check_mode:
    support: full
    details: Lists the entries and computes the changes; no entry command that writes is run.
  diff_mode:
    support: full
    details: The managed entries before and after.
  platform:
    platforms: posix
options:
  entries:
    description:
      - The registration entries this task is about.
    type: list
    elements: dict
    required: true
    suboptions:
      spiffe_id:
        description: SPIFFE ID the entry issues, C(spiffe://trust.domain/path).
        type: str
        required: true
      parent_id:
        description: SPIFFE ID of the agent (or node alias) allowed to attest the selectors.
        type: str
        required: true
      selectors:
        description: Selectors, each C(TYPE:VALUE) such as C(unix:uid:1000) or C(k8s:ns:payments).
        type: list
        elements: str
        required: true
      x509_svid_ttl:
        description: X509-SVID lifetime in seconds; C(0) uses the server default.
        type: int
        default: 0
      jwt_svid_ttl:
        description: JWT-SVID lifetime in seconds; C(0) uses the server default.
        type: int
        default: 0
      dns_names:
        description: DNS names put in X509-SVIDs of this entry.
        type: list
        elements: str
        default: []
      federates_with:
        description: Trust domains (C(spiffe://td) or C(td)) whose bundles the entry's workloads receive.
        type: list
        elements: str
        default: []
      admin:
        description: Grants the SPIFFE ID access to the server's admin APIs.
        type: bool
        default: false
      downstream:
        description: The entry describes a downstream SPIRE server.
        type: bool
        default: false
      hint:
        description: Hint that tells workloads with several SVIDs what this one is for.
        type: str
        default: ""
      store_svid:
        description: The SVID is stored through an SVIDStore plugin.
        type: bool
        default: false
      expires_at:
        description: Unix time after which the server prunes the entry; C(0) never.
        type: int
        default: 0
  state:
    description:
      - V(present) creates missing entries and updates those whose attributes differ; V(absent) deletes them.
    type: str
    choices: [present, absent]
    default: present
  exclusive:
    description:
      - With O(state=present), also delete entries whose ID starts with O(entry_id_prefix) and that O(entries) does not list.
    type: bool
    default: false
  entry_id_prefix:
    description:
      - Prefix of the IDs of entries this module creates; it marks the entries O(exclusive) may delete.
      - Letters, digits, C(.), C(-) and C(_) only, as SPIRE requires of entry IDs.
    type: str
    default: ardur
notes:
  - Changing an entry's SPIFFE ID, parent ID or selectors makes it another entry; with O(exclusive=true) the old one is
    deleted in the same run.
seealso:
  - module: ardur.spire.spire_config
"""

EXAMPLES = r"""
- name: Register a node-local helper process for every agent node (admin socket on this host)
  ardur.spire.spire_entry:
    transport: local
    spire_server_path: /usr/local/bin/spire-server
    socket_path: /run/spire/server/private/api.sock
    entries:
      - spiffe_id: spiffe://ardur.internal/host/log-shipper
        parent_id: spiffe://ardur.internal/spire/agent/k8s_psat/ardur/5b2f1d5e-0000-4000-8000-000000000001
        selectors: ["unix:uid:1001", "unix:path:/usr/bin/log-shipper"]
        x509_svid_ttl: 3600

- name: Keep exactly these imperative entries, through the first server pod
  ardur.spire.spire_entry:
    transport: kubernetes
    namespace: spire-system
    pod: spire-server-0
    exclusive: true
    entries: "{{ ardur_imperative_entries }}"

- name: Remove an entry
  ardur.spire.spire_entry:
    state: absent
    transport: kubernetes
    entries:
      - spiffe_id: spiffe://ardur.internal/host/log-shipper
        parent_id: spiffe://ardur.internal/spire/agent/k8s_psat/ardur/5b2f1d5e-0000-4000-8000-000000000001
        selectors: ["unix:uid:1001", "unix:path:/usr/bin/log-shipper"]
"""

RETURN = r"""
created:
  description: Entries created, with the IDs they were given.
  returned: always
  type: list
  elements: dict
  sample: [{"id": "ardur.3f1c...", "spiffe_id": "spiffe://ardur.internal/host/log-shipper"}]
updated:
  description: Entries whose attributes were updated.
  returned: always
  type: list
  elements: dict
deleted:
  description: Entries deleted.
  returned: always
  type: list
  elements: dict
commands:
  description: The spire-server entry commands run (or, in check mode, that would run).
  returned: always
  type: list
  elements: str
  sample: ["entry create (2 entries)", "entry delete (1 entry)"]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ardur.spire.plugins.module_utils._spire import entries as spire_entries
from ansible_collections.ardur.spire.plugins.module_utils._spire.exec_transport import server_runner, SERVER_TRANSPORT_SPEC

ENTRY_SPEC = dict(
    spiffe_id=dict(type="str", required=True),
    parent_id=dict(type="str", required=True),
    selectors=dict(type="list", elements="str", required=True),
    x509_svid_ttl=dict(type="int", default=0),
    jwt_svid_ttl=dict(type="int", default=0),
    dns_names=dict(type="list", elements="str", default=[]),
    federates_with=dict(type="list", elements="str", default=[]),
    admin=dict(type="bool", default=False),
    downstream=dict(type="bool", default=False),
    hint=dict(type="str", default=""),
    store_svid=dict(type="bool", default=False),
    expires_at=dict(type="int", default=0),
)


def argument_spec():
    spec = dict(
        entries=dict(type="list", elements="dict", required=True, options=ENTRY_SPEC),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        exclusive=dict(type="bool", default=False),
        entry_id_prefix=dict(type="str", default="ardur"),
    )
    spec.update(SERVER_TRANSPORT_SPEC)
    return spec


def _summary(entry):
    return {"id": entry["id"], "spiffe_id": entry["spiffe_id"], "parent_id": entry["parent_id"], "selectors": entry["selectors"]}


def run_module(module):
    params = module.params
    if not spire_entries.ENTRY_ID_CHARS.match(params["entry_id_prefix"]):
        module.fail_json(msg="entry_id_prefix: %r may hold only letters, digits, '.', '-' and '_'" % params["entry_id_prefix"])
    if params["exclusive"] and params["state"] == "absent":
        module.fail_json(msg="exclusive: only meaningful with state=present")
    try:
        desired = [spire_entries.normalize(spec, i) for i, spec in enumerate(params["entries"])]
    except spire_entries.EntryError as exc:
        module.fail_json(msg=str(exc))

    # The exec API cannot close a command's stdin: batches through stdin only on this host.
    client = spire_entries.EntryClient(server_runner(module), params["spire_server_path"], params["socket_path"],
                                       batch_stdin=params["transport"] == "local")

    try:
        current = client.list()
        create, update, delete = spire_entries.plan(desired, current, params["state"], params["exclusive"], params["entry_id_prefix"])
        commands = ["entry %s (%d entries)" % (verb, len(batch)) for verb, batch in
                    (("create", create), ("update", update), ("delete", delete)) if batch]
        if not module.check_mode:
            client.delete(delete)
            client.update(update)
            client.create(create)
    except spire_entries.EntryError as exc:
        module.fail_json(msg=str(exc))

    changed = bool(create or update or delete)
    result = dict(
        changed=changed,
        created=[_summary(e) for e in create],
        updated=[_summary(e) for e in update],
        deleted=[_summary(e) for e in delete],
        commands=commands,
    )
    if module._diff:
        touched = set(spire_entries.identity(e) for e in create + update + delete)
        before = [e for e in current if spire_entries.identity(e) in touched]
        gone = set(spire_entries.identity(e) for e in delete)
        after = [e for e in before if spire_entries.identity(e) not in gone and e["id"] not in set(u["id"] for u in update)]
        after += update + create
        result["diff"] = dict(before=dict(entries=sorted(before, key=spire_entries.identity)),
                              after=dict(entries=sorted(after, key=spire_entries.identity)))
    module.exit_json(**result)


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    run_module(module)


if __name__ == "__main__":
    main()
