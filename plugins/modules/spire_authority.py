#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), a licence compatible with
# the GNU General Public License v3.0 under which ansible-core runs this module.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: spire_authority
short_description: Move one SPIRE server's X.509 authority to an upstream CA, and retire an old upstream root
version_added: 0.1.0
description:
  - Drives one SPIRE server's X.509 authorities with its own commands (SPIRE 1.14) - C(localauthority x509 show),
    C(prepare) and C(activate), C(upstreamauthority taint) and C(revoke), C(localauthority jwt prepare) - and reads
    C(bundle show). It is the server half of the C(playbooks/rotate_upstream_ca.yml) runbook.
  - "O(state=root_present): the trust bundle holds the root with subject key ID O(subject_key_id). If not, runs
    C(localauthority x509 prepare): the disk UpstreamAuthority re-reads its files on every mint and appends the roots
    of its bundle file to the trust bundle. Prepares again (every O(interval) seconds, up to O(timeout)) until the
    root is there, since the kubelet refreshes a mounted Secret with a delay. The prepared authority is not activated."
  - "O(state=active): the server's active X.509 authority was signed by the upstream CA O(subject_key_id). If not,
    prepares (again, until the prepared authority is signed by it) and activates the prepared authority. No restart:
    the server signs with the new authority from then on."
  - "O(state=root_tainted): the root O(subject_key_id) is marked tainted in the bundle (C(upstreamauthority taint));
    agents then re-sign every SVID that chains to it. Nothing to do when it is tainted already or not in the bundle."
  - "O(state=root_revoked): the root is removed from the bundle (taints first when needed; C(upstreamauthority
    revoke)). SPIRE accepts taint and revoke only for the upstream CA that signed the server's B(old) X.509
    authority, so run them on a server that has been moved to the new CA with O(state=active) (and has not prepared
    another authority since)."
  - "O(state=notified): runs C(localauthority jwt prepare), whose bundle update makes the server's notifiers (the
    C(k8sbundle) notifier of the C(spire-bundle) ConfigMap) publish the bundle again. C(upstreamauthority revoke)
    does not notify them. Always changed."
author:
  - Ardur runtime deployment team (@ardur)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ardur.spire.server_transport
  - kubernetes.core.k8s_auth_options
attributes:
  check_mode:
    support: full
    details: Reads the server's state and reports the steps it would run (RV(steps)); runs none of them.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  state:
    description: What to make true on the server (see the description).
    type: str
    required: true
    choices: [root_present, active, root_tainted, root_revoked, notified]
  subject_key_id:
    description:
      - Subject key ID of the upstream CA certificate (O(state=active)) or of the root (the other states), in hex;
        colons and case are ignored. For a self-signed upstream CA both are its own subject key ID.
    type: str
    required: true
  timeout:
    description: O(state=root_present) and O(state=active) - seconds to keep preparing until the server's upstream
      authority hands out what is asked.
    type: int
    default: 120
  interval:
    description: Seconds between two prepares.
    type: int
    default: 3
notes:
  - Every prepare makes the server generate a key and mint an intermediate CA; that is cheap and it replaces the
    prepared one.
  - The upstream CA's key is never read by this module; the server reads it from its own mounted files.
seealso:
  - module: ardur.spire.spire_server_info
"""

EXAMPLES = r"""
- name: Make spire-server-1 sign with an intermediate issued by the new upstream CA
  ardur.spire.spire_authority:
    transport: kubernetes
    namespace: spire-system
    pod: spire-server-1
    state: active
    subject_key_id: "3f:9a:...:01"

- name: Remove the old upstream root from the trust bundle (on a server whose old authority it signed)
  ardur.spire.spire_authority:
    transport: local
    spire_server_path: /usr/local/bin/spire-server
    socket_path: /run/spire/server/private/api.sock
    state: root_revoked
    subject_key_id: 1b2c...
"""

RETURN = r"""
steps:
  description: What the server needed, in order - C(prepare), C(activate), C(taint), C(revoke), C(notify); empty when
    nothing.
  returned: always
  type: list
  elements: str
commands:
  description: The changing C(spire-server) commands that ran (without the socket); empty in check mode.
  returned: always
  type: list
  elements: str
  sample: ["localauthority x509 prepare", "localauthority x509 activate -authorityID 5a1f..."]
attempts:
  description: How many prepares (or retire commands) it took.
  returned: always
  type: int
subject_key_id:
  description: O(subject_key_id) in SPIRE's form (lowercase hex, no separators).
  returned: always
  type: str
x509_authorities:
  description: The server's X.509 authorities after the change, C(active), C(prepared) and C(old), each V(null) or
    with C(authority_id), C(expires_at), C(expires_at_iso), C(seconds_left) and C(upstream_authority_subject_key_id).
  returned: always
  type: dict
bundle_roots:
  description: The X.509 roots of the trust bundle after the change, each C(subject_key_id) and C(tainted).
  returned: always
  type: list
  elements: dict
"""

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ardur.spire.plugins.module_utils._spire.authority import (
    AuthorityClient, AuthorityError, STATES, ensure, normalize_skid)
from ansible_collections.ardur.spire.plugins.module_utils._spire.exec_transport import server_runner, SERVER_TRANSPORT_SPEC
from ansible_collections.ardur.spire.plugins.module_utils._spire.server_info import authority_summary


def argument_spec():
    spec = dict(
        state=dict(type="str", required=True, choices=list(STATES)),
        subject_key_id=dict(type="str", required=True),
        timeout=dict(type="int", default=120),
        interval=dict(type="int", default=3),
    )
    spec.update(SERVER_TRANSPORT_SPEC)
    return spec


def run_module(module):
    params = module.params
    skid = normalize_skid(params["subject_key_id"])
    if not skid:
        module.fail_json(msg="subject_key_id must be a hex subject key ID (colons allowed), got %r" % params["subject_key_id"])
    if params["timeout"] < 0 or params["interval"] < 1:
        module.fail_json(msg="timeout must be >= 0 and interval >= 1 (seconds)")
    client = AuthorityClient(server_runner(module), params["spire_server_path"], params["socket_path"])
    result = dict(subject_key_id=skid, commands=client.commands)
    try:
        changed, steps, attempts = ensure(client, params["state"], skid, timeout=params["timeout"],
                                          interval=params["interval"], check_mode=module.check_mode)
        now = int(time.time())
        state = client.authorities()
        result.update(changed=changed, steps=steps, attempts=attempts, bundle_roots=client.roots(),
                      x509_authorities=dict((slot, authority_summary(state.get(slot), now))
                                            for slot in ("active", "prepared", "old")))
    except AuthorityError as exc:
        module.fail_json(msg=str(exc), **result)
    module.exit_json(**result)


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    run_module(module)


if __name__ == "__main__":
    main()
