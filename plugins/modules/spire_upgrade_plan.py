#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, Ardur runtime deployment team
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), a licence compatible with
# the GNU General Public License v3.0 under which ansible-core runs this module.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: spire_upgrade_plan
short_description: Plan a version upgrade of a SPIRE deployment and refuse the moves SPIRE does not support
version_added: 0.1.0
description:
  - Reads the versions that actually run from the live objects it is given (the server StatefulSet with its
    controller manager sidecar, the agent and CSI driver DaemonSets, and their pods; the image tag of each
    container) and compares them with the target versions.
  - Refuses, naming the input and the versions, a target that is not C(X.Y.Z), a running image whose tag is not a
    version, a SPIRE move that skips a minor version (C(1.12.x) to C(1.14.x)) or changes the major version, and any
    downgrade unless O(allow_downgrade=true). Patch moves and one-minor moves are allowed. Every reason is reported at
    once.
  - Returns the ordered plan of the upgrade runbook (the role C(ardur.spire.upgrade)) - servers (with the controller
    manager) before agents, agents before servers only for a downgrade, so agents are never newer than servers; the CSI
    driver last; the validating webhook held at C(failurePolicy=Ignore) while servers roll and restored afterwards, also
    after an interrupted run (the original is recorded in an annotation of the webhook configuration). The role reads
    a refusal from the result (P(ardur.spire.upgrade_decision#filter)).
  - Only computes; never contacts a cluster.
author:
  - Ardur runtime deployment team (@ardur)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: The module only computes; check mode returns the same plan.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  targets:
    description:
      - The target versions, keyed by input name - C(spire_version), C(spire_controller_manager_version),
        C(spire_csi_driver_version), C(spire_node_driver_registrar_version).
    type: dict
    required: true
  images:
    description:
      - The image overrides of the deployment (the C(spire_images) input of the C(spire) role), keyed C(spire_server),
        C(spire_agent), C(spire_controller_manager), C(spiffe_csi_driver), C(csi_node_driver_registrar).
      - An overridden component's target is the version of its image's tag (C(X.Y.Z), an optional leading C(v)), in
        place of its input in O(targets); messages name it C(spire_images.KEY).
      - An override whose tag is not a version - a digest alone, a build tag - is compared by reference (the pods not
        running it are behind, no version rule applies); for the SPIRE server and agent, whose version rules must be
        checked, it is refused.
      - A server and agent pair whose targets would put the agents ahead of the servers is refused.
    type: dict
    default: {}
  statefulset:
    description: The C(spire-server) StatefulSet as the API returns it; V({}) when it does not exist.
    type: dict
    required: true
  server_pods:
    description: The pods of the StatefulSet.
    type: list
    elements: dict
    default: []
  agent_daemonset:
    description: The C(spire-agent) DaemonSet; V({}) when it does not exist.
    type: dict
    required: true
  agent_pods:
    description: The pods of the agent DaemonSet.
    type: list
    elements: dict
    default: []
  csi_daemonset:
    description: The C(spiffe-csi-driver) DaemonSet; V({}) when it does not exist.
    type: dict
    required: true
  csi_pods:
    description: The pods of the CSI driver DaemonSet.
    type: list
    elements: dict
    default: []
  webhook:
    description: The ValidatingWebhookConfiguration C(spire-controller-manager-webhook); V({}) when it does not exist.
    type: dict
    default: {}
  allow_downgrade:
    description: Allow a target older than what runs (still one SPIRE minor version at most).
    type: bool
    default: false
  namespace:
    description: Namespace of the deployment, for the messages.
    type: str
    default: spire-system
  names:
    description:
      - The names of the deployment's objects, as the role C(ardur.spire.spire) keeps them (C(_spire_objects)) - C(server),
        C(agent), C(csi_driver) and C(controller_manager_webhook) are read, other keys are ignored.
      - A name left out is the one C(deploy.yml) uses (V(spire-server), V(spire-agent), V(spiffe-csi-driver),
        V(spire-controller-manager-webhook)).
    type: dict
    default: {}
seealso:
  - module: ardur.spire.spire_server_info
"""

EXAMPLES = r"""
- name: Plan the upgrade to the collection's pinned versions
  ardur.spire.spire_upgrade_plan:
    targets:
      spire_version: 1.14.2
      spire_controller_manager_version: 0.6.3
      spire_csi_driver_version: 0.2.7
      spire_node_driver_registrar_version: 2.9.4
    statefulset: "{{ sts.resources | first | default({}) }}"
    server_pods: "{{ server_pods.resources }}"
    agent_daemonset: "{{ agents.resources | first | default({}) }}"
    agent_pods: "{{ agent_pods.resources }}"
    csi_daemonset: "{{ csi.resources | first | default({}) }}"
    csi_pods: "{{ csi_pods.resources }}"
  register: upgrade

- name: Show it
  ansible.builtin.debug:
    msg: "{{ upgrade.plan.lines }}"
"""

RETURN = r"""
plan:
  description: The plan.
  returned: success
  type: dict
  contains:
    components:
      description:
        - Per component (C(spire-server), C(spire-controller-manager), C(spire-agent), C(spiffe-csi-driver),
          C(csi-node-driver-registrar)) - C(name), C(input), C(present), C(running) (distinct versions in the template
          and the pods), C(from) (the oldest), C(to), C(behind) (pods not at C(to)), C(template_behind), C(pods).
        - C(input) is C(spire_images.KEY) for an overridden image; for one compared by reference C(running) and C(to)
          are image references and C(from) is V(null).
      type: list
      elements: dict
    phases:
      description:
        - C(servers) (C(needed), C(replicas), C(partition), C(components)), C(agents) (C(needed), C(nodes),
          C(update_strategy), C(components)), C(csi) (C(needed), C(components)). A StatefulSet partition above 0 or an
          agent DaemonSet left at C(OnDelete) by an interrupted run makes its phase needed.
      type: dict
    order:
      description: The needed phases in the order to run them.
      type: list
      elements: str
      sample: [servers, agents]
    webhook:
      description:
        - C(exists), C(policies) (failurePolicy per webhook now), C(recorded) (what an earlier run recorded, or
          V(null)), C(original) (what to restore), C(hold) (set Ignore for the rollout), C(restore), C(name),
          C(annotation).
      type: dict
    nothing_to_do:
      description: Every component runs its target version and nothing is left from an interrupted run.
      type: bool
    steps:
      description: The steps, in order.
      type: list
      elements: str
    lines:
      description: The plan as text, one line each.
      type: list
      elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ardur.spire.plugins.module_utils._spire import upgrade


def main():
    module = AnsibleModule(
        argument_spec=dict(
            targets=dict(type="dict", required=True),
            images=dict(type="dict", default={}),
            statefulset=dict(type="dict", required=True),
            server_pods=dict(type="list", elements="dict", default=[]),
            agent_daemonset=dict(type="dict", required=True),
            agent_pods=dict(type="list", elements="dict", default=[]),
            csi_daemonset=dict(type="dict", required=True),
            csi_pods=dict(type="list", elements="dict", default=[]),
            webhook=dict(type="dict", default={}),
            allow_downgrade=dict(type="bool", default=False),
            namespace=dict(type="str", default="spire-system"),
            names=dict(type="dict", default={}),
        ),
        supports_check_mode=True,
    )
    params = module.params
    try:
        result = upgrade.plan(params["targets"], params["statefulset"], params["server_pods"],
                              params["agent_daemonset"], params["agent_pods"], params["csi_daemonset"],
                              params["csi_pods"], params["webhook"], params["allow_downgrade"], params["namespace"],
                              images=params["images"], names=params["names"])
    except upgrade.PlanError as exc:
        module.fail_json(msg="Upgrade refused, nothing was changed: %s" % "; ".join(exc.errors), errors=exc.errors)
    module.exit_json(changed=False, plan=result)


if __name__ == "__main__":
    main()
