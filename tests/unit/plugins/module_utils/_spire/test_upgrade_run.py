"""The upgrade runbook's run decisions (plugins/module_utils/_spire/upgrade.py, after the plan): the inputs
refused, the configuration compared, what a run does with its plan (refusals, check mode, phase order,
webhook hold and restore), every phase transition and the resume after each interruption point, the
webhook patches, the final check and the report. The version rules themselves: tests/unit/test_spire_upgrade_plan.py."""

import copy
import json

import pytest

from ansible_collections.ardur.spire.plugins.module_utils._spire import report as report_mod
from ansible_collections.ardur.spire.plugins.module_utils._spire import upgrade

TARGETS = {"spire_version": "1.14.2", "spire_controller_manager_version": "0.6.3",
           "spire_csi_driver_version": "0.2.7", "spire_node_driver_registrar_version": "2.9.4"}
OLD = {"spire": "1.13.3", "scm": "0.6.2"}
NODES = ("node-a", "node-b", "node-c")
HOOKS = ("vclusterspiffeid.kb.io", "vclusterfederatedtrustdomain.kb.io")
FAIL = dict((name, "Fail") for name in HOOKS)
SERVER_CONTAINERS = ("spire-server", "spire-controller-manager")
CSI_CONTAINERS = ("spiffe-csi-driver", "node-driver-registrar")


def images(spire="1.14.2", scm="0.6.3", csi="0.2.7", registrar="2.9.4"):
    return {"spire-server": "ghcr.io/spiffe/spire-server:%s" % spire,
            "spire-controller-manager": "ghcr.io/spiffe/spire-controller-manager:%s" % scm,
            "spire-agent": "ghcr.io/spiffe/spire-agent:%s" % spire,
            "spiffe-csi-driver": "ghcr.io/spiffe/spiffe-csi-driver:%s" % csi,
            "node-driver-registrar": "registry.k8s.io/sig-storage/csi-node-driver-registrar:v%s" % registrar}


def containers(names, imgs):
    return [{"name": n, "image": imgs[n]} for n in names]


class Cluster:
    """The live objects (only what the plan reads), and what each step of an upgrade does to them."""

    def __init__(self, webhook=True, **versions):
        imgs = images(**versions)
        self.sts = {"metadata": {"name": "spire-server"},
                    "spec": {"replicas": 3, "updateStrategy": {"type": "RollingUpdate"},
                             "template": {"spec": {"containers": containers(SERVER_CONTAINERS, imgs)}}}}
        self.server_pods = [{"metadata": {"name": "spire-server-%d" % i},
                             "spec": {"containers": containers(SERVER_CONTAINERS, imgs)}} for i in range(3)]
        self.agents = {"metadata": {"name": "spire-agent"},
                       "spec": {"updateStrategy": {"type": "RollingUpdate"},
                                "template": {"spec": {"containers": containers(["spire-agent"], imgs)}}}}
        self.agent_pods = [{"metadata": {"name": "spire-agent-%s" % n},
                            "spec": {"nodeName": n, "containers": containers(["spire-agent"], imgs)}} for n in NODES]
        self.csi = {"metadata": {"name": "spiffe-csi-driver"},
                    "spec": {"template": {"spec": {"containers": containers(CSI_CONTAINERS, imgs)}}}}
        self.csi_pods = [{"metadata": {"name": "spiffe-csi-driver-%s" % n},
                          "spec": {"nodeName": n, "containers": containers(CSI_CONTAINERS, imgs)}} for n in NODES]
        self.webhook = {}
        if webhook:
            self.webhook = {"metadata": {"name": upgrade.WEBHOOK_NAME, "annotations": {}},
                            "webhooks": [{"name": name, "failurePolicy": "Fail"} for name in HOOKS]}

    # --- what the run's writes do to the objects -------------------------------------------------
    def patch_webhook(self, patch):
        """A strategic-merge patch of the webhook configuration (annotation None removes it)."""
        annotations = self.webhook["metadata"].setdefault("annotations", {})
        for key, value in patch["metadata"]["annotations"].items():
            if value is None:
                annotations.pop(key, None)
            else:
                annotations[key] = value
        for change in patch["webhooks"]:
            for hook in self.webhook["webhooks"]:
                if hook["name"] == change["name"]:
                    hook["failurePolicy"] = change["failurePolicy"]

    def pause_servers(self):
        self.sts["spec"]["updateStrategy"]["rollingUpdate"] = {"partition": 3}

    def apply_servers(self, **versions):
        self.sts["spec"]["template"]["spec"]["containers"] = containers(SERVER_CONTAINERS, images(**versions))

    def roll_server(self, ordinal, **versions):
        self.server_pods[ordinal]["spec"]["containers"] = containers(SERVER_CONTAINERS, images(**versions))
        self.sts["spec"]["updateStrategy"]["rollingUpdate"] = {"partition": ordinal}

    def apply_agents_on_delete(self, **versions):
        self.agents["spec"]["updateStrategy"] = {"type": "OnDelete"}
        self.agents["spec"]["template"]["spec"]["containers"] = containers(["spire-agent"], images(**versions))

    def roll_agent(self, index, **versions):
        self.agent_pods[index]["spec"]["containers"] = containers(["spire-agent"], images(**versions))

    def restore_rolling_update(self):
        self.agents["spec"]["updateStrategy"] = {"type": "RollingUpdate"}

    def apply_csi(self, index=None, **versions):
        imgs = images(**versions)
        self.csi["spec"]["template"]["spec"]["containers"] = containers(CSI_CONTAINERS, imgs)
        for i, pod in enumerate(self.csi_pods):
            if index is None or i == index:
                pod["spec"]["containers"] = containers(CSI_CONTAINERS, imgs)

    # --- what the run reads ------------------------------------------------------------------------
    def result(self, allow_downgrade=False, **targets):
        """The registered result of ardur.spire.spire_upgrade_plan (failed_when false)."""
        try:
            plan = upgrade.plan(dict(TARGETS, **targets), self.sts, self.server_pods, self.agents, self.agent_pods,
                                self.csi, self.csi_pods, copy.deepcopy(self.webhook), allow_downgrade=allow_downgrade)
        except upgrade.PlanError as exc:
            return {"failed": True, "changed": False, "msg": "Upgrade refused, nothing was changed: %s" % exc,
                    "errors": exc.errors}
        return {"changed": False, "plan": plan}

    def decide(self, check_mode=False, allow_downgrade=False, **targets):
        return upgrade.decide(self.result(allow_downgrade=allow_downgrade, **targets), check_mode=check_mode)


