# -*- coding: utf-8 -*-
"""The version rules and the plan of spire_upgrade_plan (pure logic; the lab runs the upgrade itself)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json

import pytest

from ansible_collections.ardur.spire.plugins.module_utils._spire import upgrade

TARGETS = {
    "spire_version": "1.14.2",
    "spire_controller_manager_version": "0.6.3",
    "spire_csi_driver_version": "0.2.7",
    "spire_node_driver_registrar_version": "2.9.4",
}
NODES = ("node-a", "node-b", "node-c")


def images(spire="1.14.2", scm="0.6.3", csi="0.2.7", registrar="2.9.4"):
    return {
        "spire-server": "ghcr.io/spiffe/spire-server:%s" % spire,
        "spire-controller-manager": "ghcr.io/spiffe/spire-controller-manager:%s" % scm,
        "spire-agent": "ghcr.io/spiffe/spire-agent:%s" % spire,
        "spiffe-csi-driver": "ghcr.io/spiffe/spiffe-csi-driver:%s" % csi,
        "node-driver-registrar": "registry.k8s.io/sig-storage/csi-node-driver-registrar:v%s" % registrar,
    }


def containers(names, imgs):
    return [{"name": n, "image": imgs[n]} for n in names]


class Cluster:
    """Live objects as the API returns them (only the fields the plan reads)."""

    def __init__(self, **versions):
        imgs = images(**versions)
        self.sts = {"metadata": {"name": "spire-server"},
                    "spec": {"replicas": 3, "updateStrategy": {"type": "RollingUpdate"},
                             "template": {"spec": {"containers": containers(["spire-server", "spire-controller-manager"], imgs)}}}}
        self.server_pods = [{"metadata": {"name": "spire-server-%d" % i},
                             "spec": {"containers": containers(["spire-server", "spire-controller-manager"], imgs)}}
                            for i in range(3)]
        self.agents = {"metadata": {"name": "spire-agent"},
                       "spec": {"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
                                "template": {"spec": {"containers": containers(["spire-agent"], imgs)}}}}
        self.agent_pods = [{"metadata": {"name": "spire-agent-%s" % n},
                            "spec": {"nodeName": n, "containers": containers(["spire-agent"], imgs)}} for n in NODES]
        self.csi = {"metadata": {"name": "spiffe-csi-driver"},
                    "spec": {"template": {"spec": {"containers": containers(["spiffe-csi-driver", "node-driver-registrar"], imgs)}}}}
        self.csi_pods = [{"metadata": {"name": "spiffe-csi-driver-%s" % n},
                          "spec": {"nodeName": n, "containers": containers(["spiffe-csi-driver", "node-driver-registrar"], imgs)}}
                         for n in NODES]
        self.webhook = {}

    def with_webhook(self, policy="Fail", recorded=None):
        self.webhook = {"metadata": {"name": upgrade.WEBHOOK_NAME, "annotations": {}},
                        "webhooks": [{"name": "vclusterspiffeid.kb.io", "failurePolicy": policy},
                                     {"name": "vclusterfederatedtrustdomain.kb.io", "failurePolicy": policy}]}
        if recorded is not None:
            self.webhook["metadata"]["annotations"][upgrade.WEBHOOK_ANNOTATION] = json.dumps(recorded)
        return self

    def plan(self, allow_downgrade=False, **targets):
        wanted = dict(TARGETS, **targets)
        return upgrade.plan(wanted, self.sts, self.server_pods, self.agents, self.agent_pods, self.csi, self.csi_pods,
                            self.webhook, allow_downgrade=allow_downgrade)


def refused(cluster, **kwargs):
    with pytest.raises(upgrade.PlanError) as err:
        cluster.plan(**kwargs)
    return str(err.value)


@pytest.mark.parametrize("image,tag", [
    ("ghcr.io/spiffe/spire-server:1.14.2", "1.14.2"),
    ("registry.local:5000/spiffe/spire-server:1.13.3", "1.13.3"),
    ("registry.k8s.io/sig-storage/csi-node-driver-registrar:v2.9.4", "v2.9.4"),
    ("ghcr.io/spiffe/spire-server:1.14.2@sha256:abcd", "1.14.2"),
    ("ghcr.io/spiffe/spire-server@sha256:abcd", ""),
    ("registry.local:5000/spire-server", ""),
])
def test_image_tag(image, tag):
    assert upgrade.image_tag(image) == tag


def test_versions_parse_strictly():
    assert upgrade.parse_target("1.14.2") == (1, 14, 2)
    assert upgrade.parse_target("v1.14.2") is None  # inputs are bare X.Y.Z
    assert upgrade.parse_tag("v2.9.4") == (2, 9, 4)
    for bad in ("1.14", "1.14.2-rc1", "latest", "01.14.2", "", None, 1.14):
        assert upgrade.parse_target(bad) is None
        assert upgrade.parse_tag(bad) is None


def test_at_target_nothing_to_do():
    plan = Cluster().plan()
    assert plan["nothing_to_do"] is True
    assert plan["order"] == [] and plan["steps"] == []
    assert "Nothing to do" in "\n".join(plan["lines"])
    assert all(c["from"] == c["to"] for c in plan["components"])


def test_one_minor_upgrade_plans_servers_then_agents():
    plan = Cluster(spire="1.13.3", scm="0.6.2").plan()
    assert plan["nothing_to_do"] is False
    assert plan["order"] == ["servers", "agents"]
    comps = {c["name"]: c for c in plan["components"]}
    assert (comps["spire-server"]["from"], comps["spire-server"]["to"]) == ("1.13.3", "1.14.2")
    assert comps["spire-server"]["behind"] == ["spire-server-0", "spire-server-1", "spire-server-2"]
    assert (comps["spire-controller-manager"]["from"], comps["spire-controller-manager"]["to"]) == ("0.6.2", "0.6.3")
    assert comps["spiffe-csi-driver"]["behind"] == []
    assert plan["phases"]["agents"]["nodes"] == list(NODES)
    text = "\n".join(plan["lines"])
    assert "spire-server: 1.13.3 -> 1.14.2 (3 of 3 pods behind)" in text
    assert "spiffe-csi-driver: 0.2.7 (unchanged)" in text
    # CRDs before any rollout, the final check last.
    assert plan["steps"][0].startswith("apply the CRDs")
    assert plan["steps"][-1].startswith("final check")
    assert "spire-server-2, -1, -0" in plan["steps"][1]


@pytest.mark.parametrize("running,target", [("1.14.2", "1.14.5"), ("1.13.3", "1.14.0"), ("1.13.0", "1.13.9")])
def test_patch_and_one_minor_moves_are_allowed(running, target):
    assert Cluster(spire=running).plan(spire_version=target)["nothing_to_do"] is False


@pytest.mark.parametrize("running,target,skipped", [("1.12.4", "1.14.2", "1.13"), ("1.14.2", "1.16.0", "1.15"),
                                                    ("1.13.3", "1.15.0", "1.14")])
def test_skipping_a_minor_version_is_refused_naming_versions(running, target, skipped):
    text = refused(Cluster(spire=running), spire_version=target)
    assert "spire_version=%s" % target in text
    assert "%s -> %s" % (running, target) in text
    assert "skips SPIRE minor version %s" % skipped in text


def test_major_change_is_refused():
    text = refused(Cluster(spire="1.14.2"), spire_version="2.0.0")
    assert "major version" in text and "spire_version=2.0.0" in text


def test_downgrade_needs_the_explicit_input():
    text = refused(Cluster(spire="1.14.5"), spire_version="1.14.2")
    assert "older than the running 1.14.5" in text and "upgrade_allow_downgrade=true" in text
    text = refused(Cluster(scm="0.6.4"))
    assert "spire_controller_manager_version=0.6.3 is older than the running 0.6.4" in text
    plan = Cluster(spire="1.14.5").plan(allow_downgrade=True, spire_version="1.14.2")
    # Agents go down before the servers, so an agent is never newer than the servers.
    assert plan["order"] == ["agents", "servers"]
    # Even allowed, a downgrade moves one minor version at most.
    assert "skips SPIRE minor version 1.13" in refused(Cluster(spire="1.14.2"), allow_downgrade=True, spire_version="1.12.9")


def test_unparsable_inputs_and_images_are_named():
    text = refused(Cluster(), spire_version="1.14", spire_csi_driver_version="v0.2.7")
    assert "spire_version must be a version X.Y.Z" in text and "'1.14'" in text
    assert "spire_csi_driver_version must be a version X.Y.Z" in text
    cluster = Cluster()
    cluster.server_pods[1]["spec"]["containers"][0]["image"] = "ghcr.io/spiffe/spire-server:latest"
    text = refused(cluster)
    assert "pod spire-server-1 has image 'ghcr.io/spiffe/spire-server:latest'" in text


def test_every_reason_is_reported_at_once():
    errors = None
    with pytest.raises(upgrade.PlanError) as err:
        Cluster(spire="1.12.0", scm="0.6.4").plan()
    errors = err.value.errors
    assert any("spire-server 1.12.0 -> 1.14.2" in e for e in errors)
    assert any("spire-agent 1.12.0 -> 1.14.2" in e for e in errors)
    assert any("spire_controller_manager_version" in e for e in errors)


def test_missing_workloads_are_refused():
    cluster = Cluster()
    cluster.sts = {}
    cluster.csi = {}
    text = refused(cluster)
    assert "StatefulSet spire-server not found in namespace spire-system" in text
    assert "DaemonSet spiffe-csi-driver not found" in text


def test_object_names_come_from_the_caller():
    """The role passes _spire_objects: the webhook patch and the messages use those names."""
    names = {"server": "my-server", "agent": "my-agent", "csi_driver": "my-csi",
             "controller_manager_webhook": "my-hook", "bundle": "ignored"}
    cluster = Cluster(spire="1.13.3", scm="0.6.2").with_webhook()
    cluster.sts["metadata"]["name"] = "my-server"

    def plan():
        return upgrade.plan(dict(TARGETS), cluster.sts, cluster.server_pods, cluster.agents, cluster.agent_pods,
                            cluster.csi, cluster.csi_pods, cluster.webhook, names=names)

    assert plan()["webhook"]["name"] == "my-hook"
    cluster.sts["spec"]["template"]["spec"]["containers"][0]["image"] = "ghcr.io/spiffe/spire-server:latest"
    with pytest.raises(upgrade.PlanError) as err:
        plan()
    assert "StatefulSet my-server (template) has image 'ghcr.io/spiffe/spire-server:latest'" in str(err.value)
    cluster.csi = {}
    with pytest.raises(upgrade.PlanError) as err:
        plan()
    assert "DaemonSet my-csi not found in namespace spire-system" in str(err.value)


def test_an_interrupted_rollout_is_resumed():
    # Template already at the target, one server pod and one agent pod still old.
    cluster = Cluster(spire="1.13.3", scm="0.6.2")
    new = images()
    cluster.sts["spec"]["template"]["spec"]["containers"] = containers(["spire-server", "spire-controller-manager"], new)
    cluster.sts["spec"]["updateStrategy"]["rollingUpdate"] = {"partition": 1}
    for pod in cluster.server_pods[1:]:
        pod["spec"]["containers"] = containers(["spire-server", "spire-controller-manager"], new)
    plan = cluster.plan()
    comps = {c["name"]: c for c in plan["components"]}
    assert comps["spire-server"]["running"] == ["1.13.3", "1.14.2"]
    assert comps["spire-server"]["behind"] == ["spire-server-0"]
    assert comps["spire-server"]["template_behind"] is False
    assert plan["phases"]["servers"]["needed"] and plan["phases"]["agents"]["needed"]


def test_leftovers_of_an_interrupted_run_are_work():
    cluster = Cluster()
    cluster.sts["spec"]["updateStrategy"]["rollingUpdate"] = {"partition": 3}
    assert cluster.plan()["order"] == ["servers"]
    cluster = Cluster()
    cluster.agents["spec"]["updateStrategy"] = {"type": "OnDelete"}
    assert cluster.plan()["order"] == ["agents"]


def test_webhook_is_held_only_around_a_server_rollout():
    plan = Cluster(spire="1.13.3").with_webhook("Fail").plan()
    hook = plan["webhook"]
    assert hook["hold"] and hook["restore"]
    assert hook["original"] == {"vclusterspiffeid.kb.io": "Fail", "vclusterfederatedtrustdomain.kb.io": "Fail"}
    assert any("failurePolicy Ignore" in s for s in plan["steps"])
    # Only the CSI driver moves: no server pod goes away, the webhook is left alone.
    plan = Cluster(csi="0.2.6").with_webhook("Fail").plan()
    assert plan["order"] == ["csi"] and not plan["webhook"]["hold"] and not plan["webhook"]["restore"]
    # No webhook configuration (webhook disabled): nothing to hold.
    assert Cluster(spire="1.13.3").plan()["webhook"]["hold"] is False


def test_a_recorded_policy_is_restored_even_with_nothing_else_to_do():
    recorded = {"vclusterspiffeid.kb.io": "Fail", "vclusterfederatedtrustdomain.kb.io": "Fail"}
    plan = Cluster().with_webhook("Ignore", recorded=recorded).plan()
    assert plan["nothing_to_do"] is False
    assert plan["order"] == []
    hook = plan["webhook"]
    assert hook["restore"] and not hook["hold"]
    assert hook["original"] == recorded  # not the Ignore the interrupted run left
    assert any("restore failurePolicy" in s for s in plan["steps"])


def test_sidecar_disabled_is_not_a_component():
    cluster = Cluster(spire="1.13.3")
    for obj in [cluster.sts["spec"]["template"]] + cluster.server_pods:
        spec = obj["spec"]
        spec["containers"] = [c for c in spec["containers"] if c["name"] != "spire-controller-manager"]
    plan = cluster.plan()
    comps = {c["name"]: c for c in plan["components"]}
    assert comps["spire-controller-manager"]["present"] is False
    assert "  spire-controller-manager: not deployed" in plan["lines"]


def test_input_objects_are_not_modified():
    cluster = Cluster(spire="1.13.3").with_webhook()
    before = copy.deepcopy(cluster.__dict__)
    cluster.plan()
    assert cluster.__dict__ == before


# --- image overrides (spire_images): the target of an overridden image is its tag ---------------------

LAB = "lab.ardur.invalid"
DIGEST = "sha256:" + "0123456789abcdef" * 4


def overridden(**refs):
    """The cluster's objects and pods with some images replaced (keyed by container name)."""
    cluster = Cluster()
    for obj in [cluster.sts["spec"]["template"], cluster.agents["spec"]["template"], cluster.csi["spec"]["template"]] \
            + cluster.server_pods + cluster.agent_pods + cluster.csi_pods:
        for container in obj["spec"]["containers"]:
            container["image"] = refs.get(container["name"].replace("-", "_"), container["image"])
    return cluster


