#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), a licence compatible with
# the GNU General Public License v3.0 under which ansible-core runs this module.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: spire_registration_spec
short_description: Validate workload registration families and render their ClusterSPIFFEID objects
version_added: 0.1.0
description:
  - Checks a list of workload families (the input of role C(ardur.spire.registrations)) against the rules of
    spire-controller-manager and of the SPIFFE ID specification, and returns one C(ClusterSPIFFEID) object per family.
  - Reports every problem at once, each prefixed with the input path it concerns, for example
    C(registrations_families[1].spiffe_id_template), and fails when there is any.
  - Never contacts a cluster or a SPIRE server and never changes anything, so it runs in check mode as well.
  - >-
    Each family is a dict. Required keys are C(name) (family name: DNS-1123 label, unique; it becomes the pod label
    C(framework=<name>), the last SPIFFE ID segment and the object name suffix), C(app) (value of the pod label
    C(app.kubernetes.io/name)), C(container) (the only container of the pod that gets the SPIFFE ID) and C(namespace)
    (the namespace the pods run in).
  - >-
    Optional keys are C(service_account) (pins the pod's service account with a C(k8s:sa) selector),
    C(spiffe_id_template) (Go template, default
    C(spiffe://{{ .TrustDomain }}/ns/{{ .PodMeta.Namespace }}/sa/{{ .PodSpec.ServiceAccountName }}/framework/<name>)),
    C(ttl) and C(jwt_ttl) (Go durations, at least C(1m), at most O(max_x509_svid_ttl) and O(max_jwt_svid_ttl); absent means
    the server default), C(dns_name_templates) (list of Go templates), C(hint) (string) and C(workload_selector_templates)
    (extra C(type:value) selectors of the C(k8s) or C(unix) attestor).
  - Go template braces collide with Jinja; pass custom templates as C(!unsafe) strings.
author:
  - Ardur runtime deployment team (@ardur)
attributes:
  check_mode:
    support: full
    description: The module only computes; check mode returns the same result.
  diff_mode:
    support: none
    description: Nothing is changed, so there is nothing to show.
  platform:
    support: full
    platforms: posix
    description: Runs wherever Python runs.
options:
  families:
    description:
      - The workload families, each a dict with the keys described above.
      - Keys are checked by the module itself, not by Ansible, so that every error is reported with its path.
    type: list
    elements: raw
    required: true
  trust_domain:
    description:
      - The trust domain the SPIFFE IDs must stay inside (C(spire_trust_domain)).
    type: str
    required: true
  input_name:
    description:
      - Name of the variable the families come from, used as the prefix of every error path.
    type: str
    default: registrations_families
  max_x509_svid_ttl:
    description:
      - Largest X.509 SVID TTL a family may ask for, as a Go duration. Keep it within C(min(ca_ttl/6, 7d)) of the server.
    type: str
    default: 4h
  max_jwt_svid_ttl:
    description:
      - Largest JWT SVID TTL a family may ask for, as a Go duration.
    type: str
    default: 4h
  ignore_namespaces:
    description:
      - The controller manager's C(ignoreNamespaces) regular expressions; a family in a namespace matching one of them is an
        error, since its pods would never get an identity.
    type: list
    elements: str
    default: []
  labels:
    description:
      - Labels put on every rendered object, besides C(framework=<name>).
    type: dict
    default: {}
  name_prefix:
    description:
      - Prefix of the object names, C(<name_prefix><family name>).
    type: str
    default: ardur-
  class_name:
    description:
      - C(className) set on every object, for a controller manager configured with the same C(className). Empty sets none.
    type: str
    default: ""
notes:
  - The rules follow spire-controller-manager 0.6.x (template data C(.TrustDomain), C(.ClusterName), C(.ClusterDomain),
    C(.PodMeta), C(.PodSpec), C(.NodeMeta), C(.NodeSpec)) and the SPIFFE ID specification (path segments of
    C([A-Za-z0-9._-]), no empty, C(.) or C(..) segment, at most 2048 bytes).
seealso:
  - module: ardur.spire.spire_entry
"""

EXAMPLES = r"""
- name: Validate the registration families and render their ClusterSPIFFEIDs
  ardur.spire.spire_registration_spec:
    trust_domain: ardur.internal
    ignore_namespaces: ["^kube-system$", "^spire-system$"]
    families:
      - name: langchain
        app: langchain-agent
        container: langchain
        namespace: ardur-agents
        service_account: langchain-agent
        ttl: 1h
        jwt_ttl: 5m
  register: spec

- name: A custom SPIFFE ID template passes through Jinja untouched when marked unsafe
  ardur.spire.spire_registration_spec:
    trust_domain: ardur.internal
    families:
      - name: autogen
        app: autogen-agent
        container: autogen
        namespace: ardur-agents
        spiffe_id_template: !unsafe "spiffe://{{ .TrustDomain }}/cluster/{{ .ClusterName }}/autogen"
"""

RETURN = r"""
cluster_spiffeids:
  description: One C(ClusterSPIFFEID) object per family, in input order, ready for kubernetes.core.k8s.
  returned: success
  type: list
  elements: dict
  sample:
    - apiVersion: spire.spiffe.io/v1alpha1
      kind: ClusterSPIFFEID
      metadata:
        name: ardur-langchain
        labels:
          framework: langchain
      spec:
        spiffeIDTemplate: "spiffe://{{ .TrustDomain }}/ns/{{ .PodMeta.Namespace }}/sa/{{ .PodSpec.ServiceAccountName }}/framework/langchain"
        namespaceSelector:
          matchLabels:
            kubernetes.io/metadata.name: ardur-agents
        podSelector:
          matchLabels:
            framework: langchain
            app.kubernetes.io/name: langchain-agent
        workloadSelectorTemplates:
          - "k8s:container-name:langchain"
          - "k8s:sa:langchain-agent"
        ttl: 1h
        jwtTtl: 5m
families:
  description: The families with every default filled in (SPIFFE ID template, selectors).
  returned: success
  type: list
  elements: dict
errors:
  description: Every problem found, as C(path) and C(message); only when the module fails.
  returned: failure
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.ardur.spire.plugins.module_utils._registration_spec import SpecError, build


def run_module(module):
    params = module.params
    try:
        families, objects = build(
            params["families"], params["trust_domain"], input_name=params["input_name"],
            max_x509_svid_ttl=params["max_x509_svid_ttl"], max_jwt_svid_ttl=params["max_jwt_svid_ttl"],
            ignore_namespaces=params["ignore_namespaces"], labels=params["labels"],
            name_prefix=params["name_prefix"], class_name=params["class_name"])
    except SpecError as exc:
        module.fail_json(
            msg="%d problem(s) in the registration families:\n%s" % (len(exc.errors), exc),
            errors=[{"path": path, "message": message} for path, message in exc.errors])
    module.exit_json(changed=False, cluster_spiffeids=objects, families=families)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            families=dict(type="list", elements="raw", required=True),
            trust_domain=dict(type="str", required=True),
            input_name=dict(type="str", default="registrations_families"),
            max_x509_svid_ttl=dict(type="str", default="4h"),
            max_jwt_svid_ttl=dict(type="str", default="4h"),
            ignore_namespaces=dict(type="list", elements="str", default=[]),
            labels=dict(type="dict", default={}),
            name_prefix=dict(type="str", default="ardur-"),
            class_name=dict(type="str", default=""),
        ),
        supports_check_mode=True,
    )
    run_module(module)


if __name__ == "__main__":
    main()