def options(**overrides):
    values = {"allow_downgrade": False, "allow_config_changes": False, "transport": "kubernetes", "server_sockets": [],
              "spire_server_path": "/opt/spire/bin/spire-server", "agent_sockets": {},
              "spire_agent_path": "/opt/spire/bin/spire-agent", "timeout": 300, "report_path": "./spire-upgrade.json"}
    values.update(overrides)
    return values


def configmap(name, data):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "spire-system"},
            "data": data}


def live(*pairs):
    """Registered loop results of reading the ConfigMaps: (name, data or None when absent)."""
    return [{"item": {"name": name, "role": "role of %s" % name},
             "resources": [] if data is None else [configmap(name, data)]} for name, data in pairs]


# ----------------------------------------------------------------------------- inputs


def test_the_defaults_are_fine():
    assert upgrade.option_problems(options()) == []
    local = options(transport="local", server_sockets=["/run/s0.sock"], agent_sockets={"node-a": "/run/a.sock"})
    assert upgrade.option_problems(local) == []


@pytest.mark.parametrize("overrides,named", [
    ({"timeout": 0}, "upgrade_timeout must be a number of seconds greater than 0"),
    ({"timeout": -5}, "upgrade_timeout"),
    ({"timeout": True}, "upgrade_timeout"),
    ({"timeout": "300"}, "upgrade_timeout"),
    ({"transport": "ssh"}, "upgrade_transport must be kubernetes or local, got 'ssh'"),
    ({"transport": "local"}, "upgrade_transport=local needs upgrade_server_sockets"),
    ({"transport": "local", "server_sockets": ["/s"]}, "and upgrade_agent_sockets"),
    ({"server_sockets": ["/ok", "relative.sock"]}, "upgrade_server_sockets must hold absolute paths, not 'relative.sock'"),
    ({"server_sockets": "/s0,/s1"}, "upgrade_server_sockets must be a list"),
    ({"agent_sockets": {"node-b": "b.sock", "node-a": "/a"}}, "not so for node-b"),
    ({"agent_sockets": ["/a"]}, "upgrade_agent_sockets must be a dict"),
    ({"spire_server_path": ""}, "upgrade_spire_server_path must be the path of the binary"),
    ({"spire_agent_path": None}, "upgrade_spire_agent_path"),
    ({"allow_downgrade": "yes"}, "upgrade_allow_downgrade must be true or false"),
    ({"allow_config_changes": 1}, "upgrade_allow_config_changes"),
    ({"report_path": None}, "upgrade_report_path must be a path"),
])
def test_each_bad_input_is_named(overrides, named):
    problems = upgrade.option_problems(options(**overrides))
    assert any(named in p for p in problems), problems