def planned(cluster, images, **targets):
    return upgrade.plan(dict(TARGETS, **targets), cluster.sts, cluster.server_pods, cluster.agents, cluster.agent_pods,
                        cluster.csi, cluster.csi_pods, cluster.webhook, images=images)


def test_overridden_images_move_to_the_version_of_their_tag():
    # The lab: SPIRE 1.14.5 images, honestly tagged, while spire_version stays the 1.14.2 pin.
    images = {"spire_server": "%s/spiffe/spire-server:1.14.5" % LAB,
              "spire_agent": "%s/spiffe/spire-agent:1.14.5@%s" % (LAB, DIGEST)}
    running = overridden(spire_server=images["spire_server"], spire_agent=images["spire_agent"])
    plan = planned(running, images)
    assert plan["nothing_to_do"]  # not a "downgrade" to the pin
    comps = {c["name"]: c for c in plan["components"]}
    assert comps["spire-server"]["input"] == "spire_images.spire_server" and comps["spire-server"]["to"] == "1.14.5"
    assert comps["spire-controller-manager"]["input"] == "spire_controller_manager_version"
    # From 1.13.3 to the override's 1.14.5; the message names the override.
    plan = planned(Cluster(spire="1.13.3"), images)
    assert plan["order"] == ["servers", "agents"]
    assert "  spire-server: 1.13.3 -> 1.14.5 (3 of 3 pods behind)" in plan["lines"]
    with pytest.raises(upgrade.PlanError) as err:
        planned(Cluster(spire="1.12.0"), images)
    assert "spire_images.spire_server=1.14.5: spire-server 1.12.0 -> 1.14.5 skips SPIRE minor version 1.13" in str(err.value)


