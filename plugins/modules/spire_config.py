#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), a licence compatible with
# the GNU General Public License v3.0 under which ansible-core runs this module.

from __future__ import annotations

DOCUMENTATION = r"""
module: spire_config
short_description: Validate and render a SPIRE 1.14.2 server or agent configuration
version_added: 0.1.0
description:
  - Checks a SPIRE 1.14.2 C(spire-server) or C(spire-agent) configuration against key tables taken from the
    SPIRE 1.14.2 sources and against cross-field rules, normalizes it and renders deterministic HCL.
  - The configuration comes from exactly one of O(config) (a mapping shaped like the file), O(content) (HCL or
    JSON text) or O(src) (an HCL or JSON file on the managed host).
  - HCL v1 and JSON are read by the module itself (no third-party library). Parse errors name C(line) and
    C(column); a key given twice is an error; repeated blocks merge as in HCL v1.
  - Every core key of C(server), C(agent), C(health_checks) and C(telemetry) is known with its type, and so are
    the plugin block keys and the C(plugin_data) keys of the plugins this collection deploys (DataStore C(sql),
    KeyManager C(disk) and C(memory), UpstreamAuthority C(disk), NodeAttestor C(k8s_psat) and C(join_token),
    Notifier C(k8sbundle), WorkloadAttestor C(k8s) and C(unix)).
  - An unknown key in a known block is an error, with the nearest known key when it looks like a typo. A key or
    plugin that SPIRE removed is an error naming the release that removed it (for example C(default_svid_ttl),
    1.6.0; C(use_legacy_downstream_x509_ca_ttl), 1.13.0; NodeAttestor C(k8s_sat), 1.12.0; agent
    C(retry_bootstrap), 1.14.0).
  - Another built-in plugin of SPIRE 1.14.2, or an external plugin (C(plugin_cmd)), is accepted with a warning
    that its C(plugin_data) is not checked. A plugin type or built-in name that SPIRE 1.14.2 does not have is an
    error, because the SPIRE binary refuses to start with it.
  - Severity. Errors are what SPIRE refuses, plus unknown/removed keys, wrong types, invalid Go durations, ports
    out of 1-65535, invalid trust domains, plugin counts, missing or empty required keys and C(server_replicas) > 1
    with C(sqlite3). Policy findings are errors when O(strict=true) and warnings otherwise, wherever they are found;
    they cover settings SPIRE accepts but this collection does not want in production (see O(strict)).
  - Empty values. As in SPIRE, an empty string (or JSON C(null)) in a string setting means the setting is unset and
    is left out of the normalized configuration; a required setting (for example C(trust_domain), the agent
    C(k8s_psat) C(cluster), the UpstreamAuthority C(disk) C(cert_file_path)) must be present and not empty.
    C(plugin_data) C(null) is no plugin data, as the official Helm chart writes it for the memory KeyManager.
    C(null) where SPIRE cannot read it (a number, boolean, list or block, or anything inside C(plugin_data)) is an
    error.
  - Federation is checked as SPIRE checks it, for example a C(bundle_endpoint) profile C(https_web) needs C(acme) or
    C(serving_cert_file), C(serving_cert_file) needs C(file_sync_interval) (SPIRE 1.14 fails without it), and a
    C(federates_with) relationship needs C(bundle_endpoint_url) and exactly one C(bundle_endpoint_profile).
  - Secrets. A literal password inside a DataStore C(connection_string) or C(ro_connection_string), and literal
    values of secret keys (agent C(join_token), C(secret_access_key), ...), are shown as C(********) in the returned
    RV(config), RV(rendered) and in the diff. The file written to O(dest) is faithful. Error and warning messages
    never contain these values. C(${VAR}) references are not secrets and are shown as written.
options:
  component:
    description:
      - Which SPIRE program reads the configuration.
    type: str
    required: true
    choices: [server, agent]
  config:
    description:
      - The configuration as a mapping shaped like the file, with top-level keys C(server) or C(agent),
        C(plugins), C(health_checks) and C(telemetry).
      - "Plugins are written C({Type: {name: {plugin_data: {...}}}}); a list of such mappings is accepted too,
        as in SPIRE's JSON form."
      - A key whose value is C(null) is left out.
      - Mutually exclusive with O(content) and O(src).
    type: dict
  content:
    description:
      - The configuration as HCL or JSON text (JSON when the first non-blank character is C({), as in HCL v1).
      - JSON C(null) means what it means to SPIRE, which reads it as an empty string (see the description).
      - Mutually exclusive with O(config) and O(src).
    type: str
  src:
    description:
      - Path on the managed host of an HCL or JSON configuration file.
      - Mutually exclusive with O(config) and O(content).
    type: path
  server_replicas:
    description:
      - How many SPIRE servers share this configuration (the high-availability context).
      - With more than one, the DataStore must be a shared SQL database, not C(sqlite3).
      - Ignored for O(component=agent).
    type: int
    default: 1
  strict:
    description:
      - Treat policy findings as errors. When V(false) they are returned as warnings.
      - "Policy findings: an SVID TTL (C(default_x509_svid_ttl), C(default_jwt_svid_ttl), C(agent_ttl)) above
        min(C(ca_ttl)/6, 7d), with SPIRE's defaults (24h, 1h, 5m) for unset values; a literal password in a
        DataStore connection string (use C(${VAR}) and run SPIRE with C(-expandEnv)); a PostgreSQL C(sslmode)
        other than C(verify-ca)/C(verify-full), or none (lib/pq then uses C(require)); a server without any
        enabled NodeAttestor; a trust domain (C(server), C(agent) or a C(federates_with) key) written as a
        C(spiffe://) ID or longer than 255 characters."
      - A connection string that is a single C(${VAR}) reference cannot be inspected; that gives a warning.
    type: bool
    default: true
  validate_with:
    description:
      - Path on the managed host of a real C(spire-server) or C(spire-agent) binary (matching O(component)).
      - After the module's own checks pass, the rendered configuration is written to a private temporary file
        and C(BINARY validate -config FILE -expandEnv) is run; a non-zero exit fails the task with the
        program's output (secrets masked).
      - The program runs with only C(PATH) and O(validate_env) in its environment. Each variable the file
        references that O(validate_env) does not set is set to C(placeholder) for the validation only, and a
        warning names them.
      - C(spire-server validate) also validates the data of each built-in plugin; C(spire-agent validate) only
        checks the file and the core settings.
    type: path
  validate_env:
    description:
      - Values of C(${VAR}) references in the configuration, as C(-expandEnv) will substitute them.
      - The module's own checks of such values use them (the TLS settings of a C(connection_string) that is a
        reference), and O(validate_with) runs its program with them.
      - Values are never logged or returned.
    type: dict
    default: {}
  dest:
    description:
      - Path on the managed host where the rendered HCL is written. The file is only rewritten when its
        content differs; its mode is C(0644) unless O(mode) says otherwise.
      - When omitted, nothing is written and the module only validates and renders.
    type: path
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.files
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: The diff is the text of O(dest) before and after, with secrets masked.
  platform:
    platforms: posix
notes:
  - Rendering is deterministic. Top-level sections come in the order C(server)/C(agent), C(plugins),
    C(health_checks), C(telemetry); plugin types in SPIRE's conventional order (server C(DataStore),
    C(KeyManager), C(UpstreamAuthority), C(NodeAttestor), C(Notifier), C(BundlePublisher),
    C(CredentialComposer); agent C(KeyManager), C(NodeAttestor), C(WorkloadAttestor), C(SVIDStore)), unknown
    types sorted after them; plugin names keep their given order (SPIRE loads plugins in that order); every other
    key is sorted. Indentation is two spaces; strings are double-quoted and escaped, except inside C(${...}).
  - Values are normalized as HCL v1 decodes them into SPIRE's types, for example a number given for
    C(health_checks.bind_port) (a string in SPIRE) becomes a string, a numeric string given for an integer key
    becomes an integer.
  - SPIRE matches core keys case-insensitively; this module accepts such a key with a warning and renders its
    canonical spelling.
  - The checks are stricter than SPIRE in places on purpose, for example SPIRE ignores unknown keys in
    C(plugin_data) and in C(telemetry), this module does not.
  - Literal secrets found in the configuration are added to the module's no-log values, so Ansible masks them in
    the whole result, including the echoed module arguments. Ansible may still log the module arguments on the
    managed host before the module runs; keep secrets in C(${VAR}) references (which O(strict=true) requires for
    DataStore passwords) or set C(no_log) on the task.
  - "Environment variables: SPIRE's C(-expandEnv) replaces C(${NAME}) and C($NAME) anywhere in the file before
    parsing it (C($$) stands for C($)). This module keeps references as written and warns about C($NAME) written
    without braces, which is easy to create by accident in a password."
seealso:
  - name: SPIRE server configuration reference
    description: The upstream reference of C(server.conf) keys.
    link: https://spiffe.io/docs/latest/deploying/spire_server/
  - name: SPIRE agent configuration reference
    description: The upstream reference of C(agent.conf) keys.
    link: https://spiffe.io/docs/latest/deploying/spire_agent/
author:
  - Ardur runtime deployment team (@ardur)
"""