def test_a_render_dir_is_refused():
    assert upgrade.option_problems(options(), render_dir="/tmp/render") == [
        "spire_render_dir must be empty (got '/tmp/render'): an upgrade needs a cluster"]


def test_every_problem_at_once():
    problems = upgrade.option_problems(options(timeout=0, transport="local", spire_server_path=""), render_dir="/x")
    assert len(problems) == 4


@pytest.mark.parametrize("bad", [None, [], "opts"])
def test_options_must_be_a_dict(bad):
    with pytest.raises(upgrade.RunError, match="options must be a dict"):
        upgrade.option_problems(bad)


def test_options_must_be_complete():
    values = options()
    del values["timeout"]
    with pytest.raises(upgrade.RunError, match="options lacks timeout"):
        upgrade.option_problems(values)


# ----------------------------------------------------------------------------- configuration


def test_same_configuration_is_no_change():
    rendered = [configmap("spire-server", {"server.conf": "a"}), {"kind": "Service", "metadata": {"name": "x"}}]
    assert upgrade.config_changes(live(("spire-server", {"server.conf": "a"})), rendered) == []


def test_changed_missing_and_unrendered_configurations_are_named():
    rendered = [configmap("spire-server", {"server.conf": "b"}), configmap("spire-agent", {"agent.conf": "a"})]
    changes = upgrade.config_changes(
        live(("spire-server", {"server.conf": "a"}), ("spire-agent", None), ("spire-controller-manager", {"x": "1"})),
        rendered)
    assert changes == ["ConfigMap spire-server (role of spire-server)", "ConfigMap spire-agent (role of spire-agent)",
                       "ConfigMap spire-controller-manager (role of spire-controller-manager)"]
    # Neither running nor rendered (the controller manager disabled): no change.
    assert upgrade.config_changes(live(("spire-controller-manager", None)), rendered) == []


@pytest.mark.parametrize("live_results,rendered", [(None, []), ([], None), ([{"resources": []}], []), (["x"], [])])
def test_config_changes_needs_the_reads(live_results, rendered):
    with pytest.raises(upgrade.RunError):
        upgrade.config_changes(live_results, rendered)


# ----------------------------------------------------------------------------- decisions


def test_an_upgrade_goes_servers_then_agents_with_the_webhook_held():
    decision = Cluster(**OLD).decide()
    assert decision["status"] == "upgraded" and decision["refusal"] == "" and decision["errors"] == []
    assert decision["upgrade"] and decision["final_check"]
    assert decision["phases"] == ["servers", "agents"]
    assert decision["hold"] and decision["restore"]
    assert decision["lines"] == decision["plan"]["lines"]


def test_a_rollback_goes_agents_then_servers():
    decision = Cluster().decide(allow_downgrade=True, spire_version="1.13.3", spire_controller_manager_version="0.6.2")
    assert decision["phases"] == ["agents", "servers"]
    steps = "\n".join(decision["lines"])
    assert steps.index(". agents: apply the DaemonSet") < steps.index(". servers (spire-server, spire-controller-manager)")


def test_only_the_csi_driver_moves_without_holding_the_webhook():
    decision = Cluster(csi="0.2.6").decide()
    assert decision["phases"] == ["csi"] and not decision["hold"] and not decision["restore"]


def test_up_to_date_writes_nothing_and_checks():
    decision = Cluster().decide()
    assert decision["status"] == "up_to_date"
    assert not decision["upgrade"] and decision["phases"] == [] and not decision["hold"] and not decision["restore"]
    assert decision["final_check"]
    assert "Nothing to do: every component runs its target version." in decision["lines"]


def test_check_mode_prints_the_plan_and_writes_nothing():
    decision = Cluster(**OLD).decide(check_mode=True)
    assert decision["status"] == "planned"
    assert not decision["upgrade"] and not decision["final_check"] and not decision["hold"] and not decision["restore"]
    assert decision["phases"] == []
    assert decision["lines"][-1] == "Check mode: nothing was changed."
    # Up to date in check mode: no check-mode line, nothing to write anyway.
    decision = Cluster().decide(check_mode=True)
    assert decision["status"] == "planned" and "Check mode: nothing was changed." not in decision["lines"]