def test_override_without_a_version_tag_is_compared_by_reference():
    registrar = "%s/lab/csi-node-registrar:t0a1b2c3" % LAB
    images = {"csi_node_driver_registrar": registrar}
    plan = planned(overridden(node_driver_registrar=registrar), images)
    assert plan["nothing_to_do"]
    plan = planned(Cluster(), images)  # the registry.k8s.io registrar runs: the CSI phase replaces it
    comps = {c["name"]: c for c in plan["components"]}
    registrar_plan = comps["csi-node-driver-registrar"]
    assert registrar_plan["to"] == registrar and registrar_plan["from"] is None
    assert registrar_plan["running"] == ["registry.k8s.io/sig-storage/csi-node-driver-registrar:v2.9.4"]
    assert len(registrar_plan["behind"]) == 3 and registrar_plan["template_behind"]
    assert plan["order"] == ["csi"]


def test_spire_overrides_need_a_version_tag_and_agents_never_lead():
    with pytest.raises(upgrade.PlanError) as err:
        planned(Cluster(), {"spire_server": "%s/spiffe/spire-server@%s" % (LAB, DIGEST)})
    assert "spire_images.spire_server=" in str(err.value) and "its tag is not a version X.Y.Z" in str(err.value)
    with pytest.raises(upgrade.PlanError) as err:
        planned(Cluster(), {"spire_agent": "%s/spiffe/spire-agent:1.14.5" % LAB})
    assert ("spire_images.spire_agent=1.14.5 is newer than the servers' target spire_version=1.14.2: SPIRE agents "
            "must not be newer than their servers") in str(err.value)