EXAMPLES = r"""
- name: Validate a server configuration file for a three-replica deployment
  ardur.spire.spire_config:
    component: server
    src: /etc/spire/server.conf
    server_replicas: 3

- name: Render the agent configuration from a mapping and write it
  ardur.spire.spire_config:
    component: agent
    dest: /srv/spire/agent.conf
    mode: "0644"
    config:
      agent:
        data_dir: /run/spire/data
        server_address: spire-server.spire-system.svc
        server_port: 8081
        socket_path: /run/spire/agent-sockets/spire-agent.sock
        trust_bundle_path: /run/spire/bundle/bundle.crt
        trust_domain: ardur.example
      plugins:
        KeyManager:
          memory: {}
        NodeAttestor:
          k8s_psat:
            plugin_data:
              cluster: ardur-cluster
        WorkloadAttestor:
          k8s:
            plugin_data:
              kubelet_secure_port: 10250
          unix:
            plugin_data: {}

- name: Check a templated server configuration with the real binary as well
  ardur.spire.spire_config:
    component: server
    content: "{{ lookup('ansible.builtin.template', 'server.conf.j2') }}"
    server_replicas: 3
    validate_with: /usr/local/bin/spire-server
    validate_env:
      SPIRE_DB_PASSWORD: not-the-real-one
  register: spire_server_config

- name: Show the normalized configuration
  ansible.builtin.debug:
    var: spire_server_config.config

- name: Collect findings without failing on policy rules
  ardur.spire.spire_config:
    component: server
    src: /etc/spire/server.conf
    strict: false
  register: spire_findings
"""