@pytest.mark.parametrize("targets,named", [
    ({"spire_version": "1.15.0"}, "spire_version=1.15.0: spire-server 1.13.3 -> 1.15.0 skips SPIRE minor version 1.14"),
    ({"spire_version": "1.13.2"}, "spire_version=1.13.2 is older than the running 1.13.3"),
    ({"spire_controller_manager_version": "0.6.1"}, "spire_controller_manager_version=0.6.1 is older than the running 0.6.2"),
    ({"spire_version": "1.14"}, "spire_version must be a version X.Y.Z (no leading 'v'), got '1.14'"),
    ({"spire_version": "2.0.0"}, "changes the SPIRE major version"),
])
def test_a_refused_plan_refuses_the_run(targets, named):
    decision = Cluster(**OLD).decide(**targets)
    assert decision["status"] == "refused" and decision["plan"] is None
    assert named in decision["refusal"] and decision["refusal"].startswith("Upgrade refused, nothing was changed: ")
    assert any(named in error for error in decision["errors"])
    assert not decision["upgrade"] and not decision["final_check"] and decision["phases"] == []
    assert not decision["hold"] and not decision["restore"] and decision["lines"] == []


def test_a_refused_plan_without_its_errors_uses_the_message():
    decision = upgrade.decide({"failed": True, "msg": "missing required arguments: targets"})
    assert decision["errors"] == ["missing required arguments: targets"]
    assert decision["refusal"].endswith("missing required arguments: targets")
    assert upgrade.decide({"failed": True})["errors"] == ["the upgrade could not be planned"]


def test_configuration_changes_are_refused_unless_allowed():
    result = Cluster(**OLD).result()
    changed = live(("spire-controller-manager", {"config": "entryIDPrefix: other"}))
    rendered = [configmap("spire-controller-manager", {"config": "entryIDPrefix: ardur"})]
    decision = upgrade.decide(result, changed, rendered)
    assert decision["status"] == "refused" and not decision["upgrade"] and not decision["final_check"]
    assert "ConfigMap spire-controller-manager" in decision["refusal"]
    assert "upgrade_allow_config_changes=true" in decision["refusal"] and decision["errors"] == [decision["refusal"]]
    assert "Configuration changes these inputs bring along: ConfigMap spire-controller-manager" in decision["lines"][-1]
    assert decision["config_changes"] == ["ConfigMap spire-controller-manager (role of spire-controller-manager)"]
    allowed = upgrade.decide(result, changed, rendered, allow_config_changes=True)
    assert allowed["status"] == "upgraded" and allowed["upgrade"] and allowed["refusal"] == ""
    # In check mode the refusal still stands (the lines say both).
    checked = upgrade.decide(result, changed, rendered, check_mode=True)
    assert checked["status"] == "refused" and checked["lines"][-1] == "Check mode: nothing was changed."


def test_configuration_differences_do_not_matter_with_nothing_to_do():
    changed = live(("spire-server", {"server.conf": "old"}))
    decision = upgrade.decide(Cluster().result(), changed, [configmap("spire-server", {"server.conf": "new"})])
    assert decision["status"] == "up_to_date" and decision["refusal"] == ""
    assert decision["config_changes"] == ["ConfigMap spire-server (role of spire-server)"]


@pytest.mark.parametrize("bad", [None, "plan", []])
def test_decide_needs_the_registered_result(bad):
    with pytest.raises(upgrade.RunError, match="registered result"):
        upgrade.decide(bad)


# ----------------------------------------------------------------------------- transitions and resume


def _expect(decision, phases, hold, restore, status="upgraded"):
    assert (decision["phases"], decision["hold"], decision["restore"], decision["status"]) == (
        phases, hold, restore, status), decision["lines"]


def _run_hold(cluster, decision):
    """The hold, as the role does it: the patch computed from the configuration as read."""
    patch = upgrade.webhook_patch(decision["plan"], cluster.webhook, "hold")
    if patch:
        cluster.patch_webhook(patch)


def test_every_phase_transition_of_an_upgrade_and_the_resume_after_each_interruption():
    """Each step of a run applied to the objects; after each, the decision of a run started then (the
    resume after an interruption there) is what is left to do, and the webhook's original survives."""
    cluster = Cluster(**OLD)
    first = cluster.decide()
    _expect(first, ["servers", "agents"], True, True)
    # Killed after the platform apply (CRDs, controller manager objects): the plan reads no CRD.
    _expect(cluster.decide(), ["servers", "agents"], True, True)

    _run_hold(cluster, first)
    assert [w["failurePolicy"] for w in cluster.webhook["webhooks"]] == ["Ignore", "Ignore"]
    assert json.loads(cluster.webhook["metadata"]["annotations"][upgrade.WEBHOOK_ANNOTATION]) == FAIL
    # Killed right after the hold: held again with the recorded original (not the Ignore it finds).
    resumed = cluster.decide()
    _expect(resumed, ["servers", "agents"], True, True)
    assert resumed["plan"]["webhook"]["original"] == FAIL
    _run_hold(cluster, resumed)
    assert json.loads(cluster.webhook["metadata"]["annotations"][upgrade.WEBHOOK_ANNOTATION]) == FAIL

    cluster.pause_servers()  # killed after pause: the partition is work
    _expect(cluster.decide(), ["servers", "agents"], True, True)
    cluster.apply_servers()  # killed after the server apply: the template is new, the pods are not
    decision = cluster.decide()
    _expect(decision, ["servers", "agents"], True, True)
    assert {c["name"]: c["template_behind"] for c in decision["plan"]["components"]}["spire-server"] is False
    for ordinal in (2, 1):  # killed mid-roll
        cluster.roll_server(ordinal)
        decision = cluster.decide()
        _expect(decision, ["servers", "agents"], True, True)
    assert {c["name"]: c["behind"] for c in decision["plan"]["components"]}["spire-server"] == ["spire-server-0"]
    cluster.roll_server(0)  # servers done (partition 0): the webhook stays held until the end
    _expect(cluster.decide(), ["agents"], False, True)

    cluster.apply_agents_on_delete()  # killed after the OnDelete apply
    _expect(cluster.decide(), ["agents"], False, True)
    for index in range(3):  # killed between nodes; and with every agent new but OnDelete left
        cluster.roll_agent(index)
        _expect(cluster.decide(), ["agents"], False, True)
    cluster.restore_rolling_update()  # killed before the restore: only the record is left
    leftover = cluster.decide()
    _expect(leftover, [], False, True)
    assert leftover["upgrade"] and leftover["final_check"] and leftover["plan"]["nothing_to_do"] is False
    assert any("restore failurePolicy" in line for line in leftover["lines"])

    cluster.patch_webhook(upgrade.webhook_patch(leftover["plan"], cluster.webhook, "restore"))
    assert [w["failurePolicy"] for w in cluster.webhook["webhooks"]] == ["Fail", "Fail"]
    assert upgrade.WEBHOOK_ANNOTATION not in cluster.webhook["metadata"]["annotations"]
    _expect(cluster.decide(), [], False, False, status="up_to_date")


def test_the_csi_phase_and_its_resume():
    cluster = Cluster(csi="0.2.6", registrar="2.9.3")
    _expect(cluster.decide(), ["csi"], False, False)
    cluster.apply_csi(index=0)  # the DaemonSet's rolling update interrupted after one node
    decision = cluster.decide()
    _expect(decision, ["csi"], False, False)
    assert {c["name"]: c["behind"] for c in decision["plan"]["components"]}["spiffe-csi-driver"] == [
        "spiffe-csi-driver-node-b", "spiffe-csi-driver-node-c"]
    cluster.apply_csi()
    _expect(cluster.decide(), [], False, False, status="up_to_date")