RETURN = r"""
errors:
  description:
    - Every error found, each starting with the key path (for example
      C(plugins.DataStore.sql.plugin_data.database_type)) and, for text input, ending with its line and column.
    - Empty on success; when not empty the task fails and RV(ignore:msg) lists them all.
  returned: always
  type: list
  elements: str
  sample: []
warnings:
  description:
    - The module's warnings (policy findings when O(strict=false), plugins that are not checked, ...), each
      starting with the key path. They are also displayed as task warnings.
  returned: when there are warnings
  type: list
  elements: str
  sample:
    - "plugins.DataStore.sql.plugin_data.connection_string: is only an environment reference (${SPIRE_DATASTORE_DSN}): ..."
rendered:
  description:
    - The configuration as deterministic HCL, with literal secrets shown as C(********).
    - Empty when the input could not be parsed.
  returned: always
  type: str
  sample: |
    server {
      bind_address = "0.0.0.0"
      bind_port = 8081
      data_dir = "/run/spire/data"
      trust_domain = "ardur.example"
    }
config:
  description:
    - "The normalized configuration as a mapping; plugins as C({Type: {name: {plugin_data: {...}}}})."
    - Literal secrets are shown as C(********).
  returned: always
  type: dict
  sample:
    server:
      bind_port: 8081
      data_dir: /run/spire/data
      trust_domain: ardur.example
    plugins:
      KeyManager:
        disk:
          plugin_data:
            keys_path: /run/spire/data/keys.json
dest:
  description: The path written to, when O(dest) is set.
  returned: when O(dest) is set
  type: str
  sample: /srv/spire/server.conf
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ardur.spire.plugins.module_utils._spire.module import MODULE_KWARGS, argument_spec, run_module


def main():
    module = AnsibleModule(argument_spec=argument_spec(), **MODULE_KWARGS)
    run_module(module)


if __name__ == '__main__':
    main()