def test_every_phase_transition_of_a_rollback_and_its_resume():
    cluster = Cluster()
    old = {"spire_version": "1.13.3", "spire_controller_manager_version": "0.6.2"}
    first = cluster.decide(allow_downgrade=True, **old)
    _expect(first, ["agents", "servers"], True, True)
    _run_hold(cluster, first)
    cluster.apply_agents_on_delete(**OLD)
    cluster.roll_agent(0, **OLD)  # killed between nodes: still agents first
    _expect(cluster.decide(allow_downgrade=True, **old), ["agents", "servers"], True, True)
    for index in (1, 2):
        cluster.roll_agent(index, **OLD)
    cluster.restore_rolling_update()  # agents done: only the servers are left
    _expect(cluster.decide(allow_downgrade=True, **old), ["servers"], True, True)
    cluster.pause_servers()
    cluster.apply_servers(**OLD)
    cluster.roll_server(2, **OLD)  # killed mid-roll: servers on two versions
    decision = cluster.decide(allow_downgrade=True, **old)
    _expect(decision, ["servers"], True, True)
    assert decision["plan"]["webhook"]["original"] == FAIL
    # Without upgrade_allow_downgrade the resumed rollback is refused, nothing written.
    assert cluster.decide(**old)["status"] == "refused"
    for ordinal in (1, 0):
        cluster.roll_server(ordinal, **OLD)
    leftover = cluster.decide(allow_downgrade=True, **old)
    _expect(leftover, [], False, True)
    cluster.patch_webhook(upgrade.webhook_patch(leftover["plan"], cluster.webhook, "restore"))
    _expect(cluster.decide(allow_downgrade=True, **old), [], False, False, status="up_to_date")


def test_no_webhook_configuration_nothing_to_hold_or_restore():
    cluster = Cluster(webhook=False, **OLD)
    decision = cluster.decide()
    _expect(decision, ["servers", "agents"], False, False)
    assert upgrade.webhook_patch(decision["plan"], {}, "hold") == {}


# ----------------------------------------------------------------------------- webhook patches


def test_the_hold_patch_sets_ignore_and_records_the_original_in_one_patch():
    cluster = Cluster(**OLD)
    patch = upgrade.webhook_patch(cluster.decide()["plan"], cluster.webhook, "hold")
    assert patch["apiVersion"] == "admissionregistration.k8s.io/v1" and patch["kind"] == "ValidatingWebhookConfiguration"
    assert patch["metadata"]["name"] == upgrade.WEBHOOK_NAME
    assert json.loads(patch["metadata"]["annotations"][upgrade.WEBHOOK_ANNOTATION]) == FAIL
    assert patch["webhooks"] == [{"name": name, "failurePolicy": "Ignore"} for name in HOOKS]


def test_the_restore_patch_puts_back_what_the_record_knows():
    cluster = Cluster(**OLD)
    recorded = {"vclusterspiffeid.kb.io": "Fail"}  # an older release's record knows one webhook
    cluster.webhook["metadata"]["annotations"][upgrade.WEBHOOK_ANNOTATION] = json.dumps(recorded)
    plan = cluster.decide()["plan"]
    patch = upgrade.webhook_patch(plan, cluster.webhook, "restore")
    assert patch["metadata"]["annotations"] == {upgrade.WEBHOOK_ANNOTATION: None}
    assert patch["webhooks"] == [{"name": "vclusterspiffeid.kb.io", "failurePolicy": "Fail"}]
    # The configuration deleted meanwhile: nothing to patch.
    assert upgrade.webhook_patch(plan, {}, "restore") == {}


def test_a_step_the_plan_does_not_ask_for_is_no_patch():
    cluster = Cluster(csi="0.2.6")
    plan = cluster.decide()["plan"]
    assert upgrade.webhook_patch(plan, cluster.webhook, "hold") == {}
    assert upgrade.webhook_patch(plan, cluster.webhook, "restore") == {}


@pytest.mark.parametrize("plan,step,match", [
    ({"webhook": {}}, "release", "step must be hold or restore"),
    (None, "hold", "the plan must be"),
    ({}, "hold", "the plan must be"),
])
def test_webhook_patch_bad_input(plan, step, match):
    with pytest.raises(upgrade.RunError, match=match):
        upgrade.webhook_patch(plan, {}, step)


def test_webhook_patch_needs_a_dict_webhook():
    plan = Cluster(**OLD).decide()["plan"]
    with pytest.raises(upgrade.RunError, match="webhook must be"):
        upgrade.webhook_patch(plan, ["x"], "hold")


# ----------------------------------------------------------------------------- final check


def servers(healthy=(True, True, True), agents=None):
    agents = [{"node_name": n, "banned": False, "expired": False} for n in NODES] if agents is None else agents
    return [{"item": i, "healthy": ok, "datastore_reachable": ok, "agents": agents if ok else []}
            for i, ok in enumerate(healthy)]


def test_the_final_check_passes():
    cluster = Cluster()
    final = upgrade.final_check(cluster.result(), servers(), cluster.agent_pods)
    assert final == {"ok": True, "still_to_do": [], "unhealthy_servers": [], "nodes_without_agent": [],
                     "message": upgrade.FINAL_OK}


def test_the_final_check_names_what_is_left():
    cluster = Cluster(**OLD)
    agents = [{"node_name": "node-a", "banned": False, "expired": False},
              {"node_name": "node-b", "banned": True, "expired": False},
              {"node_name": "node-c", "banned": False, "expired": True}]
    final = upgrade.final_check(cluster.result(), servers((False, True, True), agents), cluster.agent_pods,
                                server="my-server")
    assert not final["ok"]
    assert final["still_to_do"][0].startswith("apply the CRDs")
    assert final["unhealthy_servers"] == ["my-server-0"]
    assert final["nodes_without_agent"] == ["node-b", "node-c"]
    assert final["message"].startswith("The upgrade did not finish: still to do: apply the CRDs")
    assert "unhealthy servers: my-server-0; nodes without an attested agent: node-b, node-c. Re-run to continue." \
        in final["message"]


def test_the_final_check_of_a_failed_read_and_no_healthy_server():
    cluster = Cluster()
    final = upgrade.final_check(cluster.result(), [{"item": 0, "failed": True, "msg": "exec refused"}],
                                cluster.agent_pods)
    assert final["unhealthy_servers"] == ["spire-server-0"] and final["nodes_without_agent"] == list(NODES)
    final = upgrade.final_check({"failed": True, "errors": ["StatefulSet spire-server not found"]}, servers(),
                                cluster.agent_pods)
    assert final["still_to_do"] == ["StatefulSet spire-server not found"] and not final["ok"]


@pytest.mark.parametrize("args", [({}, None, []), ({}, [], None), (None, [], [])])
def test_the_final_check_needs_the_reads(args):
    with pytest.raises(upgrade.RunError):
        upgrade.final_check(*args)


# ----------------------------------------------------------------------------- report

STARTED = "2026-12-07T10:00:00Z"
GENERATED = "2026-12-07T10:05:00Z"
ROLLOUT_S = {"replicas": 3, "rolled": [2, 1, 0], "seconds": [10.1, 9.8, 10.4], "check_mode": False}
ROLLOUT_A = {"nodes": list(NODES), "rolled": list(NODES), "seconds": [3.1, 2.9, 3.0], "windows": [1.2, 1.1, 1.0]}


def _report(decision, **kwargs):
    kwargs.setdefault("started_at", STARTED)
    kwargs.setdefault("generated_at", GENERATED)
    kwargs.setdefault("namespace", "spire-system")
    return upgrade.report(decision, **kwargs)


def test_the_report_of_an_upgrade_keeps_every_key_of_the_summary():
    cluster = Cluster(**OLD)
    decision = cluster.decide()
    after = Cluster()
    final = upgrade.final_check(after.result(), servers(), after.agent_pods)
    doc = _report(decision, final=final, after=after.result(), phase_seconds={"servers": 31.2, "agents": 9.9},
                  servers=ROLLOUT_S, agents=ROLLOUT_A, webhook=after.webhook)
    assert list(doc)[:6] == list(report_mod.ENVELOPE_KEYS)
    assert (doc["runbook"], doc["report_version"], doc["status"], doc["check_mode"]) == ("upgrade", 1, "upgraded", False)
    assert (doc["started_at"], doc["generated_at"]) == (STARTED, GENERATED)
    assert doc["moved"] == ["spire-server 1.13.3 -> 1.14.2", "spire-controller-manager 0.6.2 -> 0.6.3",
                            "spire-agent 1.13.3 -> 1.14.2"]
    assert "lines" not in doc["plan"] and doc["plan"]["order"] == ["servers", "agents"]
    assert doc["versions"] == {"spire-server": "1.14.2", "spire-controller-manager": "0.6.3", "spire-agent": "1.14.2",
                               "spiffe-csi-driver": "0.2.7", "csi-node-driver-registrar": "2.9.4"}
    assert doc["phase_seconds"] == {"servers": 31.2, "agents": 9.9}
    assert doc["servers"] == ROLLOUT_S and doc["agents"] == ROLLOUT_A
    assert doc["agents"].get("windows") == [1.2, 1.1, 1.0]
    assert doc["webhook_failure_policy"] == FAIL
    assert doc["final_check"]["ok"] and doc["failure"] is None and doc["errors"] == []
    assert doc["message"] == upgrade.FINAL_OK and doc["summary"][-1] == upgrade.FINAL_OK
    assert doc["summary"][0] == ("Upgraded: spire-server 1.13.3 -> 1.14.2; spire-controller-manager 0.6.2 -> 0.6.3; "
                                 "spire-agent 1.13.3 -> 1.14.2")
    assert doc["summary"][2] == "Servers replaced [2, 1, 0], secs [10.1, 9.8, 10.4]"
    json.dumps(doc)  # JSON as it is


def test_the_report_statuses():
    up = Cluster()
    ok = upgrade.final_check(up.result(), servers(), up.agent_pods)
    bad = upgrade.final_check(up.result(), servers((False, True, True)), up.agent_pods)
    doc = _report(up.decide(), final=ok, after=up.result())
    assert doc["status"] == "up_to_date" and doc["summary"][0] == "Upgraded: nothing to do"
    assert doc["servers"] == {} and doc["agents"] == {} and doc["phase_seconds"] == {}
    doc = _report(up.decide(), final=bad)
    assert doc["status"] == "incomplete" and doc["message"] == bad["message"]
    assert doc["summary"][0] == "Upgraded: not finished (leftovers of an interrupted run)"
    doc = _report(up.decide())  # a decision that was not checked is not done
    assert doc["status"] == "incomplete" and doc["message"] == "The final check did not run."
    doc = _report(Cluster(**OLD).decide(check_mode=True), check_mode=True)
    assert doc["status"] == "planned" and doc["check_mode"] is True
    assert doc["summary"][0] == "Upgraded: nothing (check mode)" and doc["message"] == "Check mode: nothing was changed."
    refused = Cluster(**OLD).decide(spire_version="1.15.0")
    doc = _report(refused)
    assert doc["status"] == "refused" and doc["plan"] is None and doc["versions"] == {}
    assert doc["message"] == refused["refusal"] and doc["errors"] == refused["errors"]
    assert doc["summary"][0] == "Upgraded: nothing (refused)"


def test_a_leftover_run_says_so():
    cluster = Cluster()
    cluster.webhook["metadata"]["annotations"][upgrade.WEBHOOK_ANNOTATION] = json.dumps(FAIL)
    doc = _report(cluster.decide(), final={"ok": True, "message": upgrade.FINAL_OK})
    assert doc["status"] == "upgraded" and doc["summary"][0] == "Upgraded: leftovers of an interrupted run"


def test_the_report_of_a_failed_run():
    failure = {"task": "Replace the servers one at a time, healthy between", "message": "spire-server-1 not Ready"}
    doc = _report(Cluster(**OLD).decide(), failure=failure, phase_seconds={"servers": 5.0})
    assert doc["status"] == "failed" and doc["failure"] == failure
    assert doc["message"].startswith("The upgrade failed at 'Replace the servers one at a time, healthy between': "
                                     "spire-server-1 not Ready")
    assert doc["errors"] == [doc["message"]]
    assert doc["summary"][0] == ("Upgraded: not finished (spire-server 1.13.3 -> 1.14.2; spire-controller-manager "
                                 "0.6.2 -> 0.6.3; spire-agent 1.13.3 -> 1.14.2)")
    # Failed before anything was decided (a read, a component's preflight).
    doc = _report(None, failure={"task": "Read their pods", "message": "Unauthorized"})
    assert doc["status"] == "failed" and doc["plan"] is None and doc["summary"][0] == "Upgraded: nothing"


@pytest.mark.parametrize("decision,failure,match", [
    (None, None, "decision must be the result of decide"),
    ({"plan": None}, None, "decision must be the result of decide"),
    (None, "boom", "failure must be a dict"),
])
def test_report_bad_input(decision, failure, match):
    with pytest.raises(upgrade.RunError, match=match):
        upgrade.report(decision, failure=failure)


def test_report_failure_must_be_a_dict():
    with pytest.raises(upgrade.RunError, match="failure must be a dict"):
        upgrade.report(Cluster().decide(), failure=["boom"])


def test_inputs_are_not_modified():
    cluster = Cluster(**OLD)
    result = cluster.result()
    before = copy.deepcopy((cluster.__dict__, result))
    decision = upgrade.decide(result)
    upgrade.webhook_patch(decision["plan"], cluster.webhook, "hold")
    upgrade.final_check(result, servers(), cluster.agent_pods)
    _report(decision, final={"ok": True, "message": "x"}, after=result, webhook=cluster.webhook)
    assert (cluster.__dict__, result) == before
